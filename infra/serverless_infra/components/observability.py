"""Alarms on the signals operators act on, an encrypted topic they notify, and one dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from contract import slo
from contract.metrics import DATABASE_CONFIGURATION_ERRORS, DATABASE_WORKLOADS
from contract.naming import APPLICATION
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
BUDGET_ACTUAL_PERCENT = 80.0
"""The budget notifies when actual charges pass this share of ``monthlyBudgetUsd``..."""
BUDGET_FORECAST_PERCENT = 100.0
"""...and when the month's forecast passes all of it."""
COST_ALLOCATION_TAGS = ("Application", "Environment")
"""The tags that scope the budget to this stack's resources (activate them in the Billing console)."""
STORAGE_CEILING_EVENTS = ("RDS-EVENT-0225", "RDS-EVENT-0224", "RDS-EVENT-0223", "RDS-EVENT-0007")
"""RDS events that say storage autoscaling is running out of room, as RDS itself measures it:
0225 allocated storage reached 80% of the maximum storage threshold; 0224 a pending autoscaling step
would reach or pass the maximum; 0223 autoscaling cannot scale; 0007 storage exhausted.
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html"""
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
    primary_arn: pulumi.Input[str]
    replica_identifiers: Sequence[pulumi.Input[str]]
    environment: str


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
        self.storage_rule = aws.cloudwatch.EventRule(
            namer.name("event-rule", "db-storage-ceiling"),
            name=namer.name("event-rule", "db-storage-ceiling"),
            description="RDS storage autoscaling of the primary is near, at or unable to pass its maximum storage",
            event_pattern=pulumi.Output.json_dumps(storage_ceiling_pattern(args.primary_arn)),
            opts=child,
        )
        self.topic_policy = aws.sns.TopicPolicy(
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
                    "Sid": "BudgetsOfThisAccount",
                    "Effect": "Allow",
                    "Principal": {"Service": "budgets.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": args.account.account_id},
                        "ArnLike": {
                            "aws:SourceArn": f"arn:{args.account.partition}:budgets::{args.account.account_id}:*"
                        },
                    },
                },
                {
                    "Sid": "StorageCeilingEventsOfThisStack",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": self.storage_rule.arn}},
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
        aws.cloudwatch.EventTarget(
            namer.name("event-target", "db-storage-ceiling"),
            rule=self.storage_rule.name,
            arn=self.topic.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.topic_policy]),
        )
        self.budget = aws.budgets.Budget(
            namer.name("budget"),
            name=namer.name("budget"),
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=str(args.settings.monthly_budget_usd),
            limit_unit="USD",
            metrics="UnblendedCost",
            filter_expression=budget_filter(args.environment),
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    notification_type="ACTUAL",
                    comparison_operator="GREATER_THAN",
                    threshold=BUDGET_ACTUAL_PERCENT,
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[self.topic.arn],
                ),
                aws.budgets.BudgetNotificationArgs(
                    notification_type="FORECASTED",
                    comparison_operator="GREATER_THAN",
                    threshold=BUDGET_FORECAST_PERCENT,
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[self.topic.arn],
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.topic_policy]),
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
        self.slo_alarms: dict[tuple[str, int], aws.cloudwatch.MetricAlarm] = {}
        self.burn_rate_alarms: dict[str, aws.cloudwatch.CompositeAlarm] = {}
        for alert in slo.BURN_RATE_ALERTS:
            windows = [self._window_alarm(namer, args, alert, w) for w in (alert.long_window_s, alert.short_window_s)]
            self.burn_rate_alarms[alert.name] = self._burn_rate_alarm(namer, alert, windows)
        self.dashboard = aws.cloudwatch.Dashboard(
            namer.name("dashboard"),
            dashboard_name=namer.name("dashboard"),
            dashboard_body=pulumi.Output.json_dumps(dashboard_body(args)),
            opts=child,
        )
        self.register_outputs({"topicArn": self.topic.arn, "dashboard": self.dashboard.dashboard_name})

    def _window_alarm(
        self, namer: Namer, args: ObservabilityArgs, alert: slo.BurnRateAlert, window_s: int
    ) -> aws.cloudwatch.MetricAlarm:
        """The 5xx share of API answers over one window, above the alert's threshold. It notifies nobody:
        only the composite of its long and short windows does."""
        qualifier = window_alarm_qualifier(alert, window_s)
        api = {"ApiName": args.api_name, "Stage": args.api_stage}

        def metric(query_id: str, name: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id,
                return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace="AWS/ApiGateway", metric_name=name, dimensions=api, period=window_s, stat="Sum"
                ),
            )

        alarm = aws.cloudwatch.MetricAlarm(
            namer.name("alarm", qualifier),
            name=namer.name("alarm", qualifier),
            alarm_description=(
                f"API 5xx share above {alert.error_ratio_threshold:.2%} over {_duration(window_s)}: the error "
                f"budget of the {slo.AVAILABILITY_TARGET:.1%} availability objective burning {alert.burn_rate:g}x "
                "too fast (one window of a burn-rate alert; the composite notifies)"
            ),
            metric_queries=[
                metric("errors", "5XXError"),
                metric("answers", "Count"),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="ratio",
                    expression=ERROR_RATIO_EXPRESSION,
                    label="5xx share of answers",
                    return_data=True,
                ),
            ],
            evaluation_periods=1,
            datapoints_to_alarm=1,
            threshold=alert.error_ratio_threshold,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.slo_alarms[(alert.name, window_s)] = alarm
        return alarm

    def _burn_rate_alarm(
        self, namer: Namer, alert: slo.BurnRateAlert, windows: Sequence[aws.cloudwatch.MetricAlarm]
    ) -> aws.cloudwatch.CompositeAlarm:
        qualifier = burn_rate_alarm_qualifier(alert)
        return aws.cloudwatch.CompositeAlarm(
            namer.name("alarm", qualifier),
            alarm_name=namer.name("alarm", qualifier),
            alarm_description=(
                f"The API's error budget ({slo.ERROR_BUDGET:.1%} of answers over {slo.WINDOW_DAYS} days) is burning "
                f"{alert.burn_rate:g}x too fast over {_duration(alert.long_window_s)} and "
                f"{_duration(alert.short_window_s)}: {alert.budget_consumed:.0%} of it spent"
            ),
            alarm_rule=pulumi.Output.all(*[w.name for w in windows]).apply(
                lambda names: " AND ".join(f'ALARM("{name}")' for name in names)
            ),
            actions_enabled=True,
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            opts=pulumi.ResourceOptions(parent=self),
        )

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


ERROR_RATIO_EXPRESSION = "IF(answers > 0, errors / answers, 0)"
"""The 5xx share of answers; a window without answers counts as no errors (and no data as not breaching)."""


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


def window_alarm_qualifier(alert: slo.BurnRateAlert, window_s: int) -> str:
    """``api-slo-fast-1h``, ``api-slo-fast-5m``, ...: one window of one burn-rate alert."""
    label = f"{window_s // 3600}h" if window_s % 3600 == 0 else f"{window_s // 60}m"
    return f"api-slo-{alert.name}-{label}"


def burn_rate_alarm_qualifier(alert: slo.BurnRateAlert) -> str:
    """``api-slo-fast-burn``, ``api-slo-slow-burn``: the composite that notifies."""
    return f"api-slo-{alert.name}-burn"


def budget_filter(environment: str) -> aws.budgets.BudgetFilterExpressionArgs:
    """Costs tagged with this application and this stack's environment (both cost-allocation tags)."""
    values = {"Application": APPLICATION, "Environment": environment}
    return aws.budgets.BudgetFilterExpressionArgs(
        ands=[
            aws.budgets.BudgetFilterExpressionAndArgs(
                tags=aws.budgets.BudgetFilterExpressionAndTagsArgs(
                    key=key, values=[values[key]], match_options=["EQUALS"]
                )
            )
            for key in COST_ALLOCATION_TAGS
        ]
    )


def storage_ceiling_pattern(primary_arn: pulumi.Input[str]) -> dict[str, Any]:
    """EventBridge pattern: the primary's storage-ceiling events (STORAGE_CEILING_EVENTS)."""
    return {
        "source": ["aws.rds"],
        "detail-type": ["RDS DB Instance Event"],
        "resources": [primary_arn],
        "detail": {"EventID": list(STORAGE_CEILING_EVENTS)},
    }


def alarm_specs(args: ObservabilityArgs) -> list[AlarmSpec]:
    """Every alarm, as data: docs/operations.md explains each and what to check first."""
    api = {"ApiName": args.api_name, "Stage": args.api_stage}
    specs = [
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
    for key in DATABASE_WORKLOADS:
        if key in args.function_names:
            specs.append(
                AlarmSpec(
                    f"db-config-errors-{key}",
                    f"The {key} function met a database failure no retry fixes (credentials, TLS, configuration)",
                    METRICS_NAMESPACE,
                    DATABASE_CONFIGURATION_ERRORS,
                    {"service": service_name(key)},
                    0,
                    period=60,
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
        error_budget_widget(args, y=24, x=12),
        widget(
            "Database configuration errors",
            [custom_metric(DATABASE_CONFIGURATION_ERRORS, key) for key in DATABASE_WORKLOADS],
            y=30,
        ),
    ]
    return {"widgets": widgets}


def error_budget_expression() -> str:
    """Remaining error budget in percent: 100 x (1 - observed 5xx share / allowed share)."""
    return f"100 * (1 - IF(answers > 0, errors / answers, 0) / {slo.ERROR_BUDGET:.6g})"


def error_budget_widget(args: ObservabilityArgs, y: int, x: int) -> dict[str, Any]:
    """The share of the 30-day error budget left, over the last 30 days (one value for the whole range)."""
    api = ["ApiName", args.api_name, "Stage", args.api_stage]
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": f"Error budget remaining ({slo.WINDOW_DAYS} days, %)",
            "region": args.account.region,
            "view": "singleValue",
            "start": f"-P{slo.WINDOW_DAYS}D",
            "end": "P0D",
            "setPeriodToTimeRange": True,
            "stat": "Sum",
            "period": slo.WINDOW_SECONDS,
            "metrics": [
                [{"expression": error_budget_expression(), "id": "remaining", "label": "error budget left (%)"}],
                ["AWS/ApiGateway", "5XXError", *api, {"id": "errors", "stat": "Sum", "visible": False}],
                ["AWS/ApiGateway", "Count", *api, {"id": "answers", "stat": "Sum", "visible": False}],
            ],
        },
    }
