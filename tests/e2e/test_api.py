"""The API's front door over HTTP: health, readiness, the API key and correlation ids.

Black-box: the same against a deployed URL (E2E_BASE_URL, E2E_API_KEY) and the local stack.
"""

from __future__ import annotations

import uuid

import pytest

from contract.api import ROUTES
from tests.e2e.support import CORRELATION_HEADER, assert_error, customer, new_order

DATA_ROUTES = [
    (route.method, route.url_path.replace("{order_id}", str(uuid.UUID(int=1))))
    for route in ROUTES
    if route.api_key and route.method != "ANY"
]
"""Every route the API declares with a key (contract.api), an order id filled in."""


def test_health_answers_without_an_api_key(anonymous):
    response = anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_answers_without_an_api_key_and_reports_the_database(anonymous, database):
    response = anonymous.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.mark.parametrize(("method", "path"), DATA_ROUTES)
def test_every_data_route_needs_the_api_key(anonymous, method, path):
    body = new_order(customer()) if method == "POST" else None
    response = anonymous.request(method, path, json=body)
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_a_wrong_api_key_is_refused(target, anonymous):
    response = anonymous.get("/orders", headers={"x-api-key": target.api_key + "x"})
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_the_correlation_id_round_trips_on_health(api):
    correlation_id = f"e2e-{uuid.uuid4()}"
    response = api.get("/health", headers={CORRELATION_HEADER: correlation_id})
    assert response.status_code == 200
    assert response.headers[CORRELATION_HEADER] == correlation_id


def test_the_correlation_id_round_trips_on_a_data_route(api, database):
    correlation_id = f"e2e-{uuid.uuid4()}"
    response = api.post("/orders", json=new_order(customer()), headers={CORRELATION_HEADER: correlation_id})
    assert response.status_code == 201
    assert response.headers[CORRELATION_HEADER] == correlation_id
    order_id = response.json()["order_id"]
    read = api.get(f"/orders/{order_id}", headers={CORRELATION_HEADER: correlation_id})
    assert read.status_code == 200
    assert read.headers[CORRELATION_HEADER] == correlation_id


def test_an_error_quotes_the_callers_correlation_id(api):
    correlation_id = f"e2e-{uuid.uuid4()}"
    response = api.get("/orders/not-a-uuid", headers={CORRELATION_HEADER: correlation_id})
    assert assert_error(response, 400, "bad_request")["correlation_id"] == correlation_id


def test_without_a_correlation_id_one_is_made_up_per_request(api):
    first, second = api.get("/health"), api.get("/health")
    assert first.headers[CORRELATION_HEADER]
    assert first.headers[CORRELATION_HEADER] != second.headers[CORRELATION_HEADER]
