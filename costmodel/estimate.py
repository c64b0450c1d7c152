"""Price the resources a stack registers under a traffic profile.

The estimate fails closed: every registered resource type is either in :data:`FREE_TYPES` (with the
reason it bills nothing) or has a pricing rule in ``_PRICERS``; any other type raises
:class:`UnpricedResourceError` naming it, so a budget check cannot pass a resource it did not price.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from contract.workloads import workload

PRICE_TABLE = Path(__file__).with_name("prices-us-east-1.json")
SECONDS_PER_MONTH = 730 * 3600
DAYS_PER_MONTH = 730 / 24
LOG_COMPRESSION = 0.25  # CloudWatch bills stored logs compressed; JSON logs compress about 4:1
SQS_POLLERS = 5  # Lambda's SQS event source starts with 5 pollers per queue
LONG_POLLS_PER_QUEUE_MONTH = SQS_POLLERS * (SECONDS_PER_MONTH / 20)  # 20 s long polls

# Assumptions of the model (docs/costs.md states each one).
LAMBDA_UTILIZATION = 0.7  # provisioned and warm environments are sized for 70% utilisation
WORKER_MS_PER_MESSAGE = 10  # the worker spends about 10 ms per order inside a batch
DB_QUERY_KB = 0.5  # each request sends about 0.5 KB of SQL and receives about response_kb back
DB_CPU_MS_PER_REQUEST = 2.0  # database CPU per API request (indexed reads, single-row writes)
DB_IDLE_CPU_SHARE = 0.03  # background CPU of an instance (autovacuum, replication, monitoring)
DB_WRITE_SHARE = 0.25  # share of requests that write (sync and async POSTs)
DB_KB_PER_WRITE = 2.0  # an order row with its indexes and WAL, in KB
SCHEDULED_INVOCATION_S = 1.0  # a scheduled function (the DLQ analyzer) runs about a second
ENVIRONMENT_LIFETIME_S = 2 * 3600  # Lambda recycles an environment after a few hours; with SnapStart each is a restore
CONFIG_CHANGES_PER_RESOURCE_MONTH = 4  # a weekly release touching every resource (an upper bound)
SECRET_API_CALLS_PER_MONTH = 10_000  # GetSecretValue by the proxy's new connections and the migrator
FLOW_LOG_FLOWS = 100  # concurrent flows in the VPC (function environments x their connections)
FLOW_LOG_RECORD_BYTES = 150
DEFAULT_OBJECT_MB = 50.0  # an uploaded archive whose size the estimate cannot read
UNKNOWN_SCHEDULE_PER_MINUTE = 1.0  # a schedule whose expression cannot be read: once a minute

# How each function's name ends (contract.workloads): the estimate finds the functions by it.
API_FUNCTION, WORKER_FUNCTION, DLQ_ANALYZER_FUNCTION, MIGRATOR_FUNCTION = (
    workload(key).name_suffix for key in ("api", "worker", "dlq-analyzer", "migrator")
)

# EMF custom metrics each function's code emits (powertools Metrics, default dimension "service"):
# metric name -> number of dimension sets. tests/unit/test_costs.py checks the names against the
# handlers, so a new add_metric call cannot go unpriced.
EMF_METRICS: Mapping[str, Mapping[str, int]] = {
    API_FUNCTION: {"OrdersCreated": 1, "OrderAmount": 1, "ColdStart": 1},
    WORKER_FUNCTION: {"OrdersCreated": 1, "BatchRecordsProcessed": 1, "BatchRecordsFailed": 1, "ColdStart": 1},
    DLQ_ANALYZER_FUNCTION: {"DlqMessagesByClass": 3, "DlqOldestMessageAgeSeconds": 1},  # one per FailureClass
}

# AWS Config managed rules: (periodic?, the registered types each evaluates). Periodic rules run
# daily over every resource in scope; change-triggered ones run when a resource in scope changes.
_TAGGED = "*tagged*"
CONFIG_RULE_SCOPE: Mapping[str, tuple[bool, tuple[str, ...]]] = {
    "RDS_STORAGE_ENCRYPTED": (False, ("aws:rds/instance:Instance",)),
    "RDS_INSTANCE_PUBLIC_ACCESS_CHECK": (False, ("aws:rds/instance:Instance",)),
    "RDS_MULTI_AZ_SUPPORT": (False, ("aws:rds/instance:Instance",)),
    "DB_INSTANCE_BACKUP_ENABLED": (False, ("aws:rds/instance:Instance",)),
    "RDS_INSTANCE_DELETION_PROTECTION_ENABLED": (False, ("aws:rds/instance:Instance",)),
    "RDS_INSTANCE_IAM_AUTHENTICATION_CONFIGURED": (False, ("aws:rds/instance:Instance",)),
    "S3_BUCKET_VERSIONING_ENABLED": (False, ("aws:s3/bucket:Bucket",)),
    "S3_BUCKET_SSL_REQUESTS_ONLY": (False, ("aws:s3/bucket:Bucket",)),
    "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED": (False, ("aws:s3/bucket:Bucket",)),
    "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED": (False, ("aws:s3/bucket:Bucket",)),
    "LAMBDA_INSIDE_VPC": (False, ("aws:lambda/function:Function",)),
    "CLOUDWATCH_LOG_GROUP_ENCRYPTED": (True, ("aws:cloudwatch/logGroup:LogGroup",)),
    "CW_LOGGROUP_RETENTION_PERIOD_CHECK": (True, ("aws:cloudwatch/logGroup:LogGroup",)),
    "CMK_BACKING_KEY_ROTATION_ENABLED": (True, ("aws:kms/key:Key",)),
    "SNS_ENCRYPTED_KMS": (False, ("aws:sns/topic:Topic",)),
    "API_GW_XRAY_ENABLED": (False, ("aws:apigateway/stage:Stage",)),
    "API_GW_CACHE_ENABLED_AND_ENCRYPTED": (False, ("aws:apigateway/stage:Stage",)),
    "API_GW_EXECUTION_LOGGING_ENABLED": (False, ("aws:apigateway/stage:Stage",)),
    "VPC_FLOW_LOGS_ENABLED": (True, ("aws:ec2/vpc:Vpc",)),
    "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS": (False, ("aws:iam/policy:Policy", "aws:iam/role:Role")),
    "RESTRICTED_INCOMING_TRAFFIC": (False, ("aws:ec2/securityGroup:SecurityGroup",)),
    "REQUIRED_TAGS": (False, (_TAGGED,)),
    "VPC_DEFAULT_SECURITY_GROUP_CLOSED": (False, ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",)),
}

_CONFIG = "configuration of a priced resource; AWS bills nothing for it"
FREE_TYPES: Mapping[str, str] = {
    "pulumi:pulumi:Stack": "the Pulumi stack itself, not a cloud resource",
    "aws:apigateway/account:Account": "a region setting (API Gateway's CloudWatch role)",
    "aws:apigateway/apiKey:ApiKey": _CONFIG + " (the REST API's requests are priced)",
    "aws:apigateway/deployment:Deployment": _CONFIG + " (the REST API's requests are priced)",
    "aws:apigateway/integration:Integration": _CONFIG + " (the function it calls is priced)",
    "aws:apigateway/method:Method": _CONFIG + " (requests on the REST API, detailed metrics on the method settings)",
    "aws:apigateway/resource:Resource": _CONFIG + " (the REST API's requests are priced)",
    "aws:apigateway/usagePlan:UsagePlan": _CONFIG + " (its quota and throttle are checked against the traffic)",
    "aws:apigateway/usagePlanKey:UsagePlanKey": _CONFIG,
    "aws:appautoscaling/policy:Policy": _CONFIG + " (provisioned concurrency is priced between its bounds)",
    "aws:appautoscaling/target:Target": _CONFIG + " (provisioned concurrency is priced between its bounds)",
    "aws:cfg/deliveryChannel:DeliveryChannel": _CONFIG + " (configuration items are priced on the recorder)",
    "aws:cfg/recorderStatus:RecorderStatus": _CONFIG + " (configuration items are priced on the recorder)",
    "aws:cloudwatch/eventRule:EventRule": "EventBridge rules and scheduled events on the default bus are free",
    "aws:cloudwatch/eventTarget:EventTarget": "delivering scheduled events is free (the function is priced)",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "security groups are free",
    "aws:ec2/internetGateway:InternetGateway": "internet gateways are free (data transfer out is priced)",
    "aws:ec2/route:Route": "routes are free",
    "aws:ec2/routeTable:RouteTable": "route tables are free",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "route tables are free",
    "aws:ec2/securityGroup:SecurityGroup": "security groups are free",
    "aws:ec2/subnet:Subnet": "subnets are free",
    "aws:ec2/vpc:Vpc": "a VPC is free (its endpoints, NAT gateways and flow logs are priced)",
    "aws:iam/policy:Policy": "IAM is free",
    "aws:iam/role:Role": "IAM is free",
    "aws:iam/rolePolicy:RolePolicy": "IAM is free",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM is free",
    "aws:kms/alias:Alias": "aliases are free (the key is priced)",
    "aws:lambda/alias:Alias": "aliases are free (the function is priced)",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "free; the queue polling it does is priced on SQS",
    "aws:lambda/invocation:Invocation": "one invocation per deploy: a fraction of a cent",
    "aws:lambda/layerVersion:LayerVersion": "layer storage counts against Lambda's free 75 GB of code storage",
    "aws:lambda/permission:Permission": "IAM is free",
    "aws:rds/parameterGroup:ParameterGroup": "parameter groups are free",
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": _CONFIG + " (the proxy is priced)",
    "aws:rds/proxyTarget:ProxyTarget": _CONFIG + " (the proxy is priced by its targets' vCPUs)",
    "aws:rds/subnetGroup:SubnetGroup": "subnet groups are free",
    "aws:s3/bucket:Bucket": "an empty bucket is free (its objects are priced)",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _CONFIG,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _CONFIG,
    "aws:s3/bucketPolicy:BucketPolicy": _CONFIG,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _CONFIG,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _CONFIG,
    "aws:s3/bucketVersioning:BucketVersioning": _CONFIG + " (noncurrent versions are priced with the objects)",
    "aws:scheduler/scheduleGroup:ScheduleGroup": "schedule groups are free (schedules are priced)",
    "aws:secretsmanager/secretVersion:SecretVersion": "a version of a priced secret",
    "aws:sns/topic:Topic": "alarm notifications stay within SNS's permanent free million requests",
    "aws:sns/topicPolicy:TopicPolicy": _CONFIG,
    "aws:sns/topicSubscription:TopicSubscription": "alarm notifications stay within SNS's free deliveries",
    "aws:sqs/queuePolicy:QueuePolicy": _CONFIG + " (the queues' requests are priced)",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": _CONFIG,
    "aws:sqs/redrivePolicy:RedrivePolicy": _CONFIG,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "security groups are free",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "security groups are free",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "WAF bills the web ACL (and its requests), not the association",
    "random:index/randomId:RandomId": "generated by the Pulumi engine, not a cloud resource",
    "random:index/randomPassword:RandomPassword": "generated by the Pulumi engine, not a cloud resource",
    "random:index/randomString:RandomString": "generated by the Pulumi engine, not a cloud resource",
}
FREE_TYPE_PREFIXES: Mapping[str, str] = {
    "pulumi:providers:": "a provider is configuration of the engine, not a cloud resource",
}


class UnpricedResourceError(ValueError):
    """A registered resource type with neither a pricing rule nor a reason it bills nothing."""


@dataclass(frozen=True)
class Resource:
    """What the estimate needs of a registered resource: its type, name and (camelCase) inputs."""

    type: str
    name: str
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class TrafficProfile:
    """The load the estimate assumes; every field has a config key (docs/costs.md), whose default is in
    Pulumi.yaml: contract.settings parses them (``TrafficProfile(**asdict(settings.traffic))``)."""

    peak_requests_per_minute: float
    peak_hours_per_day: float
    baseline_requests_per_minute: float
    api_duration_ms: float
    async_share: float
    response_kb: float
    log_kb_per_request: float

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
    def daily_requests(self) -> float:
        return 60 * (
            self.peak_requests_per_minute * self.peak_hours_per_day
            + self.baseline_requests_per_minute * (24 - self.peak_hours_per_day)
        )

    @property
    def monthly_requests(self) -> float:
        return self.daily_requests * DAYS_PER_MONTH

    @property
    def peak_requests_per_second(self) -> float:
        return self.peak_requests_per_minute / 60

    def periods(self) -> list[tuple[float, float]]:
        """(requests per second, seconds per month) of the busy and the quiet hours."""
        peak_seconds = self.peak_hours_per_day * 3600 * DAYS_PER_MONTH
        return [
            (self.peak_requests_per_minute / 60, peak_seconds),
            (self.baseline_requests_per_minute / 60, SECONDS_PER_MONTH - peak_seconds),
        ]

    def sustained(self, requests_per_minute: float) -> TrafficProfile:
        """The same profile with a flat rate all day."""
        return replace(
            self,
            peak_requests_per_minute=requests_per_minute,
            peak_hours_per_day=24,
            baseline_requests_per_minute=requests_per_minute,
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


def free_reason(type_token: str) -> str | None:
    """Why a resource type bills nothing, or None when it must be priced."""
    if type_token in FREE_TYPES:
        return FREE_TYPES[type_token]
    return next((reason for prefix, reason in FREE_TYPE_PREFIXES.items() if type_token.startswith(prefix)), None)


def unpriced_types(resources: Iterable[Resource]) -> list[str]:
    """Registered types with neither a pricing rule nor a reason they are free."""
    return sorted({r.type for r in resources if r.type not in _PRICERS and free_reason(r.type) is None})


def estimate(
    resources: Iterable[Resource], profile: TrafficProfile, prices: Mapping[str, Any] | None = None
) -> Estimate:
    """Price every resource; raise UnpricedResourceError on a type the model cannot price."""
    table = prices or load_prices()
    resources = list(resources)
    unknown = unpriced_types(resources)
    if unknown:
        raise UnpricedResourceError(
            f"no pricing rule for resource type(s) {', '.join(unknown)}: add a rule to costmodel/estimate.py "
            "or, if AWS bills nothing for it, an entry with the reason in FREE_TYPES"
        )
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


def max_peak_hours_per_day(resources: Iterable[Resource], profile: TrafficProfile, budget_usd: float) -> float | None:
    """The most busy hours a day (at the profile's peak and baseline rates) the budget allows.

    24 when even a whole day at the peak rate fits; None when not even an all-baseline day fits.
    """
    resources = list(resources)

    def fits(hours: float) -> bool:
        return estimate(resources, replace(profile, peak_hours_per_day=hours)).total <= budget_usd

    if fits(24):
        return 24.0
    if not fits(0):
        return None
    low, high = 0.0, 24.0
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def admission_problems(resources: Iterable[Resource], profile: TrafficProfile) -> list[str]:
    """Where the stack's own limits would refuse the traffic the estimate prices.

    The usage plan's quota (a key's requests per day, week or month) must admit the profile's
    requests, and the usage plan's and the stage's (``*/*`` method settings) rate limits its peak.
    An unknown limit (preview) is not a problem.
    """
    problems: list[str] = []
    peak_rps = profile.peak_requests_per_second
    period_days = {"DAY": 1.0, "WEEK": 7.0, "MONTH": DAYS_PER_MONTH}
    for r in resources:
        if r.type == "aws:apigateway/usagePlan:UsagePlan":
            quota = r.inputs.get("quotaSettings") or {}
            limit, period = _number(quota.get("limit")), str(quota.get("period") or "DAY")
            if limit is not None and period in period_days:
                needed = profile.daily_requests * period_days[period]
                if limit < needed:
                    problems.append(
                        f"{r.name}: the quota of {limit:,.0f} requests per {period.lower()} is below the "
                        f"{needed:,.0f} the estimate prices (apiQuotaPerDay)"
                    )
            rate = _number((r.inputs.get("throttleSettings") or {}).get("rateLimit"))
            if rate is not None and rate < peak_rps:
                problems.append(
                    f"{r.name}: the rate limit of {rate:,.0f} requests/s is below the priced peak of "
                    f"{peak_rps:,.0f} requests/s (apiThrottleRateLimit)"
                )
        elif r.type == "aws:apigateway/methodSettings:MethodSettings" and r.inputs.get("methodPath") == "*/*":
            rate = _number((r.inputs.get("settings") or {}).get("throttlingRateLimit"))
            if rate is not None and rate >= 0 and rate < peak_rps:
                problems.append(
                    f"{r.name}: the stage's rate limit of {rate:,.0f} requests/s is below the priced peak of "
                    f"{peak_rps:,.0f} requests/s (apiThrottleRateLimit)"
                )
    return problems


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def rest_api_requests(requests: float, prices: Mapping[str, Any] | None = None) -> float:
    """Monthly price of REST API requests under the published volume tiers."""
    return _tiered(requests, (prices or load_prices())["apigateway"]["rest_requests_per_million_tiers"], 1e6)


def _tiered(quantity: float, tiers: list[list[Any]], unit: float) -> float:
    remaining, cost = quantity, 0.0
    for size, price in tiers:
        block = remaining if size is None else min(remaining, float(size))
        cost += block / unit * price
        remaining -= block
        if remaining <= 0:
            break
    return cost


def sampled_traces(
    periods: Iterable[tuple[float, float]], reservoir_per_second: float = 1.0, fixed_rate: float = 0.05
) -> float:
    """Traces X-Ray records: the reservoir each second, then the fixed rate of the rest (default 1/s and 5%)."""
    return sum(
        seconds * (min(rate, reservoir_per_second) + fixed_rate * max(0.0, rate - reservoir_per_second))
        for rate, seconds in periods
    )


def schedule_per_month(expression: Any) -> float:
    """Invocations a month of an EventBridge ``rate(...)`` or ``cron(...)`` expression."""
    text = str(expression or "").strip()
    rate = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", text)
    if rate:
        minutes = int(rate.group(1)) * {"minute": 1, "hour": 60, "day": 1440}[rate.group(2).rstrip("s")]
        return SECONDS_PER_MONTH / 60 / max(minutes, 1)
    cron = re.fullmatch(r"cron\((\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+(?:\s+\S+)?\)", text)
    if cron:
        return _cron_field_count(cron.group(1), 60) * _cron_field_count(cron.group(2), 24) * DAYS_PER_MONTH
    return SECONDS_PER_MONTH / 60 * UNKNOWN_SCHEDULE_PER_MINUTE


def _cron_field_count(value: str, size: int) -> float:
    if value == "*":
        return size
    step = re.fullmatch(r"(\*|\d+)/(\d+)", value)
    if step:
        start = 0 if step.group(1) == "*" else int(step.group(1))
        return len(range(start, size, max(int(step.group(2)), 1)))
    return len(value.split(","))


class _Context:
    """Facts several pricers need: the stack's functions, the API function's memory, and so on."""

    def __init__(self, resources: list[Resource], profile: TrafficProfile, prices: Mapping[str, Any]) -> None:
        self.resources, self.profile, self.prices = resources, profile, prices
        self.requests = profile.monthly_requests
        self.hours = float(prices["hours_per_month"])

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def function(self, suffix: str) -> Resource | None:
        return next((f for f in self.of_type("aws:lambda/function:Function") if _role(f) == suffix), None)

    def primary_storage_gb(self) -> float:
        sizes = [
            float(r.inputs["allocatedStorage"])
            for r in self.of_type("aws:rds/instance:Instance")
            if isinstance(r.inputs.get("allocatedStorage"), (int, float))
        ]
        return max(sizes, default=20.0)

    def instance_storage_gb(self, r: Resource) -> float:
        storage = r.inputs.get("allocatedStorage")
        return float(storage) if isinstance(storage, (int, float)) and storage else self.primary_storage_gb()

    def cache_enabled(self) -> bool:
        return any(s.inputs.get("cacheClusterEnabled") for s in self.of_type("aws:apigateway/stage:Stage"))

    def api_environments(self) -> list[tuple[float, float]]:
        """(warm API environments, seconds) of the busy and the quiet hours."""
        api = self.function(API_FUNCTION)
        if api is None:
            return []
        floor, ceiling = self.provisioned_bounds()
        duration_s = self.profile.api_duration_ms / 1000
        return [
            (min(ceiling, max(floor, math.ceil(rate * duration_s / LAMBDA_UTILIZATION))), seconds)
            for rate, seconds in self.profile.periods()
        ]

    def provisioned_bounds(self) -> tuple[float, float]:
        targets = self.of_type("aws:appautoscaling/target:Target")
        configs = self.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
        if targets:
            floor = _number(targets[0].inputs.get("minCapacity")) or 1.0
            return floor, _number(targets[0].inputs.get("maxCapacity")) or floor
        if configs:
            floor = _number(configs[0].inputs.get("provisionedConcurrentExecutions")) or 1.0
            return floor, math.inf
        return 1.0, math.inf

    def api_sampling(self) -> tuple[float, float]:
        """(reservoir per second, fixed rate) of the sampling rule API Gateway applies; X-Ray's default without one."""
        rules = [
            r
            for r in self.of_type("aws:xray/samplingRule:SamplingRule")
            if r.inputs.get("serviceType") in ("*", "AWS::ApiGateway::Stage", None)
            and _number(r.inputs.get("reservoirSize")) is not None
            and _number(r.inputs.get("fixedRate")) is not None
        ]
        if not rules:
            return 1.0, 0.05
        rule = min(rules, key=lambda r: _number(r.inputs.get("priority")) or 0.0)
        return float(rule.inputs["reservoirSize"]), float(rule.inputs["fixedRate"])

    def worker_invocations(self) -> list[tuple[float, float]]:
        """(worker invocations per second, seconds): a batch per poller per batching window, at most one per message."""
        mapping = next(
            (
                m
                for m in self.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
                if WORKER_FUNCTION in str(m.inputs.get("functionName") or "")
            ),
            None,
        )
        batch = (_number(mapping.inputs.get("batchSize")) if mapping else None) or 10.0
        window = (_number(mapping.inputs.get("maximumBatchingWindowInSeconds")) if mapping else None) or 0.0
        result = []
        for rate, seconds in self.profile.periods():
            messages = rate * self.profile.async_share
            per_second = messages if window <= 0 else min(messages, max(messages / batch, SQS_POLLERS / window))
            result.append((per_second, seconds))
        return result

    def scheduled_per_month(self) -> float:
        """Invocations a month of every schedule the stack registers (they invoke the DLQ analyzer)."""
        rules = self.of_type("aws:cloudwatch/eventRule:EventRule") + self.of_type("aws:scheduler/schedule:Schedule")
        return sum(
            schedule_per_month(r.inputs.get("scheduleExpression")) for r in rules if "scheduleExpression" in r.inputs
        )

    def function_subnet_zones(self) -> int:
        api = self.function(API_FUNCTION) or next(iter(self.of_type("aws:lambda/function:Function")), None)
        subnets = list(((api.inputs.get("vpcConfig") or {}).get("subnetIds") or []) if api else [])
        zones = {
            s.inputs.get("availabilityZone")
            for s in self.of_type("aws:ec2/subnet:Subnet")
            if any(isinstance(i, str) and i.startswith(s.name) for i in subnets)
        }
        return len(zones - {None}) or len(subnets)


def _role(function: Resource) -> str:
    name = str(function.inputs.get("name") or function.name)
    return next((suffix for suffix in (*EMF_METRICS, MIGRATOR_FUNCTION) if name.endswith(suffix)), "")


def _architecture(function: Resource) -> str:
    architectures = function.inputs.get("architectures") or ["x86_64"]
    return "arm64" if architectures[0] == "arm64" else "x86_64"


def _memory_gb(function: Resource) -> float:
    return float(function.inputs.get("memorySize") or 128) / 1024


def _instance_class(context: _Context, r: Resource, table: str) -> tuple[str, Any]:
    instance_class = str(r.inputs.get("instanceClass"))
    value = context.prices["rds"][table].get(instance_class)
    if value is None:
        raise ValueError(f"{r.name}: no {table} for instance class {instance_class!r} in {PRICE_TABLE.name}")
    return instance_class, value


def _rds(context: _Context, r: Resource) -> list[Line]:
    table = context.prices["rds"]
    instance_class, hourly = _instance_class(context, r, "postgres_instance_per_hour")
    factor = table["multi_az_factor"] if r.inputs.get("multiAz") else 1.0
    storage = context.instance_storage_gb(r)
    zones = "multi-AZ" if factor > 1 else "single-AZ"
    lines = [
        Line("rds", r.name, f"{instance_class} {zones}", hourly * factor * context.hours, False),
        Line("rds", r.name, f"{storage:.0f} GB gp3", storage * table["gp3_gb_month"] * factor, False),
    ]
    return lines + _cpu_credits(context, r, instance_class) + _backups(context, r, storage) + _secret(context, r)


def _cpu_credits(context: _Context, r: Resource, instance_class: str) -> list[Line]:
    """Unlimited-mode surplus credits of a burstable instance, when its daily CPU exceeds its baseline."""
    table = context.prices["rds"]
    baseline = table["burstable_baseline_per_vcpu"].get(instance_class)
    if not instance_class.startswith("db.t"):
        return []
    if baseline is None:
        raise ValueError(f"{r.name}: no burstable baseline for {instance_class!r} in {PRICE_TABLE.name}")
    _, vcpus = _instance_class(context, r, "vcpus")
    # Every request's database CPU is counted on every instance: an upper bound for the replica.
    used_vcpu_hours = context.requests * DB_CPU_MS_PER_REQUEST / 1000 / 3600 + DB_IDLE_CPU_SHARE * vcpus * context.hours
    earned_vcpu_hours = baseline * vcpus * context.hours
    surplus = max(0.0, used_vcpu_hours - earned_vcpu_hours)
    share = used_vcpu_hours / (vcpus * context.hours)
    return [
        Line(
            "rds",
            r.name,
            f"CPU credits ({share:.0%} used, {baseline:.0%} baseline)",
            surplus * table["cpu_credits_vcpu_hour"],
            True,
        )
    ]


def _backups(context: _Context, r: Resource, storage_gb: float) -> list[Line]:
    """Automated backups beyond the free amount (100% of the region's provisioned storage)."""
    retention = _number(r.inputs.get("backupRetentionPeriod")) or 0.0
    if retention <= 0 or r.inputs.get("replicateSourceDb"):
        return []
    daily_change_gb = context.profile.daily_requests * DB_WRITE_SHARE * DB_KB_PER_WRITE / 1024**2
    backup_gb = storage_gb + retention * daily_change_gb
    free_gb = sum(context.instance_storage_gb(i) for i in context.of_type("aws:rds/instance:Instance"))
    billable = max(0.0, backup_gb - free_gb)
    return [
        Line(
            "rds",
            r.name,
            f"{backup_gb:,.0f} GB backups ({free_gb:,.0f} free)",
            billable * context.prices["rds"]["backup_gb_month"],
            True,
        )
    ]


def _proxy(context: _Context, r: Resource) -> list[Line]:
    """RDS Proxy bills per vCPU-hour of its target instances, at least 2 vCPUs."""
    table = context.prices["rds"]
    instances = context.of_type("aws:rds/instance:Instance")
    targets = [
        t
        for t in context.of_type("aws:rds/proxyTarget:ProxyTarget")
        if t.inputs.get("dbProxyName") in (None, r.inputs.get("name"))
    ]
    vcpus = 0.0
    for target in targets:
        identifier = target.inputs.get("dbInstanceIdentifier")
        instance = next((i for i in instances if i.inputs.get("identifier") == identifier), None)
        if instance is None:  # unknown during preview: the primary (the largest writer)
            writers = [i for i in instances if not i.inputs.get("replicateSourceDb")]
            instance = max(writers, key=lambda i: _instance_class(context, i, "vcpus")[1], default=None)
        if instance is not None:
            vcpus += _instance_class(context, instance, "vcpus")[1]
    billed = max(float(table["proxy_min_vcpus"]), vcpus)
    return [
        Line("rds", r.name, f"RDS Proxy, {billed:.0f} vCPUs", billed * table["proxy_vcpu_hour"] * context.hours, False)
    ]


def _endpoint(context: _Context, r: Resource) -> list[Line]:
    if r.inputs.get("vpcEndpointType") != "Interface":
        return []
    zones = len(r.inputs.get("subnetIds") or [])
    rate = context.prices["vpc"]["interface_endpoint_az_hour"]
    return [Line("vpc", r.name, f"interface endpoint in {zones} AZs", zones * rate * context.hours, False)]


def _nat(context: _Context, r: Resource) -> list[Line]:
    return [Line("vpc", r.name, "NAT gateway", context.prices["vpc"]["nat_gateway_hour"] * context.hours, False)]


def _eip(context: _Context, r: Resource) -> list[Line]:
    return [
        Line("vpc", r.name, "public IPv4 address", context.prices["vpc"]["public_ipv4_hour"] * context.hours, False)
    ]


def _kms(context: _Context, r: Resource) -> list[Line]:
    table = context.prices["kms"]
    lines = [Line("kms", r.name, "customer-managed key", table["key_month"], False)]
    if r.inputs.get("enableKeyRotation"):
        # Steady state: the first and second rotations each add a billed key version; later ones are free.
        versions = table["billed_rotations"]
        lines.append(
            Line("kms", r.name, f"{versions} rotated key versions", versions * table["rotated_version_month"], False)
        )
    return lines


def _stage(context: _Context, r: Resource) -> list[Line]:
    if not r.inputs.get("cacheClusterEnabled"):
        return []
    size = str(r.inputs.get("cacheClusterSize") or "0.5")
    hourly = context.prices["apigateway"]["cache_per_hour"][size]
    return [Line("apigateway", r.name, f"{size} GB cache", hourly * context.hours, False)]


def _method_settings(context: _Context, r: Resource) -> list[Line]:
    """Detailed (per-method) metrics, billed as custom metrics, on the methods these settings cover."""
    if not (r.inputs.get("settings") or {}).get("metricsEnabled"):
        return []
    if r.inputs.get("methodPath") == "*/*":  # every method without settings of its own
        others = len(context.of_type("aws:apigateway/methodSettings:MethodSettings")) - 1
        methods = max(0, len(context.of_type("aws:apigateway/method:Method")) - others)
    else:
        methods = 1
    table = context.prices["apigateway"]
    per_method = table["detailed_metrics_per_method"] + (
        table["cache_metrics_per_method"] if context.cache_enabled() else 0
    )
    metrics = methods * per_method
    return [
        Line(
            "cloudwatch",
            r.name,
            f"{metrics} API detailed metrics ({methods} methods)",
            metrics * context.prices["cloudwatch"]["metric_month"],
            False,
        )
    ]


def _alarm(context: _Context, r: Resource) -> list[Line]:
    """A standard-resolution alarm bills per alarm metric: one, or each metric a metric-math alarm reads."""
    queries = r.inputs.get("metricQueries")
    metrics = sum(1 for q in queries if isinstance(q, Mapping) and q.get("metric")) if queries else 1
    item = "alarm" if not queries else f"metric-math alarm ({metrics} metrics)"
    return [Line("cloudwatch", r.name, item, max(metrics, 1) * context.prices["cloudwatch"]["alarm_month"], False)]


def _composite_alarm(context: _Context, r: Resource) -> list[Line]:
    return [Line("cloudwatch", r.name, "composite alarm", context.prices["cloudwatch"]["composite_alarm_month"], False)]


def _budget(context: _Context, r: Resource) -> list[Line]:
    # The account's first two budgets are free; assume other budgets use them (as with dashboards).
    table = context.prices["budgets"]
    return [Line("budgets", r.name, "budget", table["budget_day"] * DAYS_PER_MONTH, False)]


def _dashboard(context: _Context, r: Resource) -> list[Line]:
    # The first three dashboards of an account are free; assume the account has used them.
    return [Line("cloudwatch", r.name, "dashboard", context.prices["cloudwatch"]["dashboard_month"], False)]


def _secret(context: _Context, r: Resource) -> list[Line]:
    if not r.inputs.get("manageMasterUserPassword"):
        return []
    table = context.prices["secretsmanager"]
    return [Line("secretsmanager", r.name, "RDS-managed master secret", table["secret_month"], False)]


def _secrets_manager_secret(context: _Context, r: Resource) -> list[Line]:
    table = context.prices["secretsmanager"]
    calls = SECRET_API_CALLS_PER_MONTH / 10_000 * table["api_calls_per_10k"]
    return [
        Line("secretsmanager", r.name, "secret", table["secret_month"], False),
        Line("secretsmanager", r.name, f"{SECRET_API_CALLS_PER_MONTH:,} API calls", calls, False),
    ]


def _parameter(context: _Context, r: Resource) -> list[Line]:
    """Standard parameters are free (their KMS decryptions are priced with the functions' reads)."""
    if r.inputs.get("tier") not in ("Advanced", "Intelligent-Tiering"):
        return []
    return [Line("ssm", r.name, "advanced parameter", context.prices["ssm"]["advanced_parameter_month"], False)]


def _function(context: _Context, r: Resource) -> list[Line]:
    """Per-function charges: EMF custom metrics and, for the API and the worker, invocations."""
    prices, profile, role = context.prices, context.profile, _role(r)
    arch, memory = _architecture(r), _memory_gb(r)
    lines: list[Line] = []
    if role == API_FUNCTION:
        requests = context.requests
        provisioned = bool(context.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"))
        rate_table = prices["lambda"]["provisioned_duration_gb_second" if provisioned else "gb_second"]
        gb_seconds = requests * profile.api_duration_ms / 1000 * memory
        lines.append(
            Line("lambda", r.name, "requests", requests / 1e6 * prices["lambda"]["requests_per_million"], True)
        )
        lines.append(Line("lambda", r.name, f"{gb_seconds:,.0f} GB-s", gb_seconds * rate_table[arch], True))
        if snap_start(r):
            lines += _snap_start(context, r)
    elif role == WORKER_FUNCTION and context.of_type("aws:sqs/queue:Queue"):
        messages = context.requests * profile.async_share
        invocations = sum(rate * seconds for rate, seconds in context.worker_invocations())
        gb_seconds = messages * WORKER_MS_PER_MESSAGE / 1000 * memory
        lines.append(
            Line("lambda", r.name, "requests", invocations / 1e6 * prices["lambda"]["requests_per_million"], True)
        )
        lines.append(
            Line("lambda", r.name, f"{gb_seconds:,.0f} GB-s", gb_seconds * prices["lambda"]["gb_second"][arch], True)
        )
    elif role == DLQ_ANALYZER_FUNCTION:
        invocations = context.scheduled_per_month()
        if invocations:
            gb_seconds = invocations * SCHEDULED_INVOCATION_S * memory
            cost = (
                invocations / 1e6 * prices["lambda"]["requests_per_million"]
                + gb_seconds * prices["lambda"]["gb_second"][arch]
            )
            lines.append(Line("lambda", r.name, f"{invocations:,.0f} scheduled runs", cost, False))
    metrics = sum(EMF_METRICS.get(role, {}).values())
    if metrics:
        lines.append(
            Line(
                "cloudwatch",
                r.name,
                f"{metrics} EMF custom metrics",
                metrics * prices["cloudwatch"]["metric_month"],
                False,
            )
        )
    return lines


def snap_start(function: Resource) -> bool:
    """Whether the function snapshots its published versions (snap_start apply_on PublishedVersions)."""
    return (function.inputs.get("snapStart") or {}).get("applyOn") == "PublishedVersions"


def snapstart_restores_per_month(context: _Context) -> float:
    """New API environments a month, each resumed from the snapshot: the busy hours' growth once a day, and
    every environment replaced once per ENVIRONMENT_LIFETIME_S while it is needed."""
    environments = context.api_environments()
    if not environments:
        return 0.0
    counts = [count for count, _ in environments]
    growth = (max(counts) - min(counts)) * DAYS_PER_MONTH if context.profile.peak_hours_per_day < 24 else 0.0
    recycled = sum(count * seconds / ENVIRONMENT_LIFETIME_S for count, seconds in environments)
    return growth + recycled


def _snap_start(context: _Context, r: Resource) -> list[Line]:
    """SnapStart (Python): the cache, per GB-second of the function's memory for as long as the version the
    alias points at is active (one version, all month; at least 3 hours), and each restore, per GB restored."""
    table, memory = context.prices["lambda"], _memory_gb(r)
    cached_s = max(SECONDS_PER_MONTH, float(table["snapstart_cache_min_seconds"]))
    restores = snapstart_restores_per_month(context)
    return [
        Line(
            "lambda",
            r.name,
            "SnapStart cache (1 active version)",
            cached_s * memory * table["snapstart_cache_gb_second"],
            False,
        ),
        Line(
            "lambda",
            r.name,
            f"SnapStart {restores:,.0f} restores",
            restores * memory * table["snapstart_restore_gb"],
            True,
        ),
    ]


def _provisioned(context: _Context, r: Resource) -> list[Line]:
    """Provisioned concurrency bills per GB-second while configured, busy or idle."""
    function = context.function(API_FUNCTION)
    if function is None:
        return []
    price = context.prices["lambda"]["provisioned_gb_second"][_architecture(function)]
    floor, ceiling = context.provisioned_bounds()
    concurrency_seconds = sum(environments * seconds for environments, seconds in context.api_environments())
    ceiling_text = "" if math.isinf(ceiling) else f"-{ceiling:.0f}"
    return [
        Line(
            "lambda",
            r.name,
            f"provisioned concurrency {floor:.0f}{ceiling_text}",
            concurrency_seconds * _memory_gb(function) * price,
            True,
        )
    ]


def _flow_log(context: _Context, r: Resource) -> list[Line]:
    """VPC flow logs to CloudWatch Logs: vended-log ingestion and compressed storage."""
    interval = _number(r.inputs.get("maxAggregationInterval")) or 600.0
    records = FLOW_LOG_FLOWS * SECONDS_PER_MONTH / interval
    gb = records * FLOW_LOG_RECORD_BYTES / 1024**3
    cloudwatch = context.prices["cloudwatch"]
    stored = gb * 12 * LOG_COMPRESSION  # up to a year kept
    cost = gb * cloudwatch["vended_logs_ingestion_gb"] + stored * cloudwatch["logs_storage_gb_month"]
    return [Line("cloudwatch", r.name, f"{gb:,.2f} GB flow logs", cost, False)]


def _bucket_object(context: _Context, r: Resource) -> list[Line]:
    """An uploaded archive: S3 Standard storage for it and one noncurrent version."""
    size_mb = _object_mb(r.inputs.get("source")) or _object_mb(r.inputs.get("content")) or DEFAULT_OBJECT_MB
    gb = 2 * size_mb / 1024
    return [Line("s3", r.name, f"{size_mb:,.0f} MB object", gb * context.prices["s3"]["standard_gb_month"], False)]


def _object_mb(source: Any) -> float | None:
    if isinstance(source, str):
        return len(source.encode()) / 1024**2 if source else None
    path = source.get("path") if isinstance(source, Mapping) else getattr(source, "path", None)
    if isinstance(path, str):
        try:
            return Path(path).stat().st_size / 1024**2
        except OSError:
            return None
    return None


def _schedule(context: _Context, r: Resource) -> list[Line]:
    table = context.prices["eventbridge"]
    invocations = schedule_per_month(r.inputs.get("scheduleExpression"))
    # The free 14 million a month are the account's; this stack's schedules are assumed to use them.
    billable = max(0.0, invocations - table["scheduler_free_invocations"])
    return [
        Line(
            "eventbridge",
            r.name,
            f"{invocations:,.0f} scheduled invocations",
            billable / 1e6 * table["scheduler_invocations_per_million"],
            False,
        )
    ]


def _config_recorder(context: _Context, r: Resource) -> list[Line]:
    """Configuration items: every recorded resource of the stack, each change once."""
    recorded = [x for x in context.resources if not x.type.startswith(("pulumi:", "random:"))]
    items = len(recorded) * CONFIG_CHANGES_PER_RESOURCE_MONTH
    return [
        Line(
            "config",
            r.name,
            f"{items:,} configuration items",
            items * context.prices["config"]["configuration_item"],
            False,
        )
    ]


def _in_traffic_lines(_: _Context, __: Resource) -> list[Line]:
    """Priced together with the others of its type in _traffic_lines (shared free tiers, tiers)."""
    return []


def _traffic_lines(context: _Context) -> list[Line]:
    return [
        *_sqs_lines(context),
        *_log_lines(context),
        *_xray_lines(context),
        *_kms_request_lines(context),
        *_config_rule_lines(context),
        *_transfer_lines(context),
    ]


def _sqs_lines(context: _Context) -> list[Line]:
    queues = context.of_type("aws:sqs/queue:Queue")
    if not queues:
        return []
    sqs = context.prices["sqs"]
    polled = len(context.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")) or len(queues)
    messages = context.requests * context.profile.async_share if context.function(WORKER_FUNCTION) else 0.0
    scheduled = 3 * context.scheduled_per_month()  # the analyzer's depth, receive and release on each run
    calls = messages * 3 + LONG_POLLS_PER_QUEUE_MONTH * polled + scheduled
    billable = max(0.0, calls - sqs["free_requests"])
    return [Line("sqs", "queues", f"{calls / 1e6:,.1f}M requests", billable / 1e6 * sqs["requests_per_million"], True)]


def _log_lines(context: _Context) -> list[Line]:
    groups = context.of_type("aws:cloudwatch/logGroup:LogGroup")
    if not groups:
        return []
    ingest_gb = context.requests * context.profile.log_kb_per_request / 1024**2
    retention_days = max(float(g.inputs.get("retentionInDays") or 30) for g in groups)
    stored_gb = ingest_gb * min(retention_days, 365) / 30 * LOG_COMPRESSION
    cloudwatch = context.prices["cloudwatch"]
    return [
        Line(
            "cloudwatch",
            "log-groups",
            f"{ingest_gb:,.1f} GB ingested",
            ingest_gb * cloudwatch["logs_ingestion_gb"],
            True,
        ),
        Line(
            "cloudwatch",
            "log-groups",
            f"{stored_gb:,.1f} GB stored",
            stored_gb * cloudwatch["logs_storage_gb_month"],
            True,
        ),
    ]


def _xray_lines(context: _Context) -> list[Line]:
    """Each actively traced function samples its own invocations (API requests carry API Gateway's trace)."""
    traced: list[tuple[str, float]] = []
    for function in context.of_type("aws:lambda/function:Function"):
        if (function.inputs.get("tracingConfig") or {}).get("mode") != "Active":
            continue
        role = _role(function)
        if role == API_FUNCTION:
            count = sampled_traces(context.profile.periods(), *context.api_sampling())
        elif role == WORKER_FUNCTION:
            count = sampled_traces(context.worker_invocations())
        elif role == DLQ_ANALYZER_FUNCTION:
            count = sampled_traces([(context.scheduled_per_month() / SECONDS_PER_MONTH, SECONDS_PER_MONTH)])
        else:
            count = 0.0  # invoked once per deploy
        if count:
            traced.append((function.name, count))
    total = sum(count for _, count in traced)
    if not total:
        return []
    xray = context.prices["xray"]
    cost = max(0.0, total - xray["free_traces"]) / 1e6 * xray["traces_per_million"]
    return [Line("xray", name, f"{count / 1e6:,.2f}M traces", cost * count / total, True) for name, count in traced]


def _kms_request_lines(context: _Context) -> list[Line]:
    """KMS requests: SecureString decryptions on each parameter refresh, SQS data keys."""
    secure = sum(1 for p in context.of_type("aws:ssm/parameter:Parameter") if p.inputs.get("type") == "SecureString")
    environment_seconds = 0.0
    for function in context.of_type("aws:lambda/function:Function"):
        variables = (function.inputs.get("environment") or {}).get("variables") or {}
        if "PARAMETER_PREFIX" not in variables:
            continue
        max_age = float(variables.get("POWERTOOLS_PARAMETERS_MAX_AGE") or 5)
        role = _role(function)
        if role == API_FUNCTION:
            warm = sum(envs * seconds for envs, seconds in context.api_environments())
        elif role == WORKER_FUNCTION:
            warm = SECONDS_PER_MONTH if context.requests * context.profile.async_share else 0.0
        elif role == DLQ_ANALYZER_FUNCTION:
            warm = min(SECONDS_PER_MONTH, context.scheduled_per_month() * max(max_age, 1.0))
        else:
            warm = 0.0
        environment_seconds += warm / max(max_age, 1.0)
    # Upper bound: every function reads every SecureString (each reads only its own categories).
    decrypts = environment_seconds * secure
    data_keys = 0.0
    for queue in context.of_type("aws:sqs/queue:Queue"):
        if queue.inputs.get("kmsMasterKeyId"):
            reuse = _number(queue.inputs.get("kmsDataKeyReusePeriodSeconds")) or 300.0
            data_keys += 2 * SECONDS_PER_MONTH / reuse  # the producer's GenerateDataKey, the consumer's Decrypt
    requests = decrypts + data_keys
    if not requests:
        return []
    kms = context.prices["kms"]
    cost = max(0.0, requests - kms["free_requests"]) / 10_000 * kms["requests_per_10k"]
    return [
        Line(
            "kms",
            "requests",
            f"{requests / 1e3:,.0f}k requests ({secure} SecureStrings)",
            cost,
            True,
        )
    ]


def _config_rule_lines(context: _Context) -> list[Line]:
    rules = context.of_type("aws:cfg/rule:Rule")
    if not rules:
        return []
    tagged = sum(1 for r in context.resources if isinstance(r.inputs.get("tags"), Mapping))
    evaluations = 0.0
    for rule in rules:
        identifier = str((rule.inputs.get("source") or {}).get("sourceIdentifier") or "")
        # An unknown rule: daily over every tagged resource, an upper bound.
        periodic, scope = CONFIG_RULE_SCOPE.get(identifier, (True, (_TAGGED,)))
        in_scope = sum(tagged if t == _TAGGED else len(context.of_type(t)) for t in scope)
        evaluations += in_scope * (DAYS_PER_MONTH if periodic else CONFIG_CHANGES_PER_RESOURCE_MONTH)
    cost = _tiered(evaluations, context.prices["config"]["rule_evaluation_tiers"], 1.0)
    return [Line("config", "rules", f"{evaluations:,.0f} rule evaluations ({len(rules)} rules)", cost, False)]


def _transfer_lines(context: _Context) -> list[Line]:
    profile, transfer = context.profile, context.prices["data_transfer"]
    out_gb = context.requests * profile.response_kb / 1024**2
    lines = [
        Line(
            "data-transfer",
            "internet",
            f"{out_gb:,.1f} GB out",
            max(0.0, out_gb - transfer["free_gb"]) * transfer["internet_out_gb"],
            True,
        )
    ]
    zones = context.function_subnet_zones()
    if context.of_type("aws:rds/instance:Instance") and zones > 1:
        # Functions spread over the zones; the database answers from one: (n-1)/n of its traffic
        # crosses a zone boundary, billed on both sides. Replication to replicas is free.
        crossing_gb = context.requests * (DB_QUERY_KB + profile.response_kb) / 1024**2 * (zones - 1) / zones
        lines.append(
            Line(
                "data-transfer",
                "inter-az",
                f"{crossing_gb:,.1f} GB function-database across AZs",
                crossing_gb * 2 * transfer["inter_az_gb_each_way"],
                True,
            )
        )
    return lines


_PRICERS: dict[str, Callable[[_Context, Resource], list[Line]]] = {
    "aws:apigateway/methodSettings:MethodSettings": _method_settings,
    "aws:apigateway/restApi:RestApi": lambda c, r: [
        Line(
            "apigateway",
            r.name,
            f"{c.requests / 1e6:,.1f}M REST requests",
            rest_api_requests(c.requests, c.prices),
            True,
        )
    ],
    "aws:apigateway/stage:Stage": _stage,
    "aws:budgets/budget:Budget": _budget,
    "aws:cfg/recorder:Recorder": _config_recorder,
    "aws:cfg/rule:Rule": _in_traffic_lines,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": _composite_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:cloudwatch/logGroup:LogGroup": _in_traffic_lines,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/flowLog:FlowLog": _flow_log,
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint,
    "aws:kms/key:Key": _kms,
    "aws:lambda/function:Function": _function,
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": _provisioned,
    "aws:rds/instance:Instance": _rds,
    "aws:rds/proxy:Proxy": _proxy,
    "aws:s3/bucketObject:BucketObject": _bucket_object,
    "aws:s3/bucketObjectv2:BucketObjectv2": _bucket_object,
    "aws:scheduler/schedule:Schedule": _schedule,
    "aws:secretsmanager/secret:Secret": _secrets_manager_secret,
    "aws:sqs/queue:Queue": _in_traffic_lines,
    "aws:ssm/parameter:Parameter": _parameter,
    "aws:xray/samplingRule:SamplingRule": _in_traffic_lines,
}
