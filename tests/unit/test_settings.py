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
