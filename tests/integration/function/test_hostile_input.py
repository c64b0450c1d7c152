"""Hostile or ambiguous input at the API's edge (issue 17): each is a 4xx with the error shape, never a 5xx.

None of these requests reaches the database; the ones that would get past the edge are answered by the
real PostgreSQL (``migrated``) so a test can tell "refused" from "accepted".
"""

from __future__ import annotations

import base64
import json
import unicodedata

import pytest
from orders.handlers import api

from tests.integration.function.conftest import api_event
from tests.integration.function.test_api_contract import assert_error, call, header

SOME_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
ORDER = {"customer_id": "kunde-1", "amount_minor": 1999, "currency": "EUR"}


@pytest.fixture(autouse=True)
def fresh_service(monkeypatch):
    monkeypatch.setattr(api, "_service", None)
    monkeypatch.setattr(api, "_last_probe", None, raising=False)


@pytest.mark.parametrize(
    ("raw_body", "path"),
    [
        pytest.param("[" * 100_000 + "]" * 100_000, "/orders/batch", id="nested-100000-deep"),
        pytest.param('{"orders": [[[[[[[[[[1]]]]]]]]]]}', "/orders/batch", id="nested-deeper-than-any-order"),
        pytest.param(
            '{"customer_id": "c", "amount_minor": ' + "9" * 5000 + ', "currency": "EUR"}',
            "/orders",
            id="5000-digit-integer",
        ),
        pytest.param(
            '{"customer_id": "c", "amount_minor": 1, "currency": "EUR", "currency": "USD"}',
            "/orders",
            id="duplicate-key",
        ),
    ],
)
def test_given_a_body_that_cannot_be_parsed_safely_when_posted_then_it_is_400(context, raw_body, path):
    response, body = call(api_event("POST", path, raw_body=raw_body), context)
    assert_error(response, body, 400, "bad_request")


def test_given_a_text_body_in_which_the_gateway_replaced_bytes_that_are_not_utf8_then_it_is_400(context):
    event = api_event("POST", "/orders", raw_body='{"customer_id": "caf\ufffd", "amount_minor": 1, "currency": "EUR"}')
    response, body = call(event, context)
    assert_error(response, body, 400, "bad_request")
    assert "UTF-8" in body["error"]["message"]


def test_given_a_body_that_is_not_utf8_when_posted_then_it_is_400(context):
    event = api_event("POST", "/orders", raw_body="{}")
    event["body"] = base64.b64encode(b'{"customer_id": "caf\xe9", "amount_minor": 1, "currency": "EUR"}').decode()
    event["isBase64Encoded"] = True
    response, body = call(event, context)
    assert_error(response, body, 400, "bad_request")
    assert "UTF-8" in body["error"]["message"]


@pytest.mark.parametrize("content_type", ["application/json; charset=iso-8859-1", "application/json;charset=UTF-16"])
def test_given_a_charset_other_than_utf8_when_posted_then_it_is_415(context, content_type):
    event = api_event("POST", "/orders", body=ORDER, headers={"Content-Type": content_type})
    response, body = call(event, context)
    assert_error(response, body, 415, "unsupported_media_type")


def test_given_a_media_type_that_only_starts_like_json_when_posted_then_it_is_415(context):
    event = api_event("POST", "/orders", body=ORDER, headers={"Content-Type": "application/jsonp"})
    response, body = call(event, context)
    assert_error(response, body, 415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "Application/Json; Charset=UTF-8"])
def test_given_the_json_media_type_in_any_case_when_posted_then_the_order_is_created(migrated, context, content_type):
    event = api_event("POST", "/orders", body=ORDER, headers={"Content-Type": content_type})
    response, _ = call(event, context)
    assert response["statusCode"] == 201


@pytest.mark.parametrize(
    "customer_id",
    [
        pytest.param("a\u200bb", id="zero-width-space-Cf"),
        pytest.param("a\u202eb", id="right-to-left-override-Cf"),
        pytest.param("a\u0085b", id="next-line-Cc"),
    ],
)
def test_given_an_invisible_character_in_a_customer_id_when_posted_then_it_is_400_naming_the_field(
    context, customer_id
):
    response, body = call(api_event("POST", "/orders", body={**ORDER, "customer_id": customer_id}), context)
    assert_error(response, body, 400, "bad_request")
    assert [detail["field"] for detail in body["error"]["details"]] == ["customer_id"]


def test_given_a_decomposed_customer_id_when_created_then_it_is_stored_and_found_in_nfc(migrated, context):
    decomposed = unicodedata.normalize("NFD", "café-ü")
    response, created = call(api_event("POST", "/orders", body={**ORDER, "customer_id": decomposed}), context)
    assert response["statusCode"] == 201
    assert created["customer_id"] == unicodedata.normalize("NFC", decomposed)
    _, page = call(api_event("GET", "/orders", query={"customer_id": [decomposed]}), context)
    assert [order["order_id"] for order in page["orders"]] == [created["order_id"]]


@pytest.mark.parametrize(
    "order_id",
    [
        SOME_ID.upper(),
        SOME_ID.replace("-", ""),
        "{" + SOME_ID + "}",
        "urn:uuid:" + SOME_ID,
    ],
)
def test_given_a_uuid_not_in_canonical_form_when_read_then_it_is_400(context, order_id):
    response, body = call(api_event("GET", f"/orders/{order_id}"), context)
    assert_error(response, body, 400, "bad_request")
    assert [detail["field"] for detail in body["error"]["details"]] == ["order_id"]


@pytest.mark.parametrize(
    ("method", "path", "allow"), [("DELETE", "/orders", "GET, POST"), ("PUT", "/orders/batch", "POST")]
)
def test_given_a_method_a_route_does_not_serve_then_it_is_405_with_an_allow_header(context, method, path, allow):
    response, body = call(api_event(method, path), context)
    assert_error(response, body, 405, "method_not_allowed")
    assert header(response, "Allow") == allow


def test_given_a_client_correlation_id_then_the_log_keeps_it_apart_from_the_request_id(context, log_output):
    event = api_event("GET", "/nothing/here", headers={"X-Correlation-Id": "client-trace-9"})
    call(event, context)
    records = [json.loads(line) for line in log_output.getvalue().splitlines() if line.startswith("{")]
    assert records, "the refusal is logged"
    assert {(r.get("correlation_id"), r.get("request_id")) for r in records} == {
        ("client-trace-9", event["requestContext"]["requestId"])
    }


def test_given_a_ready_probe_when_asked_again_within_seconds_then_the_database_is_not_probed_again(
    migrated, context, monkeypatch
):
    probes = []
    original = api.service().database.ping
    monkeypatch.setattr(api.service().database, "ping", lambda role: probes.append(role) or original(role))
    for _ in range(5):
        response, _ = call(api_event("GET", "/health/ready"), context)
        assert response["statusCode"] == 200
    assert len(probes) == 2  # writer and reader, once


def test_given_a_failed_ready_probe_when_asked_again_within_seconds_then_it_is_still_503(
    context, seed_parameters, monkeypatch
):
    seed_parameters(port="1")  # nothing listens on port 1
    first, _ = call(api_event("GET", "/health/ready"), context)
    monkeypatch.setattr(api.service().database, "ping", lambda role: pytest.fail("probed again"))
    second, body = call(api_event("GET", "/health/ready"), context)
    assert (first["statusCode"], second["statusCode"]) == (503, 503)
    assert_error(second, body, 503, "database_unavailable")
