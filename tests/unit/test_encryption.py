"""Every data store is encrypted with the customer-managed key of its own category."""

from __future__ import annotations

from contract.parameters import STORED_PARAMETERS
from tests.unit.support import arn_of, plain

KEY = "aws:kms/key:Key"


def key_arn(run, purpose):
    return arn_of(run, KEY, f"serverless-infra-{run.stack}-kms-key-{purpose}")


def test_every_key_rotates_yearly(stack_run):
    keys = stack_run.of_type(KEY)
    assert len(keys) == 7
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert int(key.inputs["rotationPeriodInDays"]) == 365


def test_every_key_has_an_alias(stack_run):
    aliased = {a.inputs["targetKeyId"] for a in stack_run.of_type("aws:kms/alias:Alias")}
    assert aliased == {k.outputs["keyId"] for k in stack_run.of_type(KEY)}


def test_database_storage_insights_and_master_secret_use_the_database_key(stack_run):
    database_key = key_arn(stack_run, "database")
    for instance in stack_run.of_type("aws:rds/instance:Instance"):
        assert instance.inputs["storageEncrypted"] is True
        assert instance.inputs["kmsKeyId"] == database_key
        assert instance.inputs["performanceInsightsKmsKeyId"] == database_key
    secret = stack_run.named("aws:secretsmanager/secret:Secret", f"serverless-infra-{stack_run.stack}-secret-db-master")
    assert secret.inputs["kmsKeyId"] == database_key


def test_every_parameter_is_a_securestring_under_its_category_key(stack_run):
    parameters = {p.inputs["name"]: p for p in stack_run.of_type("aws:ssm/parameter:Parameter")}
    prefix = stack_run.config.values["serverless-infra:parameterPrefix"]
    assert set(parameters) == {spec.path(prefix, stack_run.stack) for spec in STORED_PARAMETERS}
    for spec in STORED_PARAMETERS:
        parameter = parameters[spec.path(prefix, stack_run.stack)]
        assert parameter.inputs["type"] == "SecureString"
        assert parameter.inputs["keyId"] == key_arn(stack_run, spec.category.value), spec.path(prefix, stack_run.stack)


def test_categories_never_share_a_key(stack_run):
    purposes = ("database", "api", "cache", "logs", "artifacts", "messaging", "functions")
    assert len({key_arn(stack_run, purpose) for purpose in purposes}) == len(purposes)


def test_the_artifact_bucket_uses_sse_kms_with_the_artifacts_key(stack_run):
    (encryption,) = stack_run.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    (rule,) = encryption.inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"] == key_arn(stack_run, "artifacts")


def test_every_log_group_uses_the_logs_key_and_the_configured_retention(stack_run):
    retention = int(stack_run.config.values["serverless-infra:logRetentionDays"])
    groups = stack_run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert groups
    for group in groups:
        assert group.inputs["kmsKeyId"] == key_arn(stack_run, "logs"), group.name
        assert int(group.inputs["retentionInDays"]) == retention


def test_generated_secrets_are_secret_in_state(stack_run):
    for spec in (s for s in STORED_PARAMETERS if s.sensitive):
        qualifier = f"{spec.category.value}-{spec.name.replace('_', '-')}"
        parameter = stack_run.named(
            "aws:ssm/parameter:Parameter", f"serverless-infra-{stack_run.stack}-parameter-{qualifier}"
        )
        assert plain(parameter.inputs["value"]) != parameter.inputs["value"], f"{spec.name} is not marked secret"
