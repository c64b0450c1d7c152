"""Specifications of the deployability controls: AWS's create-time rules, checked before deploy.

Each control: a compliant set of resources, each violation shape, the unknown-value case (first
preview) and a reference given as a literal name instead of a dependency.
"""

from __future__ import annotations

import json

import pytest
from pulumi_policy import EnforcementLevel

from policies import deployability as d
from tests.unit.policies.conftest import UNKNOWN_NUMBER, UNKNOWN_STRING, Finder, Resources

ACCOUNT_ARN = "arn:aws:sqs:us-east-1:123456789012"


def _check(name: str) -> d.Check:
    return next(check for check in d.CHECKS if check.control.name == name)


# -- every control ---------------------------------------------------------------------------------
@pytest.mark.parametrize("check", d.CHECKS, ids=lambda c: c.control.name)
def test_every_deployability_control_is_mandatory_and_names_the_page_that_states_its_rule(check: d.Check) -> None:
    assert check.policy.enforcement_level == EnforcementLevel.MANDATORY
    assert check.control.sources
    assert all(source.startswith("https://") for source in check.control.sources)
    assert check.control.sources[0] in check.policy.remediation_steps


# -- SQS visibility timeout vs function timeout ----------------------------------------------------
def _sqs_mapping(
    resources: Resources, *, visibility: object = 360, timeout: object = 60, via_alias: bool = True, literal=False
) -> None:
    queue_props = {"name": "orders", "arn": f"{ACCOUNT_ARN}:orders"}
    if visibility is not None:
        queue_props["visibilityTimeoutSeconds"] = visibility
    queue = resources.add(d.QUEUE, "orders", queue_props)
    function_props = {"name": "worker", "arn": "arn:aws:lambda:us-east-1:123456789012:function:worker"}
    if timeout is not None:
        function_props["timeout"] = timeout
    function = resources.add(d.FUNCTION, "worker", function_props)
    target = function
    if via_alias:
        target = resources.add(d.ALIAS, "live", {"name": "live"}, deps={"functionName": [function]})
    if literal:
        resources.add(
            d.EVENT_SOURCE_MAPPING,
            "mapping",
            {"eventSourceArn": f"{ACCOUNT_ARN}:orders", "functionName": "worker", "batchSize": 10},
        )
    else:
        resources.add(
            d.EVENT_SOURCE_MAPPING,
            "mapping",
            {"batchSize": 10},
            deps={"eventSourceArn": [queue], "functionName": [target]},
        )


def test_given_a_queue_visible_six_times_the_function_timeout_then_no_finding(resources, findings: Finder):
    _sqs_mapping(resources, visibility=360, timeout=60)
    assert findings(_check("sqs-visibility-covers-function-timeout"), resources) == []


def test_given_the_sqs_default_visibility_and_a_60s_consumer_then_the_mapping_is_refused(resources, findings):
    _sqs_mapping(resources, visibility=None, timeout=60)
    [(message, name)] = findings(_check("sqs-visibility-covers-function-timeout"), resources)
    assert name == "mapping"
    assert "30 s" in message
    assert "60 s" in message


def test_given_a_function_with_the_lambda_default_timeout_then_a_30s_queue_suffices(resources, findings):
    _sqs_mapping(resources, visibility=None, timeout=None)
    assert findings(_check("sqs-visibility-covers-function-timeout"), resources) == []


def test_given_references_written_as_literal_arn_and_name_then_they_are_followed(resources, findings):
    _sqs_mapping(resources, visibility=20, timeout=60, via_alias=False, literal=True)
    assert len(findings(_check("sqs-visibility-covers-function-timeout"), resources)) == 1


def test_given_an_unknown_visibility_timeout_then_the_control_fails_closed(resources, findings):
    _sqs_mapping(resources, visibility=UNKNOWN_NUMBER)
    [(message, _)] = findings(_check("sqs-visibility-covers-function-timeout"), resources)
    assert "not known during preview" in message


# -- SQS batching --------------------------------------------------------------------------------
def _batching(resources: Resources, *, batch: object, window: object = None, fifo: bool = False) -> None:
    name = "orders.fifo" if fifo else "orders"
    queue = resources.add(d.QUEUE, name, {"name": name, "fifoQueue": fifo})
    props: dict[str, object] = {"batchSize": batch}
    if window is not None:
        props["maximumBatchingWindowInSeconds"] = window
    resources.add(d.EVENT_SOURCE_MAPPING, "mapping", props, deps={"eventSourceArn": [queue]})


@pytest.mark.parametrize(("batch", "window"), [(10, None), (500, 1), (10_000, 300)])
def test_given_batches_within_the_standard_queue_limits_then_no_finding(resources, findings, batch, window):
    _batching(resources, batch=batch, window=window)
    assert findings(_check("sqs-event-source-batching"), resources) == []


@pytest.mark.parametrize(
    ("batch", "window", "fifo", "expected"),
    [
        (500, 0, False, "needs 1 s"),
        (500, None, False, "needs 1 s"),
        (10_001, 1, False, "outside 1..10000"),
        (11, None, True, "outside 1..10 for a FIFO"),
        (10, 5, True, "cannot have a batching window"),
        (100, 301, False, "outside 0..300"),
    ],
)
def test_given_a_batch_aws_refuses_then_the_rule_is_named(resources, findings, batch, window, fifo, expected):
    _batching(resources, batch=batch, window=window, fifo=fifo)
    [(message, name)] = findings(_check("sqs-event-source-batching"), resources)
    assert expected in message
    assert name == "mapping"


def test_given_an_unknown_batch_size_then_batching_fails_closed(resources, findings):
    _batching(resources, batch=UNKNOWN_NUMBER, window=1)
    [(message, _)] = findings(_check("sqs-event-source-batching"), resources)
    assert "not known during preview" in message


# -- read replica of a managed-password primary ----------------------------------------------------
def _replica(resources: Resources, *, managed: object, literal: bool = False) -> None:
    props = {"identifier": "db-primary", "engine": "postgres"}
    if managed is not None:
        props["manageMasterUserPassword"] = managed
    primary = resources.add(d.RDS_INSTANCE, "primary", props)
    if literal:
        resources.add(d.RDS_INSTANCE, "replica", {"replicateSourceDb": "db-primary"})
    else:
        resources.add(
            d.RDS_INSTANCE, "replica", {"replicateSourceDb": "db-primary"}, deps={"replicateSourceDb": [primary]}
        )


def test_given_a_primary_with_a_password_the_program_supplies_then_its_replica_deploys(resources, findings):
    _replica(resources, managed=None)
    assert findings(_check("rds-replica-source-password-not-managed"), resources) == []


@pytest.mark.parametrize("literal", [False, True])
def test_given_a_replica_of_a_primary_whose_password_rds_manages_then_it_is_refused(resources, findings, literal):
    _replica(resources, managed=True, literal=literal)
    [(message, name)] = findings(_check("rds-replica-source-password-not-managed"), resources)
    assert name == "replica"
    assert "Secrets Manager" in message


def test_given_an_unknown_password_management_flag_then_the_replica_check_fails_closed(resources, findings):
    _replica(resources, managed=UNKNOWN_STRING)
    [(message, _)] = findings(_check("rds-replica-source-password-not-managed"), resources)
    assert "not known during preview" in message


# -- Lambda concurrency ----------------------------------------------------------------------------
def _functions(resources: Resources, *reserved: object) -> None:
    for index, value in enumerate(reserved):
        props = {"name": f"fn-{index}"}
        if value is not None:
            props["reservedConcurrentExecutions"] = value
        resources.add(d.FUNCTION, f"fn-{index}", props)


def test_given_reservations_leaving_100_of_the_default_quota_then_no_finding(resources, findings, stack_config):
    _functions(resources, 880, 20, None)
    assert findings(_check("lambda-unreserved-concurrency"), resources) == []


def test_given_reservations_beyond_the_default_quota_then_the_quota_is_named(resources, findings, stack_config):
    _functions(resources, 1100, 20, 2, 1)
    [(message, _)] = findings(_check("lambda-unreserved-concurrency"), resources)
    assert "1123" in message
    assert "quota of 1000" in message


def test_given_a_declared_quota_raise_then_the_same_reservations_deploy(resources, findings, stack_config):
    stack_config(lambdaConcurrencyQuota=1300)
    _functions(resources, 1100, 20, 2, 1)
    assert findings(_check("lambda-unreserved-concurrency"), resources) == []


def test_given_a_malformed_declared_quota_then_the_key_is_named(resources, findings, stack_config):
    stack_config(lambdaConcurrencyQuota="lots")
    _functions(resources, 10)
    [(message, _)] = findings(_check("lambda-unreserved-concurrency"), resources)
    assert "serverless-infra:lambdaConcurrencyQuota must be a whole number" in message


def test_given_an_unknown_reservation_then_the_quota_check_fails_closed(resources, findings, stack_config):
    _functions(resources, UNKNOWN_NUMBER)
    [(message, _)] = findings(_check("lambda-unreserved-concurrency"), resources)
    assert "not known during preview" in message


def _provisioned(resources: Resources, *, reserved: object, provisioned: object, maximum: object) -> None:
    props = {"name": "api"}
    if reserved is not None:
        props["reservedConcurrentExecutions"] = reserved
    function = resources.add(d.FUNCTION, "api", props)
    alias = resources.add(d.ALIAS, "live", {"name": "live"}, deps={"functionName": [function]})
    resources.add(
        d.PROVISIONED_CONCURRENCY,
        "provisioned",
        {"provisionedConcurrentExecutions": provisioned},
        deps={"functionName": [function], "qualifier": [alias]},
    )
    resources.add(
        d.SCALING_TARGET,
        "target",
        {
            "resourceId": "function:api:live",
            "scalableDimension": "lambda:function:ProvisionedConcurrency",
            "maxCapacity": maximum,
        },
    )


def test_given_provisioned_concurrency_within_the_reservation_then_no_finding(resources, findings):
    _provisioned(resources, reserved=100, provisioned=2, maximum=100)
    assert findings(_check("lambda-provisioned-within-reserved"), resources) == []


def test_given_an_autoscaling_ceiling_above_the_reservation_then_it_is_refused(resources, findings):
    _provisioned(resources, reserved=50, provisioned=2, maximum=60)
    [(message, name)] = findings(_check("lambda-provisioned-within-reserved"), resources)
    assert name == "target"
    assert "maxCapacity 60 exceeds the reserved concurrency 50" in message


def test_given_provisioned_above_the_reservation_then_it_is_refused(resources, findings):
    _provisioned(resources, reserved=5, provisioned=6, maximum=5)
    [(_, name)] = findings(_check("lambda-provisioned-within-reserved"), resources)
    assert name == "provisioned"


def test_given_an_unknown_provisioned_figure_then_provisioning_fails_closed(resources, findings):
    _provisioned(resources, reserved=50, provisioned=UNKNOWN_NUMBER, maximum=10)
    [(message, _)] = findings(_check("lambda-provisioned-within-reserved"), resources)
    assert "not known during preview" in message


# -- API Gateway method settings -------------------------------------------------------------------
def _api(resources: Resources, *paths: str) -> None:
    api = resources.add(d.REST_API, "api", {"name": "api"})
    orders = resources.add(d.API_RESOURCE, "orders", {"pathPart": "orders"}, deps={"restApi": [api]})
    order = resources.add(
        d.API_RESOURCE, "order", {"pathPart": "{order_id}"}, deps={"restApi": [api], "parentId": [orders]}
    )
    resources.add(d.API_METHOD, "get-order", {"httpMethod": "GET"}, deps={"restApi": [api], "resourceId": [order]})
    resources.add(d.API_METHOD, "post-orders", {"httpMethod": "POST"}, deps={"restApi": [api], "resourceId": [orders]})
    for index, path in enumerate(paths):
        resources.add(d.METHOD_SETTINGS, f"settings-{index}", {"methodPath": path}, deps={"restApi": [api]})


@pytest.mark.parametrize("path", ["*/*", "~1orders~1{order_id}/GET", "~1orders/POST", "~1orders/*"])
def test_given_method_paths_naming_existing_methods_escaped_then_no_finding(resources, findings, path):
    _api(resources, path)
    assert findings(_check("api-method-settings-path"), resources) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("orders/{order_id}/GET", "escaped as '~1'"),
        ("orders/POST", "does not start with '~1'"),
        ("~1orders~1{order_id}/DELETE", "names DELETE on /orders/{order_id}"),
        ("~1customers/GET", "names the resource /customers"),
    ],
)
def test_given_a_method_path_that_names_no_method_then_the_override_is_refused(resources, findings, path, expected):
    _api(resources, path)
    [(message, name)] = findings(_check("api-method-settings-path"), resources)
    assert expected in message
    assert name == "settings-0"


def test_given_an_unknown_method_path_then_the_path_check_fails_closed(resources, findings):
    _api(resources, UNKNOWN_STRING)
    [(message, _)] = findings(_check("api-method-settings-path"), resources)
    assert "not known during preview" in message


# -- AWS Config ------------------------------------------------------------------------------------
def test_given_rules_waiting_for_the_stacks_recorder_then_no_finding(resources, findings, stack_config):
    recorder = resources.add(d.CONFIG_RECORDER, "recorder", {"name": "default"})
    status = resources.add(d.CONFIG_RECORDER_STATUS, "status", {"isEnabled": True}, deps={"name": [recorder]})
    resources.add(d.CONFIG_RULE, "rule", {"name": "rds-encrypted"}, depends_on=(status,))
    assert findings(_check("config-rules-need-recorder"), resources) == []


def test_given_rules_and_a_recorder_they_do_not_wait_for_then_the_race_is_reported(resources, findings, stack_config):
    resources.add(d.CONFIG_RECORDER, "recorder", {"name": "default"})
    resources.add(d.CONFIG_RULE, "rule", {"name": "rds-encrypted"})
    [(message, _)] = findings(_check("config-rules-need-recorder"), resources)
    assert "does not wait" in message


def test_given_rules_without_any_recorder_then_the_config_key_is_named(resources, findings, stack_config):
    resources.add(d.CONFIG_RULE, "rule", {"name": "rds-encrypted"})
    [(message, _)] = findings(_check("config-rules-need-recorder"), resources)
    assert "configRecorderExists" in message


def test_given_rules_and_a_recorder_the_stack_declares_present_then_no_finding(resources, findings, stack_config):
    stack_config(configRecorderExists="true")
    resources.add(d.CONFIG_RULE, "rule", {"name": "rds-encrypted"})
    assert findings(_check("config-rules-need-recorder"), resources) == []


# -- database connection budget --------------------------------------------------------------------
def _database(resources: Resources, *, reserved: object, instance_class: str = "db.t4g.small", proxy=None):
    primary = resources.add(
        d.RDS_INSTANCE, "primary", {"identifier": "db", "instanceClass": instance_class, "resourceId": "db-ABC"}
    )
    target = primary
    resource_id = "db-ABC"
    if proxy is not None:
        target = resources.add(d.PROXY, "proxy", {"arn": "arn:aws:rds:us-east-1:123456789012:db-proxy:prx-123"})
        resources.add(
            d.PROXY_TARGET_GROUP,
            "pool",
            {"connectionPoolConfig": {"maxConnectionsPercent": proxy}},
            deps={"dbProxyName": [target]},
        )
        resources.add(
            d.PROXY_TARGET, "proxy-target", {}, deps={"dbProxyName": [target], "dbInstanceIdentifier": [primary]}
        )
        resource_id = "prx-123"
    role = resources.add(d.ROLE, "role", {"name": "api-role"})
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": [f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}/writer"],
            }
        ],
    }
    resources.add(d.ROLE_POLICY, "policy", {"policy": json.dumps(document)}, deps={"role": [role], "policy": [target]})
    props = {"name": "api"}
    if reserved is not None:
        props["reservedConcurrentExecutions"] = reserved
    resources.add(d.FUNCTION, "api", props, deps={"role": [role]})


def test_given_reserved_environments_within_max_connections_then_no_finding(resources, findings, stack_config):
    _database(resources, reserved=100)  # db.t4g.small: 2 GiB x 0.75 / 9531392 = 168 connections
    assert findings(_check("rds-connection-budget"), resources) == []


def test_given_more_environments_than_connections_then_the_budget_is_exceeded(resources, findings, stack_config):
    _database(resources, reserved=1100)
    [(message, name)] = findings(_check("rds-connection-budget"), resources)
    assert name == "primary"
    assert "1100 connections" in message
    assert "allows 155" in message


def test_given_a_function_without_reservation_then_it_counts_what_the_account_leaves(resources, findings, stack_config):
    _database(resources, reserved=None)
    [(message, _)] = findings(_check("rds-connection-budget"), resources)
    assert "1000 connections" in message


def test_given_the_connections_go_through_a_proxy_pool_that_fits_then_no_finding(resources, findings, stack_config):
    _database(resources, reserved=1100, proxy=80)  # 80% of 168 = 134 <= 155
    assert findings(_check("rds-connection-budget"), resources) == []


def test_given_a_proxy_pool_of_the_whole_instance_then_no_headroom_is_left(resources, findings, stack_config):
    _database(resources, reserved=1100, proxy=100)
    [(message, _)] = findings(_check("rds-connection-budget"), resources)
    assert "pool 168" in message


def test_given_an_instance_class_the_pack_does_not_know_then_it_asks_for_max_connections(resources, findings):
    _database(resources, reserved=10, instance_class="db.x9.huge")
    [(message, _)] = findings(_check("rds-connection-budget"), resources)
    assert "set max_connections in the parameter group" in message


def test_given_an_unknown_reservation_then_the_budget_fails_closed(resources, findings, stack_config):
    _database(resources, reserved=UNKNOWN_NUMBER)
    [(message, _)] = findings(_check("rds-connection-budget"), resources)
    assert "not known during preview" in message


def test_given_an_unknown_policy_document_then_each_target_counts_one_connection(resources, findings, stack_config):
    _database(resources, reserved=1100)
    policy = next(r for r in resources.all if r.name == "policy")
    resources.all.remove(policy)
    role = next(r for r in resources.all if r.name == "role")
    primary = next(r for r in resources.all if r.name == "primary")
    resources.add(d.ROLE_POLICY, "policy", {"policy": UNKNOWN_STRING}, deps={"role": [role], "policy": [primary]})
    [(message, _)] = findings(_check("rds-connection-budget"), resources)
    assert "1100 connections" in message


# -- Lambda SnapStart ------------------------------------------------------------------------------
SNAP_START = "lambda-snap-start-compatible"


def _snap_function(resources: Resources, **props: object) -> object:
    base: dict[str, object] = {
        "name": "api",
        "runtime": "python3.12",
        "architectures": ["arm64"],
        "snapStart": {"applyOn": "PublishedVersions"},
    }
    base.update(props)
    return resources.add(d.FUNCTION, "api", {k: v for k, v in base.items() if v is not None})


def test_given_snap_start_on_python_3_12_without_provisioned_concurrency_then_no_finding(resources, findings):
    _snap_function(resources, ephemeralStorage={"size": 512})
    assert findings(_check(SNAP_START), resources) == []


def test_given_a_function_without_snap_start_then_its_provisioned_concurrency_and_efs_are_not_this_controls(
    resources, findings
):
    function = _snap_function(
        resources, snapStart=None, runtime="python3.9", fileSystemConfig={"arn": "arn:efs", "localMountPath": "/mnt/x"}
    )
    resources.add(d.PROVISIONED_CONCURRENCY, "warm", {"qualifier": "live"}, deps={"functionName": [function]})
    assert findings(_check(SNAP_START), resources) == []


@pytest.mark.parametrize("via_alias", [False, True])
def test_given_snap_start_and_provisioned_concurrency_on_the_same_function_then_it_is_refused(
    resources, findings, via_alias
):
    function = _snap_function(resources)
    target = function
    if via_alias:
        target = resources.add(d.ALIAS, "live", {"name": "live"}, deps={"functionName": [function]})
    resources.add(
        d.PROVISIONED_CONCURRENCY, "warm", {"provisionedConcurrentExecutions": 2}, deps={"functionName": [target]}
    )
    [(message, name)] = findings(_check(SNAP_START), resources)
    assert name == "api"
    assert "warm gives it provisioned concurrency" in message


def test_given_snap_start_and_an_autoscaling_target_naming_the_function_literally_then_it_is_refused(
    resources, findings
):
    _snap_function(resources)
    resources.add(
        d.SCALING_TARGET,
        "scaling",
        {"resourceId": "function:api:live", "scalableDimension": "lambda:function:ProvisionedConcurrency"},
    )
    [(message, _)] = findings(_check(SNAP_START), resources)
    assert "scaling gives it provisioned concurrency" in message


def test_given_provisioned_concurrency_on_another_function_then_the_snap_start_function_deploys(resources, findings):
    _snap_function(resources)
    other = resources.add(d.FUNCTION, "worker", {"name": "worker", "runtime": "python3.12"})
    resources.add(d.PROVISIONED_CONCURRENCY, "warm", {}, deps={"functionName": [other]})
    assert findings(_check(SNAP_START), resources) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"fileSystemConfig": {"arn": "arn:aws:elasticfilesystem:ap", "localMountPath": "/mnt/data"}}, "EFS"),
        ({"ephemeralStorage": {"size": 1024}}, "ephemeral storage is 1024 MB (SnapStart allows 512)"),
        ({"runtime": "python3.11"}, "runtime python3.11 is not one SnapStart supports"),
        ({"runtime": "nodejs22.x"}, "runtime nodejs22.x is not one SnapStart supports"),
        ({"runtime": None, "packageType": "Image"}, "container image"),
    ],
)
def test_given_snap_start_with_what_lambda_refuses_alongside_it_then_the_reason_is_named(
    resources, findings, props, expected
):
    _snap_function(resources, **props)
    [(message, name)] = findings(_check(SNAP_START), resources)
    assert name == "api"
    assert message.startswith("SnapStart is on for api but ")
    assert expected in message


def test_given_every_incompatibility_at_once_then_each_is_reported(resources, findings):
    function = _snap_function(
        resources, runtime="python3.9", fileSystemConfig={"arn": "arn:efs"}, ephemeralStorage={"size": 2048}
    )
    resources.add(d.PROVISIONED_CONCURRENCY, "warm", {}, deps={"functionName": [function]})
    assert len(findings(_check(SNAP_START), resources)) == 4


@pytest.mark.parametrize(
    "props",
    [
        {"snapStart": {"applyOn": UNKNOWN_STRING}},
        {"runtime": UNKNOWN_STRING},
        {"ephemeralStorage": {"size": UNKNOWN_NUMBER}},
    ],
)
def test_given_an_unknown_snap_start_input_then_the_control_fails_closed(resources, findings, props):
    _snap_function(resources, **props)
    [(message, _)] = findings(_check(SNAP_START), resources)
    assert "not known during preview" in message
