"""The functions: placement, tracing, roles that grant exactly what each workload's code calls."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from contract.runtime import LAMBDA_RUNTIME
from contract.workloads import PLATFORM_ACTIONS, QUEUE_CONSUMER_ACTIONS, WORKLOADS, DatabaseAccess
from offline.harness import ProgramError, run_program
from tests.unit.support import PROJECT_ROOT, as_list, resource_by_id, statements

FUNCTION = "aws:lambda/function:Function"


def functions(run):
    return {r.inputs["name"].rsplit("-function-", 1)[1]: r for r in run.of_type(FUNCTION)}


def role_policy(run, key):
    record = run.named("aws:iam/rolePolicy:RolePolicy", f"serverless-infra-{run.stack}-role-policy-{key}")
    return statements(json.loads(record.inputs["policy"]))


def granted_actions(run, key):
    return {action for stmt in role_policy(run, key) for action in as_list(stmt["Action"])}


def test_there_is_one_function_per_workload(stack_run):
    assert set(functions(stack_run)) == {w.key for w in WORKLOADS}


def test_every_function_runs_only_in_the_private_app_subnets_with_the_function_group(stack_run):
    for key, function in functions(stack_run).items():
        vpc = function.inputs["vpcConfig"]
        subnet_names = {resource_by_id(stack_run, s).name for s in vpc["subnetIds"]}
        assert all("-subnet-app-" in name for name in subnet_names), key
        assert len(subnet_names) == 3
        assert [resource_by_id(stack_run, g).name for g in vpc["securityGroupIds"]] == [
            f"serverless-infra-{stack_run.stack}-security-group-function"
        ]


def test_every_function_has_active_tracing_and_its_own_role(stack_run):
    roles = set()
    for key, function in functions(stack_run).items():
        assert function.inputs["tracingConfig"] == {"mode": "Active"}, key
        role = stack_run.named("aws:iam/role:Role", f"serverless-infra-{stack_run.stack}-role-{key}")
        assert function.inputs["role"] == role.outputs["arn"]
        roles.add(function.inputs["role"])
    assert len(roles) == len(WORKLOADS)


def test_functions_run_python_on_arm_with_the_dependency_layer(stack_run):
    (layer,) = stack_run.of_type("aws:lambda/layerVersion:LayerVersion")
    for function in stack_run.of_type(FUNCTION):
        assert function.inputs["runtime"] == LAMBDA_RUNTIME == "python3.13"
        assert function.inputs["architectures"] == ["arm64"]
        assert function.inputs["layers"] == [layer.outputs["arn"]]
        assert function.inputs["handler"].startswith("orders.handlers.")


def test_every_function_logs_json_to_its_own_encrypted_log_group(stack_run):
    groups = {g.inputs["name"]: g for g in stack_run.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for function in stack_run.of_type(FUNCTION):
        group = groups[f"/aws/lambda/{function.inputs['name']}"]
        assert function.inputs["loggingConfig"]["logFormat"] == "JSON"
        assert function.inputs["loggingConfig"]["logGroup"] == group.inputs["name"]
        assert group.inputs["kmsKeyId"]


def test_environment_variables_are_encrypted_with_the_functions_key(stack_run):
    key = stack_run.named("aws:kms/key:Key", f"serverless-infra-{stack_run.stack}-kms-key-functions")
    assert all(f.inputs["kmsKeyArn"] == key.outputs["arn"] for f in stack_run.of_type(FUNCTION))


def test_destroy_parks_functions_on_the_default_group_so_the_function_group_frees_at_once(stack_run):
    default = stack_run.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")[0]
    for function in stack_run.of_type(FUNCTION):
        assert function.inputs["replaceSecurityGroupsOnDestroy"] is True
        assert function.inputs["replacementSecurityGroupIds"] == [default.id]


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.key)
def test_each_role_grants_exactly_what_its_workload_calls(stack_run, workload):
    implied_kms = {"kms:Decrypt"}  # parameters, environment, queues and the master secret are all encrypted
    if "sqs:SendMessage" in workload.aws_actions:
        implied_kms.add("kms:GenerateDataKey")
    expected = set(PLATFORM_ACTIONS) | set(workload.aws_actions) | implied_kms
    if workload.consumes:
        expected |= set(QUEUE_CONSUMER_ACTIONS)
    assert granted_actions(stack_run, workload.key) == expected


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.key)
def test_each_role_reads_only_its_own_parameter_categories(stack_run, workload):
    found = [s for s in role_policy(stack_run, workload.key) if s["Sid"] == "ReadOwnParameters"]
    if not workload.parameter_categories:
        assert found == []
        return
    (stmt,) = found
    categories = {resource.split(f"/myapp/{stack_run.stack}/")[1].split("/")[0] for resource in stmt["Resource"]}
    assert categories == {c.value for c in workload.parameter_categories}


def test_database_users_are_scoped_per_instance(runs):
    run = runs["dev"]
    primary = run.named("aws:rds/instance:Instance", "serverless-infra-dev-db-primary")
    replica = run.named("aws:rds/instance:Instance", "serverless-infra-dev-db-replica-1")
    for workload in WORKLOADS:
        connect = [s for s in role_policy(run, workload.key) if "rds-db:connect" in as_list(s["Action"])]
        if workload.database_access is not DatabaseAccess.READ_WRITE:
            assert connect == [], workload.key
            continue
        (stmt,) = connect
        assert stmt["Resource"] == [
            f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{primary.outputs['resourceId']}/orders_writer",
            f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{replica.outputs['resourceId']}/orders_reader",
        ]


def test_only_the_migrator_reads_the_master_secret(stack_run):
    readers = {w.key for w in WORKLOADS if "secretsmanager:GetSecretValue" in granted_actions(stack_run, w.key)}
    assert readers == {"migrator"}


def test_provisioned_concurrency_scales_the_api_alias_in_prod(runs):
    prod = runs["prod"]
    (target,) = prod.of_type("aws:appautoscaling/target:Target")
    assert target.inputs["resourceId"] == "function:serverless-infra-prod-function-api:live"
    assert target.inputs["scalableDimension"] == "lambda:function:ProvisionedConcurrency"
    assert (int(target.inputs["minCapacity"]), int(target.inputs["maxCapacity"])) == (2, 100)
    (policy,) = prod.of_type("aws:appautoscaling/policy:Policy")
    tracking = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert (
        tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "LambdaProvisionedConcurrencyUtilization"
    )
    assert tracking["targetValue"] == 0.7


def test_dev_keeps_no_idle_provisioned_concurrency(runs):
    assert runs["dev"].of_type("aws:appautoscaling/target:Target") == []
    assert runs["dev"].of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig") == []


def test_prod_can_run_over_a_thousand_concurrent_api_executions(runs):
    api = functions(runs["prod"])["api"]
    assert int(api.inputs["reservedConcurrentExecutions"]) >= 1000


def test_the_worker_consumes_orders_in_batches_with_partial_failures(stack_run):
    worker_mapping = stack_run.named(
        "aws:lambda/eventSourceMapping:EventSourceMapping", f"serverless-infra-{stack_run.stack}-event-source-worker"
    )
    config = stack_run.config.values
    assert int(worker_mapping.inputs["batchSize"]) == int(config["serverless-infra:workerBatchSize"])
    assert int(worker_mapping.inputs["maximumBatchingWindowInSeconds"]) == int(
        config["serverless-infra:workerBatchingWindowS"]
    )
    assert worker_mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert int(worker_mapping.inputs["scalingConfig"]["maximumConcurrency"]) == int(
        config["serverless-infra:workerMaxConcurrency"]
    )
    assert worker_mapping.inputs["functionName"].endswith("-function-worker:live")


def test_the_queue_hides_messages_at_least_six_worker_timeouts(stack_run):
    queue = stack_run.named("aws:sqs/queue:Queue", f"serverless-infra-{stack_run.stack}-queue-orders")
    worker = functions(stack_run)["worker"]
    assert int(queue.inputs["visibilityTimeoutSeconds"]) >= 6 * int(worker.inputs["timeout"])


def test_failed_orders_redrive_to_the_dead_letter_queue(stack_run):
    queue = stack_run.named("aws:sqs/queue:Queue", f"serverless-infra-{stack_run.stack}-queue-orders")
    dlq = stack_run.named("aws:sqs/queue:Queue", f"serverless-infra-{stack_run.stack}-queue-orders-dlq")
    redrive = json.loads(queue.inputs["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 5}
    for q in (queue, dlq):
        assert q.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")


def test_with_the_proxy_functions_may_connect_only_through_it(runs):
    """IAM database authentication through RDS Proxy names the proxy's resource id (prx-...)."""
    run = runs["prod"]
    (proxy,) = run.of_type("aws:rds/proxy:Proxy")
    proxy_id = proxy.outputs["arn"].rsplit(":", 1)[1]
    assert proxy_id.startswith("prx-")
    for workload in (w for w in WORKLOADS if w.database_access is DatabaseAccess.READ_WRITE):
        (stmt,) = [s for s in role_policy(run, workload.key) if "rds-db:connect" in as_list(s["Action"])]
        assert stmt["Resource"] == [
            f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{proxy_id}/orders_writer",
            f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{proxy_id}/orders_reader",
        ], workload.key


def test_only_the_worker_is_fed_by_an_event_source_mapping(stack_run):
    """The DLQ analyzer peeks at the dead-letter queue on a schedule; a mapping would consume (delete) it."""
    queue = stack_run.named("aws:sqs/queue:Queue", f"serverless-infra-{stack_run.stack}-queue-orders")
    mappings = stack_run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert [(m.inputs["eventSourceArn"], m.inputs["functionName"].rsplit("-", 1)[1]) for m in mappings] == [
        (queue.outputs["arn"], "worker:live")
    ]


def test_the_dlq_analyzer_runs_every_five_minutes_on_its_alias(stack_run):
    env = stack_run.stack
    rule = stack_run.named("aws:cloudwatch/eventRule:EventRule", f"serverless-infra-{env}-event-rule-dlq-analyzer")
    assert rule.inputs["scheduleExpression"] == "rate(5 minutes)"
    alias = stack_run.named("aws:lambda/alias:Alias", f"serverless-infra-{env}-alias-dlq-analyzer")
    (target,) = [t for t in stack_run.of_type("aws:cloudwatch/eventTarget:EventTarget") if "dlq-analyzer" in t.name]
    assert (target.inputs["rule"], target.inputs["arn"]) == (rule.outputs["name"], alias.outputs["arn"])
    permission = stack_run.named(
        "aws:lambda/permission:Permission", f"serverless-infra-{env}-permission-dlq-analyzer-schedule"
    )
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert permission.inputs["sourceArn"] == rule.outputs["arn"]
    assert permission.inputs["qualifier"] == "live"
    assert permission.urn in target.dependencies


def test_the_dlq_analyzer_may_peek_at_the_dead_letter_queue_but_not_delete(stack_run):
    dlq = stack_run.named("aws:sqs/queue:Queue", f"serverless-infra-{stack_run.stack}-queue-orders-dlq")
    policy = role_policy(stack_run, "dlq-analyzer")
    sqs = {a: s["Resource"] for s in policy for a in as_list(s["Action"]) if a.startswith("sqs:")}
    peek = ("sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")
    assert sqs == {action: [dlq.outputs["arn"]] for action in peek}
    (decrypt,) = [s for s in policy if s["Sid"] == "DecryptDeadLetters"]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}}
    analyzer = functions(stack_run)["dlq-analyzer"]
    assert analyzer.inputs["environment"]["variables"]["DEAD_LETTER_QUEUE_URL"] == dlq.outputs["url"]


def test_a_peeked_dead_letter_stays_hidden_for_a_whole_analyzer_run(stack_run):
    dlq = stack_run.named("aws:sqs/queue:Queue", f"serverless-infra-{stack_run.stack}-queue-orders-dlq")
    assert int(dlq.inputs["visibilityTimeoutSeconds"]) >= int(functions(stack_run)["dlq-analyzer"].inputs["timeout"])


def test_the_worker_takes_batches_of_500_in_every_stack_within_its_timeout(stack_run):
    mapping = stack_run.named(
        "aws:lambda/eventSourceMapping:EventSourceMapping", f"serverless-infra-{stack_run.stack}-event-source-worker"
    )
    assert int(mapping.inputs["batchSize"]) == 500
    assert int(mapping.inputs["maximumBatchingWindowInSeconds"]) >= 1
    assert int(functions(stack_run)["worker"].inputs["timeout"]) >= 120


def test_the_provisioned_concurrency_is_set_before_the_autoscaler_takes_the_alias(runs):
    prod = runs["prod"]
    (provisioned,) = prod.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    (target,) = prod.of_type("aws:appautoscaling/target:Target")
    assert provisioned.urn in target.dependencies


def test_the_migrator_waits_for_its_network_path_secret_and_proxy(runs):
    for run in runs.values():
        (invocation,) = run.of_type("aws:lambda/invocation:Invocation")
        dependencies = set(invocation.dependencies)
        needed = run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        needed += run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        needed += run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        needed += run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
        needed += run.of_type("aws:rds/proxyTarget:ProxyTarget")
        assert {r.urn for r in needed} <= dependencies, run.stack
    assert runs["prod"].of_type("aws:rds/proxyTarget:ProxyTarget")


def test_code_and_layer_deploy_from_the_versioned_artifact_bucket_by_content_hash(stack_run):
    bucket = stack_run.of_type("aws:s3/bucket:Bucket")[0]
    objects = {o.name.rsplit("-", 1)[1]: o for o in stack_run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert set(objects) == {"function", "layer"}
    for kind, record in objects.items():
        assert record.inputs["bucket"] == bucket.id
        digest = hashlib.sha256(Path(record.inputs["source"].path).read_bytes()).hexdigest()
        assert record.inputs["key"] == f"lambda/{kind}-{digest}.zip"
    (layer,) = stack_run.of_type("aws:lambda/layerVersion:LayerVersion")
    assert (layer.inputs["s3Key"], layer.inputs["s3ObjectVersion"]) == (
        objects["layer"].inputs["key"],
        objects["layer"].outputs["versionId"],
    )
    assert "code" not in layer.inputs
    for function in stack_run.of_type(FUNCTION):
        assert function.inputs["s3Bucket"] == bucket.outputs["bucket"]
        assert function.inputs["s3Key"] == objects["function"].inputs["key"]
        assert function.inputs["s3ObjectVersion"] == objects["function"].outputs["versionId"]
        assert "code" not in function.inputs
    (versioning,) = stack_run.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (lifecycle,) = stack_run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    (noncurrent,) = [r for r in lifecycle.inputs["rules"] if r.get("noncurrentVersionExpiration")]
    days = int(stack_run.config.values["serverless-infra:artifactNoncurrentVersionDays"])
    assert int(noncurrent["noncurrentVersionExpiration"]["noncurrentDays"]) == days
    assert not noncurrent.get("expiration", {}).get("days")  # current archives never expire


def layer_without_ca_bundle(tmp_path):
    layer = tmp_path / "layer.zip"
    with zipfile.ZipFile(layer, "w") as archive:
        archive.writestr("python/README.txt", "no certificates\n")
    return str(layer)


def test_up_refuses_a_layer_without_the_rds_ca_bundle(archive_overrides, tmp_path):
    overrides = {**archive_overrides, "serverless-infra:layerArchive": layer_without_ca_bundle(tmp_path)}
    with pytest.raises(ProgramError) as failure:
        run_program(PROJECT_ROOT, "dev", config_overrides=overrides, preview=False)
    message = str(failure.value.__cause__)
    assert "serverless-infra:layerArchive" in message
    assert "--rds-ca-bundle" in message
    assert "rds-global-bundle.pem" in message


def test_preview_only_warns_about_a_layer_without_the_rds_ca_bundle(archive_overrides, tmp_path):
    overrides = {**archive_overrides, "serverless-infra:layerArchive": layer_without_ca_bundle(tmp_path)}
    run = run_program(PROJECT_ROOT, "dev", config_overrides=overrides, preview=True)
    assert any("--rds-ca-bundle" in warning and "rds-global-bundle.pem" in warning for warning in run.warnings)
    assert run.of_type(FUNCTION)


def test_the_migrator_runs_at_deploy_time_after_the_database_and_parameters(stack_run):
    (invocation,) = stack_run.of_type("aws:lambda/invocation:Invocation")
    assert invocation.inputs["functionName"].endswith("-function-migrator")
    assert json.loads(invocation.inputs["input"]) == {"action": "migrate"}
    # Depending on a component means depending on every resource in it.
    dependencies = set(invocation.dependencies)
    instances = {r.urn for r in stack_run.of_type("aws:rds/instance:Instance")}
    parameters = {r.urn for r in stack_run.of_type("aws:ssm/parameter:Parameter")}
    assert instances <= dependencies
    assert parameters <= dependencies
    assert invocation.inputs["triggers"]["code"]
