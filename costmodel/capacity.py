"""What a stack does under the requirement "1,000 concurrent requests under 200 ms, 10,000 requests a minute".

This machine cannot run 1,000 execution environments, so the answer is a model: the stack's registered
resources give the limits it configures (reserved and provisioned concurrency, the stage and usage-plan
throttles, the database and its proxy, which SSM call the API makes on a cold start), ``contract.limits``
gives the ones AWS sets (burst scaling, the account's throttles, Parameter Store's throughput), and the
per-request costs come from the local benchmark (:class:`PerRequest`). Two loads are assessed:

- **sustained**: the peak rate, spread evenly; environments needed = rate x latency (Little's law);
- **burst**: the concurrent requests arriving at once, on top of the environments the peak keeps warm.
  Those beyond the warm environments each need a new one (a cold start, or a SnapStart restore) and its
  settings from Parameter Store, all at once.

Each limit a request meets is checked in the order it meets them (API Gateway, Lambda, Parameter Store,
the database); the first one exceeded is the answer to "what breaks first". The p99 a load gets is the
warm p99 when at most 1% of its requests wait for a new environment, otherwise that of the cold path
(the measured cold start, plus the wait for Parameter Store when the wave outruns its throughput, plus
the wait for burst scaling beyond 1,000 new environments). Standard library only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from contract import limits
from costmodel.estimate import Resource

FUNCTION = "aws:lambda/function:Function"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
SCALING_TARGET = "aws:appautoscaling/target:Target"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
API_KEY = "aws:apigateway/apiKey:ApiKey"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
SSM_SERVICE_SETTING = "aws:ssm/serviceSetting:ServiceSetting"
RDS_INSTANCE = "aws:rds/instance:Instance"
PROXY = "aws:rds/proxy:Proxy"
PROXY_TARGET_GROUP = "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup"

API_SUFFIX = "-function-api"
SSM_READS = ("ssm:GetParametersByPath", "ssm:GetParameters", "ssm:GetParameter")
GET_PARAMETERS_MAX_NAMES = 10  # GetParameters takes at most 10 names per call (API_GetParameters)
COLD_SHARE_FOR_P99 = 0.01  # at most 1% of requests may take the cold path for the p99 to stay warm
PROVISIONED_UTILIZATION_DEFAULT = 0.7


class CapacityInputError(ValueError):
    """The stack or the measurements lack something the model needs; the message says what."""


@dataclass(frozen=True)
class Requirement:
    """The load the stack must hold and the latency it must hold it at."""

    concurrent_requests: int = 1000
    requests_per_minute: int = 10_000
    p99_ms: float = 200.0

    @property
    def requests_per_second(self) -> float:
        return self.requests_per_minute / 60


@dataclass(frozen=True)
class PerRequest:
    """Per-request costs, measured by the local benchmark (or labelled defaults); milliseconds."""

    warm_p50_ms: float
    warm_p99_ms: float
    cold_start_p99_ms: float  # a new environment serving its first request (init included)
    settings_load_ms: float | None  # of which: the uncached settings load (shown; already in the cold start)
    source: str  # where these came from, e.g. "bench/results.json of 2026-12-02" or "defaults (--defaults)"
    snap_start_restore_ms: float | None = None  # replaces the cold start when the function has SnapStart


@dataclass(frozen=True)
class Configuration:
    """The limits the stack's registered resources configure for the API."""

    reserved_concurrency: int | None  # None: the function draws on the account's unreserved pool
    other_reserved: int  # what the other functions reserve
    account_quota: int
    provisioned_min: int
    provisioned_max: int
    provisioned_target_utilization: float
    snap_start: bool
    stage_rate: float
    stage_burst: int
    key_rate: float | None  # the usage plan's per-key throttle (None: not set)
    key_burst: int | None
    api_keys: int
    ssm_action: str  # the Parameter Store read the API's settings load makes
    ssm_calls_per_cold_start: int
    ssm_high_throughput: bool
    db_instance_class: str
    db_max_connections: int
    proxy_pool: int | None  # the proxy's connections to the primary; None without a proxy

    @property
    def ssm_tps(self) -> int:
        if self.ssm_high_throughput:
            return limits.SSM_HIGH_THROUGHPUT_TPS[self.ssm_action]
        return limits.SSM_DEFAULT_TPS

    @property
    def lambda_concurrency(self) -> int:
        """The most environments the API can have at once."""
        unreserved = self.account_quota - self.other_reserved
        return unreserved if self.reserved_concurrency is None else self.reserved_concurrency

    @property
    def db_budget(self) -> int:
        return self.db_max_connections - limits.RDS_RESERVED_SUPERUSER_CONNECTIONS - limits.RDS_CONNECTION_HEADROOM


@dataclass(frozen=True)
class Check:
    """One limit met by one load: how much the load asks of it, and what the stack or AWS allows."""

    load: str
    limit: str
    allowed: float
    demand: float
    unit: str
    source: str
    effect: str  # what happens to the requests beyond the limit

    @property
    def holds(self) -> bool:
        return self.demand <= self.allowed


@dataclass(frozen=True)
class Outcome:
    """One load's checks (in the order a request meets them) and the p99 it gets."""

    load: str
    checks: list[Check]
    p99_ms: float
    explanation: str

    @property
    def first_exceeded(self) -> Check | None:
        return next((check for check in self.checks if not check.holds), None)


@dataclass(frozen=True)
class Assessment:
    requirement: Requirement
    configuration: Configuration
    per_request: PerRequest
    outcomes: list[Outcome] = field(default_factory=list)
    held_concurrency: int = 0  # the largest burst whose p99 stays within the requirement

    @property
    def first_exceeded(self) -> Check | None:
        return next((o.first_exceeded for o in self.outcomes if o.first_exceeded is not None), None)


# -- the stack's configuration, from its registered resources -------------------------------------
def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _of_type(resources: Iterable[Resource], type_token: str) -> list[Resource]:
    return [r for r in resources if r.type == type_token]


def _api_function(resources: list[Resource]) -> Resource:
    for function in _of_type(resources, FUNCTION):
        if str(function.inputs.get("name") or function.name).endswith(API_SUFFIX):
            return function
    raise CapacityInputError(f"the stack registers no API function (a function named *{API_SUFFIX})")


def _reserved(function: Resource) -> int | None:
    value = _number(function.inputs.get("reservedConcurrentExecutions"))
    return None if value is None or value < 0 else int(value)


def _provisioned(resources: list[Resource]) -> tuple[int, int, float]:
    """(floor, ceiling, target utilisation) of the API's provisioned concurrency; (0, 0, ...) without."""
    targets = [
        t
        for t in _of_type(resources, SCALING_TARGET)
        if t.inputs.get("scalableDimension") == "lambda:function:ProvisionedConcurrency"
    ]
    configs = _of_type(resources, PROVISIONED)
    if targets:
        low = int(_number(targets[0].inputs.get("minCapacity")) or 0)
        high = int(_number(targets[0].inputs.get("maxCapacity")) or low)
    elif configs:
        low = high = int(_number(configs[0].inputs.get("provisionedConcurrentExecutions")) or 0)
    else:
        return 0, 0, PROVISIONED_UTILIZATION_DEFAULT
    utilization = PROVISIONED_UTILIZATION_DEFAULT
    for policy in (r for r in resources if r.type == "aws:appautoscaling/policy:Policy"):
        config = policy.inputs.get("targetTrackingScalingPolicyConfiguration") or {}
        utilization = _number(config.get("targetValue")) or utilization
    return max(low, 1 if configs else 0), high, utilization


def _method_path(value: Any) -> str:
    """``~1orders~1{order_id}/GET`` -> ``orders/{order_id}/GET``; ``*/*`` stays."""
    text = str(value)
    if text == "*/*":
        return text
    resource, _, verb = text.rpartition("/")
    return f"{resource.replace('~1', '/').strip('/')}/{verb.upper()}"


def _stage_limits(resources: list[Resource], route: str) -> tuple[float, int]:
    """The stage's throttle for ``route`` (``orders/{order_id}/GET``): its own settings, else ``*/*``, else the
    account's."""
    rate, burst = float(limits.API_GATEWAY_ACCOUNT_RATE), limits.API_GATEWAY_ACCOUNT_BURST
    levels = {
        _method_path(r.inputs.get("methodPath")): r.inputs.get("settings") or {}
        for r in resources
        if r.type == METHOD_SETTINGS
    }
    for path in ("*/*", route):
        settings = levels.get(path)
        if not settings:
            continue
        rate = _number(settings.get("throttlingRateLimit")) or rate
        burst = int(_number(settings.get("throttlingBurstLimit")) or burst)
    return rate, burst


def _ssm_read(resources: list[Resource], api: Resource) -> tuple[str, int]:
    """The Parameter Store read the API's role allows, and how many calls one settings load makes.

    GetParametersByPath: one call per path granted (a page holds 10 parameters, so more per path when a
    path holds more); GetParameters: one call per 10 names of the parameters under the granted paths.
    """
    role = str(api.inputs.get("role") or "")
    name = str(api.inputs.get("name") or api.name)
    policies = [p for p in _of_type(resources, ROLE_POLICY) if p.name.endswith("-api") or p.inputs.get("role") == role]
    statements: list[dict[str, Any]] = []
    for policy in policies:
        document = policy.inputs.get("policy")
        try:
            parsed = json.loads(document) if isinstance(document, str) else document
        except ValueError:
            continue
        if isinstance(parsed, dict):
            found = parsed.get("Statement") or []
            statements += found if isinstance(found, list) else [found]
    for action in SSM_READS:
        paths: set[str] = set()
        for statement in statements:
            actions = statement.get("Action")
            if action not in (actions if isinstance(actions, list) else [actions]):
                continue
            resources_granted = statement.get("Resource")
            for arn in resources_granted if isinstance(resources_granted, list) else [resources_granted]:
                if isinstance(arn, str) and ":parameter/" in arn:
                    paths.add(arn.split(":parameter", 1)[1].removesuffix("/*").rstrip("/"))
        if not paths:
            continue
        names = [str(p.inputs.get("name") or "") for p in _of_type(resources, SSM_PARAMETER)]
        counts = [sum(1 for n in names if n.startswith(f"{path}/")) for path in sorted(paths)]
        if action == "ssm:GetParametersByPath":
            return action, sum(max(1, math.ceil(count / GET_PARAMETERS_MAX_NAMES)) for count in counts)
        if action == "ssm:GetParameters":
            return action, max(1, math.ceil(sum(counts) / GET_PARAMETERS_MAX_NAMES))
        return action, max(1, sum(counts))
    raise CapacityInputError(f"the role of {name} grants no Parameter Store read ({', '.join(SSM_READS)})")


def _high_throughput(resources: list[Resource]) -> bool:
    return any(
        str(r.inputs.get("settingId") or "").endswith(limits.SSM_HIGH_THROUGHPUT_SETTING)
        and str(r.inputs.get("settingValue")).lower() == "true"
        for r in _of_type(resources, SSM_SERVICE_SETTING)
    )


def _database(resources: list[Resource]) -> tuple[str, int, int | None]:
    primaries = [r for r in _of_type(resources, RDS_INSTANCE) if not r.inputs.get("replicateSourceDb")]
    if not primaries:
        raise CapacityInputError("the stack registers no primary database instance")
    instance_class = str(primaries[0].inputs.get("instanceClass"))
    memory = limits.RDS_INSTANCE_MEMORY_GIB.get(instance_class)
    if memory is None:
        raise CapacityInputError(f"the memory of instance class {instance_class!r} is not in contract.limits")
    maximum = limits.rds_postgres_max_connections(memory)
    if not _of_type(resources, PROXY):
        return instance_class, maximum, None
    percent = 100.0
    for group in _of_type(resources, PROXY_TARGET_GROUP):
        percent = _number((group.inputs.get("connectionPoolConfig") or {}).get("maxConnectionsPercent")) or percent
    return instance_class, maximum, math.floor(maximum * percent / 100)


def configuration_of(
    resources: Iterable[Resource],
    account_quota: int = limits.LAMBDA_DEFAULT_CONCURRENCY_QUOTA,
    *,
    route: str = "orders/{order_id}/GET",
    ssm_high_throughput: bool = False,
) -> Configuration:
    """The API's limits from the registered resources (``account_quota``: the stack's lambdaConcurrencyQuota;
    ``ssm_high_throughput``: the account has higher throughput on although the stack does not set it)."""
    resources = list(resources)
    api = _api_function(resources)
    others = [f for f in _of_type(resources, FUNCTION) if f is not api]
    low, high, utilization = _provisioned(resources)
    rate, burst = _stage_limits(resources, route)
    plans = _of_type(resources, USAGE_PLAN)
    throttle = (plans[0].inputs.get("throttleSettings") or {}) if plans else {}
    key_rate, key_burst = _number(throttle.get("rateLimit")), _number(throttle.get("burstLimit"))
    action, calls = _ssm_read(resources, api)
    instance_class, max_connections, pool = _database(resources)
    return Configuration(
        reserved_concurrency=_reserved(api),
        other_reserved=sum(r for f in others if (r := _reserved(f)) is not None),
        account_quota=account_quota,
        provisioned_min=low,
        provisioned_max=high,
        provisioned_target_utilization=utilization,
        snap_start=(api.inputs.get("snapStart") or {}).get("applyOn") == "PublishedVersions",
        stage_rate=rate,
        stage_burst=burst,
        key_rate=key_rate,
        key_burst=None if key_burst is None else int(key_burst),
        api_keys=max(1, len(_of_type(resources, API_KEY))),
        ssm_action=action,
        ssm_calls_per_cold_start=calls,
        ssm_high_throughput=ssm_high_throughput or _high_throughput(resources),
        db_instance_class=instance_class,
        db_max_connections=max_connections,
        proxy_pool=pool,
    )


# -- the model -------------------------------------------------------------------------------------
def warm_environments(config: Configuration, rate: float, per_request: PerRequest) -> int:
    """Environments kept busy by ``rate`` requests a second (Little's law, at the warm median), and what
    provisioned concurrency keeps ready for it (the autoscaler tracks its target utilisation)."""
    busy = math.ceil(rate * per_request.warm_p50_ms / 1000)
    if config.provisioned_max == 0:
        return busy
    tracked = math.ceil(busy / config.provisioned_target_utilization)
    return max(busy, min(config.provisioned_max, max(config.provisioned_min, tracked)))


def _gateway_checks(load: str, config: Configuration, rate: float, burst: int) -> list[Check]:
    doc = limits.API_GATEWAY_THROTTLING_DOC
    refused = "answered 429 by API Gateway"
    checks = [
        Check(load, "API Gateway account rate", limits.API_GATEWAY_ACCOUNT_RATE, rate, "req/s", doc, refused),
        Check(load, "API Gateway account burst", limits.API_GATEWAY_ACCOUNT_BURST, burst, "requests", doc, refused),
        Check(load, "stage throttle rate (GET /orders/{id})", config.stage_rate, rate, "req/s", doc, refused),
        Check(load, "stage throttle burst (GET /orders/{id})", config.stage_burst, burst, "requests", doc, refused),
    ]
    if config.key_rate is not None and config.key_burst is not None:
        keys = config.api_keys
        checks += [
            Check(
                load,
                f"usage plan rate per key ({keys} keys, load spread evenly)",
                config.key_rate,
                rate / keys,
                "req/s",
                doc,
                refused,
            ),
            Check(
                load,
                f"usage plan burst per key ({keys} keys)",
                config.key_burst,
                math.ceil(burst / keys),
                "requests",
                doc,
                refused,
            ),
        ]
    return checks


def _admitted(config: Configuration, burst: int) -> int:
    allowed = [burst, limits.API_GATEWAY_ACCOUNT_BURST, config.stage_burst]
    if config.key_burst is not None:
        allowed.append(config.key_burst * config.api_keys)
    return min(allowed)


def _lambda_checks(load: str, config: Configuration, concurrency: int, new: int) -> list[Check]:
    throttled = "throttled by Lambda: API Gateway answers 500"
    reserved = (
        f"reserved concurrency {config.reserved_concurrency}"
        if config.reserved_concurrency is not None
        else f"unreserved account concurrency ({config.account_quota} less {config.other_reserved} reserved)"
    )
    return [
        Check(
            load,
            f"Lambda concurrency ({reserved})",
            config.lambda_concurrency,
            concurrency,
            "environments",
            limits.LAMBDA_CONCURRENCY_DOC,
            throttled,
        ),
        Check(
            load,
            f"Lambda burst scaling ({limits.LAMBDA_BURST_ENVIRONMENTS:,} new environments "
            f"per {limits.LAMBDA_BURST_WINDOW_S} s)",
            limits.LAMBDA_BURST_ENVIRONMENTS,
            new,
            "new environments",
            limits.LAMBDA_SCALING_DOC,
            f"wait {limits.LAMBDA_BURST_WINDOW_S} s per further 1,000 (or are throttled: 500)",
        ),
    ]


def _ssm_check(load: str, config: Configuration, calls_per_second: float) -> Check:
    setting = "higher throughput" if config.ssm_high_throughput else "default throughput"
    return Check(
        load,
        f"Parameter Store {config.ssm_action.split(':')[1]} ({setting}; "
        f"{config.ssm_calls_per_cold_start} call(s) per cold start)",
        config.ssm_tps,
        calls_per_second,
        "calls/s",
        limits.SSM_QUOTAS_DOC,
        "ThrottlingException: the SDK retries with backoff, then the cold start fails (5xx)",
    )


def _db_check(load: str, config: Configuration, environments: int, in_flight: int) -> Check:
    if config.proxy_pool is not None:
        return Check(
            load,
            f"RDS Proxy pool on {config.db_instance_class} (max_connections {config.db_max_connections})",
            config.proxy_pool,
            in_flight,
            "connections",
            limits.RDS_PROXY_DOC,
            "wait for a pooled connection (connection_borrow_timeout), then fail",
        )
    return Check(
        load,
        f"database connections on {config.db_instance_class} (budget of max_connections {config.db_max_connections})",
        config.db_budget,
        environments,
        "connections",
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections",
        "refused by PostgreSQL (too many connections): 5xx",
    )


def cold_path_ms(config: Configuration, per_request: PerRequest) -> float:
    """A request that waits for a new environment: the measured cold start, or the SnapStart restore plus
    the request itself when the function has SnapStart."""
    if config.snap_start:
        if per_request.snap_start_restore_ms is None:
            raise CapacityInputError(
                "the API function has SnapStart, but no restore time was given (--snap-start-restore-ms): "
                "the local runtime cannot measure one"
            )
        return per_request.snap_start_restore_ms + per_request.warm_p99_ms
    return per_request.cold_start_p99_ms


def ssm_wait_s(config: Configuration, new_environments: int) -> float:
    """How long the p99 new environment waits for Parameter Store: the wave's calls drain at the TPS quota
    (the first second's worth pass at once)."""
    calls = new_environments * config.ssm_calls_per_cold_start
    return max(0.0, (1 - COLD_SHARE_FOR_P99) * calls / config.ssm_tps - 1.0)


def sustained(config: Configuration, requirement: Requirement, per_request: PerRequest) -> Outcome:
    load = f"sustained {requirement.requests_per_minute:,} req/min"
    rate = requirement.requests_per_second
    environments = warm_environments(config, rate, per_request)
    in_flight = math.ceil(rate * per_request.warm_p50_ms / 1000)
    checks = _gateway_checks(load, config, rate, 1)
    checks += _lambda_checks(load, config, environments, 0)
    checks.append(_ssm_check(load, config, 0.0))
    checks.append(_db_check(load, config, environments, in_flight))
    explanation = (
        f"{rate:,.0f} req/s x {per_request.warm_p50_ms:g} ms keeps {in_flight} environment(s) busy "
        f"({environments} warm); once warm no request waits for a new environment, so p99 is the warm p99"
    )
    return Outcome(load, checks, per_request.warm_p99_ms, explanation)


def burst(config: Configuration, requirement: Requirement, per_request: PerRequest) -> Outcome:
    load = f"{requirement.concurrent_requests:,} concurrent requests"
    concurrent = requirement.concurrent_requests
    warm = warm_environments(config, requirement.requests_per_second, per_request)
    admitted = _admitted(config, concurrent)
    executed = min(admitted, config.lambda_concurrency)
    new = max(0, executed - warm)
    init_s = cold_path_ms(config, per_request) / 1000
    checks = _gateway_checks(load, config, requirement.requests_per_second, concurrent)
    checks += _lambda_checks(load, config, admitted, max(0, admitted - warm))
    ssm_calls = 0 if config.snap_start else new * config.ssm_calls_per_cold_start
    checks.append(_ssm_check(load, config, ssm_calls / max(init_s, 1.0)))
    checks.append(_db_check(load, config, warm + new, executed))
    cold_share = new / executed if executed else 0.0
    if cold_share <= COLD_SHARE_FOR_P99:
        p99 = per_request.warm_p99_ms
        why = f"{new} of {executed} requests wait for a new environment (at most 1%): p99 is the warm p99"
    else:
        waits = [cold_path_ms(config, per_request)]
        parts = [f"cold path {waits[0]:,.0f} ms"]
        if not config.snap_start and (wait := ssm_wait_s(config, new)) > 0:
            waits.append(wait * 1000)
            parts.append(
                f"Parameter Store queue {wait:,.1f} s "
                f"({new * config.ssm_calls_per_cold_start:,} calls at {config.ssm_tps} TPS)"
            )
        if new > limits.LAMBDA_BURST_ENVIRONMENTS:
            waits.append(limits.LAMBDA_BURST_WINDOW_S * 1000 * (new // limits.LAMBDA_BURST_ENVIRONMENTS))
            parts.append("burst scaling")
        p99 = sum(waits)
        why = (
            f"the gateway admits {admitted:,}, {warm} environment(s) are warm, so {new:,} requests "
            f"({100 * cold_share:.0f}%) wait for a new one: p99 = " + " + ".join(parts)
        )
    return Outcome(load, checks, p99, why)


def held_concurrency(config: Configuration, requirement: Requirement, per_request: PerRequest) -> int:
    """The largest number of simultaneous requests all admitted and answered with a p99 within the requirement.

    The burst's p99 only grows with its size (more of it cold, a longer Parameter Store queue, burst scaling),
    so the largest such burst is found by bisection on :func:`burst`.
    """
    ceiling = min(_admitted(config, limits.API_GATEWAY_ACCOUNT_BURST), config.lambda_concurrency)

    def held(concurrent: int) -> bool:
        load = Requirement(concurrent, requirement.requests_per_minute, requirement.p99_ms)
        return burst(config, load, per_request).p99_ms < requirement.p99_ms

    low, high = 0, ceiling
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if held(middle) else (low, middle - 1)
    return low


def assess(config: Configuration, requirement: Requirement, per_request: PerRequest) -> Assessment:
    return Assessment(
        requirement=requirement,
        configuration=config,
        per_request=per_request,
        outcomes=[sustained(config, requirement, per_request), burst(config, requirement, per_request)],
        held_concurrency=held_concurrency(config, requirement, per_request),
    )


def changes_to_hold(config: Configuration, requirement: Requirement, per_request: PerRequest) -> list[str]:
    """What the configuration would need for the burst of the requirement to stay within its p99."""
    concurrent = requirement.concurrent_requests
    changes: list[str] = []
    if config.stage_burst < concurrent:
        changes.append(f"a stage burst of at least {concurrent:,} (apiThrottleBurstLimit, now {config.stage_burst})")
    if config.key_burst is not None and config.key_burst * config.api_keys < concurrent:
        changes.append(f"a usage-plan burst of at least {math.ceil(concurrent / config.api_keys):,} per key")
    if cold_path_ms(config, per_request) >= requirement.p99_ms:
        warm = math.ceil(concurrent * (1 - COLD_SHARE_FOR_P99))
        if warm_environments(config, requirement.requests_per_second, per_request) < warm:
            changes.append(
                f"{warm:,} environments ready before the burst (provisionedConcurrencyMin, now "
                f"{config.provisioned_min}): the cold path ({cold_path_ms(config, per_request):,.0f} ms) is over "
                f"{requirement.p99_ms:g} ms"
            )
    if config.lambda_concurrency < concurrent:
        changes.append(f"reserved concurrency of at least {concurrent:,} (reservedConcurrency)")
    if config.proxy_pool is not None and config.proxy_pool < concurrent:
        changes.append(
            f"a proxy pool of {concurrent:,} connections (now {config.proxy_pool}: a larger dbInstanceClass), or "
            "requests that wait for a pooled connection"
        )
    if not config.ssm_high_throughput and not config.snap_start:
        changes.append(
            "Parameter Store higher throughput for the cold-start waves that remain (an account setting, "
            f"{limits.SSM_HIGH_THROUGHPUT_SETTING})"
        )
    return changes


# -- the report -----------------------------------------------------------------------------------
def _figure(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.1f}"


def render(assessment: Assessment, title: str) -> str:
    """A Markdown report: the inputs, every limit per load with its source, the p99s and the verdict."""
    requirement, config, per = assessment.requirement, assessment.configuration, assessment.per_request
    lines = [
        f"### {title}",
        "",
        f"Requirement: {requirement.concurrent_requests:,} concurrent requests with p99 under "
        f"{requirement.p99_ms:g} ms; {requirement.requests_per_minute:,} requests a minute at peak.",
        "",
        f"Per-request inputs ({per.source}): warm p50 {per.warm_p50_ms:,.1f} ms, warm p99 {per.warm_p99_ms:,.1f} ms "
        f"(GET /orders/{{id}} through the local HTTP front); cold start p99 {per.cold_start_p99_ms:,.0f} ms"
        + (
            f", of which the uncached settings load {per.settings_load_ms:,.1f} ms (median)"
            if per.settings_load_ms is not None
            else " (the settings load within it not measured)"
        )
        + (f"; SnapStart restore {per.snap_start_restore_ms:,.0f} ms (given)" if per.snap_start_restore_ms else "")
        + ".",
        "",
        "| load | limit | allowed | demand | unit | holds | beyond it | source |",
        "| --- | --- | ---: | ---: | --- | --- | --- | --- |",
    ]
    for outcome in assessment.outcomes:
        for check in outcome.checks:
            lines.append(
                f"| {check.load} | {check.limit} | {_figure(check.allowed)} | {_figure(check.demand)} | {check.unit} | "
                f"{'yes' if check.holds else '**no**'} | {check.effect} | {check.source} |"
            )
    lines += [
        "",
        "| load | p99 | within the requirement | first limit exceeded | why |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for outcome in assessment.outcomes:
        first = outcome.first_exceeded
        within = "yes" if outcome.p99_ms < requirement.p99_ms else "**no**"
        lines.append(
            f"| {outcome.load} | {outcome.p99_ms:,.0f} ms | {within} | "
            f"{first.limit if first else 'none'} | {outcome.explanation} |"
        )
    first = assessment.first_exceeded
    lines += [
        "",
        f"- First limit hit: {first.limit if first else 'none'}"
        + (
            f" ({_figure(first.demand)} {first.unit} against {_figure(first.allowed)}: {first.effect})."
            if first
            else "."
        ),
        f"- Largest burst held with p99 under {requirement.p99_ms:g} ms: {assessment.held_concurrency:,} concurrent "
        "requests (all admitted, at most 1% waiting for a new environment).",
        f"- Configuration read from the program: API reserved concurrency {config.reserved_concurrency}, provisioned "
        f"{config.provisioned_min}-{config.provisioned_max}, SnapStart {'on' if config.snap_start else 'off'}, stage "
        f"{_figure(config.stage_rate)} req/s burst {config.stage_burst}, {config.api_keys} API key(s), settings by "
        f"{config.ssm_action}, database {config.db_instance_class}"
        + (f" through RDS Proxy (pool {config.proxy_pool})" if config.proxy_pool is not None else " direct")
        + ".",
    ]
    changes = changes_to_hold(config, requirement, per)
    if changes:
        lines.append(
            f"- To hold {requirement.concurrent_requests:,} concurrent requests under {requirement.p99_ms:g} ms:"
        )
        lines += [f"  - {change};" for change in changes[:-1]] + [f"  - {changes[-1]}."]
    return "\n".join(lines)
