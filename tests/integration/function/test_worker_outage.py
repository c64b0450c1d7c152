"""The queue worker against the real TLS PostgreSQL: set-based inserts, exact partial failures, outages."""

from __future__ import annotations

import json
import time
import uuid

import psycopg2
from orders.handlers import worker

from local.context import LambdaContext
from tests.integration.function.conftest import sqs_event
from tests.integration.function.test_database_failures import CountdownContext, SilentServer


def body(amount: int) -> str:
    order = {"customer_id": "queued", "amount_minor": amount, "currency": "EUR"}
    return json.dumps({"event_id": str(uuid.uuid4()), "order": order})


def query(postgres, statement: str):
    with psycopg2.connect(postgres.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        rows = cursor.fetchall() if cursor.description else []
    connection.close()
    return rows


def failed_ids(response) -> set[str]:
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


def test_given_a_batch_of_valid_records_when_processed_then_all_are_inserted_in_one_transaction(migrated):
    # GIVEN ten valid order events
    event = sqs_event([body(amount) for amount in range(10)])
    # WHEN the worker processes them
    response = worker.handler(event, LambdaContext(remaining_ms=10_000))
    # THEN none failed, and every row carries one transaction id (one set-based insert, not ten)
    assert response["batchItemFailures"] == []
    assert query(migrated, "SELECT count(*), count(DISTINCT xmin::text) FROM orders") == [(10, 1)]


def test_given_one_record_the_table_refuses_when_the_batch_is_processed_then_exactly_that_one_fails(migrated):
    # GIVEN the table refuses amount 13 (a constraint the message schema does not know about)
    query(migrated, "ALTER TABLE orders ADD CONSTRAINT test_refuses_13 CHECK (amount_minor <> 13)")
    try:
        event = sqs_event([body(amount) for amount in (11, 12, 13, 14)])
        # WHEN the worker processes the batch
        response = worker.handler(event, LambdaContext(remaining_ms=10_000))
    finally:
        query(migrated, "ALTER TABLE orders DROP CONSTRAINT test_refuses_13")
    # THEN exactly the refused record is reported, and the other three are stored
    assert failed_ids(response) == {event["Records"][2]["messageId"]}
    assert query(migrated, "SELECT amount_minor FROM orders ORDER BY amount_minor") == [(11,), (12,), (14,)]


def test_each_failed_record_is_logged_at_warning_with_its_error_class(migrated, log_output):
    # GIVEN a batch with one message that is not JSON
    event = sqs_event(["not json", body(1)])
    # WHEN the worker processes it
    worker.handler(event, LambdaContext(remaining_ms=10_000))
    # THEN the failure is logged at WARNING, naming the record and the error's class
    lines = [json.loads(line) for line in log_output.getvalue().splitlines() if line.startswith("{")]
    failures = [line for line in lines if line["message"] == "record failed"]
    assert [(line["level"], line["message_id"], line["error"]) for line in failures] == [
        ("WARNING", event["Records"][0]["messageId"], "MalformedMessage")
    ]


def test_given_a_hung_database_when_a_batch_arrives_then_every_record_fails_within_the_time_left(
    seed_parameters, monkeypatch, postgres
):
    # GIVEN the writer endpoint accepts connections and never answers
    server = SilentServer()
    try:
        # connect_timeout_s 5 is longer than the invocation has left: the time left must win
        seed_parameters(writer_host="127.0.0.1", port=str(server.port), connect_timeout_s="5")
        monkeypatch.setenv("DB_SSLROOTCERT", str(postgres.ca_path))
        monkeypatch.setattr(worker, "_database", None)
        event = sqs_event([body(amount) for amount in range(20)])
        started = time.monotonic()
        # WHEN a batch arrives with 3 s left in the invocation
        response = worker.handler(event, CountdownContext(3000))
        elapsed = time.monotonic() - started
    finally:
        server.close()
    # THEN every record is reported failed before the invocation would have timed out
    assert elapsed < 3.0
    assert failed_ids(response) == {record["messageId"] for record in event["Records"]}


def test_given_too_little_time_left_when_a_batch_arrives_then_no_record_is_taken(migrated):
    # GIVEN less than the worker's reserve is left
    event = sqs_event([body(1), body(2)])
    # WHEN the batch is processed
    response = worker.handler(event, LambdaContext(remaining_ms=worker.RESERVE_MS - 1))
    # THEN both records come back and nothing was written
    assert failed_ids(response) == {record["messageId"] for record in event["Records"]}
    assert query(migrated, "SELECT count(*) FROM orders") == [(0,)]
