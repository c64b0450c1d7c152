"""The queue worker's failure handling and the DLQ analyzer's classification (no database needed)."""

from __future__ import annotations

import json

import pytest
from orders.handlers import dlq_analyzer, worker

from tests.integration.function.conftest import sqs_event


def emitted_documents(output: str):
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def value(metric):
    """EMF carries a metric's values as a list when several were added in one flush."""
    return sum(metric) if isinstance(metric, list) else metric


def test_poison_messages_fail_alone_as_batch_item_failures(context, capfd, log_output):
    event = sqs_event(
        ["not json", json.dumps({"event_id": "x", "order": {}}), json.dumps({"order": {"customer_id": "c"}})]
    )
    response = worker.handler(event, context)
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}


def test_the_worker_reports_processed_and_failed_counts(context, capfd, log_output):
    worker.handler(sqs_event(["not json"]), context)
    documents = emitted_documents(capfd.readouterr().out)
    metrics = {
        m["Name"]: value(doc[m["Name"]])
        for doc in documents
        if "_aws" in doc
        for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert metrics["BatchRecordsFailed"] == 1
    assert metrics["BatchRecordsProcessed"] == 0


@pytest.mark.parametrize(
    ("body", "reason", "expected"),
    [
        ("{not json", None, "validation"),
        (
            json.dumps({"event_id": "e", "order": {"customer_id": "c", "amount_minor": -1, "currency": "EUR"}}),
            None,
            "validation",
        ),
        (
            json.dumps({"event_id": "e", "order": {"customer_id": "c", "amount_minor": 1, "currency": "EUR"}}),
            "Task timed out after 60.0 seconds",
            "timeout",
        ),
        (
            json.dumps({"event_id": "e", "order": {"customer_id": "c", "amount_minor": 1, "currency": "EUR"}}),
            "psycopg2.OperationalError: connection refused",
            "database",
        ),
        (
            json.dumps({"event_id": "e", "order": {"customer_id": "c", "amount_minor": 1, "currency": "EUR"}}),
            None,
            "unknown",
        ),
    ],
)
def test_dead_letters_are_classified_by_content_then_recorded_reason(body, reason, expected):
    assert dlq_analyzer.classify(body, reason) == expected


def test_the_analyzer_emits_one_metric_per_class_and_one_summary(context, capfd, log_output):
    valid = json.dumps({"event_id": "e", "order": {"customer_id": "c", "amount_minor": 1, "currency": "EUR"}})
    event = sqs_event(["bad", "bad too", valid], attributes=[{}, {}, {"failure_reason": "statement timeout"}])
    assert dlq_analyzer.handler(event, context) == {"batchItemFailures": []}
    documents = emitted_documents(capfd.readouterr().out) + emitted_documents(log_output.getvalue())
    by_class = {
        doc["FailureClass"]: value(doc["DlqMessagesByClass"]) for doc in documents if "DlqMessagesByClass" in doc
    }
    assert by_class == {"validation": 2, "timeout": 1}
    (summary,) = [doc for doc in documents if doc.get("message") == "dead-letter batch classified"]
    assert summary["messages"] == 3
    assert summary["by_class"] == {"validation": 2, "timeout": 1}
