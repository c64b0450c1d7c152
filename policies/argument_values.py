"""Argument values: the ranges and value sets AWS's APIs accept, one rule per argument.

The provider passes most numeric arguments through unchecked, so a value outside AWS's range
previews cleanly and fails at ``pulumi up`` with a ValidationException. Each rule names the argument
(in the engine's camelCase), what AWS accepts and the API reference that says so. This is a
resource policy: the engine runs it on each resource's inputs before creating it, at ``up`` too.

An absent argument takes AWS's default, which is valid; an unknown one cannot be judged and is
reported (fail closed), since every argument listed here is one a program sets as a literal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pulumi_policy import Severity

from contract import limits
from policies.rules import MISSING, UNKNOWN, Control, Kind, Resource, resource_policy

SQS_API = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html"
LAMBDA_API = "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html"
RDS_API = "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html"


@dataclass(frozen=True)
class ArgumentRule:
    """What AWS accepts for one argument of one resource type."""

    resource_type: str
    path: tuple[str, ...]
    accepts: str  # the rule, as a reader states it
    valid: Callable[[object], bool]
    source: str

    @property
    def argument(self) -> str:
        return ".".join(self.path)


def _between(low: float, high: float) -> Callable[[object], bool]:
    return lambda value: isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high


def _length(low: int, high: int) -> Callable[[object], bool]:
    return lambda value: isinstance(value, str) and low <= len(value) <= high


def _one_of(values: frozenset[object]) -> Callable[[object], bool]:
    return lambda value: value in values or str(value) in {str(v) for v in values}


QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
RDS_INSTANCE = "aws:rds/instance:Instance"

XRAY_API = "https://docs.aws.amazon.com/xray/latest/api/API_SamplingRule.html"
SQS_CREATE_API = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"
SAMPLING_RULE = "aws:xray/samplingRule:SamplingRule"

RULES: tuple[ArgumentRule, ...] = (
    ArgumentRule(SAMPLING_RULE, ("ruleName",), "1 to 32 characters", _length(1, 32), XRAY_API),
    ArgumentRule(SAMPLING_RULE, ("priority",), "1 to 9,999", _between(1, 9999), XRAY_API),
    ArgumentRule(SAMPLING_RULE, ("fixedRate",), "0 to 1", _between(0, 1), XRAY_API),
    ArgumentRule(SAMPLING_RULE, ("reservoirSize",), "0 or more", _between(0, math.inf), XRAY_API),
    ArgumentRule(SAMPLING_RULE, ("serviceName",), "1 to 64 characters", _length(1, 64), XRAY_API),
    ArgumentRule(RDS_INSTANCE, ("identifier",), "1 to 63 characters", _length(1, 63), RDS_API),
    ArgumentRule(FUNCTION, ("name",), "1 to 64 characters", _length(1, 64), LAMBDA_API),
    ArgumentRule(QUEUE, ("name",), "1 to 80 characters", _length(1, 80), SQS_CREATE_API),
    ArgumentRule(
        "aws:iam/role:Role",
        ("name",),
        "1 to 64 characters",
        _length(1, 64),
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
    ),
    ArgumentRule(
        "aws:cloudwatch/eventRule:EventRule",
        ("name",),
        "1 to 64 characters",
        _length(1, 64),
        "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html",
    ),
    ArgumentRule(QUEUE, ("visibilityTimeoutSeconds",), "0 to 43,200 seconds", _between(0, 43_200), SQS_API),
    ArgumentRule(QUEUE, ("messageRetentionSeconds",), "60 to 1,209,600 seconds", _between(60, 1_209_600), SQS_API),
    ArgumentRule(QUEUE, ("receiveWaitTimeSeconds",), "0 to 20 seconds", _between(0, 20), SQS_API),
    ArgumentRule(QUEUE, ("delaySeconds",), "0 to 900 seconds", _between(0, 900), SQS_API),
    ArgumentRule(QUEUE, ("kmsDataKeyReusePeriodSeconds",), "60 to 86,400 seconds", _between(60, 86_400), SQS_API),
    ArgumentRule(FUNCTION, ("memorySize",), "128 to 10,240 MB", _between(128, 10_240), LAMBDA_API),
    ArgumentRule(FUNCTION, ("timeout",), "1 to 900 seconds", _between(1, 900), LAMBDA_API),
    ArgumentRule(FUNCTION, ("ephemeralStorage", "size"), "512 to 10,240 MB", _between(512, 10_240), LAMBDA_API),
    ArgumentRule(
        "aws:cloudwatch/logGroup:LogGroup",
        ("retentionInDays",),
        "0 (never expire) or one of CloudWatch Logs' retention values (1, 3, 5, 7, 14, 30, ... 3653 days)",
        _one_of(frozenset({0, *limits.LOG_RETENTION_DAYS})),
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html",
    ),
    ArgumentRule(
        RDS_INSTANCE,
        ("performanceInsightsRetentionPeriod",),
        "7 days, a multiple of 31 up to 713 (months), or 731 days",
        _one_of(frozenset(limits.PERFORMANCE_INSIGHTS_RETENTION_DAYS)),
        RDS_API,
    ),
    ArgumentRule(RDS_INSTANCE, ("backupRetentionPeriod",), "0 to 35 days", _between(0, 35), RDS_API),
    ArgumentRule(
        "aws:kms/key:Key",
        ("deletionWindowInDays",),
        "7 to 30 days",
        _between(7, 30),
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html",
    ),
    ArgumentRule(
        "aws:secretsmanager/secret:Secret",
        ("recoveryWindowInDays",),
        "0 (delete at once) or 7 to 30 days",
        lambda value: value == 0 or _between(7, 30)(value),
        "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html",
    ),
    ArgumentRule(
        "aws:apigateway/stage:Stage",
        ("cacheClusterSize",),
        "one of 0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118, 237 (GB)",
        _one_of(frozenset(limits.API_CACHE_CLUSTER_SIZES_GB)),
        "https://docs.aws.amazon.com/apigateway/latest/api/API_CreateStage.html",
    ),
)

STORAGE_AUTOSCALING_SOURCE = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOps.Autoscaling.html"

ARGUMENT_VALUES = Control(
    name="aws-argument-values",
    concern="deployability",
    kind=Kind.DEPLOYABILITY,
    description=(
        "Every argument with a range or value set in AWS's API reference is within it (the table below lists "
        "each rule), and an RDS instance's maximum storage threshold is at least 10% above its allocated storage."
    ),
    severity=Severity.HIGH,
    remediation="Change the argument (or the config key that sets it) to a value the API accepts.",
    resource_types=tuple(sorted({rule.resource_type for rule in RULES})),
    sources=tuple(dict.fromkeys([*(rule.source for rule in RULES), STORAGE_AUTOSCALING_SOURCE])),
)


def _argument_values(_: Control, r: Resource) -> Iterator[str]:
    for rule in RULES:
        if rule.resource_type != r.type:
            continue
        value = r.get(*rule.path)
        if value is MISSING:
            continue
        if value is UNKNOWN:
            yield f"{rule.argument} is not known during preview (AWS accepts {rule.accepts})"
        elif not rule.valid(value):
            yield f"{rule.argument} is {value!r}; AWS accepts {rule.accepts} ({rule.source})"
    if r.type == RDS_INSTANCE:
        yield from _storage_autoscaling(r)


def _storage_autoscaling(r: Resource) -> Iterator[str]:
    allocated, maximum = r.get("allocatedStorage"), r.get("maxAllocatedStorage")
    if not isinstance(allocated, int | float) or maximum in (MISSING, 0):
        return
    if maximum is UNKNOWN:
        yield "maxAllocatedStorage is not known during preview"
    elif isinstance(maximum, int | float) and maximum * 10 < allocated * 11:  # at least 10% above
        yield (
            f"maxAllocatedStorage {maximum:g} GiB is less than 10% above allocatedStorage {allocated:g} GiB "
            f"(storage autoscaling needs that headroom; {STORAGE_AUTOSCALING_SOURCE})"
        )


CHECKS = (resource_policy(ARGUMENT_VALUES, _argument_values),)
