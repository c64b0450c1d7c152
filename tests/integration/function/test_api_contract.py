"""The API's contract at its edges: routing, media types, sizes, validation, errors, correlation ids.

None of these requests reaches the database: each is answered before (or instead of) a query.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from orders.handlers import api

from tests.integration.function.conftest import ENVIRONMENT, PREFIX, REGION, api_event

OPENAPI = Path(__file__).resolve().parents[3] / "function" / "openapi.json"


@pytest.fixture(autouse=True)
def fresh_service(monkeypatch):
    monkeypatch.setattr(api, "_service", None)


def call(event, context):
    response = api.handler(event, context)
    body = json.loads(response["body"]) if response.get("body") else None
    return response, body


def header(response, name):
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    multi = {k.lower(): v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    return headers.get(name.lower()) or multi.get(name.lower())


def assert_error(response, body, status, code):
    assert response["statusCode"] == status
    assert body["error"]["code"] == code
    assert body["error"]["correlation_id"] == header(response, "X-Correlation-Id")
    assert "Traceback" not in response["body"]
    assert "SELECT" not in response["body"]


def test_health_needs_no_dependency(context):
    response, body = call(api_event("GET", "/health"), context)
    assert response["statusCode"] == 200
    assert body == {"status": "ok"}


def test_a_callers_correlation_id_comes_back(context):
    response, _ = call(api_event("GET", "/health", headers={"X-Correlation-Id": "trace-me-42"}), context)
    assert header(response, "X-Correlation-Id") == "trace-me-42"


def test_without_a_correlation_id_the_request_id_is_used(context):
    event = api_event("GET", "/health")
    response, _ = call(event, context)
    assert header(response, "X-Correlation-Id") == event["requestContext"]["requestId"]


def test_an_unknown_route_is_404(context):
    response, body = call(api_event("GET", "/nothing/here"), context)
    assert_error(response, body, 404, "not_found")


def test_a_known_route_with_another_method_is_405(context):
    response, body = call(api_event("DELETE", "/orders"), context)
    assert_error(response, body, 405, "method_not_allowed")


def test_a_body_that_is_not_json_content_is_415(context):
    event = api_event("POST", "/orders", raw_body="customer_id=a", headers={"Content-Type": "text/plain"})
    response, body = call(event, context)
    assert_error(response, body, 415, "unsupported_media_type")


def test_an_oversized_body_is_413(context):
    event = api_event(
        "POST", "/orders", body={"customer_id": "x" * (1024 * 1024 + 1), "amount_minor": 1, "currency": "EUR"}
    )
    response, body = call(event, context)
    assert_error(response, body, 413, "payload_too_large")


def test_malformed_json_is_400(context):
    response, body = call(api_event("POST", "/orders", raw_body='{"customer_id": '), context)
    assert_error(response, body, 400, "bad_request")
    assert "JSON" in body["error"]["message"]


@pytest.mark.parametrize(
    ("order", "field"),
    [
        ({"customer_id": "", "amount_minor": 1, "currency": "EUR"}, "customer_id"),
        ({"customer_id": "c" * 65, "amount_minor": 1, "currency": "EUR"}, "customer_id"),
        ({"customer_id": "c", "amount_minor": -1, "currency": "EUR"}, "amount_minor"),
        ({"customer_id": "c", "amount_minor": "5", "currency": "EUR"}, "amount_minor"),
        ({"customer_id": "c", "amount_minor": 1.5, "currency": "EUR"}, "amount_minor"),
        ({"customer_id": "c", "amount_minor": 2**53, "currency": "EUR"}, "amount_minor"),
        ({"customer_id": "c", "amount_minor": 1, "currency": "ZZZ"}, "currency"),
        ({"customer_id": "c", "amount_minor": 1, "currency": "eur"}, "currency"),
        ({"customer_id": "c", "amount_minor": 1}, "currency"),
        ({"customer_id": "c", "amount_minor": 1, "currency": "EUR", "status": "paid"}, "status"),
    ],
)
def test_an_invalid_order_is_400_naming_the_field(context, order, field):
    response, body = call(api_event("POST", "/orders", body=order), context)
    assert_error(response, body, 400, "bad_request")
    assert any(field in detail["field"] for detail in body["error"]["details"])


def test_an_order_id_that_is_not_a_uuid_is_400(context, seed_parameters):
    seed_parameters()
    response, body = call(api_event("GET", "/orders/not-a-uuid"), context)
    assert_error(response, body, 400, "bad_request")


def test_a_tampered_cursor_is_400(context, seed_parameters):
    seed_parameters()
    response, body = call(
        api_event("GET", "/orders", query={"cursor": ["eyJjIjoiMjAyNiJ9AAAAAAAAAAAAAAAAAAAAAA"]}), context
    )
    assert_error(response, body, 400, "bad_request")


def test_a_limit_above_the_configured_maximum_is_400(context, seed_parameters):
    seed_parameters()
    response, body = call(api_event("GET", "/orders", query={"limit": ["51"]}), context)
    assert_error(response, body, 400, "bad_request")


def test_a_base64_body_is_decoded(context, seed_parameters):
    seed_parameters()
    event = api_event(
        "POST", "/orders", body={"customer_id": "c", "amount_minor": -5, "currency": "EUR"}, base64_body=True
    )
    response, body = call(event, context)
    assert_error(response, body, 400, "bad_request")  # decoded and validated, not rejected as garbage


def test_readiness_is_503_with_retry_after_when_the_database_is_down(context, seed_parameters):
    seed_parameters(port="1")  # nothing listens on port 1
    response, body = call(api_event("GET", "/health/ready"), context)
    assert_error(response, body, 503, "database_unavailable")
    assert header(response, "Retry-After") == "5"


def put_document(category, text):
    import boto3

    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"/{PREFIX}/{ENVIRONMENT}/{category}/settings", Value=text, Type="SecureString", Overwrite=True
    )


def test_a_malformed_database_document_is_503_and_the_log_names_it(context, seed_parameters, log_output):
    """GIVEN the database settings document is not JSON  WHEN readiness is probed  THEN 503 without a stack
    trace, and the log names the parameter to fix."""
    seed_parameters()
    put_document("database", "writer_host=db.example")
    response, body = call(api_event("GET", "/health/ready"), context)
    assert_error(response, body, 503, "database_misconfigured")
    assert "parameter database/settings is not JSON" in log_output.getvalue()


def test_a_malformed_api_document_is_500_without_a_stack_trace(context, seed_parameters, log_output):
    """GIVEN the api settings document is a JSON list  WHEN orders are listed  THEN 500 naming nothing internal,
    and the log names the parameter to fix."""
    seed_parameters()
    put_document("api", '["50"]')
    response, body = call(api_event("GET", "/orders"), context)
    assert_error(response, body, 500, "internal_error")
    assert "api/settings" not in response["body"]
    assert "parameter api/settings must be a JSON object, got list" in log_output.getvalue()


def test_the_async_route_enqueues_and_answers_202_with_the_event_id(context, seed_parameters, queue_url):
    import boto3

    seed_parameters()
    order = {"customer_id": "kunde-ü", "amount_minor": 1999, "currency": "EUR"}
    response, body = call(
        api_event("POST", "/orders/async", body=order, headers={"X-Correlation-Id": "corr-7"}), context
    )
    assert response["statusCode"] == 202
    messages = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"]
    )["Messages"]
    (message,) = messages
    assert json.loads(message["Body"]) == {"event_id": body["event_id"], "order": order}
    assert message["MessageAttributes"]["correlation_id"]["StringValue"] == "corr-7"
    uuid.UUID(body["event_id"])


def test_an_unreachable_queue_is_503_with_retry_after_and_no_stack_trace(context, seed_parameters, queue_url):
    import boto3

    seed_parameters()
    boto3.client("sqs", region_name="us-east-1").delete_queue(QueueUrl=queue_url)
    order = {"customer_id": "kunde-ü", "amount_minor": 1999, "currency": "EUR"}
    response, body = call(api_event("POST", "/orders/async", body=order), context)
    assert_error(response, body, 503, "queue_unavailable")
    assert header(response, "Retry-After") == "5"
    assert "QueueDoesNotExist" not in response["body"]


def test_the_saved_openapi_document_matches_the_code():
    assert OPENAPI.read_text(encoding="utf-8") == api.openapi_document(), (
        "regenerate: python -c 'import orders.handlers.api as a; print(a.openapi_document(), end=\"\")'"
        " > function/openapi.json"
    )


def test_the_documents_whole_number_bounds_are_integers():
    bounds = re.findall(r'"(?:minimum|maximum|exclusiveMinimum|exclusiveMaximum)": ([^,\s}]+)', api.openapi_document())
    assert bounds
    assert all(bound.lstrip("-").isdigit() for bound in bounds), bounds
