"""Per-caller isolation over HTTP (issue 17): each API key sees only the orders it created.

Needs a second API key: the local stack's ``api_keys[1]``; against a deployed stack, E2E_SECOND_API_KEY.
"""

from __future__ import annotations

import os
import uuid

import httpx
import pytest

from tests.e2e.support import assert_error, customer, new_order

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def other(target):
    keys = list(target.stack.api_keys) if target.stack is not None else []
    second = keys[1] if len(keys) > 1 else os.environ.get("E2E_SECOND_API_KEY")
    if not second:
        pytest.skip("the target has one API key: isolation needs a second (api_keys[1] or E2E_SECOND_API_KEY)")
    with httpx.Client(base_url=target.base_url, headers={"x-api-key": second}, timeout=35) as client:
        yield client


def test_given_an_order_of_one_key_when_another_key_reads_it_then_it_is_404(api, other):
    created = api.post("/orders", json=new_order(customer("isolated"))).json()
    assert_error(other.get(f"/orders/{created['order_id']}"), 404, "not_found")


def test_given_orders_of_two_keys_for_one_customer_when_one_lists_then_it_sees_only_its_own(api, other):
    shared = customer("shared")
    mine = api.post("/orders", json=new_order(shared)).json()
    assert other.post("/orders", json=new_order(shared)).status_code == 201
    listed = api.get("/orders", params={"customer_id": shared, "limit": 7}).json()["orders"]
    assert [order["order_id"] for order in listed] == [mine["order_id"]]


def test_given_two_keys_sending_one_idempotency_key_then_each_gets_its_own_order(api, other):
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    first = api.post("/orders", json=new_order(customer(), amount_minor=1), headers=key)
    second = other.post("/orders", json=new_order(customer(), amount_minor=2), headers=key)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert second.json()["order_id"] != first.json()["order_id"]
    assert "Idempotent-Replayed" not in second.headers
