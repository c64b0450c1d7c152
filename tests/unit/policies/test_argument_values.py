"""Specifications of aws-argument-values: each argument's range or value set, as AWS's API states it."""

from __future__ import annotations

from typing import Any

import pytest

from policies import argument_values as av
from policies.rules import Resource
from tests.unit.policies.conftest import UNKNOWN_NUMBER, unknown_checking_proxy

# One value AWS accepts and one it refuses for every rule, read off the API references.
EXAMPLES: dict[tuple[str, str], tuple[Any, Any]] = {
    (av.SAMPLING_RULE, "ruleName"): ("serverless-infra-staging-api", "serverless-infra-staging-xray-sampling"),
    (av.SAMPLING_RULE, "priority"): (1000, 10_000),
    (av.SAMPLING_RULE, "fixedRate"): (0.01, 5),
    (av.SAMPLING_RULE, "reservoirSize"): (1, -1),
    (av.SAMPLING_RULE, "serviceName"): ("serverless-infra-prod-rest-api/v1", "x" * 65),
    (av.RDS_INSTANCE, "identifier"): ("serverless-infra-staging-db-replica-1", "d" * 64),
    (av.FUNCTION, "name"): ("serverless-infra-staging-function-dlq-analyzer", "f" * 65),
    (av.QUEUE, "name"): ("serverless-infra-staging-queue-orders-dlq", "q" * 81),
    ("aws:iam/role:Role", "name"): ("serverless-infra-staging-role-dlq-analyzer", "r" * 65),
    ("aws:cloudwatch/eventRule:EventRule", "name"): ("serverless-infra-staging-rule-dlq-analyzer", "e" * 65),
    (av.QUEUE, "visibilityTimeoutSeconds"): (43_200, 43_201),
    (av.QUEUE, "messageRetentionSeconds"): (60, 59),
    (av.QUEUE, "receiveWaitTimeSeconds"): (20, 21),
    (av.QUEUE, "delaySeconds"): (900, 901),
    (av.QUEUE, "kmsDataKeyReusePeriodSeconds"): (300, 30),
    (av.FUNCTION, "memorySize"): (10_240, 64),
    (av.FUNCTION, "timeout"): (900, 901),
    (av.FUNCTION, "ephemeralStorage.size"): (512, 256),
    ("aws:cloudwatch/logGroup:LogGroup", "retentionInDays"): (365, 366),
    (av.RDS_INSTANCE, "performanceInsightsRetentionPeriod"): (93, 90),
    (av.RDS_INSTANCE, "backupRetentionPeriod"): (35, 36),
    ("aws:kms/key:Key", "deletionWindowInDays"): (30, 6),
    ("aws:secretsmanager/secret:Secret", "recoveryWindowInDays"): (0, 3),
    ("aws:apigateway/stage:Stage", "cacheClusterSize"): ("0.5", "1.0"),
}


def _props(path: str, value: Any) -> dict[str, Any]:
    head, *rest = path.split(".")
    return {head: _props(".".join(rest), value) if rest else value}


def _judge(resource_type: str, props: dict[str, Any]) -> list[str]:
    resource = Resource(resource_type, "r", "urn:r", unknown_checking_proxy(props), {})
    return list(av._argument_values(av.ARGUMENT_VALUES, resource))


def test_every_rule_has_an_accepted_and_a_refused_example() -> None:
    assert {(rule.resource_type, rule.argument) for rule in av.RULES} == set(EXAMPLES)


@pytest.mark.parametrize("rule", av.RULES, ids=lambda rule: f"{rule.resource_type.rsplit(':', 1)[-1]}.{rule.argument}")
def test_given_a_value_aws_accepts_then_no_finding(rule: av.ArgumentRule) -> None:
    accepted, _ = EXAMPLES[(rule.resource_type, rule.argument)]
    assert _judge(rule.resource_type, _props(rule.argument, accepted)) == []


@pytest.mark.parametrize("rule", av.RULES, ids=lambda rule: f"{rule.resource_type.rsplit(':', 1)[-1]}.{rule.argument}")
def test_given_a_value_aws_refuses_then_the_argument_and_its_source_are_named(rule: av.ArgumentRule) -> None:
    _, refused = EXAMPLES[(rule.resource_type, rule.argument)]
    [message] = _judge(rule.resource_type, _props(rule.argument, refused))
    assert rule.argument in message
    assert rule.source in message


def test_given_an_absent_argument_then_the_aws_default_applies() -> None:
    assert _judge(av.QUEUE, {}) == []


def test_given_an_engine_number_as_a_float_then_it_is_judged_by_value() -> None:
    assert _judge("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 14.0}) == []


def test_given_an_unknown_argument_then_the_control_fails_closed() -> None:
    [message] = _judge(av.FUNCTION, {"timeout": UNKNOWN_NUMBER})
    assert "timeout is not known during preview" in message


def test_given_storage_autoscaling_ten_percent_above_the_allocation_then_no_finding() -> None:
    assert _judge(av.RDS_INSTANCE, {"allocatedStorage": 100, "maxAllocatedStorage": 110}) == []


@pytest.mark.parametrize("maximum", [100, 105])
def test_given_a_storage_threshold_within_ten_percent_then_rds_refuses_it(maximum: int) -> None:
    [message] = _judge(av.RDS_INSTANCE, {"allocatedStorage": 100, "maxAllocatedStorage": maximum})
    assert "less than 10% above allocatedStorage" in message


def test_given_storage_autoscaling_off_then_no_threshold_is_needed() -> None:
    assert _judge(av.RDS_INSTANCE, {"allocatedStorage": 100, "maxAllocatedStorage": 0}) == []
