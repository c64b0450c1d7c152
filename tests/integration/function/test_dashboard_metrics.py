"""Every custom metric the dashboard and the alarms read is one the functions really publish.

What is published is not a list kept here: the handlers run (against PostgreSQL and moto) with each
function's ``POWERTOOLS_SERVICE_NAME`` and metrics namespace as the program sets them, and the
embedded metric format (EMF) documents they print are read back: namespace, metric name and the
exact dimension set with its values. CloudWatch finds a custom metric only by all of its
dimensions, so a widget or alarm naming fewer, more or other ones shows nothing.
"""

from __future__ import annotations

import ast
import json
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from orders.handlers import api, dlq_analyzer, worker
from orders.observability import metrics

from local.context import LambdaContext
from offline.harness import run_program
from tests.integration.function.conftest import REGION, api_event, refuse_the_application_password, sqs_event
from tests.unit.support import CA_BUNDLE_IN_LAYER, PROJECT_ROOT

FUNCTION_CODE = PROJECT_ROOT / "function" / "orders"
Metric = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, name, dimensions


@pytest.fixture(scope="module")
def program(archive_overrides, tmp_path_factory):
    """The dev stack's program, with a layer that carries the RDS CA bundle as a deployable one does."""
    layer = tmp_path_factory.mktemp("layer-with-ca") / "layer.zip"
    with zipfile.ZipFile(layer, "w") as archive:
        archive.writestr(CA_BUNDLE_IN_LAYER, "-----BEGIN CERTIFICATE-----\noffline\n-----END CERTIFICATE-----\n")
    overrides = {**archive_overrides, "serverless-infra:layerArchive": str(layer)}
    return run_program(PROJECT_ROOT, "dev", config_overrides=overrides)


@pytest.fixture(scope="module")
def function_environments(program) -> dict[str, dict[str, str]]:
    """Workload key -> the environment variables the program gives its function."""
    environments = {}
    for record in program.of_type("aws:lambda/function:Function"):
        key = record.inputs["name"].split("-function-", 1)[1]
        environments[key] = record.inputs["environment"]["variables"]
    return environments


def emf_metrics(output: str) -> set[Metric]:
    found: set[Metric] = set()
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimension_set in directive["Dimensions"]:
                dimensions = frozenset((name, str(document[name])) for name in dimension_set)
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], dimensions))
    return found


def order_body(amount=1):
    return {"customer_id": "metrics", "amount_minor": amount, "currency": "EUR"}


def message(order):
    return json.dumps({"event_id": str(uuid.uuid4()), "order": order})


@pytest.fixture
def as_function(function_environments, monkeypatch):
    """Make this process look like ``key``'s function to powertools, as its environment would at start."""

    def become(key: str) -> None:
        variables = function_environments[key]
        for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
            monkeypatch.setenv(name, variables[name])
        monkeypatch.setattr(metrics, "service", variables["POWERTOOLS_SERVICE_NAME"])
        monkeypatch.setattr(metrics, "namespace", variables["POWERTOOLS_METRICS_NAMESPACE"])

    return become


@pytest.fixture
def emitted(migrated, as_function, monkeypatch, capfd) -> set[Metric]:
    """Every metric the handlers publish over the paths that publish metrics."""
    context = LambdaContext(remaining_ms=30_000)
    capfd.readouterr()
    as_function("api")
    api.handler(api_event("POST", "/orders", body=order_body()), context)
    api.handler(api_event("POST", "/orders/batch", body={"orders": [order_body(2), order_body(3)]}), context)
    as_function("worker")
    worker.handler(sqs_event([message(order_body(4)), "poison"]), context)
    as_function("dlq-analyzer")
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="serverless-infra-dev-queue-orders-dlq")["QueueUrl"]
    for body in ("poison", message({"customer_id": ""}), message(order_body())):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", url)
    dlq_analyzer.handler({"source": "aws.events"}, context)
    # A database failure no retry fixes: the api and the worker count it (the program alarms on it).
    refuse_the_application_password(migrated)
    as_function("api")
    api.handler(api_event("POST", "/orders", body=order_body(5)), context)
    as_function("worker")
    worker.handler(sqs_event([message(order_body(6))]), context)
    return emf_metrics(capfd.readouterr().out)


def metric_names_in_code() -> set[str]:
    """Every metric name the function code passes to powertools as a literal."""
    names = set()
    for path in Path(FUNCTION_CODE).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "add_metric",
                "single_metric",
            ):
                for keyword in node.keywords:
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        names.add(keyword.value.value)
    return names


def dashboard_metrics(program) -> list[Metric]:
    (dashboard,) = program.of_type("aws:cloudwatch/dashboard:Dashboard")
    read: list[Metric] = []
    for widget in json.loads(dashboard.inputs["dashboardBody"])["widgets"]:
        for row in widget["properties"].get("metrics", []):
            fields = [field for field in row if not isinstance(field, dict)]
            if not fields:  # a metric-math expression row: it reads the rows it names by id
                continue
            namespace, name, pairs = fields[0], fields[1], fields[2:]
            read.append((namespace, name, frozenset(zip(pairs[::2], pairs[1::2], strict=True))))
    return read


def alarm_metrics(program) -> list[Metric]:
    """Every metric an alarm reads: its own, or each one its metric-math queries name."""
    read: list[Metric] = []
    for alarm in program.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        if alarm.inputs.get("metricQueries"):
            for query in alarm.inputs["metricQueries"]:
                if metric := query.get("metric"):
                    dimensions = frozenset((metric.get("dimensions") or {}).items())
                    read.append((metric["namespace"], metric["metricName"], dimensions))
        else:
            dimensions = frozenset(alarm.inputs["dimensions"].items())
            read.append((alarm.inputs["namespace"], alarm.inputs["metricName"], dimensions))
    return read


def custom(metric: Metric) -> bool:
    return not metric[0].startswith("AWS/")


def test_the_exercised_paths_publish_every_metric_the_function_code_names(emitted):
    assert metric_names_in_code() <= {name for _, name, _ in emitted}


def test_every_custom_metric_on_the_dashboard_is_published_with_exactly_those_dimensions(program, emitted):
    read = [metric for metric in dashboard_metrics(program) if custom(metric)]
    assert read, "the dashboard shows no custom metric"
    assert [metric for metric in read if metric not in emitted] == []


def test_every_alarm_on_a_custom_metric_watches_one_that_is_published(program, emitted):
    assert [metric for metric in alarm_metrics(program) if custom(metric) and metric not in emitted] == []


def test_the_business_metrics_and_the_dead_letter_gauges_are_all_on_the_dashboard(program, emitted):
    shown = set(dashboard_metrics(program))
    business = {metric for metric in emitted if metric[1] != "ColdStart"}  # cold starts: Lambda's Init Duration
    assert business - shown == set()
