"""Bad configuration is refused with an error that names the key to fix.

The parser (contract.settings.parse_settings) is called directly with a shipped stack's configuration
changed as ``pulumi config set``/``rm`` would; only the tests about the program's wiring run the program.
"""

from __future__ import annotations

import pytest

from contract.settings import SettingsError
from offline.harness import ProgramError
from tests.unit.support import STACKS


def refused(parse_stack, stack="dev", **overrides) -> SettingsError:
    """The parser's error for a stack's configuration with ``overrides``; its text starts with the key."""
    with pytest.raises(SettingsError) as failure:
        parse_stack(stack, **overrides)
    assert str(failure.value).startswith(f"{failure.value.key}: ")
    return failure.value


@pytest.mark.parametrize("stack", STACKS)
def test_each_shipped_stack_parses_as_its_own_environment(parse_stack, stack):
    assert parse_stack(stack).environment == stack


def test_a_region_other_than_us_east_1_is_refused(parse_stack):
    error = refused(parse_stack, **{"aws:region": "eu-west-1"})
    assert error.key == "aws:region"
    assert "us-east-1" in str(error)


def test_a_missing_region_is_refused_naming_the_command_that_sets_it(parse_stack):
    error = refused(parse_stack, **{"aws:region": None})
    assert error.key == "aws:region"
    assert "pulumi config set aws:region us-east-1" in str(error)


def test_an_unknown_environment_is_refused(parse_stack):
    error = refused(parse_stack, environment="qa")
    assert error.key == "serverless-infra:environment"
    assert "dev, staging, prod" in str(error)


@pytest.mark.parametrize("key", ["costCenter", "owner"])
def test_a_missing_ownership_tag_is_refused(parse_stack, key):
    error = refused(parse_stack, **{key: None})
    assert error.key == f"serverless-infra:{key}"
    assert "required" in str(error)


def test_a_blank_ownership_tag_is_refused(parse_stack):
    assert refused(parse_stack, owner="   ").key == "serverless-infra:owner"


def test_provisioned_concurrency_above_reserved_concurrency_is_refused(parse_stack):
    error = refused(parse_stack, reservedConcurrency=10, provisionedConcurrencyMax=11)
    assert error.key == "serverless-infra:provisionedConcurrencyMax"
    assert "reservedConcurrency" in str(error)


def test_a_provisioned_floor_above_its_ceiling_is_refused(parse_stack):
    error = refused(parse_stack, provisionedConcurrencyMin=5, provisionedConcurrencyMax=4)
    assert error.key == "serverless-infra:provisionedConcurrencyMin"


def test_a_non_numeric_size_is_refused_with_the_value_shown(parse_stack):
    error = refused(parse_stack, dbAllocatedStorageGb="lots")
    assert error.key == "serverless-infra:dbAllocatedStorageGb"
    assert "'lots'" in str(error)


def test_storage_ceiling_below_initial_storage_is_refused(parse_stack):
    error = refused(parse_stack, dbAllocatedStorageGb=100, dbMaxAllocatedStorageGb=50)
    assert error.key == "serverless-infra:dbMaxAllocatedStorageGb"


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "not-a-network", "8.8.0.0/16"])
def test_an_unusable_vpc_range_is_refused(parse_stack, cidr):
    assert refused(parse_stack, vpcCidr=cidr).key == "serverless-infra:vpcCidr"


def test_more_endpoint_zones_than_vpc_zones_is_refused(parse_stack):
    error = refused(parse_stack, availabilityZoneCount=2, endpointAvailabilityZoneCount=3)
    assert error.key == "serverless-infra:endpointAvailabilityZoneCount"


def test_a_log_retention_cloudwatch_does_not_offer_is_refused(parse_stack):
    error = refused(parse_stack, logRetentionDays=10)
    assert error.key == "serverless-infra:logRetentionDays"


def test_a_read_replica_is_mandatory(parse_stack):
    assert refused(parse_stack, dbReadReplicaCount=0).key == "serverless-infra:dbReadReplicaCount"


def test_database_roles_must_differ(parse_stack):
    error = refused(parse_stack, dbReaderUser="orders_writer")
    assert error.key == "serverless-infra:dbReaderUser"


def test_a_database_role_must_be_a_postgres_identifier(parse_stack):
    assert refused(parse_stack, dbWriterUser="Robert'); DROP").key == "serverless-infra:dbWriterUser"


def test_a_batch_limit_above_500_is_refused(parse_stack):
    assert refused(parse_stack, apiMaxBatchOrders=501).key == "serverless-infra:apiMaxBatchOrders"


def test_a_boolean_must_be_true_or_false(parse_stack):
    assert refused(parse_stack, dbMultiAz="yes").key == "serverless-infra:dbMultiAz"


def test_valid_overrides_are_taken_as_set(parse_stack):
    settings = parse_stack("dev", dbReadReplicaCount=2, availabilityZoneCount=2, endpointAvailabilityZoneCount=1)
    assert settings.database.read_replica_count == 2
    assert (settings.network.availability_zone_count, settings.network.endpoint_availability_zone_count) == (2, 1)


def test_a_batch_above_ten_needs_a_batching_window(parse_stack):
    error = refused(parse_stack, workerBatchSize=500, workerBatchingWindowS=0)
    assert error.key == "serverless-infra:workerBatchingWindowS"


def test_a_batch_above_500_is_refused(parse_stack):
    assert refused(parse_stack, workerBatchSize=501).key == "serverless-infra:workerBatchSize"


def test_the_queue_must_hide_messages_for_six_worker_timeouts(parse_stack):
    error = refused(parse_stack, workerTimeoutS=120, queueVisibilityTimeoutS=600)
    assert error.key == "serverless-infra:queueVisibilityTimeoutS"
    assert "6 times" in str(error)


def test_a_write_limit_above_the_stage_limit_is_refused(parse_stack):
    error = refused(parse_stack, apiThrottleRateLimit=10, apiWriteThrottleRateLimit=20)
    assert error.key == "serverless-infra:apiWriteThrottleRateLimit"


def test_a_custom_domain_needs_its_hosted_zone(parse_stack):
    assert refused(parse_stack, customDomainName="api.example.com").key == "serverless-infra:customDomainZoneId"


def test_a_custom_domain_must_be_a_dns_name(parse_stack):
    assert refused(parse_stack, customDomainName="not a domain").key == "serverless-infra:customDomainName"


def test_an_unknown_cache_size_is_refused(parse_stack):
    assert refused(parse_stack, apiCacheSizeGb="2").key == "serverless-infra:apiCacheSizeGb"


def test_reservations_must_leave_lambdas_100_unreserved_executions(parse_stack):
    """dev reserves 20 (api) + 5 (worker) + 2 (dlq-analyzer) + 1 (migrator) = 28: a quota of 127 is too small."""
    error = refused(parse_stack, lambdaConcurrencyQuota=127)
    assert error.key == "serverless-infra:lambdaConcurrencyQuota"
    assert "100 unreserved" in str(error)
    assert "at least 128" in str(error)
    assert "L-B99A9384" in str(error)


def test_a_quota_that_leaves_exactly_100_unreserved_is_accepted(parse_stack):
    assert parse_stack("dev", lambdaConcurrencyQuota=128).compute.concurrency_quota == 128


def test_prods_reservations_need_the_quota_raise_it_declares(parse_stack):
    error = refused(parse_stack, "prod", lambdaConcurrencyQuota=1000)
    assert error.key == "serverless-infra:lambdaConcurrencyQuota"
    assert "at least 1223" in str(error)


def test_too_many_direct_connections_for_the_instance_need_the_proxy(parse_stack):
    """1,100 API environments, each with a writer and a reader connection, exceed a db.t4g.small."""
    error = refused(parse_stack, "prod", dbProxy=False)
    assert error.key == "serverless-infra:dbProxy"
    assert "db.t4g.small" in str(error)


def test_the_proxy_authenticates_with_iam_only(parse_stack):
    error = refused(parse_stack, dbProxy=True, dbIamAuth=False)
    assert error.key == "serverless-infra:dbProxy"
    assert "dbIamAuth" in str(error)


def test_an_instance_class_without_a_known_memory_is_refused(parse_stack):
    error = refused(parse_stack, dbInstanceClass="db.x9.huge")
    assert error.key == "serverless-infra:dbInstanceClass"


@pytest.mark.parametrize(("allocated", "maximum"), [(100, 109), (20, 21), (100, 100)])
def test_the_storage_ceiling_must_be_ten_percent_above_the_allocation(parse_stack, allocated, maximum):
    """RDS refuses a maximum storage threshold less than 10% above the allocated storage."""
    error = refused(parse_stack, dbAllocatedStorageGb=allocated, dbMaxAllocatedStorageGb=maximum)
    assert error.key == "serverless-infra:dbMaxAllocatedStorageGb"
    assert "10%" in str(error)


def test_a_ceiling_exactly_ten_percent_above_is_accepted(parse_stack):
    database = parse_stack("dev", dbAllocatedStorageGb=100, dbMaxAllocatedStorageGb=110).database
    assert (database.allocated_storage_gb, database.max_allocated_storage_gb) == (100, 110)


def test_the_dead_letter_queue_must_keep_messages_longer_than_the_queue(parse_stack):
    error = refused(parse_stack, queueRetentionDays=14, dlqRetentionDays=14)
    assert error.key == "serverless-infra:dlqRetentionDays"
    assert "enqueue time" in str(error)


def test_a_two_year_performance_insights_retention_is_accepted(parse_stack):
    """RDS accepts 7, a number of 31-day months up to 23, or 731 days."""
    assert (
        parse_stack("dev", dbPerformanceInsightsRetentionDays=731).database.performance_insights_retention_days == 731
    )


def test_a_performance_insights_retention_rds_refuses_is_refused(parse_stack):
    error = refused(parse_stack, dbPerformanceInsightsRetentionDays=90)
    assert error.key == "serverless-infra:dbPerformanceInsightsRetentionDays"


def test_a_master_username_must_start_with_a_letter(parse_stack):
    error = refused(parse_stack, dbMasterUsername="_admin")
    assert error.key == "serverless-infra:dbMasterUsername"
    assert "a letter first" in str(error)


def test_an_operator_role_arn_that_is_not_a_role_is_refused(parse_stack):
    error = refused(parse_stack, operatorRoleArn="arn:aws:iam::111122223333:user/alice")
    assert error.key == "serverless-infra:operatorRoleArn"


def test_an_api_key_count_of_0_is_refused(parse_stack):
    error = refused(parse_stack, apiKeyCount=0)
    assert str(error).startswith("serverless-infra:apiKeyCount: must be between 1 and")


def test_a_share_of_asynchronous_requests_above_one_is_refused(parse_stack):
    assert refused(parse_stack, costAsyncShare="1.5").key == "serverless-infra:costAsyncShare"


def test_a_busy_day_longer_than_24_hours_is_refused(parse_stack):
    assert refused(parse_stack, costPeakHoursPerDay=25).key == "serverless-infra:costPeakHoursPerDay"


def test_a_stacks_own_budget_and_traffic_are_taken_as_set(parse_stack):
    settings = parse_stack("dev", monthlyBudgetUsd=123, costPeakRequestsPerMinute=45)
    assert settings.observability.monthly_budget_usd == 123
    assert settings.traffic.peak_requests_per_minute == 45


# --- The program's wiring: it parses the runtime's configuration and stops on a bad value.


def test_given_a_bad_value_when_the_program_runs_then_it_stops_with_a_config_error_naming_the_key(run_stack):
    """ConfigError is a pulumi.RunError: the CLI prints it without a traceback. Each run imports the
    program afresh, so the class is matched by name."""
    with pytest.raises(ProgramError) as failure:
        run_stack("dev", dbMultiAz="yes")
    cause = failure.value.__cause__
    assert type(cause).__name__ == "ConfigError"
    assert "RunError" in {base.__name__ for base in type(cause).__mro__}
    assert cause.key == "serverless-infra:dbMultiAz"


def test_a_missing_archive_names_the_command_that_builds_it(run_stack, tmp_path):
    with pytest.raises(ProgramError) as failure:
        run_stack("dev", layerArchive=str(tmp_path / "absent.zip"))
    assert "serverless-infra:layerArchive" in str(failure.value)
    assert "nox -s package" in str(failure.value)
