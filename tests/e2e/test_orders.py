"""Orders over HTTP, as a caller sees them: create, read, list page by page, retry, batch, async.

Every test works on customers of its own, so tests do not depend on each other or on their order.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

import pytest

from tests.e2e.support import assert_error, customer, eventually, new_order

pytestmark = pytest.mark.usefixtures("database")

ASYNC_WAIT_S = 30
BATCH_LIMIT = 500  # apiMaxBatchOrders, the largest batch the stacks accept


def orders_of(api, customer_id: str, limit: int | None = None) -> list[dict]:
    params = {"customer_id": customer_id, **({"limit": limit} if limit is not None else {})}
    response = api.get("/orders", params=params)
    assert response.status_code == 200, response.text
    return response.json()["orders"]


def every_order_of(api, customer_id: str) -> list[dict]:
    """All of a customer's orders, following next_cursor page by page."""
    orders, cursor = [], None
    while True:
        params = {"customer_id": customer_id, "limit": 200, **({"cursor": cursor} if cursor else {})}
        response = api.get("/orders", params=params)
        assert response.status_code == 200, response.text
        orders += response.json()["orders"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return orders


def test_an_order_is_created_with_its_fields_and_read_back(api):
    order = new_order(customer(), amount_minor=12345, currency="JPY")
    response = api.post("/orders", json=order)
    assert response.status_code == 201, response.text
    created = response.json()
    assert {key: created[key] for key in order} == order
    assert created["status"] == "created"
    uuid.UUID(created["order_id"])
    datetime.fromisoformat(created["created_at"])

    read = api.get(f"/orders/{created['order_id']}")
    assert read.status_code == 200
    assert read.json() == created


def test_an_unknown_order_is_404(api):
    assert_error(api.get(f"/orders/{uuid.uuid4()}"), 404, "not_found")


def test_a_list_filters_by_customer(api):
    mine, other = customer("mine"), customer("other")
    created = api.post("/orders", json=new_order(mine)).json()
    api.post("/orders", json=new_order(other))
    assert orders_of(api, mine) == [created]


def test_keyset_pages_return_every_order_exactly_once_newest_first_then_no_cursor(api):
    buyer = customer("pager")
    # One batch: every order has the same created_at, so the order id alone must break the ties.
    response = api.post("/orders/batch", json={"orders": [new_order(buyer, amount_minor=i) for i in range(7)]})
    assert response.status_code == 201, response.text
    created = response.json()

    pages, cursor = [], None
    while len(pages) < 10:
        params = {"customer_id": buyer, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/orders", params=params)
        assert page.status_code == 200, page.text
        pages.append(page.json()["orders"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break

    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [order for page in pages for order in page]
    newest_first = sorted(
        created, key=lambda o: (datetime.fromisoformat(o["created_at"]), uuid.UUID(o["order_id"])), reverse=True
    )
    assert seen == newest_first


def test_a_page_that_ends_exactly_at_the_last_order_has_no_cursor(api):
    buyer = customer("exact")
    for amount in range(2):
        assert api.post("/orders", json=new_order(buyer, amount_minor=amount)).status_code == 201
    page = api.get("/orders", params={"customer_id": buyer, "limit": 2}).json()
    assert len(page["orders"]) == 2
    assert page["next_cursor"] is None


def test_a_retry_with_the_same_idempotency_key_and_body_returns_the_same_order(api):
    buyer, key = customer("retry"), f"e2e-{uuid.uuid4()}"
    first = api.post("/orders", json=new_order(buyer), headers={"Idempotency-Key": key})
    retry = api.post("/orders", json=new_order(buyer), headers={"Idempotency-Key": key})
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert orders_of(api, buyer) == [first.json()]


def test_the_same_idempotency_key_with_another_body_is_409_and_changes_nothing(api):
    buyer, key = customer("conflict"), f"e2e-{uuid.uuid4()}"
    first = api.post("/orders", json=new_order(buyer, amount_minor=100), headers={"Idempotency-Key": key})
    assert first.status_code == 201
    other = api.post("/orders", json=new_order(buyer, amount_minor=101), headers={"Idempotency-Key": key})
    assert_error(other, 409, "conflict")
    assert orders_of(api, buyer) == [first.json()]


def test_without_an_idempotency_key_each_post_creates_an_order(api):
    buyer = customer("twice")
    ids = {api.post("/orders", json=new_order(buyer)).json()["order_id"] for _ in range(2)}
    assert len(ids) == 2
    assert {order["order_id"] for order in orders_of(api, buyer)} == ids


def test_a_batch_of_the_largest_size_is_created_in_the_order_given(api):
    buyer = customer("batch")
    orders = [new_order(buyer, amount_minor=i) for i in range(BATCH_LIMIT)]
    response = api.post("/orders/batch", json={"orders": orders})
    assert response.status_code == 201, response.text[:500]
    created = response.json()
    assert [(o["customer_id"], o["amount_minor"], o["currency"]) for o in created] == [
        (o["customer_id"], o["amount_minor"], o["currency"]) for o in orders
    ]
    assert len({o["order_id"] for o in created}) == BATCH_LIMIT
    assert {o["order_id"] for o in every_order_of(api, buyer)} == {o["order_id"] for o in created}


def test_a_batch_one_over_the_limit_is_413_and_writes_nothing(api):
    buyer = customer("too-many")
    response = api.post("/orders/batch", json={"orders": [new_order(buyer, amount_minor=i) for i in range(501)]})
    error = assert_error(response, 413, "payload_too_large")
    assert str(BATCH_LIMIT) in error["message"]
    assert orders_of(api, buyer) == []


def test_a_batch_with_one_invalid_order_is_400_and_writes_nothing(api):
    buyer = customer("half-bad")
    orders = [new_order(buyer), new_order(buyer, currency="XXX")]
    assert_error(api.post("/orders/batch", json={"orders": orders}), 400, "bad_request")
    assert orders_of(api, buyer) == []


def test_an_async_order_is_accepted_then_created_by_the_worker(api):
    """202 with an event id; the worker creates the order under that event id (its idempotency key, not
    the order id, which is new), so the caller finds it by its customer within a bounded wait."""
    order = new_order(customer("async"), amount_minor=4242, currency="CHF")
    response = api.post("/orders/async", json=order)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "accepted"
    uuid.UUID(accepted["event_id"])

    # GET /orders is served from the stage cache for its TTL, keyed by customer, limit and cursor: each
    # poll asks with another limit, so it reaches the function instead of the first (empty) answer.
    limits = itertools.count(1)  # fewer polls than apiMaxPageSize (200) fit in ASYNC_WAIT_S
    (created,) = eventually(
        lambda: orders_of(api, order["customer_id"], limit=next(limits)),
        timeout_s=ASYNC_WAIT_S,
        what=f"the order of event {accepted['event_id']}",
    )
    assert {key: created[key] for key in order} == order
    assert created["status"] == "created"
    assert api.get(f"/orders/{created['order_id']}").json() == created


def test_an_invalid_async_order_is_refused_before_it_is_queued(api):
    response = api.post("/orders/async", json=new_order(customer(), amount_minor=-1))
    error = assert_error(response, 400, "bad_request")
    assert any("amount_minor" in detail["field"] for detail in error["details"])


def test_a_batch_replayed_after_a_lost_acknowledgement_returns_its_orders_marked_as_replayed(api):
    """Issue 17: the retry of a batch whose 201 was lost answers with the orders, not an empty list."""
    buyer = customer("batch-replay")
    batch = {"orders": [new_order(buyer, amount_minor=i) for i in range(3)]}
    key = {"Idempotency-Key": f"batch-{uuid.uuid4()}"}
    first = api.post("/orders/batch", json=batch, headers=key)
    replay = api.post("/orders/batch", json=batch, headers=key)
    assert (first.status_code, replay.status_code) == (201, 201), replay.text
    assert replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers


def test_an_async_order_is_found_by_the_event_id_the_202_returned(api):
    order = new_order(customer("async-lookup"), amount_minor=4343)
    accepted = api.post("/orders/async", json=order, headers={"Idempotency-Key": f"async-{uuid.uuid4()}"})
    assert accepted.status_code == 202, accepted.text
    event_id = accepted.json()["event_id"]

    def created():
        response = api.get(f"/orders/{event_id}")  # only 2xx answers are cached
        return response.json() if response.status_code == 200 else None

    found = eventually(created, timeout_s=ASYNC_WAIT_S, what=f"the order of event {event_id}")
    assert {key: found[key] for key in order} == order
