"""API Gateway's request throttling and usage-plan quotas, as the program declares them.

API Gateway throttles with a token bucket per limit: the burst is the bucket's capacity, the rate
the tokens added per second, and a request takes one token. "Throttle requests to your REST APIs
for better throughput in API Gateway"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html)
lists the limits a request meets, applied in this order: the per-client limits of the usage plan
its API key belongs to, the per-method limits set on the stage (the stage-wide ``*/*`` method
settings apply to each method separately, and a method's own settings replace them), then the
account-level limit per Region. A request passes only if every one of them has a token, so the
most restrictive wins; one refused by any of them takes no token from the others. An unset limit
falls back to the next level, down to the account's default (10,000 requests per second, burst
5,000: "Amazon API Gateway quotas",
https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).

A usage plan's quota counts the requests each API key makes per DAY, WEEK or MONTH; in the first
period ``offset`` requests are subtracted from the limit ("QuotaSettings",
https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html). AWS does not document
where a period starts; here periods are UTC calendar days, ISO weeks (from Monday) and calendar
months. Only requests that pass throttling count against the quota.

This module knows nothing of HTTP: :class:`Throttle` answers ``PASSED``, ``THROTTLED`` or
``QUOTA_EXCEEDED`` and the gateway turns that into API Gateway's 429 responses.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from local.blueprint import ApiBlueprint, MethodSettingsBlueprint, UsagePlanBlueprint

ACCOUNT_RATE_LIMIT: Final = 10_000.0  # requests per second, per account and Region
ACCOUNT_BURST_LIMIT: Final = 5_000
STAGE_WIDE: Final = "*/*"


class MethodRef(Protocol):
    """What throttling and caching need of a matched method: its resource and its HTTP method."""

    @property
    def resource_path(self) -> str: ...  # "/orders/{order_id}"

    @property
    def http_method(self) -> str: ...  # GET, POST, ... or ANY


@dataclass(frozen=True)
class MethodKey:
    """A method of the API, as a value (so it can key buckets and settings)."""

    resource_path: str
    http_method: str


class Outcome(enum.Enum):
    PASSED = "passed"
    THROTTLED = "throttled"  # gateway response THROTTLED: 429 "Too Many Requests"
    QUOTA_EXCEEDED = "quota_exceeded"  # gateway response QUOTA_EXCEEDED: 429 "Limit Exceeded"


@dataclass(frozen=True)
class Limits:
    """A steady-state rate (requests per second) and a burst (the bucket's capacity)."""

    rate: float
    burst: int


class TokenBucket:
    """A bucket that starts full, refills at ``rate`` tokens a second up to ``burst``, one token a request."""

    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self._tokens = float(limits.burst)
        self._updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.limits.burst), self._tokens + elapsed * self.limits.rate)
        self._updated = now

    def available(self, now: float) -> bool:
        self._refill(now)
        return self._tokens >= 1.0 - 1e-9  # tolerate float error in elapsed time x rate

    def take(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1.0


def normalize_method_path(method_path: str) -> str:
    """``~1orders~1{order_id}/GET`` and ``orders/{order_id}/GET`` both name ``orders/{order_id}/GET``.

    The stage's method settings are keyed by the resource path with each ``/`` escaped as ``~1``
    ("PatchOperation", https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html);
    providers also accept the path unescaped without its leading slash. Both are read here.
    """
    if method_path == STAGE_WIDE:
        return STAGE_WIDE
    resource, _, verb = method_path.rpartition("/")
    resource = resource.replace("~1", "/").strip("/")
    return f"{resource}/{verb.upper()}"


def _method_path(method: MethodKey) -> str:
    return f"{method.resource_path.strip('/')}/{method.http_method.upper()}"


def settings_for(
    method: MethodKey, settings: Sequence[MethodSettingsBlueprint]
) -> tuple[MethodSettingsBlueprint | None, MethodSettingsBlueprint | None]:
    """The method's own settings and the stage-wide ``*/*`` settings (either may be absent)."""
    wanted = {_method_path(method)}
    if method.http_method.upper() == "ANY":
        wanted.add(f"{method.resource_path.strip('/')}/*")
    own = stage = None
    for candidate in settings:
        path = normalize_method_path(candidate.method_path)
        if path == STAGE_WIDE:
            stage = candidate
        elif path in wanted:
            own = candidate
    return own, stage


def method_limits(method: MethodKey, settings: Sequence[MethodSettingsBlueprint]) -> Limits:
    """The stage's limits for one method: its own settings, else the stage-wide ones, else the account's."""
    own, stage = settings_for(method, settings)
    rate: float = ACCOUNT_RATE_LIMIT
    burst: int = ACCOUNT_BURST_LIMIT
    for level in (stage, own):  # the more specific level is applied last, so it wins
        if level is None:
            continue
        if level.throttling_rate_limit is not None and level.throttling_rate_limit >= 0:
            rate = level.throttling_rate_limit
        if level.throttling_burst_limit is not None and level.throttling_burst_limit >= 0:
            burst = level.throttling_burst_limit
    return Limits(rate, burst)


def plan_limits(plan: UsagePlanBlueprint) -> Limits | None:
    """A usage plan's per-client throttle; None when the plan sets none (the other limits still apply)."""
    if plan.throttle_rate_limit is None and plan.throttle_burst_limit is None:
        return None
    rate = plan.throttle_rate_limit if plan.throttle_rate_limit is not None else ACCOUNT_RATE_LIMIT
    burst = plan.throttle_burst_limit if plan.throttle_burst_limit is not None else ACCOUNT_BURST_LIMIT
    return Limits(rate, burst)


def period_start(moment: datetime, period: str) -> datetime:
    """The start (UTC) of the quota period ``moment`` falls in."""
    moment = moment.astimezone(UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "DAY":
        return day
    if period == "WEEK":
        return day - timedelta(days=day.weekday())
    if period == "MONTH":
        return day.replace(day=1)
    raise ValueError(f"quota period {period!r} is not DAY, WEEK or MONTH")


class Quota:
    """One API key's quota under one usage plan."""

    def __init__(self, limit: int, period: str, offset: int, created: datetime) -> None:
        self.limit = limit
        self.period = period
        self.offset = offset
        self._first_period = period_start(created, period)
        self._current = self._first_period
        self.used = 0

    def _roll(self, now: datetime) -> None:
        start = period_start(now, self.period)
        if start != self._current:
            self._current = start
            self.used = 0

    def remaining(self, now: datetime) -> int:
        self._roll(now)
        allowed = self.limit - (self.offset if self._current == self._first_period else 0)
        return max(0, allowed - self.used)

    def count(self, now: datetime) -> None:
        self._roll(now)
        self.used += 1


class Throttle:
    """Every throttle and quota of one stage, for the requests the gateway lets through to a method.

    ``clock`` gives seconds on a monotonic scale (the token buckets); ``wall_clock`` the UTC time
    (the quota periods). Tests inject both.
    """

    def __init__(
        self,
        api: ApiBlueprint,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime],
    ) -> None:
        self._api = api
        self._clock = clock
        self._wall_clock = wall_clock
        self._account = TokenBucket(Limits(ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT), clock())
        self._methods: dict[MethodKey, TokenBucket] = {}
        self._clients: dict[tuple[str, str], TokenBucket] = {}
        self._quotas: dict[tuple[str, str], Quota] = {}

    def plans_of(self, key_name: str) -> tuple[UsagePlanBlueprint, ...]:
        """The usage plans an API key (by name) is associated with."""
        return tuple(plan for plan in self._api.usage_plans if key_name in plan.api_keys)

    def _method_bucket(self, method: MethodKey, now: float) -> TokenBucket:
        if method not in self._methods:
            self._methods[method] = TokenBucket(method_limits(method, self._api.method_settings), now)
        return self._methods[method]

    def _client_buckets(self, key_name: str, now: float) -> list[TokenBucket]:
        buckets = []
        for plan in self.plans_of(key_name):
            limits = plan_limits(plan)
            if limits is None:
                continue
            slot = (plan.name, key_name)
            if slot not in self._clients:
                self._clients[slot] = TokenBucket(limits, now)
            buckets.append(self._clients[slot])
        return buckets

    def _client_quotas(self, key_name: str, today: datetime) -> list[Quota]:
        quotas = []
        for plan in self.plans_of(key_name):
            if plan.quota_limit is None or plan.quota_period is None:
                continue
            slot = (plan.name, key_name)
            if slot not in self._quotas:
                self._quotas[slot] = Quota(plan.quota_limit, plan.quota_period, plan.quota_offset, today)
            quotas.append(self._quotas[slot])
        return quotas

    def admit(self, method: MethodRef, key_name: str | None) -> Outcome:
        """Whether a request for ``method`` (made with the API key named ``key_name``, if any) may go on."""
        now, today = self._clock(), self._wall_clock()
        quotas = self._client_quotas(key_name, today) if key_name else []
        if any(quota.remaining(today) <= 0 for quota in quotas):
            return Outcome.QUOTA_EXCEEDED
        target = MethodKey(method.resource_path, method.http_method)
        buckets = self._client_buckets(key_name, now) if key_name else []
        buckets += [self._method_bucket(target, now), self._account]
        if not all(bucket.available(now) for bucket in buckets):
            return Outcome.THROTTLED
        for bucket in buckets:
            bucket.take(now)
        for quota in quotas:
            quota.count(today)
        return Outcome.PASSED
