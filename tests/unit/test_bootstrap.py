"""The bootstrap project: a state bucket and a secrets key that meet the same rules as the stack."""

from __future__ import annotations

import json

import pytest

from contract.naming import REQUIRED_TAG_KEYS, environment_of
from offline.harness import ProgramError, run_program
from tests.unit.support import PROJECT_ROOT, statements

BOOTSTRAP = PROJECT_ROOT / "bootstrap"


@pytest.fixture(scope="module")
def bootstrap():
    return run_program(BOOTSTRAP, "prod")


def test_the_state_bucket_is_versioned_encrypted_private_and_tls_only(bootstrap):
    (bucket,) = bootstrap.of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "serverless-infra-prod-state-123456789012"
    (versioning,) = bootstrap.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (encryption,) = bootstrap.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    (block,) = bootstrap.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    (policy,) = bootstrap.of_type("aws:s3/bucketPolicy:BucketPolicy")
    (deny,) = statements(json.loads(policy.inputs["policy"]))
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert bucket.inputs["forceDestroy"] is False


def test_the_secrets_key_is_used_directly_by_the_deployer_only(bootstrap):
    key = bootstrap.named("aws:kms/key:Key", "serverless-infra-prod-kms-key-secrets")
    assert key.inputs["enableKeyRotation"] is True
    sids = {s["Sid"]: s for s in statements(json.loads(key.inputs["policy"]))}
    users = sids["DirectUseByNamedPrincipals"]["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    assert users == ["arn:aws:iam::123456789012:role/serverless-infra-deployer"]


def test_backend_users_may_use_the_secrets_key_and_the_state_key_through_s3_only(bootstrap):
    ci_role = "arn:aws:iam::123456789012:role/ci-deploy"
    run = run_program(BOOTSTRAP, "prod", config_overrides={"serverless-infra-bootstrap:backendUsers": ci_role})
    key = run.named("aws:kms/key:Key", "serverless-infra-prod-kms-key-secrets")
    sids = {s["Sid"]: s for s in statements(json.loads(key.inputs["policy"]))}
    assert ci_role in sids["DirectUseByNamedPrincipals"]["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    state_key = run.named("aws:kms/key:Key", "serverless-infra-prod-kms-key-state")
    state = {s["Sid"]: s for s in statements(json.loads(state_key.inputs["policy"]))}
    for sid in ("WorkloadRolesDecryptThroughServices", "WorkloadRolesEncryptThroughServices"):
        assert state[sid]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [ci_role]
        assert state[sid]["Condition"]["StringEquals"]["kms:ViaService"] == ["s3.us-east-1.amazonaws.com"]
    assert "DirectUseByNamedPrincipals" not in state


def test_a_backend_user_that_is_not_an_arn_is_refused_naming_the_key():
    with pytest.raises(ProgramError, match="backendUsers"):
        run_program(BOOTSTRAP, "prod", config_overrides={"serverless-infra-bootstrap:backendUsers": "ci-deploy"})


def test_everything_is_named_and_tagged_like_the_stack(bootstrap):
    for record in bootstrap.resources:
        assert environment_of(record.name) == "prod", record.name
        if "tags" in record.inputs:
            assert set(REQUIRED_TAG_KEYS) <= set(record.inputs["tags"]), record.name


def test_the_outputs_are_what_the_main_project_logs_in_with(bootstrap):
    assert bootstrap.outputs["backendUrl"] == "s3://serverless-infra-prod-state-123456789012"
    assert bootstrap.outputs["secretsProvider"] == "awskms://alias/serverless-infra-prod-secrets?region=us-east-1"
