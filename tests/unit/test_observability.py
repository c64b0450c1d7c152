"""Alarms notify an encrypted topic; the signals operators need are watched; one dashboard shows them."""

from __future__ import annotations

import json

from contract.workloads import WORKLOADS

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def alarms(run):
    return {a.inputs["name"].split("-alarm-", 1)[1]: a for a in run.of_type(ALARM)}


def test_the_alarm_topic_is_encrypted_with_the_messaging_key(stack_run):
    (topic,) = stack_run.of_type("aws:sns/topic:Topic")
    key = stack_run.named("aws:kms/key:Key", f"serverless-infra-{stack_run.stack}-kms-key-messaging")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]


def test_every_alarm_notifies_the_topic_when_it_fires_and_clears(stack_run):
    (topic,) = stack_run.of_type("aws:sns/topic:Topic")
    for alarm in stack_run.of_type(ALARM):
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
        assert alarm.inputs["okActions"] == [topic.outputs["arn"]]


def test_the_key_signals_are_watched(stack_run):
    expected = {
        "api-5xx-rate",
        "api-latency-p99",
        "dlq-not-empty",
        "db-cpu",
        "db-free-storage",
        "db-replica-1-lag",
        "estimated-charges",
    }
    expected |= {f"function-{w.key}-{kind}" for w in WORKLOADS for kind in ("errors", "throttles")}
    assert set(alarms(stack_run)) == expected


def test_p99_latency_alarms_above_200_ms(stack_run):
    latency = alarms(stack_run)["api-latency-p99"].inputs
    assert latency["extendedStatistic"] == "p99"
    assert latency["threshold"] == 200
    assert latency["metricName"] == "Latency"


def test_the_billing_alarm_uses_the_configured_budget(stack_run):
    charges = alarms(stack_run)["estimated-charges"].inputs
    assert (charges["namespace"], charges["metricName"]) == ("AWS/Billing", "EstimatedCharges")
    assert charges["threshold"] == int(stack_run.config.values["serverless-infra:monthlyBudgetUsd"])


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
