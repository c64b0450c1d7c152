"""Bad configuration stops the program with an error that names the key to fix."""

from __future__ import annotations

import pytest

from offline.harness import ProgramError


def config_error(run_stack, **overrides):
    """The program's ConfigError. Each run imports the program afresh, so match the class by name."""
    with pytest.raises(ProgramError) as failure:
        run_stack("dev", **overrides)
    cause = failure.value.__cause__
    assert type(cause).__name__ == "ConfigError", f"expected a ConfigError, got {cause!r}"
    assert str(cause).startswith(f"{cause.key}: ")
    return cause


def test_a_region_other_than_us_east_1_is_refused(run_stack):
    error = config_error(run_stack, **{"aws:region": "eu-west-1"})
    assert error.key == "aws:region"
    assert "us-east-1" in str(error)


def test_an_unknown_environment_is_refused(run_stack):
    error = config_error(run_stack, environment="qa")
    assert error.key == "serverless-infra:environment"
    assert "dev, staging, prod" in str(error)


@pytest.mark.parametrize("key", ["costCenter", "owner"])
def test_a_missing_ownership_tag_is_refused(run_stack, key):
    error = config_error(run_stack, **{key: None})
    assert error.key == f"serverless-infra:{key}"
    assert "required" in str(error)


def test_a_blank_ownership_tag_is_refused(run_stack):
    assert config_error(run_stack, owner="   ").key == "serverless-infra:owner"


def test_provisioned_concurrency_above_reserved_concurrency_is_refused(run_stack):
    error = config_error(run_stack, reservedConcurrency=10, provisionedConcurrencyMax=11)
    assert error.key == "serverless-infra:provisionedConcurrencyMax"
    assert "reservedConcurrency" in str(error)


def test_a_provisioned_floor_above_its_ceiling_is_refused(run_stack):
    error = config_error(run_stack, provisionedConcurrencyMin=5, provisionedConcurrencyMax=4)
    assert error.key == "serverless-infra:provisionedConcurrencyMin"


def test_a_non_numeric_size_is_refused_with_the_value_shown(run_stack):
    error = config_error(run_stack, dbAllocatedStorageGb="lots")
    assert error.key == "serverless-infra:dbAllocatedStorageGb"
    assert "'lots'" in str(error)


def test_storage_ceiling_below_initial_storage_is_refused(run_stack):
    error = config_error(run_stack, dbAllocatedStorageGb=100, dbMaxAllocatedStorageGb=50)
    assert error.key == "serverless-infra:dbMaxAllocatedStorageGb"


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "not-a-network", "8.8.0.0/16"])
def test_an_unusable_vpc_range_is_refused(run_stack, cidr):
    assert config_error(run_stack, vpcCidr=cidr).key == "serverless-infra:vpcCidr"


def test_more_endpoint_zones_than_vpc_zones_is_refused(run_stack):
    error = config_error(run_stack, availabilityZoneCount=2, endpointAvailabilityZoneCount=3)
    assert error.key == "serverless-infra:endpointAvailabilityZoneCount"


def test_a_log_retention_cloudwatch_does_not_offer_is_refused(run_stack):
    error = config_error(run_stack, logRetentionDays=10)
    assert error.key == "serverless-infra:logRetentionDays"


def test_a_read_replica_is_mandatory(run_stack):
    assert config_error(run_stack, dbReadReplicaCount=0).key == "serverless-infra:dbReadReplicaCount"


def test_database_roles_must_differ(run_stack):
    error = config_error(run_stack, dbReaderUser="orders_writer")
    assert error.key == "serverless-infra:dbReaderUser"


def test_a_database_role_must_be_a_postgres_identifier(run_stack):
    assert config_error(run_stack, dbWriterUser="Robert'); DROP").key == "serverless-infra:dbWriterUser"


def test_a_batch_limit_above_500_is_refused(run_stack):
    assert config_error(run_stack, apiMaxBatchOrders=501).key == "serverless-infra:apiMaxBatchOrders"


def test_a_boolean_must_be_true_or_false(run_stack):
    assert config_error(run_stack, dbMultiAz="yes").key == "serverless-infra:dbMultiAz"


def test_valid_overrides_are_accepted(run_stack):
    run = run_stack("dev", dbReadReplicaCount=2, availabilityZoneCount=2, endpointAvailabilityZoneCount=1)
    assert len(run.of_type("aws:rds/instance:Instance")) == 3


def test_a_batch_above_ten_needs_a_batching_window(run_stack):
    error = config_error(run_stack, workerBatchSize=500, workerBatchingWindowS=0)
    assert error.key == "serverless-infra:workerBatchingWindowS"


def test_a_batch_above_500_is_refused(run_stack):
    assert config_error(run_stack, workerBatchSize=501).key == "serverless-infra:workerBatchSize"


def test_the_queue_must_hide_messages_for_six_worker_timeouts(run_stack):
    error = config_error(run_stack, workerTimeoutS=120, queueVisibilityTimeoutS=600)
    assert error.key == "serverless-infra:queueVisibilityTimeoutS"
    assert "6 times" in str(error)


def test_a_write_limit_above_the_stage_limit_is_refused(run_stack):
    error = config_error(run_stack, apiThrottleRateLimit=10, apiWriteThrottleRateLimit=20)
    assert error.key == "serverless-infra:apiWriteThrottleRateLimit"


def test_a_custom_domain_needs_its_hosted_zone(run_stack):
    assert config_error(run_stack, customDomainName="api.example.com").key == "serverless-infra:customDomainZoneId"


def test_a_custom_domain_must_be_a_dns_name(run_stack):
    assert config_error(run_stack, customDomainName="not a domain").key == "serverless-infra:customDomainName"


def test_an_unknown_cache_size_is_refused(run_stack):
    assert config_error(run_stack, apiCacheSizeGb="2").key == "serverless-infra:apiCacheSizeGb"


def test_a_missing_archive_names_the_command_that_builds_it(run_stack, tmp_path):
    with pytest.raises(ProgramError) as failure:
        run_stack("dev", layerArchive=str(tmp_path / "absent.zip"))
    assert "serverless-infra:layerArchive" in str(failure.value)
    assert "nox -s package" in str(failure.value)


def test_reservations_must_leave_lambdas_100_unreserved_executions(run_stack):
    """dev reserves 20 (api) + 5 (worker) + 2 (dlq-analyzer) + 1 (migrator) = 28: a quota of 127 is too small."""
    error = config_error(run_stack, lambdaConcurrencyQuota=127)
    assert error.key == "serverless-infra:lambdaConcurrencyQuota"
    assert "100 unreserved" in str(error)
    assert "at least 128" in str(error)
    assert "L-B99A9384" in str(error)


def test_a_quota_that_leaves_exactly_100_unreserved_is_accepted(run_stack):
    assert run_stack("dev", lambdaConcurrencyQuota=128).of_type("aws:lambda/function:Function")


def test_prods_reservations_need_the_quota_raise_it_declares(run_stack):
    with pytest.raises(ProgramError) as failure:
        run_stack("prod", lambdaConcurrencyQuota=1000)
    cause = failure.value.__cause__
    assert cause.key == "serverless-infra:lambdaConcurrencyQuota"
    assert "at least 1223" in str(cause)


def test_too_many_direct_connections_for_the_instance_need_the_proxy(run_stack):
    """1,100 API environments, each with a writer and a reader connection, exceed a db.t4g.small."""
    with pytest.raises(ProgramError) as failure:
        run_stack("prod", dbProxy=False)
    cause = failure.value.__cause__
    assert cause.key == "serverless-infra:dbProxy"
    assert "db.t4g.small" in str(cause)


def test_the_proxy_authenticates_with_iam_only(run_stack):
    error = config_error(run_stack, dbProxy=True, dbIamAuth=False)
    assert error.key == "serverless-infra:dbProxy"
    assert "dbIamAuth" in str(error)


def test_an_instance_class_without_a_known_memory_is_refused(run_stack):
    error = config_error(run_stack, dbInstanceClass="db.x9.huge")
    assert error.key == "serverless-infra:dbInstanceClass"


@pytest.mark.parametrize(("allocated", "maximum"), [(100, 109), (20, 21), (100, 100)])
def test_the_storage_ceiling_must_be_ten_percent_above_the_allocation(run_stack, allocated, maximum):
    """RDS refuses a maximum storage threshold less than 10% above the allocated storage."""
    error = config_error(run_stack, dbAllocatedStorageGb=allocated, dbMaxAllocatedStorageGb=maximum)
    assert error.key == "serverless-infra:dbMaxAllocatedStorageGb"
    assert "10%" in str(error)


def test_a_ceiling_exactly_ten_percent_above_is_accepted(run_stack):
    assert run_stack("dev", dbAllocatedStorageGb=100, dbMaxAllocatedStorageGb=110).of_type("aws:rds/instance:Instance")


def test_the_dead_letter_queue_must_keep_messages_longer_than_the_queue(run_stack):
    error = config_error(run_stack, queueRetentionDays=14, dlqRetentionDays=14)
    assert error.key == "serverless-infra:dlqRetentionDays"
    assert "enqueue time" in str(error)


def test_a_two_year_performance_insights_retention_is_accepted(run_stack):
    """RDS accepts 7, a number of 31-day months up to 23, or 731 days."""
    run_stack("dev", dbPerformanceInsightsRetentionDays=731)


def test_a_performance_insights_retention_rds_refuses_is_refused(run_stack):
    error = config_error(run_stack, dbPerformanceInsightsRetentionDays=90)
    assert error.key == "serverless-infra:dbPerformanceInsightsRetentionDays"


def test_a_master_username_must_start_with_a_letter(run_stack):
    error = config_error(run_stack, dbMasterUsername="_admin")
    assert error.key == "serverless-infra:dbMasterUsername"
    assert "a letter first" in str(error)
