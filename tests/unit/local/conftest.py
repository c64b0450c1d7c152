"""Fixtures for the local API Gateway's tests: a clock to move by hand, blueprints, a gateway to call.

The blueprints are built the way :mod:`local.materialize` builds them from the program (the dev
stack's routes, settings and usage plan), with only what a test changes set differently. The
gateway fixtures need aiohttp (local/requirements.txt); where it is not installed the tests that
use them are skipped, saying so, and the pure throttling and cache tests still run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.blueprint import (
    ApiBlueprint,
    GatewayResponseBlueprint,
    MethodBlueprint,
    MethodSettingsBlueprint,
    UsagePlanBlueprint,
)

KEY_VALUE = "k" * 40
KEY_NAME = "serverless-infra-dev-api-key"
PLAN_NAME = "serverless-infra-dev-usage-plan"
ORDERS_CACHE_KEYS = (
    "method.request.querystring.customer_id",
    "method.request.querystring.limit",
    "method.request.querystring.cursor",
)


class FakeClock:
    """A monotonic clock (seconds) and the UTC time it stands for, moved only by :meth:`advance`."""

    def __init__(self, start: datetime = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)) -> None:
        self.seconds = 1_000.0
        self._origin = start

    def __call__(self) -> float:
        return self.seconds

    def utc(self) -> datetime:
        return self._origin + timedelta(seconds=self.seconds - 1_000.0)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def method(
    resource_path: str, http_method: str, *, api_key: bool = True, cache_keys: Sequence[str] = ()
) -> MethodBlueprint:
    return MethodBlueprint(
        resource_path=resource_path,
        http_method=http_method,
        api_key_required=api_key,
        authorization="NONE",
        function_name="serverless-infra-dev-function-api",
        cache_key_parameters=tuple(cache_keys),
    )


DEV_METHODS = (
    method("/health", "GET", api_key=False),
    method("/orders", "GET", cache_keys=ORDERS_CACHE_KEYS),
    method("/orders", "POST"),
    method("/orders/{order_id}", "GET", cache_keys=("method.request.path.order_id",)),
    method("/{proxy+}", "ANY"),
)


def settings(
    method_path: str,
    *,
    rate: float | None = None,
    burst: int | None = None,
    caching: bool = False,
    ttl: int | None = None,
    require_authorization: bool | None = None,
    strategy: str | None = None,
) -> MethodSettingsBlueprint:
    return MethodSettingsBlueprint(
        method_path=method_path,
        throttling_rate_limit=rate,
        throttling_burst_limit=burst,
        caching_enabled=caching,
        cache_ttl_s=ttl,
        require_authorization_for_cache_control=require_authorization,
        unauthorized_cache_control_header_strategy=strategy,
    )


def plan(
    keys: Sequence[str] = (KEY_NAME,),
    *,
    name: str = PLAN_NAME,
    rate: float | None = None,
    burst: int | None = None,
    quota: int | None = None,
    period: str | None = None,
    offset: int = 0,
) -> UsagePlanBlueprint:
    return UsagePlanBlueprint(
        name=name,
        throttle_rate_limit=rate,
        throttle_burst_limit=burst,
        quota_limit=quota,
        quota_period=period,
        quota_offset=offset,
        api_keys=tuple(keys),
    )


def api(
    *,
    method_settings: Sequence[MethodSettingsBlueprint] = (),
    usage_plans: Sequence[UsagePlanBlueprint] = (),
    cache_cluster: bool = False,
    responses: Sequence[GatewayResponseBlueprint] = (),
    api_keys: Sequence[str] = (KEY_NAME,),
) -> ApiBlueprint:
    return ApiBlueprint(
        name="serverless-infra-dev-rest-api",
        stage_name="v1",
        methods=DEV_METHODS,
        method_settings=tuple(method_settings),
        cache_cluster_enabled=cache_cluster,
        cache_cluster_size_gb="0.5" if cache_cluster else None,
        usage_plans=tuple(usage_plans) or (plan(),),
        api_keys=tuple(api_keys),
        gateway_responses=tuple(responses),
    )


class Blueprints:
    """The builders above, as a fixture (so tests need no import from conftest)."""

    method = staticmethod(method)
    settings = staticmethod(settings)
    plan = staticmethod(plan)
    api = staticmethod(api)
    key_value = KEY_VALUE
    key_name = KEY_NAME
    orders_cache_keys = ORDERS_CACHE_KEYS


@pytest.fixture
def blueprints() -> Blueprints:
    return Blueprints()


@dataclass
class FakeFunction:
    """The API function as the gateway invokes it: answers each call with its call number.

    ``throttled`` makes every invocation fail as Lambda throttles it; ``hangs`` makes it never answer;
    ``status`` sets the status code the function answers with.
    """

    calls: list[dict[str, Any]] = field(default_factory=list)
    throttled: bool = False
    hangs: bool = False
    status: int = 200

    async def __call__(self, event: bytes) -> Any:
        from local.runtime import InvocationResult, ThrottledError

        if self.throttled:
            raise ThrottledError("all environments are busy")
        if self.hangs:
            await asyncio.Event().wait()  # never set: only the gateway's timeout ends the wait
        self.calls.append(json.loads(event))
        body = json.dumps({"call": len(self.calls)})
        payload = json.dumps({"statusCode": self.status, "headers": {"Content-Type": "application/json"}, "body": body})
        return InvocationResult(str(len(self.calls)), payload.encode(), None, False, 0, 1.0)


@pytest.fixture
def function() -> FakeFunction:
    return FakeFunction()


@dataclass(frozen=True)
class Reply:
    """A gateway response, read back: status, headers (case-insensitive lookup) and JSON body."""

    status: int
    headers: Mapping[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


@pytest.fixture
def call() -> Callable[..., Any]:
    """``call(gateway, "GET", "/v1/orders", headers=..., query=...)`` -> :class:`Reply`, on a fresh event loop."""
    from local.gateway import IncomingRequest

    def send(
        gateway: Any,
        http_method: str,
        path: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        query: Sequence[tuple[str, str]] = (),
    ) -> Reply:
        request = IncomingRequest(http_method, path, list(query), list(headers), b"", "127.0.0.1", "localhost")
        response = asyncio.run(gateway.respond(request, "request-id"))
        body = json.loads(response.body) if response.body else None
        return Reply(response.status, dict(response.headers), body)

    return send


@pytest.fixture
def gateway(clock: FakeClock, function: FakeFunction) -> Callable[..., Any]:
    """``gateway(api)``: an ApiGateway in front of the fake function, on the fake clock, with the dev key."""
    from local.gateway import ApiGateway

    def build(blueprint: ApiBlueprint | None, **options: Any) -> Any:
        options.setdefault("api_keys", {KEY_VALUE: KEY_NAME})
        if blueprint is None:
            options.setdefault("stage", "v1")  # a gateway without a blueprint names its stage itself
        return ApiGateway(function, KEY_VALUE, api=blueprint, clock=clock, **options)

    return build
