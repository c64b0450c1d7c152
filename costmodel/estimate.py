"""Price the resources a stack registers under a traffic profile."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

PRICE_TABLE = Path(__file__).with_name("prices-us-east-1.json")
SECONDS_PER_MONTH = 730 * 3600
DAYS_PER_MONTH = 730 / 24
LOG_COMPRESSION = 0.25  # CloudWatch bills stored logs compressed; JSON logs compress about 4:1
LONG_POLLS_PER_QUEUE_MONTH = 5 * (SECONDS_PER_MONTH / 20)  # Lambda's 5 pollers, 20 s long polls


@dataclass(frozen=True)
class Resource:
    """What the estimate needs of a registered resource: its type, name and (camelCase) inputs."""

    type: str
    name: str
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class TrafficProfile:
    """The load the estimate assumes; every field has a config key (docs/costs.md)."""

    peak_requests_per_minute: float = 10_000
    peak_hours_per_day: float = 2
    baseline_requests_per_minute: float = 300
    api_duration_ms: float = 40
    async_share: float = 0.1
    response_kb: float = 1.0
    log_kb_per_request: float = 1.5

    def __post_init__(self) -> None:
        if not 0 <= self.peak_hours_per_day <= 24:
            raise ValueError(f"peak_hours_per_day must be between 0 and 24, got {self.peak_hours_per_day}")
        if not 0 <= self.async_share <= 1:
            raise ValueError(f"async_share must be between 0 and 1, got {self.async_share}")
        for name in (
            "peak_requests_per_minute",
            "baseline_requests_per_minute",
            "api_duration_ms",
            "response_kb",
            "log_kb_per_request",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")

    @property
    def monthly_requests(self) -> float:
        per_day = 60 * (
            self.peak_requests_per_minute * self.peak_hours_per_day
            + self.baseline_requests_per_minute * (24 - self.peak_hours_per_day)
        )
        return per_day * DAYS_PER_MONTH

    @property
    def peak_requests_per_second(self) -> float:
        return self.peak_requests_per_minute / 60

    def sustained(self, requests_per_minute: float) -> TrafficProfile:
        """The same profile with a flat rate all day."""
        return TrafficProfile(
            peak_requests_per_minute=requests_per_minute,
            peak_hours_per_day=24,
            baseline_requests_per_minute=requests_per_minute,
            api_duration_ms=self.api_duration_ms,
            async_share=self.async_share,
            response_kb=self.response_kb,
            log_kb_per_request=self.log_kb_per_request,
        )


@dataclass(frozen=True)
class Line:
    """One priced item."""

    service: str
    resource: str
    item: str
    monthly_usd: float
    scales_with_traffic: bool


@dataclass
class Estimate:
    profile: TrafficProfile
    lines: list[Line] = field(default_factory=list)
    as_of: str = ""

    @property
    def total(self) -> float:
        return sum(line.monthly_usd for line in self.lines)

    def by_service(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in self.lines:
            totals[line.service] = totals.get(line.service, 0.0) + line.monthly_usd
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    def as_json(self) -> dict[str, Any]:
        return {
            "prices_as_of": self.as_of,
            "profile": self.profile.__dict__ | {"monthly_requests": round(self.profile.monthly_requests)},
            "total_usd": round(self.total, 2),
            "by_service": {k: round(v, 2) for k, v in self.by_service().items()},
            "lines": [line.__dict__ | {"monthly_usd": round(line.monthly_usd, 2)} for line in self.lines],
        }


@cache
def load_prices(path: Path = PRICE_TABLE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        prices: dict[str, Any] = json.load(handle)
    return prices


def estimate(
    resources: Iterable[Resource], profile: TrafficProfile, prices: Mapping[str, Any] | None = None
) -> Estimate:
    """Price every resource. Unknown resource types cost nothing (IAM, routes, settings...)."""
    table = prices or load_prices()
    resources = list(resources)
    context = _Context(resources, profile, table)
    result = Estimate(profile=profile, as_of=str(table["as_of"]))
    for resource in resources:
        pricer = _PRICERS.get(resource.type)
        if pricer is not None:
            result.lines.extend(pricer(context, resource))
    result.lines.extend(_traffic_lines(context))
    return result


def max_sustained_requests_per_minute(
    resources: Iterable[Resource], profile: TrafficProfile, budget_usd: float
) -> float:
    """The highest flat request rate whose estimate stays within the budget (bisection on the model)."""
    resources = list(resources)
    low, high = 0.0, 1.0
    while estimate(resources, profile.sustained(high)).total <= budget_usd and high < 1e9:
        low, high = high, high * 2
    if estimate(resources, profile.sustained(0)).total > budget_usd:
        return 0.0
    for _ in range(40):
        middle = (low + high) / 2
        if estimate(resources, profile.sustained(middle)).total <= budget_usd:
            low = middle
        else:
            high = middle
    return low


class _Context:
    """Facts several pricers need: the stack's functions, the API function's memory, and so on."""

    def __init__(self, resources: list[Resource], profile: TrafficProfile, prices: Mapping[str, Any]) -> None:
        self.resources, self.profile, self.prices = resources, profile, prices
        self.requests = profile.monthly_requests
        self.hours = float(prices["hours_per_month"])

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def function(self, suffix: str) -> Resource | None:
        return next(
            (r for r in self.of_type("aws:lambda/function:Function") if str(r.inputs.get("name", "")).endswith(suffix)),
            None,
        )

    def primary_storage_gb(self) -> float:
        sizes = [
            float(r.inputs["allocatedStorage"])
            for r in self.of_type("aws:rds/instance:Instance")
            if r.inputs.get("allocatedStorage")
        ]
        return max(sizes, default=20.0)


def _architecture(function: Resource) -> str:
    architectures = function.inputs.get("architectures") or ["x86_64"]
    return "arm64" if architectures[0] == "arm64" else "x86_64"


def _memory_gb(function: Resource) -> float:
    return float(function.inputs.get("memorySize") or 128) / 1024


def _rds(context: _Context, r: Resource) -> list[Line]:
    table = context.prices["rds"]
    instance_class = str(r.inputs.get("instanceClass"))
    hourly = table["postgres_instance_per_hour"].get(instance_class)
    if hourly is None:
        raise ValueError(f"{r.name}: no price for instance class {instance_class!r} in {PRICE_TABLE.name}")
    factor = table["multi_az_factor"] if r.inputs.get("multiAz") else 1.0
    storage = float(r.inputs.get("allocatedStorage") or context.primary_storage_gb())
    zones = "multi-AZ" if factor > 1 else "single-AZ"
    return [
        Line("rds", r.name, f"{instance_class} {zones}", hourly * factor * context.hours, False),
        Line("rds", r.name, f"{storage:.0f} GB gp3", storage * table["gp3_gb_month"] * factor, False),
    ]


def _endpoint(context: _Context, r: Resource) -> list[Line]:
    if r.inputs.get("vpcEndpointType") != "Interface":
        return []
    zones = len(r.inputs.get("subnetIds") or [])
    rate = context.prices["vpc"]["interface_endpoint_az_hour"]
    return [Line("vpc", r.name, f"interface endpoint in {zones} AZs", zones * rate * context.hours, False)]


def _nat(context: _Context, r: Resource) -> list[Line]:
    return [Line("vpc", r.name, "NAT gateway", context.prices["vpc"]["nat_gateway_hour"] * context.hours, False)]


def _kms(context: _Context, r: Resource) -> list[Line]:
    return [Line("kms", r.name, "customer-managed key", context.prices["kms"]["key_month"], False)]


def _stage(context: _Context, r: Resource) -> list[Line]:
    if not r.inputs.get("cacheClusterEnabled"):
        return []
    size = str(r.inputs.get("cacheClusterSize") or "0.5")
    hourly = context.prices["apigateway"]["cache_per_hour"][size]
    return [Line("apigateway", r.name, f"{size} GB cache", hourly * context.hours, False)]


def _alarm(context: _Context, r: Resource) -> list[Line]:
    return [Line("cloudwatch", r.name, "alarm", context.prices["cloudwatch"]["alarm_month"], False)]


def _dashboard(context: _Context, r: Resource) -> list[Line]:
    # The first three dashboards of an account are free; assume the account has used them.
    return [Line("cloudwatch", r.name, "dashboard", context.prices["cloudwatch"]["dashboard_month"], False)]


def _secret(context: _Context, r: Resource) -> list[Line]:
    if not r.inputs.get("manageMasterUserPassword"):
        return []
    return [
        Line(
            "secretsmanager",
            r.name,
            "RDS-managed master secret",
            context.prices["secretsmanager"]["secret_month"],
            False,
        )
    ]


def _provisioned(context: _Context, r: Resource) -> list[Line]:
    """Provisioned concurrency bills per GB-second while configured, busy or idle."""
    function = context.function("-function-api")
    if function is None:
        return []
    profile, memory = context.profile, _memory_gb(function)
    price = context.prices["lambda"]["provisioned_gb_second"][_architecture(function)]
    targets = context.of_type("aws:appautoscaling/target:Target")
    floor = (
        float(targets[0].inputs.get("minCapacity", 1))
        if targets
        else float(r.inputs.get("provisionedConcurrentExecutions") or 1)
    )
    ceiling = float(targets[0].inputs.get("maxCapacity", floor)) if targets else floor
    duration_s = profile.api_duration_ms / 1000
    utilization = 0.7

    def needed(requests_per_minute: float) -> float:
        return min(ceiling, max(floor, math.ceil(requests_per_minute / 60 * duration_s / utilization)))

    peak_seconds = profile.peak_hours_per_day * 3600 * DAYS_PER_MONTH
    concurrency_seconds = needed(profile.peak_requests_per_minute) * peak_seconds + needed(
        profile.baseline_requests_per_minute
    ) * (SECONDS_PER_MONTH - peak_seconds)
    return [
        Line(
            "lambda",
            r.name,
            f"provisioned concurrency {floor:.0f}-{ceiling:.0f}",
            concurrency_seconds * memory * price,
            True,
        )
    ]


def _traffic_lines(context: _Context) -> list[Line]:
    """Everything priced per request: API Gateway, Lambda, logs, traces, queues, data transfer."""
    profile, prices, requests = context.profile, context.prices, context.requests
    lines: list[Line] = []
    if context.of_type("aws:apigateway/restApi:RestApi"):
        lines.append(
            Line("apigateway", "rest-api", f"{requests / 1e6:,.1f}M REST requests", _tiered(requests, prices), True)
        )
    api = context.function("-function-api")
    if api is not None:
        arch, memory = _architecture(api), _memory_gb(api)
        provisioned = bool(context.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"))
        rate_table = prices["lambda"]["provisioned_duration_gb_second" if provisioned else "gb_second"]
        gb_seconds = requests * profile.api_duration_ms / 1000 * memory
        lines.append(
            Line("lambda", api.name, "requests", requests / 1e6 * prices["lambda"]["requests_per_million"], True)
        )
        lines.append(Line("lambda", api.name, f"{gb_seconds:,.0f} GB-s", gb_seconds * rate_table[arch], True))
    worker = context.function("-function-worker")
    queues = context.of_type("aws:sqs/queue:Queue")
    if worker is not None and queues:
        messages = requests * profile.async_share
        sqs = prices["sqs"]
        calls = messages * 3 + LONG_POLLS_PER_QUEUE_MONTH * len(queues)
        billable = max(0.0, calls - sqs["free_requests"])
        lines.append(
            Line("sqs", "queues", f"{calls / 1e6:,.1f}M requests", billable / 1e6 * sqs["requests_per_million"], True)
        )
        gb_seconds = messages * 0.01 * _memory_gb(worker)  # about 10 ms per order inside a batch
        lines.append(
            Line(
                "lambda",
                worker.name,
                f"{gb_seconds:,.0f} GB-s",
                gb_seconds * prices["lambda"]["gb_second"][_architecture(worker)],
                True,
            )
        )
    groups = context.of_type("aws:cloudwatch/logGroup:LogGroup")
    if groups:
        ingest_gb = requests * profile.log_kb_per_request / 1024**2
        retention_days = max(float(g.inputs.get("retentionInDays") or 30) for g in groups)
        stored_gb = ingest_gb * min(retention_days, 365) / 30 * LOG_COMPRESSION
        cloudwatch = prices["cloudwatch"]
        lines.append(
            Line(
                "cloudwatch",
                "log-groups",
                f"{ingest_gb:,.1f} GB ingested",
                ingest_gb * cloudwatch["logs_ingestion_gb"],
                True,
            )
        )
        lines.append(
            Line(
                "cloudwatch",
                "log-groups",
                f"{stored_gb:,.1f} GB stored",
                stored_gb * cloudwatch["logs_storage_gb_month"],
                True,
            )
        )
    if any(
        f.inputs.get("tracingConfig", {}).get("mode") == "Active"
        for f in context.of_type("aws:lambda/function:Function")
    ):
        reservoir = SECONDS_PER_MONTH  # one traced request per second, then 5% of the rest
        traced = min(requests, reservoir + 0.05 * max(0.0, requests - reservoir))
        billable = max(0.0, traced - prices["xray"]["free_traces"])
        lines.append(
            Line(
                "xray",
                "traces",
                f"{traced / 1e6:,.1f}M traces",
                billable / 1e6 * prices["xray"]["traces_per_million"],
                True,
            )
        )
    out_gb = requests * profile.response_kb / 1024**2
    transfer = prices["data_transfer"]
    lines.append(
        Line(
            "data-transfer",
            "internet",
            f"{out_gb:,.1f} GB out",
            max(0.0, out_gb - transfer["free_gb"]) * transfer["internet_out_gb"],
            True,
        )
    )
    return lines


def rest_api_requests(requests: float, prices: Mapping[str, Any] | None = None) -> float:
    """Monthly price of REST API requests under the published volume tiers."""
    return _tiered(requests, prices or load_prices())


def _tiered(requests: float, prices: Mapping[str, Any]) -> float:
    remaining, cost = requests, 0.0
    for size, per_million in prices["apigateway"]["rest_requests_per_million_tiers"]:
        block = remaining if size is None else min(remaining, float(size))
        cost += block / 1e6 * per_million
        remaining -= block
        if remaining <= 0:
            break
    return cost


_PRICERS: dict[str, Callable[[_Context, Resource], list[Line]]] = {
    "aws:rds/instance:Instance": lambda c, r: _rds(c, r) + _secret(c, r),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint,
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:kms/key:Key": _kms,
    "aws:apigateway/stage:Stage": _stage,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": _provisioned,
}
