"""Observability: logs kept long enough, traces on, access logs and flow logs written, alarms on the
signals operators act on (advisory: an alarm gap is operational advice, not a security breach).
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.rules import (
    MISSING,
    UNKNOWN,
    Anchors,
    Check,
    Control,
    Kind,
    Resource,
    Stack,
    get,
    items,
    per_environment,
    resource_policy,
    stack_policy,
)

FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
STAGE = "aws:apigateway/stage:Stage"

LOG_RETENTION = Control(
    name="log-retention",
    concern="observability",
    kind=Kind.SECURITY,
    description="Log groups keep events for a bounded time, at least as long as their environment requires.",
    severity=Severity.MEDIUM,
    remediation="Set retention_in_days (logRetentionDays in the stack config) to at least the minimum.",
    resource_types=("aws:cloudwatch/logGroup:LogGroup",),
    anchors=Anchors(checkov=("CKV_AWS_66", "CKV_AWS_338")),
    config={
        "minimumDays": per_environment(
            {"dev": 7, "staging": 30, "prod": 365}, "Minimum log retention in days, per environment."
        )
    },
)


def _log_retention(control: Control, r: Resource) -> Iterator[str]:
    minimum = control.setting(r.config, "minimumDays")[r.environment]
    days = r.get("retentionInDays")
    if days is UNKNOWN:
        yield "retentionInDays is not known during preview"
    elif days is MISSING or days == 0:
        yield "retentionInDays is not set (the default keeps logs forever, unbounded cost)"
    elif days < minimum:
        yield f"logs are kept fewer than {int(minimum)} days ({r.environment} minimum)"


LAMBDA_TRACING = Control(
    name="lambda-tracing",
    concern="observability",
    kind=Kind.SECURITY,
    description="Lambda functions send X-Ray traces (tracing mode Active).",
    severity=Severity.LOW,
    remediation="Set tracing_config mode='Active' and grant xray:PutTraceSegments/PutTelemetryRecords.",
    resource_types=(FUNCTION,),
    anchors=Anchors(checkov=("CKV_AWS_50",)),
)


def _lambda_tracing(_: Control, r: Resource) -> Iterator[str]:
    if r.get("tracingConfig", "mode") not in ("Active", UNKNOWN):
        yield "tracingConfig.mode is not Active (the default is PassThrough)"


STAGE_XRAY = Control(
    name="api-stage-xray",
    concern="observability",
    kind=Kind.SECURITY,
    description="API Gateway stages trace requests with X-Ray.",
    severity=Severity.LOW,
    remediation="Set xray_tracing_enabled=True on the stage.",
    resource_types=(STAGE,),
    anchors=Anchors(checkov=("CKV_AWS_73",), security_hub=("APIGateway.3",)),
)


def _stage_xray(_: Control, r: Resource) -> Iterator[str]:
    if r.get("xrayTracingEnabled") not in (True, UNKNOWN):
        yield "xrayTracingEnabled is not true"


ACCESS_LOGGING = Control(
    name="api-access-logging",
    concern="observability",
    kind=Kind.SECURITY,
    description="API Gateway stages write access logs.",
    severity=Severity.MEDIUM,
    remediation="Set access_log_settings with a destination log group and a JSON format that includes the request id.",
    resource_types=(STAGE,),
    anchors=Anchors(cdk_nag=("AwsSolutions-APIG1",), checkov=("CKV_AWS_76",)),
)


def _access_logging(_: Control, r: Resource) -> Iterator[str]:
    if r.get("accessLogSettings", "destinationArn") is MISSING:
        yield "accessLogSettings has no destination"
    elif r.get("accessLogSettings", "format") is MISSING:
        yield "accessLogSettings has no format"


FLOW_LOGS = Control(
    name="vpc-flow-logs",
    concern="observability",
    kind=Kind.SECURITY,
    description="Every VPC records its traffic with flow logs.",
    severity=Severity.MEDIUM,
    remediation="Add an aws.ec2.FlowLog for the VPC with traffic_type='ALL' to an encrypted log group.",
    resource_types=("aws:ec2/vpc:Vpc", "aws:ec2/flowLog:FlowLog"),
    anchors=Anchors(cdk_nag=("AwsSolutions-VPC7",), checkov=("CKV2_AWS_11",), security_hub=("EC2.6",)),
)


def _flow_logs(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for vpc in stack.of_type("aws:ec2/vpc:Vpc"):
        if not stack.referrers(vpc, "vpcId", "aws:ec2/flowLog:FlowLog"):
            yield "the VPC has no flow log", vpc.urn


FUNCTION_ALARMS = Control(
    name="function-alarms",
    concern="observability",
    kind=Kind.OPERATIONAL,
    description="Every Lambda function has alarms on its errors and throttles.",
    severity=Severity.MEDIUM,
    remediation="Add MetricAlarms on AWS/Lambda Errors and Throttles with the function's FunctionName dimension.",
    resource_types=(FUNCTION, ALARM),
)


def _function_alarms(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for function in stack.of_type(FUNCTION):
        watched = {
            get(alarm.props, "metricName")
            for alarm in stack.referrers(function, "dimensions", ALARM)
            if get(alarm.props, "namespace") == "AWS/Lambda"
        }
        for metric in ("Errors", "Throttles"):
            if metric not in watched:
                yield f"no alarm on the function's {metric}", function.urn


ALARM_ACTIONS = Control(
    name="alarm-actions",
    concern="observability",
    kind=Kind.OPERATIONAL,
    description=(
        "Every alarm notifies someone (an alarm action), or is a condition of a composite alarm that does "
        "(multi-window burn-rate alarms notify once, through their composite)."
    ),
    severity=Severity.LOW,
    remediation="Set alarm_actions to the alarm topic's ARN, or use the alarm in a composite alarm that has them.",
    resource_types=(ALARM, COMPOSITE_ALARM),
)


def _alarm_actions(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    composed = {
        dep.urn for composite in stack.of_type(COMPOSITE_ALARM) for dep in stack.deps(composite, "alarmRule", ALARM)
    }
    for alarm in stack.of_type(ALARM, COMPOSITE_ALARM):
        actions = get(alarm.props, "alarmActions")
        if actions is not UNKNOWN and not items(actions) and alarm.urn not in composed:
            yield "the alarm has no action and no composite alarm uses it", alarm.urn


CHECKS: list[Check] = [
    resource_policy(LOG_RETENTION, _log_retention),
    resource_policy(LAMBDA_TRACING, _lambda_tracing),
    resource_policy(STAGE_XRAY, _stage_xray),
    resource_policy(ACCESS_LOGGING, _access_logging),
    stack_policy(FLOW_LOGS, _flow_logs),
    stack_policy(FUNCTION_ALARMS, _function_alarms),
    stack_policy(ALARM_ACTIONS, _alarm_actions),
]
