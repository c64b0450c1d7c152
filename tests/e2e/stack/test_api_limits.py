"""The local stack's API meets clients with the limits the program declares: the stage throttle and the cache.

The throttle test starts a stack of its own (no database: the requests it sends are answered by API
Gateway itself, never by the function), so its burst cannot drain the buckets the session's other
tests use. The cache test reads through the session's stack, on customers of its own. That a cached
read turns fresh once its TTL has passed is shown with an injected clock in
tests/unit/local/test_cache.py (dev's TTL is 30 s, too long to wait for here).
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html
"""

from __future__ import annotations

import asyncio
import math
import time

import httpx
import pytest

from local.cache import policy_for
from local.stack import StackOptions
from local.throttling import MethodKey, method_limits, plan_limits
from tests.e2e.support import customer, new_order
from tests.e2e.target import StackThread

ORDERS = MethodKey("/orders", "GET")


@pytest.fixture(scope="module")
def limits_stack(tmp_path_factory: pytest.TempPathFactory):
    """The dev stack as declared, on its own: a fresh stage whose token buckets start full."""
    runner = StackThread(StackOptions(port=0, database=None, state_dir=tmp_path_factory.mktemp("limits-stack")))
    stack = runner.start()
    try:
        yield stack
    finally:
        runner.stop()


async def _burst(url: str, api_key: str, count: int) -> tuple[list[httpx.Response], float]:
    """``count`` concurrent GET /orders, each asking to invalidate the cache; the responses and the seconds taken."""
    headers = {"x-api-key": api_key, "Cache-Control": "max-age=0"}
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:
        started = time.monotonic()
        responses = await asyncio.gather(*(client.get("/orders") for _ in range(count)))
        return list(responses), time.monotonic() - started


def test_given_the_declared_stage_burst_when_twice_as_many_requests_arrive_at_once_then_the_excess_meets_429(
    limits_stack,
):
    api = limits_stack.blueprint.api
    policy = policy_for(ORDERS, api.method_settings, api.cache_cluster_enabled)
    # GIVEN: GET /orders refuses an unsigned cache invalidation (403, after throttling, before the
    # function), so every request is answered by API Gateway alone; and the limits the program sets.
    assert policy is not None
    assert policy.require_authorization
    assert policy.unauthorized_strategy == "FAIL_WITH_403"
    buckets = [method_limits(ORDERS, api.method_settings)]
    buckets += [limits for plan in api.usage_plans if (limits := plan_limits(plan)) is not None]
    burst = min(bucket.burst for bucket in buckets)

    # WHEN twice the burst arrives at once
    responses, elapsed_s = asyncio.run(_burst(limits_stack.url, limits_stack.api_key, 2 * burst))

    # THEN the bucket lets the burst (and what refilled meanwhile) through and throttles the rest
    admitted = [response for response in responses if response.status_code == 403]
    throttled = [response for response in responses if response.status_code == 429]
    assert len(admitted) + len(throttled) == len(responses), {response.status_code for response in responses}
    allowance = min(bucket.burst + math.ceil(bucket.rate * elapsed_s) for bucket in buckets)
    assert burst <= len(admitted) <= allowance, (len(admitted), burst, allowance, elapsed_s)
    assert throttled
    for response in throttled:
        assert response.json() == {"message": "Too Many Requests"}
        assert response.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert (
        admitted[0]
        .json()["message"]
        .startswith("User: anonymous is not authorized to perform: execute-api:InvalidateCache")
    )


def test_given_a_cached_order_list_when_an_order_is_added_within_the_ttl_then_the_cached_list_is_served(
    target, api, database
):
    if target.stack is None:
        pytest.skip("reads the cache settings from the local stack's blueprint")
    settings = target.stack.blueprint.api
    policy = policy_for(ORDERS, settings.method_settings, settings.cache_cluster_enabled)
    assert policy is not None, "the program caches GET /orders"
    buyer = customer("cache")
    assert api.post("/orders", json=new_order(buyer)).status_code == 201
    started = time.monotonic()
    cached = api.get("/orders", params={"customer_id": buyer})

    assert api.post("/orders", json=new_order(buyer, amount_minor=1)).status_code == 201
    stale = api.get("/orders", params={"customer_id": buyer})
    fresh = api.get("/orders", params={"customer_id": buyer, "limit": 50})  # another cache key: from the function

    assert time.monotonic() - started < policy.ttl_s, "the reads took longer than the TTL; the test proves nothing"
    assert len(cached.json()["orders"]) == 1
    assert stale.json() == cached.json()
    assert len(fresh.json()["orders"]) == 2
