"""The queue worker's failure handling and the DLQ analyzer peeking at a (moto) dead-letter queue.

No database is needed: the analyzer never touches one, and the worker's failures here happen before
or instead of an insert.
"""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from orders.handlers import dlq_analyzer, worker
from orders.messages import PoisonMessage

from local.context import LambdaContext
from tests.integration.function.conftest import REGION, sqs_event


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


def valid_body(amount=1, currency="EUR"):
    return json.dumps(
        {"event_id": str(uuid.uuid4()), "order": {"customer_id": "c", "amount_minor": amount, "currency": currency}}
    )


def test_given_the_database_is_down_when_a_batch_of_500_arrives_then_every_record_fails_within_the_time_left(
    seed_parameters, monkeypatch, log_output, capfd
):
    seed_parameters(port="1")  # nothing listens there
    monkeypatch.setattr(worker, "_database", None)
    event = sqs_event([valid_body(amount=i) for i in range(500)])
    started = time.monotonic()
    response = worker.handler(event, LambdaContext(remaining_ms=10_000))
    assert time.monotonic() - started < 10
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}
    unavailable = [line for line in log_output.getvalue().splitlines() if '"database unavailable"' in line]
    assert len(unavailable) == 1  # the first record met the outage; the other 499 did not wait it out again


SCHEDULED_EVENT = {
    "version": "0",
    "id": "0d2f7a52-0000-4000-8000-000000000000",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-12-01T12:00:00Z",
    "region": REGION,
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/serverless-infra-dev-rule-dlq-analyzer"],
    "detail": {},
}
MALFORMED = ["{not json", "[]", '"just text"', json.dumps({"order": {}}), json.dumps({"event_id": "x", "order": {}})]
INVALID = [
    valid_body(amount=-1),
    valid_body(currency="XXX"),
    json.dumps({"event_id": str(uuid.uuid4()), "order": {"customer_id": "c", "amount_minor": 1}}),
    json.dumps(
        {"event_id": str(uuid.uuid4()), "order": {"customer_id": "c", "amount_minor": 1, "currency": "EUR", "x": 1}}
    ),
]
PROCESSABLE = [valid_body(), valid_body(amount=0, currency="JPY")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b, "malformed") for b in MALFORMED]
    + [(b, "invalid") for b in INVALID]
    + [(b, "processable") for b in PROCESSABLE],
)
def test_a_dead_letter_is_classified_by_what_the_worker_would_do_with_it_now(body, expected):
    assert dlq_analyzer.classify(body) == expected


@pytest.mark.parametrize("body", MALFORMED + INVALID + PROCESSABLE)
def test_the_analyzer_and_the_worker_agree_on_which_messages_can_never_succeed(body):
    try:
        worker.parse(body)
    except PoisonMessage:
        refused = True
    else:
        refused = False
    assert refused == (dlq_analyzer.classify(body) != "processable")


@pytest.fixture
def dead_letter_queue(aws, monkeypatch):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="serverless-infra-dev-queue-orders-dlq")["QueueUrl"]
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", url)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders-dlq-analyzer")
    return sqs, url


def fill(queue, bodies):
    sqs, url = queue
    return [sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"] for body in bodies]


def depth(queue):
    sqs, url = queue
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def gauges(output):
    documents = emitted_documents(output)
    by_class = {
        doc["FailureClass"]: value(doc["DlqMessagesByClass"]) for doc in documents if "DlqMessagesByClass" in doc
    }
    (age,) = [value(doc["DlqOldestMessageAgeSeconds"]) for doc in documents if "DlqOldestMessageAgeSeconds" in doc]
    return by_class, age


def test_given_dead_letters_when_the_schedule_runs_the_analyzer_then_every_message_is_still_there_and_visible(
    dead_letter_queue, context, capfd, log_output
):
    ids = fill(dead_letter_queue, MALFORMED[:2] + INVALID[:1] + PROCESSABLE)
    summary = dlq_analyzer.handler(SCHEDULED_EVENT, LambdaContext(remaining_ms=30_000))
    assert summary["by_class"] == {"malformed": 2, "invalid": 1, "processable": 2}
    assert summary["complete"] is True
    assert depth(dead_letter_queue) == (5, 0)
    sqs, url = dead_letter_queue
    seen = set()
    while len(seen) < 5:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        assert messages, "a dead letter disappeared"
        seen |= {m["MessageId"] for m in messages}
    assert seen == set(ids)


def test_each_run_publishes_a_gauge_per_class_with_zeros_and_the_oldest_age(
    dead_letter_queue, context, capfd, log_output
):
    fill(dead_letter_queue, MALFORMED[:1] + PROCESSABLE[:1])
    dlq_analyzer.handler(SCHEDULED_EVENT, LambdaContext(remaining_ms=30_000))
    by_class, age = gauges(capfd.readouterr().out)
    assert by_class == {"malformed": 1, "invalid": 0, "processable": 1}
    assert 0 <= age < 60


def test_repeated_runs_report_the_same_counts_instead_of_adding_up(dead_letter_queue, capfd, log_output):
    fill(dead_letter_queue, INVALID[:2])
    runs = []
    for _ in range(2):
        dlq_analyzer.handler(SCHEDULED_EVENT, LambdaContext(remaining_ms=30_000))
        runs.append(gauges(capfd.readouterr().out)[0])
    assert runs == [{"malformed": 0, "invalid": 2, "processable": 0}] * 2


def test_one_summary_line_gives_the_counts_the_age_and_examples(dead_letter_queue, capfd, log_output):
    (malformed_id,) = fill(dead_letter_queue, MALFORMED[:1])
    dlq_analyzer.handler(SCHEDULED_EVENT, LambdaContext(remaining_ms=30_000))
    lines = emitted_documents(log_output.getvalue())
    (summary,) = [line for line in lines if line.get("message") == "dead-letter queue analysed"]
    assert summary["messages"] == 1
    assert summary["by_class"] == {"malformed": 1, "invalid": 0, "processable": 0}
    assert summary["examples"] == {"malformed": [malformed_id]}
    assert summary["complete"] is True
    assert summary["trigger"] == "aws.events"


def test_an_empty_dead_letter_queue_reports_zeros(dead_letter_queue, capfd, log_output):
    summary = dlq_analyzer.handler({}, LambdaContext(remaining_ms=30_000))
    assert summary == {
        "messages": 0,
        "by_class": {"malformed": 0, "invalid": 0, "processable": 0},
        "oldest_age_s": 0,
        "complete": True,
        "approximate_depth": 0,
    }
    assert gauges(capfd.readouterr().out) == ({"malformed": 0, "invalid": 0, "processable": 0}, 0)


def test_given_more_than_one_run_may_hold_then_it_stops_at_the_bound_says_so_and_releases_all(
    dead_letter_queue, monkeypatch, capfd, log_output
):
    monkeypatch.setattr(dlq_analyzer, "MAX_MESSAGES", 12)
    fill(dead_letter_queue, PROCESSABLE[:1] * 25)
    summary = dlq_analyzer.handler(SCHEDULED_EVENT, LambdaContext(remaining_ms=30_000))
    assert summary["messages"] == 12
    assert summary["complete"] is False
    assert depth(dead_letter_queue) == (25, 0)


def test_given_too_little_time_left_then_it_receives_nothing_and_says_the_run_is_incomplete(
    dead_letter_queue, capfd, log_output
):
    fill(dead_letter_queue, PROCESSABLE[:1])
    summary = dlq_analyzer.handler(SCHEDULED_EVENT, LambdaContext(remaining_ms=dlq_analyzer.RELEASE_RESERVE_MS))
    assert (summary["messages"], summary["complete"]) == (0, False)
    assert depth(dead_letter_queue) == (1, 0)


def test_fed_by_an_event_source_mapping_it_fails_the_batch_so_no_dead_letter_is_deleted(
    dead_letter_queue, context, capfd, log_output
):
    with pytest.raises(ValueError, match="event source mapping"):
        dlq_analyzer.handler(sqs_event([PROCESSABLE[0]]), context)
