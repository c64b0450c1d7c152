"""AWS Config rules mirror the policy pack's controls; they deploy only where a recorder records."""

from __future__ import annotations

import json
import re

import pytest

from offline.harness import run_program
from policies.pack import all_controls
from serverless_infra.components.compliance import rule_specs
from tests.unit.support import PROJECT_ROOT, as_list, statements

RULE = "aws:cfg/rule:Rule"
WARNING = "AWS Config rules left out"


@pytest.fixture(scope="module")
def existing_recorder_run(archive_overrides):
    """A stack in an account whose recorder someone else owns."""
    overrides = {**archive_overrides, "serverless-infra:configRecorderExists": True}
    return run_program(PROJECT_ROOT, "dev", config_overrides=overrides)


@pytest.fixture(scope="module")
def recorder_run(archive_overrides):
    """A stack that owns the account's recorder and delivery channel."""
    overrides = {**archive_overrides, "serverless-infra:configRecorder": True}
    return run_program(PROJECT_ROOT, "dev", config_overrides=overrides)


def test_every_config_rule_names_a_control_the_policy_pack_has(existing_recorder_run):
    """GIVEN the deployed rules WHEN each names the control it mirrors THEN the pack has that control."""
    controls = {control.name for control in all_controls()}
    rules = existing_recorder_run.of_type(RULE)
    assert len(rules) == len(rule_specs(log_retention_days=1, backup_retention_days=1))
    for rule in rules:
        mirrored = re.fullmatch(r"Mirrors policy-pack control (\S+)", rule.inputs["description"])
        assert mirrored, rule.name
        assert mirrored[1] in controls, (rule.name, mirrored[1])
        assert rule.inputs["source"]["owner"] == "AWS"


def test_every_rule_spec_mirrors_a_control_the_policy_pack_has():
    controls = {control.name for control in all_controls()}

    unknown = {spec.identifier: spec.mirrors for spec in rule_specs(30, 7) if spec.mirrors not in controls}

    assert unknown == {}


def test_the_required_tags_rule_checks_the_six_tags(existing_recorder_run):
    (rule,) = [
        r for r in existing_recorder_run.of_type(RULE) if r.inputs["source"]["sourceIdentifier"] == "REQUIRED_TAGS"
    ]
    assert sorted(json.loads(rule.inputs["inputParameters"]).values()) == sorted(
        ["Environment", "CostCenter", "Owner", "Application", "Backup", "Compliance"]
    )


def test_without_a_recorder_the_rules_are_left_out_with_a_warning(stack_run):
    """A rule evaluates nothing without a recorder; the shipped stacks declare neither, so they say so."""
    assert stack_run.of_type(RULE) == []
    assert stack_run.of_type("aws:cfg/recorder:Recorder") == []
    (warning,) = [w for w in stack_run.warnings if WARNING in w]
    assert "serverless-infra:configRecorder" in warning
    assert "serverless-infra:configRecorderExists" in warning


def test_the_missing_recorder_is_reported_at_preview_too(archive_overrides):
    run = run_program(PROJECT_ROOT, "dev", config_overrides=archive_overrides, preview=True)
    assert any(WARNING in w for w in run.warnings)


def test_a_recorder_declared_present_gets_the_rules_and_no_recorder(existing_recorder_run):
    assert existing_recorder_run.of_type("aws:cfg/recorder:Recorder") == []
    assert not any(WARNING in w for w in existing_recorder_run.warnings)


def test_owning_the_recorder_adds_recorder_channel_and_bucket_access(recorder_run):
    run = recorder_run
    assert len(run.of_type("aws:cfg/recorder:Recorder")) == 1
    (channel,) = run.of_type("aws:cfg/deliveryChannel:DeliveryChannel")
    (bucket,) = run.of_type("aws:s3/bucket:Bucket")
    assert channel.inputs["s3BucketName"] == bucket.inputs["bucket"]
    (policy,) = run.of_type("aws:s3/bucketPolicy:BucketPolicy")
    sids = {s["Sid"] for s in statements(json.loads(policy.inputs["policy"]))}
    assert {"ConfigBucketCheck", "ConfigDelivery"} <= sids


def test_the_recorders_role_may_deliver_under_the_channels_prefix_only(recorder_run):
    run = recorder_run
    (channel,) = run.of_type("aws:cfg/deliveryChannel:DeliveryChannel")
    (bucket,) = run.of_type("aws:s3/bucket:Bucket")
    key = run.named("aws:kms/key:Key", "serverless-infra-dev-kms-key-artifacts")
    assert channel.inputs["s3KmsKeyArn"] == key.outputs["arn"]
    policy = run.named("aws:iam/rolePolicy:RolePolicy", "serverless-infra-dev-role-policy-config")
    found = {s["Sid"]: s for s in statements(json.loads(policy.inputs["policy"]))}
    assert set(found["CheckDeliveryBucket"]["Action"]) == {"s3:GetBucketAcl", "s3:ListBucket"}
    assert found["CheckDeliveryBucket"]["Resource"] == [bucket.outputs["arn"]]
    put = found["DeliverConfiguration"]
    assert put["Action"] == ["s3:PutObject"]
    prefix = channel.inputs["s3KeyPrefix"]
    assert put["Resource"] == [f"{bucket.outputs['arn']}/{prefix}/AWSLogs/123456789012/Config/*"]
    assert put["Condition"] == {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
    assert found["EncryptDeliveries"]["Resource"] == [key.outputs["arn"]]


def test_the_artifacts_key_lets_the_recorders_role_encrypt_through_s3(recorder_run):
    key = recorder_run.named("aws:kms/key:Key", "serverless-infra-dev-kms-key-artifacts")
    found = {s["Sid"]: s for s in statements(json.loads(key.inputs["policy"]))}
    encrypt = found["WorkloadRolesEncryptThroughServices"]
    assert "kms:GenerateDataKey" in encrypt["Action"]
    assert encrypt["Condition"]["StringEquals"]["kms:ViaService"] == ["s3.us-east-1.amazonaws.com"]
    assert as_list(encrypt["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == [
        "arn:aws:iam::123456789012:role/serverless-infra-dev-role-config"
    ]


def test_the_recorder_starts_after_its_channel_and_the_rules_wait_for_it(recorder_run):
    run = recorder_run
    (recorder,) = run.of_type("aws:cfg/recorder:Recorder")
    (channel,) = run.of_type("aws:cfg/deliveryChannel:DeliveryChannel")
    (status,) = run.of_type("aws:cfg/recorderStatus:RecorderStatus")
    delivery = run.named("aws:iam/rolePolicy:RolePolicy", "serverless-infra-dev-role-policy-config")
    assert {recorder.urn, delivery.urn} <= set(channel.dependencies)
    assert channel.urn in status.dependencies
    assert status.inputs["isEnabled"] is True
    rules = run.of_type(RULE)
    assert rules
    assert all(status.urn in rule.dependencies for rule in rules)
