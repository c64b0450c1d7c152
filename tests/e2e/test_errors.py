"""Requests the API refuses: each gets its documented status and the error JSON, never a 5xx.

The error JSON is ``{"error": {"code", "message", "correlation_id"}}`` (``details`` where a field is at
fault), and its correlation id is the one in the X-Correlation-Id response header.
"""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.support import assert_error, customer, new_order

MAX_BODY_BYTES = 1024 * 1024  # the function's limit; API Gateway's own (10 MiB) is far above it


def test_a_body_that_is_not_json_is_400(api):
    response = api.post("/orders", content=b'{"customer_id": ', headers={"Content-Type": "application/json"})
    error = assert_error(response, 400, "bad_request")
    assert "JSON" in error["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_sent_as_anything_but_json_is_415(api, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.post("/orders", content=b"customer_id=a&amount_minor=1&currency=EUR", headers=headers)
    assert_error(response, 415, "unsupported_media_type")


def test_a_body_over_one_mebibyte_is_413(api):
    body = new_order("x" * MAX_BODY_BYTES)
    assert_error(api.post("/orders", json=body), 413, "payload_too_large")


def test_an_unknown_route_is_404(api):
    assert_error(api.get(f"/no-such-route/{uuid.uuid4()}"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("DELETE", "/orders", None), ("DELETE", f"/orders/{uuid.UUID(int=7)}", None), ("PUT", "/orders/batch", {})],
)
def test_a_known_route_with_another_method_is_405(api, method, path, body):
    assert_error(api.request(method, path, json=body), 405, "method_not_allowed")


# Some ids miss the route's pattern altogether ('"', an encoded NUL): still a 400, not a 404 or 405.
@pytest.mark.parametrize("order_id", ["not-a-uuid", "東京", 'a"b', "%00", "12345678-1234-1234-1234-12345678901g"])
def test_an_order_id_that_is_not_a_uuid_is_400(api, order_id):
    error = assert_error(api.get(f"/orders/{order_id}"), 400, "bad_request")
    assert [detail["field"] for detail in error["details"]] == ["order_id"]


@pytest.mark.parametrize("customer_id", ["\x00", "a\x00b", "tab\there"])
def test_a_customer_filter_no_order_can_match_is_400(api, customer_id):
    error = assert_error(api.get("/orders", params={"customer_id": customer_id}), 400, "bad_request")
    assert [detail["field"] for detail in error["details"]] == ["customer_id"]


def test_a_cursor_that_is_not_one_is_400(api):
    error = assert_error(api.get("/orders", params={"cursor": "not-a-cursor"}), 400, "bad_request")
    assert [detail["field"] for detail in error["details"]] == ["cursor"]


def test_a_tampered_cursor_is_400(api, database):
    buyer = customer("tamper")
    api.post("/orders/batch", json={"orders": [new_order(buyer, amount_minor=i) for i in range(2)]})
    cursor = api.get("/orders", params={"customer_id": buyer, "limit": 1}).json()["next_cursor"]
    assert cursor
    middle = len(cursor) // 2
    tampered = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
    response = api.get("/orders", params={"customer_id": buyer, "limit": 1, "cursor": tampered})
    error = assert_error(response, 400, "bad_request")
    assert [detail["field"] for detail in error["details"]] == ["cursor"]


@pytest.mark.parametrize("limit", ["0", "201", "100000", "ten"])  # 201: above apiMaxPageSize (200)
def test_a_page_size_out_of_range_is_400(api, limit):
    assert_error(api.get("/orders", params={"limit": limit}), 400, "bad_request")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer_id": ""}, "customer_id"),
        ({"amount_minor": -1}, "amount_minor"),
        ({"amount_minor": "5"}, "amount_minor"),
        ({"currency": "ZZZ"}, "currency"),
        ({"status": "paid"}, "status"),
    ],
)
def test_an_invalid_order_is_400_naming_the_field(api, change, field):
    error = assert_error(api.post("/orders", json={**new_order(customer()), **change}), 400, "bad_request")
    assert any(field in detail["field"] for detail in error["details"]), error


def test_an_idempotency_key_that_is_too_long_is_400(api):
    response = api.post("/orders", json=new_order(customer()), headers={"Idempotency-Key": "k" * 129})
    assert_error(response, 400, "bad_request")


# Issue 17: bodies no lenient parser should guess at, each a 400 with the error JSON (never a 5xx).
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 10_000 + b"]" * 10_000, id="nested-10000-deep"),
        pytest.param(
            b'{"customer_id": "c", "amount_minor": ' + b"9" * 5000 + b', "currency": "EUR"}', id="5000-digits"
        ),
        pytest.param(b'{"customer_id": "c", "amount_minor": 1, "currency": "EUR", "currency": "USD"}', id="dup-key"),
        pytest.param(b'{"customer_id": "caf\xe9", "amount_minor": 1, "currency": "EUR"}', id="not-utf8"),
    ],
)
def test_a_body_that_cannot_be_parsed_unambiguously_is_400(api, raw):
    assert_error(api.post("/orders", content=raw, headers={"Content-Type": "application/json"}), 400, "bad_request")


def test_a_charset_other_than_utf8_is_415(api):
    headers = {"Content-Type": "application/json; charset=iso-8859-1"}
    response = api.post(
        "/orders", content=b'{"customer_id": "c", "amount_minor": 1, "currency": "EUR"}', headers=headers
    )
    assert_error(response, 415, "unsupported_media_type")


def test_the_json_media_type_is_matched_in_any_case(api, database):
    headers = {"Content-Type": "APPLICATION/JSON"}
    response = api.post("/orders", json=new_order(customer()), headers=headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("customer_id", ["a\u200bb", "a\u202eb"])
def test_a_customer_id_with_an_invisible_format_character_is_400(api, customer_id):
    error = assert_error(api.post("/orders", json=new_order(customer_id)), 400, "bad_request")
    assert any("customer_id" in detail["field"] for detail in error["details"])


def test_an_order_id_in_uppercase_is_400(api):
    error = assert_error(api.get(f"/orders/{str(uuid.uuid4()).upper()}"), 400, "bad_request")
    assert [detail["field"] for detail in error["details"]] == ["order_id"]


def test_a_method_a_route_does_not_serve_is_405_with_an_allow_header(api):
    response = api.delete("/orders")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET, POST"
