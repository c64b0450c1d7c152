"""Alarms on the signals operators act on, an encrypted topic they notify, and one dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from serverless_infra.components.functions import METRICS_NAMESPACE
from serverless_infra.iam import AccountContext, document
from serverless_infra.naming import Namer
from serverless_infra.settings import ObservabilitySettings

FIVE_MINUTES = 300
API_TRACE_RESERVOIR_PER_S = 1
API_TRACE_FIXED_RATE = 0.01
"""API traces kept: the first request each second, then 1% of the rest (X-Ray's default keeps 5%).

At prod's peak (about 170 requests a second) that still records about 2.7 traces a second, enough
for latency percentiles and error traces, at a fifth of the default's trace bill (docs/costs.md).
Sampling is decided where the trace starts (API Gateway) and followed by the function.
https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html"""
DLQ_FAILURE_CLASSES = ("malformed", "invalid", "processable")
"""The DLQ analyzer's classes (function/orders/handlers/dlq_analyzer.py), its ``FailureClass`` dimension."""


def service_name(workload_key: str) -> str:
    """The ``service`` dimension powertools puts on every metric of a function.

    It is the function's ``POWERTOOLS_SERVICE_NAME`` (``orders-<workload key>``, set in
    functions.py); a custom metric is only found with all the dimensions it was published with,
    so every widget and alarm on one names it. A test checks these against what the code emits.
    """
    return f"orders-{workload_key}"


def custom_metric(name: str, workload_key: str, *dimensions: str) -> list[str]:
    """A dashboard metric row for ``name`` as ``workload_key``'s function publishes it."""
    return [METRICS_NAMESPACE, name, *dimensions, "service", service_name(workload_key)]


@dataclass(frozen=True)
class ObservabilityArgs:
    namer: Namer
    settings: ObservabilitySettings
    account: AccountContext
    key_arn: pulumi.Input[str]
    api_name: pulumi.Input[str]
    api_stage: pulumi.Input[str]
    function_names: Mapping[str, pulumi.Input[str]]
    queue_name: pulumi.Input[str]
    dead_letter_queue_name: pulumi.Input[str]
    primary_identifier: pulumi.Input[str]
    replica_identifiers: Sequence[pulumi.Input[str]]
    allocated_storage_gb: int


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: what it watches and when it fires."""

    qualifier: str
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    threshold: float
    comparison: str = "GreaterThanThreshold"
    statistic: str | None = "Sum"
    extended_statistic: str | None = None
    period: int = FIVE_MINUTES
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1


class Observability(pulumi.ComponentResource):
    """Alarm topic, alarms and the operations dashboard."""

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Observability", name, None, opts)
        namer = args.namer
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            namer.name("topic", "alarms"),
            name=namer.name("topic", "alarms"),
            kms_master_key_id=args.key_arn,
            opts=child,
        )
        aws.sns.TopicPolicy(
            namer.name("topic-policy", "alarms"),
            arn=self.topic.arn,
            policy=document(
                {
                    "Sid": "CloudWatchAlarmsOfThisAccount",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": args.account.account_id}},
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ),
            opts=child,
        )
        if args.settings.alarm_email:
            aws.sns.TopicSubscription(
                namer.name("topic-subscription", "alarms-email"),
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.settings.alarm_email,
                opts=child,
            )
        self.sampling_rule = aws.xray.SamplingRule(
            namer.name("xray-sampling-rule", "api"),
            # At most 32 characters (CreateSamplingRule); the longest environment name fits.
            rule_name=namer.name("api"),
            priority=1000,
            reservoir_size=API_TRACE_RESERVOIR_PER_S,
            fixed_rate=API_TRACE_FIXED_RATE,
            service_type="AWS::ApiGateway::Stage",
            # API Gateway's segments are named "<api name>/<stage>": the rule applies to this stack's API only.
            service_name=pulumi.Output.concat(args.api_name, "/", args.api_stage),
            host="*",
            http_method="*",
            url_path="*",
            resource_arn="*",
            version=1,
            opts=child,
        )
        self.alarms = [self._alarm(namer, spec) for spec in alarm_specs(args)]
        self.dashboard = aws.cloudwatch.Dashboard(
            namer.name("dashboard"),
            dashboard_name=namer.name("dashboard"),
            dashboard_body=pulumi.Output.json_dumps(dashboard_body(args)),
            opts=child,
        )
        self.register_outputs({"topicArn": self.topic.arn, "dashboard": self.dashboard.dashboard_name})

    def _alarm(self, namer: Namer, spec: AlarmSpec) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            namer.name("alarm", spec.qualifier),
            name=namer.name("alarm", spec.qualifier),
            alarm_description=spec.description,
            namespace=spec.namespace,
            metric_name=spec.metric,
            dimensions=dict(spec.dimensions),
            statistic=spec.statistic if spec.extended_statistic is None else None,
            extended_statistic=spec.extended_statistic,
            period=spec.period,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints_to_alarm,
            threshold=spec.threshold,
            comparison_operator=spec.comparison,
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            opts=pulumi.ResourceOptions(parent=self),
        )


def alarm_specs(args: ObservabilityArgs) -> list[AlarmSpec]:
    """Every alarm, as data: docs/operations.md explains each and what to check first."""
    api = {"ApiName": args.api_name, "Stage": args.api_stage}
    specs = [
        AlarmSpec(
            "api-5xx-rate",
            "More than 1% of API requests failed with 5xx",
            "AWS/ApiGateway",
            "5XXError",
            api,
            0.01,
            statistic="Average",
        ),
        AlarmSpec(
            "api-latency-p99",
            f"API p99 latency above {args.settings.latency_p99_alarm_ms} ms in 3 of 5 minutes",
            "AWS/ApiGateway",
            "Latency",
            api,
            args.settings.latency_p99_alarm_ms,
            statistic=None,
            extended_statistic="p99",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        ),
        AlarmSpec(
            "dlq-not-empty",
            "Messages reached the dead-letter queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": args.dead_letter_queue_name},
            0,
            statistic="Maximum",
            # The analyzer hides the messages it peeks for up to a minute every five: the maximum over
            # five minutes still sees them, so the alarm does not flap to OK while it runs.
            period=FIVE_MINUTES,
        ),
        AlarmSpec(
            "db-cpu",
            "Primary database CPU above 80% for 15 minutes",
            "AWS/RDS",
            "CPUUtilization",
            {"DBInstanceIdentifier": args.primary_identifier},
            80,
            statistic="Average",
            evaluation_periods=3,
            datapoints_to_alarm=3,
        ),
        AlarmSpec(
            "db-free-storage",
            "Primary database free storage below 10% of allocated storage",
            "AWS/RDS",
            "FreeStorageSpace",
            {"DBInstanceIdentifier": args.primary_identifier},
            args.allocated_storage_gb * 1024**3 * 0.10,
            comparison="LessThanThreshold",
            statistic="Minimum",
        ),
        AlarmSpec(
            "estimated-charges",
            f"Estimated monthly charges above the ${args.settings.monthly_budget_usd} budget",
            "AWS/Billing",
            "EstimatedCharges",
            {"Currency": "USD"},
            args.settings.monthly_budget_usd,
            statistic="Maximum",
            period=21_600,
        ),
    ]
    for index, replica in enumerate(args.replica_identifiers, start=1):
        specs.append(
            AlarmSpec(
                f"db-replica-{index}-lag",
                "Read replica more than 60 s behind the primary",
                "AWS/RDS",
                "ReplicaLag",
                {"DBInstanceIdentifier": replica},
                60,
                statistic="Maximum",
                evaluation_periods=3,
                datapoints_to_alarm=3,
            )
        )
    for key, function_name in args.function_names.items():
        dimensions = {"FunctionName": function_name}
        specs.append(
            AlarmSpec(
                f"function-{key}-errors", f"The {key} function raised errors", "AWS/Lambda", "Errors", dimensions, 0
            )
        )
        specs.append(
            AlarmSpec(
                f"function-{key}-throttles",
                f"The {key} function was throttled",
                "AWS/Lambda",
                "Throttles",
                dimensions,
                0,
            )
        )
    return specs


def dashboard_body(args: ObservabilityArgs) -> dict[str, Any]:
    """The operations dashboard; widgets are described in docs/operations.md."""
    region = args.account.region
    api = ["ApiName", args.api_name, "Stage", args.api_stage]

    def widget(title: str, metrics: list[list[Any]], stat: str = "Sum", y: int = 0, x: int = 0) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": 60,
                "metrics": metrics,
                "view": "timeSeries",
            },
        }

    functions = list(args.function_names.items())
    widgets = [
        widget(
            "Orders created and amount",
            [
                [*custom_metric("OrdersCreated", "api"), {"label": "OrdersCreated by the API"}],
                [*custom_metric("OrdersCreated", "worker"), {"label": "OrdersCreated from the queue"}],
                [*custom_metric("OrderAmount", "api"), {"stat": "Sum", "yAxis": "right"}],
            ],
        ),
        widget(
            "Batch records processed / failed",
            [custom_metric("BatchRecordsProcessed", "worker"), custom_metric("BatchRecordsFailed", "worker")],
            x=12,
        ),
        widget(
            "API latency p50 / p90 / p99 (ms)",
            [["AWS/ApiGateway", "Latency", *api, {"stat": stat}] for stat in ("p50", "p90", "p99")],
            stat="p99",
            y=6,
        ),
        widget(
            "API 4xx / 5xx",
            [
                ["AWS/ApiGateway", "4XXError", *api],
                ["AWS/ApiGateway", "5XXError", *api],
                ["AWS/ApiGateway", "Count", *api],
            ],
            y=6,
            x=12,
        ),
        widget(
            "Function errors and throttles",
            [["AWS/Lambda", m, "FunctionName", n] for _, n in functions for m in ("Errors", "Throttles")],
            y=12,
        ),
        widget(
            "Concurrency",
            [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", n, {"stat": "Maximum"}] for _, n in functions]
            + [
                [
                    "AWS/Lambda",
                    "ProvisionedConcurrencyUtilization",
                    "FunctionName",
                    args.function_names["api"],
                    {"stat": "Maximum"},
                ]
            ],
            stat="Maximum",
            y=12,
            x=12,
        ),
        widget(
            "Queue and DLQ depth",
            [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q, {"stat": "Maximum"}]
                for q in (args.queue_name, args.dead_letter_queue_name)
            ],
            stat="Maximum",
            y=18,
        ),
        widget(
            "Database health",
            [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", args.primary_identifier, {"stat": "Average"}]]
            + [["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", args.primary_identifier, {"stat": "Maximum"}]]
            + [
                [
                    "AWS/RDS",
                    "FreeStorageSpace",
                    "DBInstanceIdentifier",
                    args.primary_identifier,
                    {"stat": "Minimum", "yAxis": "right"},
                ]
            ]
            + [
                ["AWS/RDS", "ReplicaLag", "DBInstanceIdentifier", r, {"stat": "Maximum"}]
                for r in args.replica_identifiers
            ],
            stat="Average",
            y=18,
            x=12,
        ),
        # Gauges of what the DLQ holds, published by each analyzer run (every 5 minutes): Maximum
        # over the run's period, never Sum (consecutive runs count the same messages again).
        widget(
            "Dead letters by class and oldest age (s)",
            [
                [
                    *custom_metric("DlqMessagesByClass", "dlq-analyzer", "FailureClass", failure_class),
                    {"stat": "Maximum", "period": FIVE_MINUTES, "label": failure_class},
                ]
                for failure_class in DLQ_FAILURE_CLASSES
            ]
            + [
                [
                    *custom_metric("DlqOldestMessageAgeSeconds", "dlq-analyzer"),
                    {"stat": "Maximum", "period": FIVE_MINUTES, "yAxis": "right", "label": "oldest age (s)"},
                ]
            ],
            stat="Maximum",
            y=24,
        ),
    ]
    return {"widgets": widgets}
