"""The local stack's blueprint is read from the Pulumi program: every part follows the program's configuration."""

from __future__ import annotations

import dataclasses

import pytest

from contract.parameters import DOCUMENT_NAME, STORED_PARAMETERS, decode_document
from contract.workloads import WORKLOADS
from local.aws import local_value
from local.blueprint import Blueprint
from local.database import DatabaseEndpoint
from local.materialize import MaterializeError, blueprint_of, capture, materialize
from local.routing import match
from local.scheduler import interval_of
from offline.harness import ProgramRun
from tests.unit.support import PROJECT_ROOT


@pytest.fixture(scope="module")
def dev() -> Blueprint:
    """The dev stack's blueprint, materialized once for this module (tests only read it)."""
    return materialize(PROJECT_ROOT, "dev")


@pytest.fixture(scope="module")
def prod() -> Blueprint:
    return materialize(PROJECT_ROOT, "prod")


@pytest.fixture
def dev_run() -> ProgramRun:
    """A fresh capture of the dev stack (the test may change its records)."""
    return capture(PROJECT_ROOT, "dev")


def integer(blueprint: Blueprint, key: str) -> int:
    return int(blueprint.config[key])


def orders_queue(blueprint: Blueprint):
    (queue,) = [queue for queue in blueprint.queues if queue.redrive is not None]
    return queue


# -- functions -------------------------------------------------------------------------------------
def test_given_dev_then_every_workload_has_its_function_with_the_handler_the_contract_names(dev):
    assert {function.key: function.handler for function in dev.functions} == {w.key: w.handler for w in WORKLOADS}


def test_given_dev_then_each_function_runs_behind_an_alias_with_a_declared_role(dev):
    role_names = {role.name for role in dev.roles}
    for function in dev.functions:
        assert function.alias is not None
        assert function.role_name in role_names
        assert function.runtime.startswith("python3.")
        assert function.architecture in ("arm64", "x86_64")
        assert function.layers


def test_given_dev_then_the_sizes_are_the_configured_ones(dev):
    api, worker = dev.function("api"), dev.function("worker")
    assert (api.memory_mb, api.timeout_s) == (integer(dev, "functionMemoryMb"), integer(dev, "functionTimeoutS"))
    assert api.reserved_concurrency == integer(dev, "reservedConcurrency")
    assert (worker.memory_mb, worker.timeout_s) == (integer(dev, "workerMemoryMb"), integer(dev, "workerTimeoutS"))


def test_given_a_worker_timeout_override_when_materialized_then_the_function_and_its_queue_follow_it():
    blueprint = materialize(PROJECT_ROOT, "dev", {"workerTimeoutS": "100", "queueVisibilityTimeoutS": "640"})
    assert blueprint.function("worker").timeout_s == 100
    assert orders_queue(blueprint).visibility_timeout_s == 640


def test_given_dev_then_function_environments_name_the_program_s_queues_and_secret(dev):
    api, migrator = dev.function("api"), dev.function("migrator")
    assert api.environment["ORDERS_QUEUE_URL"] == orders_queue(dev).url
    assert migrator.environment["DB_MASTER_SECRET_ARN"] in dev.secret_arns.values()
    assert api.environment["PARAMETER_PREFIX"] == dev.config["parameterPrefix"]


# -- queues, mappings, schedules -----------------------------------------------------------------------
def test_given_dev_then_the_orders_queue_redrives_to_its_dead_letter_queue_under_a_declared_key(dev):
    queue = orders_queue(dev)
    assert queue.redrive is not None
    dead_letters = dev.queue(queue.redrive.dead_letter_queue)
    assert queue.redrive.max_receive_count == integer(dev, "queueMaxReceiveCount")
    assert queue.message_retention_s == integer(dev, "queueRetentionDays") * 86_400
    assert dead_letters.message_retention_s == integer(dev, "dlqRetentionDays") * 86_400
    assert {queue.kms_key, dead_letters.kms_key} <= {key.logical_name for key in dev.keys}


def test_given_dev_then_the_worker_polls_the_orders_queue_with_the_configured_batching(dev):
    (mapping,) = dev.mappings
    assert mapping.function_name == dev.function("worker").name
    assert mapping.queue_name == orders_queue(dev).name
    assert mapping.batch_size == integer(dev, "workerBatchSize")
    assert mapping.batching_window_s == integer(dev, "workerBatchingWindowS")
    assert mapping.maximum_concurrency == integer(dev, "workerMaxConcurrency")
    assert "ReportBatchItemFailures" in mapping.function_response_types


def test_given_dev_then_the_dlq_analyzer_runs_on_a_rate_schedule(dev):
    (schedule,) = dev.schedules
    assert schedule.function_name == dev.function("dlq-analyzer").name
    assert interval_of(schedule.schedule_expression) > 0


# -- parameters, keys, roles, buckets, secrets ----------------------------------------------------------
def test_given_dev_then_every_contract_parameter_is_declared_under_the_prefix_with_a_declared_key(dev):
    prefix = f"/{dev.config['parameterPrefix']}/{dev.environment}"
    assert {parameter.name for parameter in dev.parameters} == {
        spec.path(*prefix.strip("/").split("/")) for spec in STORED_PARAMETERS
    }
    assert {parameter.kms_key for parameter in dev.parameters} <= {key.logical_name for key in dev.keys}


def test_given_dev_then_generated_secrets_and_deployment_addresses_are_left_to_the_local_stack(dev):
    values = {parameter.name.split("/", 3)[3]: parameter for parameter in dev.parameters}
    for generated in ("database/app_password", "api/cursor_signing_key", f"database/{DOCUMENT_NAME}"):
        assert values[generated].value is None, generated
    api = decode_document("api", values[f"api/{DOCUMENT_NAME}"].value or "")
    assert api["default_page_size"] == dev.config["apiDefaultPageSize"]


def test_given_dev_then_the_database_document_keeps_the_mocks_text_as_a_stand_in(dev):
    """GIVEN a document holding a deployment's address  THEN its configured fields are still known locally."""
    (database,) = (p for p in dev.parameters if p.name.endswith(f"/database/{DOCUMENT_NAME}"))
    assert decode_document(database.name, database.stand_in or "")["name"] == dev.config["dbName"]


def test_given_a_local_database_then_its_address_replaces_the_deployments_in_the_database_document(dev):
    """GIVEN the dev blueprint and a local database  WHEN seeding  THEN the document has its host, port and
    name, IAM auth off, and the program's other settings."""
    (database,) = (p for p in dev.parameters if p.name.endswith(f"/database/{DOCUMENT_NAME}"))
    local = DatabaseEndpoint(host="127.0.0.1", port=55432, name="orders_local", master_user="m", master_password="x")
    seeded = decode_document(database.name, local_value(database, local) or "")
    assert {name: seeded[name] for name in ("writer_host", "reader_host", "port", "name", "iam_auth")} == {
        "writer_host": "127.0.0.1",
        "reader_host": "127.0.0.1",
        "port": "55432",
        "name": "orders_local",
        "iam_auth": "false",
    }
    assert seeded["writer_user"] == dev.config["dbWriterUser"]


def test_given_dev_then_every_key_has_an_alias_and_every_function_role_an_inline_policy(dev):
    assert all(key.aliases for key in dev.keys)
    for function in dev.functions:
        assert dev.role(function.role_name).inline_policies


def test_given_dev_then_the_bucket_the_master_secret_and_the_database_are_read(dev):
    assert dev.buckets
    assert dev.secrets
    assert dev.database is not None
    assert dev.database.name == dev.config["dbName"]
    assert dev.database.master_username == dev.config["dbMasterUsername"]
    assert dev.database.iam_authentication is (dev.config["dbIamAuth"] == "true")
    assert dev.database.force_ssl is True  # the program's parameter group sets rds.force_ssl


# -- the API ---------------------------------------------------------------------------------------
def test_given_dev_then_requests_match_the_program_s_resources_and_key_requirements(dev):
    methods = dev.api.methods
    by_id = match("/orders/42", "GET", methods)
    assert by_id is not None
    assert by_id.method.resource_path == "/orders/{order_id}"
    assert by_id.method.api_key_required is True
    health = match("/health", "GET", methods)
    assert health is not None
    assert health.method.api_key_required is False
    assert {method.function_name for method in methods} == {dev.function("api").name}


def test_given_dev_then_the_stage_settings_throttle_and_cache_as_configured(dev):
    (everything,) = [s for s in dev.api.method_settings if s.method_path == "*/*"]
    assert everything.throttling_rate_limit == integer(dev, "apiThrottleRateLimit")
    assert everything.throttling_burst_limit == integer(dev, "apiThrottleBurstLimit")
    cached = [s for s in dev.api.method_settings if s.caching_enabled]
    assert cached
    assert {s.cache_ttl_s for s in cached} == {integer(dev, "apiCacheTtlS")}
    assert dev.api.cache_cluster_enabled is True


def test_given_dev_then_the_usage_plan_covers_every_key_with_the_configured_quota(dev):
    (plan,) = dev.api.usage_plans
    assert plan.quota_limit == integer(dev, "apiQuotaPerDay")
    assert plan.quota_period == "DAY"
    assert set(plan.api_keys) == set(dev.api.api_keys)
    assert len(dev.api.api_keys) == integer(dev, "apiKeyCount")


def test_given_api_key_count_3_when_materialized_then_three_keys_are_on_the_usage_plan():
    blueprint = materialize(PROJECT_ROOT, "dev", {"apiKeyCount": "3"})
    (plan,) = blueprint.api.usage_plans
    assert len(blueprint.api.api_keys) == len(set(plan.api_keys)) == 3


# -- prod, and refusals ----------------------------------------------------------------------------------
def test_given_prod_then_it_differs_from_dev_only_where_its_configuration_does(dev, prod):
    def shape(blueprint: Blueprint):
        methods = {(m.resource_path, m.http_method, m.api_key_required) for m in blueprint.api.methods}
        return (
            {f.key: f.handler for f in blueprint.functions},
            methods,
            len(blueprint.queues),
            len(blueprint.parameters),
        )

    assert shape(prod) == shape(dev)
    assert prod.function("api").reserved_concurrency == integer(prod, "reservedConcurrency")
    assert prod.function("api").provisioned_concurrency == max(integer(prod, "provisionedConcurrencyMin"), 1)
    assert prod.mappings[0].maximum_concurrency == integer(prod, "workerMaxConcurrency")
    assert prod.environment == "prod"
    assert all("-prod-" in f.name for f in prod.functions)


def test_given_a_configuration_the_program_refuses_then_materializing_stops_naming_the_key():
    with pytest.raises(MaterializeError) as failure:
        materialize(PROJECT_ROOT, "dev", {"queueVisibilityTimeoutS": "60"})
    assert "serverless-infra:queueVisibilityTimeoutS" in str(failure.value)


def test_given_a_queue_that_hides_messages_shorter_than_its_consumer_runs_then_the_pack_s_control_refuses_it(dev_run):
    """The program guards this in its settings; a change that lost the guard still meets the pack."""
    (queue,) = [r for r in dev_run.of_type("aws:sqs/queue:Queue") if "redrivePolicy" in r.inputs]
    (worker,) = [r for r in dev_run.of_type("aws:lambda/function:Function") if r.name.endswith("-worker")]
    queue.inputs["visibilityTimeoutSeconds"] = worker.inputs["timeout"] - 1
    with pytest.raises(MaterializeError) as failure:
        blueprint_of(dev_run)
    (message,) = failure.value.messages
    assert f"the queue {queue.name} keeps messages invisible for {worker.inputs['timeout'] - 1:g} s" in message
    assert f"{worker.inputs['timeout']:g} s timeout of the function {worker.name}" in message
    assert message in str(failure.value)


def test_given_the_unchanged_capture_then_no_deployability_control_refuses_it(dev_run):
    assert dataclasses.is_dataclass(blueprint_of(dev_run))


def test_the_declared_first_api_key_comes_first_whatever_order_the_keys_registered_in(dev):
    """The stack output apiKey is the first key's; the local stack hands out the same one first."""
    assert dev.api.api_keys[0] == "serverless-infra-dev-api-key"
    assert dev.api.api_keys[1:] == ("serverless-infra-dev-api-key-2",)
