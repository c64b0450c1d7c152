"""The local Lambda runtime: awslambdaric against our Runtime API, warm reuse, timeouts, crashes, the pool."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from local.runtime import FunctionPool, ThrottledError
from tests.e2e.stack.support import alive, dev_blueprint, spec
from tests.process_exit import still_running_after


def run(coroutine):
    return asyncio.run(coroutine)


async def _with_pool(function_spec, body):
    pool = FunctionPool(function_spec)
    try:
        return await body(pool)
    finally:
        await pool.close()


def test_a_handler_runs_through_awslambdaric_with_lambda_context():
    async def body(pool):
        return await pool.invoke({"env": ["AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "AWS_LAMBDA_RUNTIME_API"]})

    result = run(_with_pool(spec(), body))
    payload = result.json()
    assert result.function_error is None
    assert payload["request_id"] == result.request_id
    alias = dev_blueprint().function("api").alias
    assert (
        payload["function_arn"]
        == f"arn:aws:lambda:us-east-1:123456789012:function:serverless-infra-dev-function-probe:{alias}"
    )
    assert 0 < payload["remaining_ms"] <= 3000
    assert payload["environment"]["AWS_LAMBDA_FUNCTION_NAME"] == "serverless-infra-dev-function-probe"
    assert payload["environment"]["_HANDLER"] == "probe.handler"
    assert payload["environment"]["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")


def test_the_first_invocation_is_cold_and_the_next_ones_warm_in_the_same_process():
    """How fast a warm round trip is, is measured by ``nox -s bench`` (the warm group), not asserted here."""

    async def body(pool):
        first = await pool.invoke({})
        warm = [await pool.invoke({}) for _ in range(20)]
        return first, warm

    first, warm = run(_with_pool(spec(), body))
    assert first.cold_start
    assert not any(result.cold_start for result in warm)
    assert {result.json()["pid"] for result in warm} == {first.json()["pid"]}
    assert [result.json()["invocations"] for result in warm] == list(range(2, 22))


def test_an_unhandled_exception_is_a_function_error_and_the_environment_stays_warm():
    async def body(pool):
        return await pool.invoke({"raise": "bad input"}), await pool.invoke({})

    failed, after = run(_with_pool(spec(), body))
    assert failed.function_error == "Unhandled"
    assert failed.json()["errorType"] == "ValueError"
    assert failed.json()["errorMessage"] == "bad input"
    assert not after.cold_start


def test_the_process_is_killed_at_the_function_timeout_and_the_next_start_is_cold():
    pids = []

    """The handler would sleep an hour: only the timeout can answer, within the test's own deadline."""

    async def body(pool):
        first = await pool.invoke({})
        pids.append(first.json()["pid"])
        timed_out = await asyncio.wait_for(pool.invoke({"sleep": 3600}), timeout=60)
        running = await asyncio.to_thread(still_running_after, pids, 30)
        return timed_out, running, await pool.invoke({})

    timed_out, running, after = run(_with_pool(spec(timeout_s=1.0), body))
    assert timed_out.function_error == "Unhandled"
    assert timed_out.json()["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out.json()["errorMessage"]
    assert running == []
    assert after.cold_start
    assert after.json()["pid"] != pids[0]


def test_a_crashed_runtime_fails_its_invocation_and_restarts_cold():
    async def body(pool):
        return await pool.invoke({"exit": 7}), await pool.invoke({})

    crashed, after = run(_with_pool(spec(), body))
    assert crashed.function_error == "Unhandled"
    assert crashed.json()["errorType"] == "Runtime.ExitError"
    assert "exit status 7" in crashed.json()["errorMessage"]
    assert after.cold_start


def test_an_import_error_is_reported_as_lambda_reports_it():
    async def body(pool):
        return await pool.invoke({})

    result = run(_with_pool(spec("broken.handler"), body))
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Runtime.ImportModuleError"
    assert "a dependency is missing" in result.json()["errorMessage"]


def test_concurrent_invocations_get_separate_environments_up_to_the_limit():
    async def body(pool):
        results = await asyncio.gather(*(pool.invoke({"sleep": 0.5}) for _ in range(3)))
        with pytest.raises(ThrottledError):
            await asyncio.gather(*(pool.invoke({"sleep": 0.5}) for _ in range(4)))
        return results, len(pool.environments)

    results, environments = run(_with_pool(spec(concurrency=3), body))
    assert len({result.json()["pid"] for result in results}) == 3
    assert all(result.cold_start for result in results)
    assert environments == 3


def test_waiting_invocations_queue_for_a_free_environment_instead_of_throttling():
    async def body(pool):
        return await asyncio.gather(*(pool.invoke({"sleep": 0.4}, wait=True) for _ in range(4)))

    results = run(_with_pool(spec(concurrency=2), body))
    served = Counter(result.json()["pid"] for result in results)
    assert sorted(served.values()) == [2, 2]  # each of the two environments served a waiting invocation after its own
    assert sorted(result.json()["invocations"] for result in results) == [1, 1, 2, 2]
    assert sum(result.cold_start for result in results) == 2


def test_closing_the_pool_stops_every_runtime_process():
    pids = []

    async def body(pool):
        results = await asyncio.gather(*(pool.invoke({"sleep": 0.2}) for _ in range(2)))
        pids.extend(result.json()["pid"] for result in results)

    run(_with_pool(spec(), body))
    assert len(pids) == 2
    assert not any(alive(pid) for pid in pids)
