"""AWS Config rules mirror the policy pack's controls; the recorder is opt-in."""

from __future__ import annotations

import json
import re

from offline.harness import run_program
from tests.unit.support import PROJECT_ROOT, statements

RULE = "aws:cfg/rule:Rule"


def test_every_config_rule_names_the_control_it_mirrors(stack_run):
    rules = stack_run.of_type(RULE)
    assert len(rules) >= 20
    for rule in rules:
        assert re.fullmatch(r"Mirrors policy-pack control [a-z0-9-]+", rule.inputs["description"]), rule.name
        assert rule.inputs["source"]["owner"] == "AWS"


def test_the_required_tags_rule_checks_the_six_tags(stack_run):
    (rule,) = [r for r in stack_run.of_type(RULE) if r.inputs["source"]["sourceIdentifier"] == "REQUIRED_TAGS"]
    assert sorted(json.loads(rule.inputs["inputParameters"]).values()) == sorted(
        ["Environment", "CostCenter", "Owner", "Application", "Backup", "Compliance"]
    )


def test_the_recorder_is_off_unless_the_stack_owns_it(stack_run):
    assert stack_run.of_type("aws:cfg/recorder:Recorder") == []


def test_owning_the_recorder_adds_recorder_channel_and_bucket_access(archive_overrides):
    run = run_program(
        PROJECT_ROOT, "dev", config_overrides={**archive_overrides, "serverless-infra:configRecorder": True}
    )
    assert len(run.of_type("aws:cfg/recorder:Recorder")) == 1
    (channel,) = run.of_type("aws:cfg/deliveryChannel:DeliveryChannel")
    (bucket,) = run.of_type("aws:s3/bucket:Bucket")
    assert channel.inputs["s3BucketName"] == bucket.inputs["bucket"]
    (policy,) = run.of_type("aws:s3/bucketPolicy:BucketPolicy")
    sids = {s["Sid"] for s in statements(json.loads(policy.inputs["policy"]))}
    assert {"ConfigBucketCheck", "ConfigDelivery"} <= sids
