"""What the black-box flows share: the error contract, order bodies, and waiting with a deadline."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")
CORRELATION_HEADER = "X-Correlation-Id"


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    """The function's documented error: the status, ``{"error": {code, message, correlation_id}}``, the id echoed."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "correlation_id"} <= set(error), error
    assert error["code"] == code, error
    assert error["message"], error
    assert error["correlation_id"] == response.headers[CORRELATION_HEADER], (error, response.headers)
    assert "Traceback" not in response.text
    return error


def customer(label: str = "e2e") -> str:
    """A customer id no other test (or earlier run against a deployed stack) uses: tests stay independent."""
    return f"{label}-東京-ü-{uuid.uuid4().hex[:16]}"


def new_order(customer_id: str, amount_minor: int = 1999, currency: str = "EUR") -> dict:
    return {"customer_id": customer_id, "amount_minor": amount_minor, "currency": currency}


def eventually(probe: Callable[[], T | None], *, timeout_s: float, interval_s: float = 0.25, what: str) -> T:
    """``probe()``'s first truthy result, polled until ``timeout_s``; fails naming ``what`` it waited for."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(interval_s)
