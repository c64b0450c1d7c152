"""Per-caller isolation and idempotency that holds (issue 17), against the real TLS PostgreSQL.

The caller is the API key id API Gateway puts in ``requestContext.identity.apiKeyId``.
"""

from __future__ import annotations

import json
import time
import uuid

import boto3
import psycopg2
from orders import service
from orders.handlers import worker

from tests.integration.function.conftest import api_event, sqs_event
from tests.integration.function.test_api_contract import assert_error, call, header

ALICE, BOB = "keyAlice01", "keyBob0002"


def as_caller(caller: str, method: str, path: str, **options):
    event = api_event(method, path, **options)
    event["requestContext"]["identity"]["apiKeyId"] = caller
    return event


def order(customer="kunde-ü", amount=1999):
    return {"customer_id": customer, "amount_minor": amount, "currency": "EUR"}


def stored_callers(postgres):
    with psycopg2.connect(postgres.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT caller_id FROM orders ORDER BY caller_id")
        return [row[0] for row in cursor.fetchall()]


def test_given_an_order_of_one_caller_when_another_reads_it_then_it_is_404(migrated, context):
    _, created = call(as_caller(ALICE, "POST", "/orders", body=order()), context)
    response, body = call(as_caller(BOB, "GET", f"/orders/{created['order_id']}"), context)
    assert_error(response, body, 404, "not_found")


def test_given_an_order_of_one_caller_when_it_reads_it_then_it_gets_it(migrated, context):
    _, created = call(as_caller(ALICE, "POST", "/orders", body=order()), context)
    response, body = call(as_caller(ALICE, "GET", f"/orders/{created['order_id']}"), context)
    assert (response["statusCode"], body) == (200, created)


def test_given_orders_of_two_callers_when_one_lists_then_it_sees_only_its_own(migrated, context):
    _, mine = call(as_caller(ALICE, "POST", "/orders", body=order("shared-customer")), context)
    call(as_caller(BOB, "POST", "/orders", body=order("shared-customer")), context)
    _, page = call(as_caller(ALICE, "GET", "/orders", query={"customer_id": ["shared-customer"]}), context)
    _, unfiltered = call(as_caller(ALICE, "GET", "/orders", query={"limit": ["50"]}), context)
    assert [o["order_id"] for o in page["orders"]] == [mine["order_id"]]
    assert [o["order_id"] for o in unfiltered["orders"]] == [mine["order_id"]]


def test_given_a_new_order_then_it_is_stored_with_its_caller(migrated, context):
    call(as_caller(ALICE, "POST", "/orders", body=order()), context)
    call(as_caller(BOB, "POST", "/orders/batch", body={"orders": [order()]}), context)
    assert stored_callers(migrated) == [ALICE, BOB]


def test_given_two_callers_using_the_same_idempotency_key_then_each_gets_its_own_order(migrated, context):
    headers = {"Idempotency-Key": "same-key"}
    _, alices = call(as_caller(ALICE, "POST", "/orders", body=order(amount=1), headers=headers), context)
    response, bobs = call(as_caller(BOB, "POST", "/orders", body=order(amount=2), headers=headers), context)
    assert response["statusCode"] == 201
    assert bobs["order_id"] != alices["order_id"]
    assert bobs["amount_minor"] == 2


def test_given_a_request_without_an_api_key_id_when_it_reaches_a_data_route_then_it_is_403(migrated, context):
    response, body = call(as_caller("", "GET", "/orders"), context)
    assert_error(response, body, 403, "forbidden")


def test_given_a_replayed_create_then_the_answer_is_marked_as_replayed(migrated, context):
    event = as_caller(ALICE, "POST", "/orders", body=order(), headers={"Idempotency-Key": "replay-me"})
    first, _ = call(event, context)
    second, _ = call(event, context)
    assert (header(first, "Idempotent-Replayed"), header(second, "Idempotent-Replayed")) == (None, "true")


def test_given_a_batch_replayed_after_a_lost_acknowledgement_then_it_returns_the_same_orders(migrated, context):
    batch = {"orders": [order(amount=1), order(amount=2), order(amount=3)]}
    event = as_caller(ALICE, "POST", "/orders/batch", body=batch, headers={"Idempotency-Key": "batch-1"})
    first, created = call(event, context)
    second, replayed = call(event, context)
    assert (first["statusCode"], second["statusCode"]) == (201, 201)
    assert replayed == created
    assert [o["amount_minor"] for o in replayed] == [1, 2, 3]
    assert header(second, "Idempotent-Replayed") == "true"
    assert len(stored_callers(migrated)) == 3


def test_given_a_batch_key_reused_with_another_batch_then_it_is_409_and_writes_nothing(migrated, context):
    headers = {"Idempotency-Key": "batch-2"}
    call(as_caller(ALICE, "POST", "/orders/batch", body={"orders": [order(amount=1)]}, headers=headers), context)
    other = {"orders": [order(amount=1), order(amount=9)]}
    response, body = call(as_caller(ALICE, "POST", "/orders/batch", body=other, headers=headers), context)
    assert_error(response, body, 409, "conflict")
    assert len(stored_callers(migrated)) == 1


def test_given_an_async_order_retried_with_its_key_then_the_same_event_is_accepted_and_one_order_made(
    migrated, context, queue_url
):
    event = as_caller(ALICE, "POST", "/orders/async", body=order(), headers={"Idempotency-Key": "async-1"})
    _, first = call(event, context)
    _, second = call(event, context)
    assert first["event_id"] == second["event_id"]
    messages = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    bodies = [m["Body"] for m in messages]
    attributes = [{"caller_id": m["MessageAttributes"]["caller_id"]["StringValue"]} for m in messages]
    assert worker.handler(sqs_event(bodies, attributes), context) == {"batchItemFailures": []}
    assert stored_callers(migrated) == [ALICE]


def test_given_an_async_order_created_by_the_worker_then_its_caller_finds_it_by_the_event_id(
    migrated, context, queue_url
):
    _, accepted = call(as_caller(ALICE, "POST", "/orders/async", body=order(amount=77)), context)
    (message,) = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"]
    )["Messages"]
    assert message["MessageAttributes"]["caller_id"]["StringValue"] == ALICE
    worker.handler(sqs_event([message["Body"]], [{"caller_id": ALICE}]), context)
    found, body = call(as_caller(ALICE, "GET", f"/orders/{accepted['event_id']}"), context)
    hidden, _ = call(as_caller(BOB, "GET", f"/orders/{accepted['event_id']}"), context)
    assert (found["statusCode"], body["amount_minor"], hidden["statusCode"]) == (200, 77, 404)
    assert json.loads(message["Body"])["event_id"] == accepted["event_id"]
    assert uuid.UUID(accepted["event_id"])


def pass_time(postgres, monkeypatch, seconds):
    """As if ``seconds`` went by: every order is that much older and the function's clock that much later."""
    with psycopg2.connect(postgres.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE orders SET created_at = created_at - make_interval(secs => %s)", (seconds,))
    now = time.time()
    monkeypatch.setattr(service.time, "time", lambda: now + seconds)


def test_given_a_key_older_than_the_idempotency_ttl_when_reused_then_a_new_order_is_created(
    migrated, context, monkeypatch
):
    # GIVEN an order made with a key more than cache/idempotency_ttl_s (86400 in the test parameters) ago
    event = as_caller(ALICE, "POST", "/orders", body=order(), headers={"Idempotency-Key": "old-key"})
    _, first = call(event, context)
    pass_time(migrated, monkeypatch, 86_400 + 60)
    # WHEN the key is sent again
    response, second = call(event, context)
    # THEN it is a new order, not a replay, and the first order is still there
    assert (response["statusCode"], header(response, "Idempotent-Replayed")) == (201, None)
    assert second["order_id"] != first["order_id"]
    assert len(stored_callers(migrated)) == 2


def test_given_a_key_within_the_idempotency_ttl_when_reused_then_it_is_a_replay(migrated, context, monkeypatch):
    event = as_caller(ALICE, "POST", "/orders", body=order(), headers={"Idempotency-Key": "young-key"})
    _, first = call(event, context)
    pass_time(migrated, monkeypatch, 86_400 - 600)
    response, second = call(event, context)
    assert (second["order_id"], header(response, "Idempotent-Replayed")) == (first["order_id"], "true")


def test_given_a_batch_key_older_than_the_idempotency_ttl_when_reused_then_new_orders_are_created(
    migrated, context, monkeypatch
):
    event = as_caller(ALICE, "POST", "/orders/batch", body={"orders": [order()]}, headers={"Idempotency-Key": "b"})
    _, first = call(event, context)
    pass_time(migrated, monkeypatch, 86_400 + 60)
    response, second = call(event, context)
    assert response["statusCode"] == 201
    assert second[0]["order_id"] != first[0]["order_id"]
