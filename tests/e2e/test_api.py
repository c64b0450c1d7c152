"""Black-box flows over HTTP, the same against a deployed URL and the local stack."""

from __future__ import annotations

import uuid


def _error(response):
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "correlation_id"} <= set(body["error"]), body
    return body["error"]


def test_health_answers_without_an_api_key(anonymous):
    response = anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_data_routes_need_the_api_key(anonymous):
    response = anonymous.get("/orders")
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_a_wrong_api_key_is_refused(target, anonymous):
    response = anonymous.get("/orders", headers={"x-api-key": target.api_key + "x"})
    assert response.status_code == 403


def test_an_unknown_route_is_a_documented_404(api):
    response = api.get(f"/no-such-route/{uuid.uuid4()}")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_the_correlation_id_round_trips(api):
    correlation_id = f"e2e-{uuid.uuid4()}"
    response = api.get("/health", headers={"X-Correlation-Id": correlation_id})
    assert response.status_code == 200
    assert response.headers["X-Correlation-Id"] == correlation_id


def test_readiness_reports_the_database(api, database):
    response = api.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
