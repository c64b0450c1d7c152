"""Alarms notify an encrypted topic; the signals operators need are watched; one dashboard shows them."""

from __future__ import annotations

import json

import pytest

from contract import slo
from contract.workloads import WORKLOADS

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
BUDGET = "aws:budgets/budget:Budget"
RULE = "aws:cloudwatch/eventRule:EventRule"
# The workbook's pairs for a 99.9% objective over 30 days: (burn rate, long window, short window).
WORKBOOK_ALERTS = {"fast": (14.4, 3600, 300), "slow": (6.0, 6 * 3600, 30 * 60)}


def alarms(run):
    return {a.inputs["name"].split("-alarm-", 1)[1]: a for a in run.of_type(ALARM)}


def composites(run):
    return {a.inputs["alarmName"].split("-alarm-", 1)[1]: a for a in run.of_type(COMPOSITE)}


def slo_windows(run):
    return {name: alarm for name, alarm in alarms(run).items() if name.startswith("api-slo-")}


def queries(alarm):
    return {q["id"]: q for q in alarm.inputs["metricQueries"]}


def topic_policy(run):
    (policy,) = run.of_type("aws:sns/topicPolicy:TopicPolicy")
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_the_alarm_topic_is_encrypted_with_the_messaging_key(stack_run):
    (topic,) = stack_run.of_type("aws:sns/topic:Topic")
    key = stack_run.named("aws:kms/key:Key", f"serverless-infra-{stack_run.stack}-kms-key-messaging")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]


def test_every_alarm_but_the_slo_windows_notifies_the_topic_when_it_fires_and_clears(stack_run):
    (topic,) = stack_run.of_type("aws:sns/topic:Topic")
    for name, alarm in alarms(stack_run).items():
        if name.startswith("api-slo-"):
            continue
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]], name
        assert alarm.inputs["okActions"] == [topic.outputs["arn"]], name


def test_the_key_signals_are_watched(stack_run):
    expected = {"api-latency-p99", "dlq-not-empty", "db-cpu", "db-replica-1-lag"}
    expected |= {f"function-{w.key}-{kind}" for w in WORKLOADS for kind in ("errors", "throttles")}
    expected |= {"api-slo-fast-1h", "api-slo-fast-5m", "api-slo-slow-6h", "api-slo-slow-30m"}
    expected |= {"db-config-errors-api", "db-config-errors-worker"}
    assert set(alarms(stack_run)) == expected


def test_a_database_failure_no_retry_fixes_alarms_on_the_metric_the_functions_publish(stack_run):
    """The name is contract.metrics' (orders.failures publishes it); service is powertools' dimension."""
    from contract.metrics import DATABASE_CONFIGURATION_ERRORS

    (api,) = [
        a
        for a in stack_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.name.endswith("db-config-errors-api")
    ]
    assert api.inputs["metricName"] == DATABASE_CONFIGURATION_ERRORS
    assert api.inputs["dimensions"] == {"service": "orders-api"}
    assert api.inputs["threshold"] == 0
    assert api.inputs["period"] == 60
    assert set(composites(stack_run)) == {"api-slo-fast-burn", "api-slo-slow-burn"}


# --- The availability objective: burn-rate alerts derived from it.


def test_the_objective_is_the_workbooks_99_9_percent_over_30_days_with_its_two_burn_rate_alerts():
    assert slo.AVAILABILITY_TARGET == 0.999
    assert slo.WINDOW_DAYS == 30
    alerts = {a.name: (a.burn_rate, a.long_window_s, a.short_window_s) for a in slo.BURN_RATE_ALERTS}
    assert alerts == WORKBOOK_ALERTS
    # A fast-burn page means 2% of the month's budget spent in an hour, a slow-burn page 5% in six hours.
    assert {a.name: round(a.budget_consumed, 4) for a in slo.BURN_RATE_ALERTS} == {"fast": 0.02, "slow": 0.05}


@pytest.mark.parametrize("alert", sorted(WORKBOOK_ALERTS))
def test_each_burn_rate_window_alarms_on_the_5xx_share_above_burn_rate_times_the_error_budget(stack_run, alert):
    burn_rate, long_window, short_window = WORKBOOK_ALERTS[alert]
    expected_threshold = burn_rate * (1 - 0.999)  # 1.44% (fast), 0.6% (slow) of answers
    windows = {name: a for name, a in slo_windows(stack_run).items() if name.startswith(f"api-slo-{alert}-")}
    assert set(windows) == {f"api-slo-{alert}-{label}" for label in _labels(long_window, short_window)}
    periods = set()
    for name, alarm in windows.items():
        inputs = alarm.inputs
        assert inputs["threshold"] == pytest.approx(expected_threshold), name
        assert inputs["comparisonOperator"] == "GreaterThanThreshold"
        assert (inputs["evaluationPeriods"], inputs["datapointsToAlarm"]) == (1, 1)
        assert inputs["treatMissingData"] == "notBreaching"
        by_id = queries(alarm)
        (returned,) = [q for q in by_id.values() if q.get("returnData")]
        assert returned["expression"] == "IF(answers > 0, errors / answers, 0)"
        errors, answers = by_id["errors"]["metric"], by_id["answers"]["metric"]
        assert (errors["namespace"], errors["metricName"], errors["stat"]) == ("AWS/ApiGateway", "5XXError", "Sum")
        assert (answers["namespace"], answers["metricName"], answers["stat"]) == ("AWS/ApiGateway", "Count", "Sum")
        # The stage's own metrics (detailed per-method metrics are off): ApiName and Stage only.
        assert set(errors["dimensions"]) == set(answers["dimensions"]) == {"ApiName", "Stage"}
        assert errors["period"] == answers["period"]
        periods.add(errors["period"])
    assert periods == {long_window, short_window}


def _labels(*windows):
    return [f"{w // 3600}h" if w % 3600 == 0 else f"{w // 60}m" for w in windows]


def test_the_windows_fit_cloudwatchs_limits():
    """Periods of 60 s or a multiple of it; EvaluationPeriods x Period at most one day (PutMetricAlarm)."""
    for alert in slo.BURN_RATE_ALERTS:
        for window in (alert.long_window_s, alert.short_window_s):
            assert window >= 60
            assert window % 60 == 0
            assert 1 * window <= 86_400


def test_each_composite_pages_only_when_both_windows_of_its_alert_are_in_alarm(stack_run):
    windows = {name: alarm.inputs["name"] for name, alarm in slo_windows(stack_run).items()}
    rules = {name: c.inputs["alarmRule"] for name, c in composites(stack_run).items()}
    expected = {}
    for alert, (_, long_window, short_window) in WORKBOOK_ALERTS.items():
        long_label, short_label = _labels(long_window, short_window)
        long_name, short_name = windows[f"api-slo-{alert}-{long_label}"], windows[f"api-slo-{alert}-{short_label}"]
        expected[f"api-slo-{alert}-burn"] = f'ALARM("{long_name}") AND ALARM("{short_name}")'
    assert rules == expected


def test_only_the_composites_of_the_slo_notify(stack_run):
    (topic,) = stack_run.of_type("aws:sns/topic:Topic")
    for name, window in slo_windows(stack_run).items():
        assert not window.inputs.get("alarmActions"), name
        assert not window.inputs.get("okActions"), name
    for name, composite in composites(stack_run).items():
        assert composite.inputs["alarmActions"] == [topic.outputs["arn"]], name
        assert composite.inputs["okActions"] == [topic.outputs["arn"]], name


# --- Cost: the stack's own budget, not the account's bill.


def test_the_budget_is_the_stacks_monthly_budget_scoped_by_its_cost_allocation_tags(stack_run):
    (budget,) = stack_run.of_type(BUDGET)
    inputs = budget.inputs
    monthly = int(stack_run.config.values["serverless-infra:monthlyBudgetUsd"])
    assert (inputs["budgetType"], inputs["timeUnit"], inputs["limitUnit"]) == ("COST", "MONTHLY", "USD")
    assert float(inputs["limitAmount"]) == monthly
    tags = {
        operand["tags"]["key"]: (operand["tags"]["values"], operand["tags"]["matchOptions"])
        for operand in inputs["filterExpression"]["ands"]
    }
    environment = stack_run.config.values["serverless-infra:environment"]
    assert tags == {"Application": (["serverless-infra"], ["EQUALS"]), "Environment": ([environment], ["EQUALS"])}
    assert "costFilters" not in inputs or not inputs["costFilters"]


def test_the_budget_notifies_the_topic_at_80_percent_actual_and_100_percent_forecast(stack_run):
    (topic,) = stack_run.of_type("aws:sns/topic:Topic")
    (budget,) = stack_run.of_type(BUDGET)
    notified = {
        (n["notificationType"], n["threshold"], n["thresholdType"], n["comparisonOperator"])
        for n in budget.inputs["notifications"]
        if n["subscriberSnsTopicArns"] == [topic.outputs["arn"]]
    }
    assert notified == {("ACTUAL", 80, "PERCENTAGE", "GREATER_THAN"), ("FORECASTED", 100, "PERCENTAGE", "GREATER_THAN")}


def test_no_alarm_watches_the_account_wide_billing_metric(stack_run):
    assert [a for a in stack_run.of_type(ALARM) if a.inputs.get("namespace") == "AWS/Billing"] == []


def test_the_topic_admits_budgets_of_this_account_only(stack_run):
    budgets = topic_policy(stack_run)["BudgetsOfThisAccount"]
    assert budgets["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert budgets["Action"] == "sns:Publish"
    assert budgets["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:budgets::123456789012:*"},
    }


def test_the_messaging_key_lets_budgets_and_eventbridge_publish_to_the_encrypted_topic(stack_run):
    key = stack_run.named("aws:kms/key:Key", f"serverless-infra-{stack_run.stack}-kms-key-messaging")
    statements = json.loads(key.inputs["policy"])["Statement"]
    by_service = {s["Principal"]["Service"]: s for s in statements if "Service" in s.get("Principal", {})}
    for service in ("budgets.amazonaws.com", "events.amazonaws.com"):
        assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(by_service[service]["Action"]), service
    assert by_service["budgets.amazonaws.com"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


# --- Storage: the warning follows the autoscaling ceiling, not the initial allocation.


def test_storage_warnings_come_from_rds_measuring_the_autoscaling_ceiling(stack_run):
    """RDS raises RDS-EVENT-0225 at 80% of the instance's maximum storage threshold, 0224 when a step would
    reach it, 0223 when autoscaling cannot scale, 0007 when storage is exhausted: whatever size autoscaling
    has grown the instance to. No alarm keeps a threshold computed from the initial allocation."""
    primary = stack_run.named("aws:rds/instance:Instance", f"serverless-infra-{stack_run.stack}-db-primary")
    maximum = int(stack_run.config.values.get("serverless-infra:dbMaxAllocatedStorageGb", 100))
    assert primary.inputs["maxAllocatedStorage"] == maximum
    (rule,) = [r for r in stack_run.of_type(RULE) if r.inputs["name"].endswith("-db-storage-ceiling")]
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["source"] == ["aws.rds"]
    assert pattern["resources"] == [primary.outputs["arn"]]
    assert set(pattern["detail"]["EventID"]) == {"RDS-EVENT-0225", "RDS-EVENT-0224", "RDS-EVENT-0223", "RDS-EVENT-0007"}
    assert [a for a in stack_run.of_type(ALARM) if a.inputs.get("metricName") == "FreeStorageSpace"] == []


def test_the_storage_events_reach_the_topic_through_this_stacks_rule_only(stack_run):
    (topic,) = stack_run.of_type("aws:sns/topic:Topic")
    (rule,) = [r for r in stack_run.of_type(RULE) if r.inputs["name"].endswith("-db-storage-ceiling")]
    (target,) = [t for t in stack_run.of_type("aws:cloudwatch/eventTarget:EventTarget") if "db-storage" in t.name]
    assert target.inputs["arn"] == topic.outputs["arn"]
    events = topic_policy(stack_run)["StorageCeilingEventsOfThisStack"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Condition"] == {"ArnEquals": {"aws:SourceArn": rule.outputs["arn"]}}


def test_p99_latency_alarms_above_200_ms(stack_run):
    latency = alarms(stack_run)["api-latency-p99"].inputs
    assert latency["extendedStatistic"] == "p99"
    assert latency["threshold"] == 200
    assert latency["metricName"] == "Latency"


def test_the_dashboard_shows_business_latency_errors_concurrency_queues_and_database(stack_run):
    (dashboard,) = stack_run.of_type("aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    titles = " | ".join(w["properties"]["title"] for w in body["widgets"])
    for needle in ("Orders created", "p50 / p90 / p99", "errors", "Concurrency", "DLQ depth", "Database health"):
        assert needle in titles
    rendered = json.dumps(body)
    assert "ProvisionedConcurrencyUtilization" in rendered
    assert "ReplicaLag" in rendered


def test_given_the_analyzer_peeks_the_dead_letters_on_a_schedule_then_the_dlq_alarm_spans_one_interval(stack_run):
    """The analyzer hides what it peeks for a moment each run: a shorter period would flap the alarm to OK."""
    (rule,) = [r for r in stack_run.of_type("aws:cloudwatch/eventRule:EventRule") if "dlq-analyzer" in r.name]
    minutes = int(rule.inputs["scheduleExpression"].removeprefix("rate(").split()[0])
    alarm = alarms(stack_run)["dlq-not-empty"]
    assert alarm.inputs["statistic"] == "Maximum"
    assert alarm.inputs["period"] >= minutes * 60


def test_the_dashboard_shows_the_error_budget_left_over_the_objectives_window(stack_run):
    (dashboard,) = stack_run.of_type("aws:cloudwatch/dashboard:Dashboard")
    (widget,) = [
        w
        for w in json.loads(dashboard.inputs["dashboardBody"])["widgets"]
        if "Error budget" in w["properties"]["title"]
    ]
    properties = widget["properties"]
    assert properties["start"] == "-P30D"
    assert properties["setPeriodToTimeRange"] is True
    rows = properties["metrics"]
    (expression,) = [row[0]["expression"] for row in rows if isinstance(row[0], dict)]
    assert expression == "100 * (1 - IF(answers > 0, errors / answers, 0) / 0.001)"
    hidden = {row[-1]["id"]: row[1] for row in rows if isinstance(row[0], str)}
    assert hidden == {"errors": "5XXError", "answers": "Count"}
