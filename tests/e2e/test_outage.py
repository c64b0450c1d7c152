"""A database outage and its end, against the local stack (a deployed stack's database is not ours to stop).

While PostgreSQL is down the data routes answer 503 with Retry-After and liveness stays up; once it is
back the same function processes serve again: connections are re-established, nothing is restarted.
The test is marked ``outage`` and runs after every other test (see conftest), and it starts the
database again whatever happens, so no other test sees the outage.
"""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from local.postgres import ManagedDatabase
from tests.e2e.support import assert_error, customer, eventually, new_order

pytestmark = pytest.mark.outage

RECOVERY_WAIT_S = 30


@pytest.fixture
def managed_database(target, database) -> ManagedDatabase:
    if target.stack is None:
        pytest.skip("the outage test needs the local stack: a deployed stack's database cannot be stopped from here")
    step = target.stack.options.database
    if not isinstance(step, ManagedDatabase) or step.server is None:
        pytest.skip("the database is DATABASE_URL's server, run by someone else: the suite does not stop it")
    return step


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def api_processes(stack) -> dict[int, tuple[int, int]]:
    """The API function's execution environments: id -> (process id, times started)."""
    return {
        environment.id: (environment.process.pid, environment.starts)
        for environment in stack.pools["api"].environments
        if environment.process is not None and environment.process.returncode is None
    }


def test_while_the_database_is_down_data_routes_are_503_and_after_it_returns_they_recover_without_a_restart(
    api, anonymous, target, managed_database
):
    buyer = customer("outage")
    before = api.post("/orders", json=new_order(buyer))
    assert before.status_code == 201, before.text
    order_id = before.json()["order_id"]
    processes = api_processes(target.stack)
    assert processes, "the API function has no running execution environment"
    data_requests = [
        ("GET", "/orders", {"params": {"customer_id": buyer}}),
        ("GET", f"/orders/{order_id}", {}),
        ("POST", "/orders", {"json": new_order(buyer)}),
        ("POST", "/orders/batch", {"json": {"orders": [new_order(buyer)]}}),
    ]
    port = managed_database.server.port
    try:
        asyncio.run(managed_database.stop())
        if accepts_connections(port):
            pytest.fail(f"ManagedDatabase.stop() returned, yet PostgreSQL still accepts connections on port {port}")

        for method, path, arguments in data_requests:
            response = api.request(method, path, **arguments)
            assert_error(response, 503, "database_unavailable")
            assert int(response.headers["Retry-After"]) > 0, (method, path)
        ready = anonymous.get("/health/ready")
        assert_error(ready, 503, "database_unavailable")
        assert int(ready.headers["Retry-After"]) > 0
        health = anonymous.get("/health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
    finally:
        asyncio.run(managed_database.start())

    eventually(
        lambda: anonymous.get("/health/ready").status_code == 200,
        timeout_s=RECOVERY_WAIT_S,
        what="readiness after the database started again",
    )
    assert api.get(f"/orders/{order_id}").json() == before.json()
    after = api.post("/orders", json=new_order(buyer), headers={"Idempotency-Key": f"e2e-{uuid.uuid4()}"})
    assert after.status_code == 201, after.text
    listed = api.get("/orders", params={"customer_id": buyer}).json()["orders"]
    assert {order["order_id"] for order in listed} == {order_id, after.json()["order_id"]}
    now = api_processes(target.stack)
    assert {key: now.get(key) for key in processes} == processes, "the API function was restarted to recover"
