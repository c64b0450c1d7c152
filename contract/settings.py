"""A stack's settings: its configuration parsed and validated once, by a pure function.

:func:`parse_settings` turns the configuration Pulumi hands a program (namespaced keys to text) into
typed, frozen settings. It needs no Pulumi runtime, so the program (serverless_infra.settings reads
the configuration from the runtime and calls it), the cost estimate and the tests all parse the same
way. Defaults live in Pulumi.yaml's config schema (the CLI applies them); this module checks types,
ranges and relations between keys, and every error names the configuration key to fix, e.g.
``serverless-infra:provisionedConcurrencyMax``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from contract import limits
from contract.naming import APPLICATION, ENVIRONMENTS, REGION
from contract.parameters import PREFIX_PATTERN
from contract.workloads import APPLICATION_DATABASE_USERS

T = TypeVar("T")

_RDS_MASTER_USERNAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PG_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{1,256}$", re.UNICODE)


REGION_KEY = "aws:region"


class SettingsError(ValueError):
    """A configuration value is missing or wrong; ``key`` is the full key to fix."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class TagSettings:
    cost_center: str
    owner: str
    compliance: str


@dataclass(frozen=True)
class NetworkSettings:
    vpc_cidr: str
    availability_zone_count: int
    nat_gateway: bool
    endpoint_availability_zone_count: int


@dataclass(frozen=True)
class DatabaseSettings:
    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    read_replica_count: int
    backup_retention_days: int
    deletion_protection: bool
    final_snapshot: bool
    performance_insights_retention_days: int
    name: str
    master_username: str
    writer_user: str
    reader_user: str
    iam_auth: bool
    statement_timeout_ms: int
    connect_timeout_s: int
    proxy: bool  # functions reach the primary through RDS Proxy (dbProxy)

    @property
    def max_connections(self) -> int:
        """The instance class's default max_connections, as contract.limits estimates it."""
        return limits.rds_postgres_max_connections(limits.RDS_INSTANCE_MEMORY_GIB[self.instance_class])

    @property
    def connection_budget(self) -> int:
        """Connections the application may hold: max_connections less the reserved ones and headroom."""
        return self.max_connections - limits.RDS_RESERVED_SUPERUSER_CONNECTIONS - limits.RDS_CONNECTION_HEADROOM

    @property
    def proxy_max_connections_percent(self) -> int:
        """The proxy pool's share of max_connections: the budget, so direct connections (the migrator,
        operators) and the superuser reservation stay free."""
        return max(1, min(100, (100 * self.connection_budget) // self.max_connections))


@dataclass(frozen=True)
class ApiSettings:
    default_page_size: int
    max_page_size: int
    max_batch_orders: int


@dataclass(frozen=True)
class CacheSettings:
    parameters_max_age_s: int
    idempotency_ttl_s: int
    iam_token_refresh_margin_s: int


@dataclass(frozen=True)
class ArtifactSettings:
    noncurrent_version_days: int
    abort_incomplete_upload_days: int
    force_destroy: bool


@dataclass(frozen=True)
class ComputeSettings:
    memory_mb: int
    timeout_s: int
    reserved_concurrency: int
    provisioned_concurrency_min: int
    provisioned_concurrency_max: int
    provisioned_target_utilization: float
    concurrency_quota: int  # the account's concurrent-executions quota the stack declares
    snap_start: bool = False  # SnapStart on the API function's published versions (snapStart)


@dataclass(frozen=True)
class WorkerSettings:
    memory_mb: int
    timeout_s: int
    batch_size: int
    batching_window_s: int
    max_concurrency: int


@dataclass(frozen=True)
class QueueSettings:
    visibility_timeout_s: int
    max_receive_count: int
    retention_days: int
    dlq_retention_days: int
    dlq_visibility_timeout_s: int  # a peeked dead letter stays hidden for one whole analyzer run


@dataclass(frozen=True)
class ApiGatewaySettings:
    rate_limit: int
    burst_limit: int
    write_rate_limit: int
    cache_size_gb: str
    cache_ttl_s: int
    quota_per_day: int
    custom_domain_name: str
    custom_domain_zone_id: str
    api_key_count: int = 2  # callers with a key of their own (one ApiKey + UsagePlanKey each)


@dataclass(frozen=True)
class ObservabilitySettings:
    alarm_email: str
    monthly_budget_usd: int
    latency_p99_alarm_ms: int
    config_recorder: bool  # this stack creates the account's recorder and delivery channel
    config_recorder_exists: bool  # a recorder already records this account and region

    @property
    def config_rules(self) -> bool:
        """Config rules need a recorder: one this stack creates or one declared present."""
        return self.config_recorder or self.config_recorder_exists


@dataclass(frozen=True)
class TrafficSettings:
    """The load the cost estimate prices (the ``cost*`` keys; the program itself does not read them).

    The field names are costmodel.TrafficProfile's, so ``TrafficProfile(**asdict(settings.traffic))``.
    """

    peak_requests_per_minute: float
    peak_hours_per_day: float
    baseline_requests_per_minute: float
    api_duration_ms: float
    async_share: float
    log_kb_per_request: float
    response_kb: float


@dataclass(frozen=True)
class Settings:
    """Everything the program needs to know about one stack."""

    environment: str
    region: str
    parameter_prefix: str
    log_retention_days: int
    key_deletion_window_days: int
    tags: TagSettings
    network: NetworkSettings
    database: DatabaseSettings
    api: ApiSettings
    cache: CacheSettings
    artifacts: ArtifactSettings
    compute: ComputeSettings
    worker: WorkerSettings
    queue: QueueSettings
    gateway: ApiGatewaySettings
    observability: ObservabilitySettings
    traffic: TrafficSettings
    function_archive: str
    layer_archive: str
    migrator_timeout_s: int
    manage_api_gateway_account: bool
    operator_role_arn: str = ""  # the on-call role the key policies admit (operatorRoleArn); empty: none

    @property
    def reserved_concurrency(self) -> dict[str, int]:
        """Each workload's reserved concurrency, by workload key (contract.workloads)."""
        return {
            "api": self.compute.reserved_concurrency,
            "worker": self.worker.max_concurrency,
            "dlq-analyzer": DLQ_ANALYZER_CONCURRENCY,
            "migrator": MIGRATOR_CONCURRENCY,
        }


DLQ_ANALYZER_TIMEOUT_S = 60
DLQ_ANALYZER_CONCURRENCY = 2
MIGRATOR_CONCURRENCY = 1  # one migration at a time
DATABASE_CONNECTORS = APPLICATION_DATABASE_USERS
"""Workloads that hold IAM-authenticated connections: one as the writer role, one as the reader role."""


class ConfigReader:
    """Reads one namespace of a configuration mapping and raises an error naming the full key.

    ``values`` holds namespaced keys (``serverless-infra:vpcCidr``), as Pulumi hands a program its
    configuration (``PULUMI_CONFIG``) with the project's schema defaults applied. ``error`` is the
    exception raised for a missing or wrong value: :class:`SettingsError`, or a subclass of it the
    caller chooses (the program's makes the Pulumi CLI print it without a traceback).
    """

    def __init__(
        self, namespace: str, values: Mapping[str, str], error: Callable[[str, str], SettingsError] = SettingsError
    ) -> None:
        self.namespace = namespace
        self.values = values
        self.error = error

    def key(self, name: str) -> str:
        return f"{self.namespace}:{name}"

    def get(self, name: str) -> str | None:
        """The raw value of an optional key, None when unset."""
        return self.values.get(self.key(name))

    def fail(self, name: str, message: str) -> SettingsError:
        """The error for key ``name``, to raise."""
        return self.error(self.key(name), message)

    def text(self, name: str) -> str:
        value = self.get(name)
        if value is None or not value.strip():
            raise self.fail(name, "is required; set it with `pulumi config set`")
        return value.strip()

    def integer(self, name: str, low: int, high: int) -> int:
        raw = self.text(name)
        try:
            value = int(raw)
        except ValueError:
            raise self.fail(name, f"must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise self.fail(name, f"must be between {low} and {high}, got {value}")
        return value

    def boolean(self, name: str) -> bool:
        raw = self.text(name).lower()
        if raw not in ("true", "false"):
            raise self.fail(name, f"must be true or false, got {raw!r}")
        return raw == "true"

    def decimal(self, name: str, low: float, high: float) -> float:
        raw = self.text(name)
        try:
            value = float(raw)
        except ValueError:
            raise self.fail(name, f"must be a number, got {raw!r}") from None
        if not low <= value <= high:
            raise self.fail(name, f"must be between {low} and {high}, got {value}")
        return value

    def choice(self, name: str, choices: tuple[T, ...], convert: Callable[[str], T]) -> T:
        raw = self.text(name)
        try:
            value = convert(raw)
        except ValueError:
            value = None
        if value is None or value not in choices:
            raise self.fail(name, f"must be one of {', '.join(map(str, choices))}; got {raw!r}")
        return value

    def matching(self, name: str, pattern: re.Pattern[str], meaning: str) -> str:
        value = self.text(name)
        if not pattern.match(value):
            raise self.fail(name, f"must be {meaning}; got {value!r}")
        return value


def parse_settings(config: Mapping[str, str]) -> Settings:
    """Parse and validate one stack's configuration: namespaced keys to values, as Pulumi passes them.

    Pure: no Pulumi runtime, no files. Defaults are not applied here: Pulumi.yaml's config schema holds
    them and the CLI (or offline.project for the offline tools) applies them before a program sees the
    configuration, so a key absent here is a key nobody set. Raises :class:`SettingsError` naming the key.
    """
    region = config.get(REGION_KEY)
    if region is None:
        raise SettingsError(REGION_KEY, f"is required; set it to {REGION} (`pulumi config set {REGION_KEY} {REGION}`)")
    if region != REGION:
        raise SettingsError(REGION_KEY, f"this blueprint deploys to {REGION} only; got {region!r}")
    read = ConfigReader(APPLICATION, config)
    environment = read.choice("environment", ENVIRONMENTS, str)
    worker = _worker(read)
    settings = Settings(
        environment=environment,
        region=region,
        parameter_prefix=read.matching("parameterPrefix", PREFIX_PATTERN, "letters, digits, '_', '.', '-'"),
        log_retention_days=read.choice("logRetentionDays", limits.LOG_RETENTION_DAYS, int),
        key_deletion_window_days=read.integer("keyDeletionWindowDays", 7, 30),
        tags=_tags(read),
        network=_network(read),
        database=_database(read),
        api=_api(read),
        cache=_cache(read),
        artifacts=ArtifactSettings(
            noncurrent_version_days=read.integer("artifactNoncurrentVersionDays", 1, 3650),
            abort_incomplete_upload_days=read.integer("artifactAbortIncompleteUploadDays", 1, 365),
            force_destroy=read.boolean("artifactForceDestroy"),
        ),
        compute=_compute(read),
        worker=worker,
        queue=_queue(read, worker),
        gateway=_gateway(read),
        observability=_observability(read),
        traffic=_traffic(read),
        function_archive=read.text("functionArchive"),
        layer_archive=read.text("layerArchive"),
        migrator_timeout_s=read.integer("migratorTimeoutS", 30, 900),
        manage_api_gateway_account=read.boolean("manageApiGatewayAccount"),
        operator_role_arn=_operator_role_arn(read),
    )
    _check_concurrency(read, settings)
    _check_connections(read, settings)
    return settings


_ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def _operator_role_arn(read: ConfigReader) -> str:
    """Optional: the operator role's ARN, for the key policies (docs/iam.md creates the role)."""
    value = (read.get("operatorRoleArn") or "").strip()
    if value and not _ROLE_ARN.match(value):
        raise SettingsError(
            read.key("operatorRoleArn"),
            f"must be an IAM role ARN such as arn:aws:iam::111122223333:role/name; got {value!r}",
        )
    return value


def _check_concurrency(read: ConfigReader, settings: Settings) -> None:
    """Lambda keeps 100 executions of the account's quota unreserved; reservations share the rest.

    https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
    """
    reserved = settings.reserved_concurrency
    total, quota = sum(reserved.values()), settings.compute.concurrency_quota
    if quota - total < limits.LAMBDA_MIN_UNRESERVED_CONCURRENCY:
        detail = ", ".join(f"{key} {value}" for key, value in reserved.items())
        raise SettingsError(
            read.key("lambdaConcurrencyQuota"),
            f"({quota}) leaves {quota - total} unreserved executions after the functions reserve {total} "
            f"({detail}); Lambda keeps at least {limits.LAMBDA_MIN_UNRESERVED_CONCURRENCY} unreserved, so the "
            f"quota must be at least {total + limits.LAMBDA_MIN_UNRESERVED_CONCURRENCY}: request a raise "
            f"(Service Quotas, lambda {limits.LAMBDA_CONCURRENCY_QUOTA_CODE}) and declare it here, "
            "or reserve less",
        )


def _check_connections(read: ConfigReader, settings: Settings) -> None:
    """Without RDS Proxy every environment of a connecting function holds its own connections.

    Each of DATABASE_CONNECTORS holds one writer connection on the primary and one reader connection on
    the replica per environment (its reserved concurrency); together they must fit in the instance's
    max_connections (RDS default LEAST(DBInstanceClassMemory/9531392, 5000), contract.limits) less the
    superuser reservation and headroom. Through the proxy they share its pool instead.
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections
    """
    db = settings.database
    if db.proxy:
        return
    environments = sum(settings.reserved_concurrency[key] for key in DATABASE_CONNECTORS)
    if environments > db.connection_budget:
        raise SettingsError(
            read.key("dbProxy"),
            f"is false, so the functions can open {environments} connections on each instance "
            f"({' + '.join(DATABASE_CONNECTORS)} reserved concurrency) but {db.instance_class} allows "
            f"{db.connection_budget} (max_connections {db.max_connections} less "
            f"{limits.RDS_RESERVED_SUPERUSER_CONNECTIONS} reserved and {limits.RDS_CONNECTION_HEADROOM} "
            "headroom); set dbProxy to true, reserve less concurrency or choose a larger dbInstanceClass",
        )


def _tags(read: ConfigReader) -> TagSettings:
    meaning = "a tag value (letters, digits, spaces and _ . : / = + - @, at most 256)"
    return TagSettings(
        cost_center=read.matching("costCenter", _TAG_VALUE, meaning),
        owner=read.matching("owner", _TAG_VALUE, meaning),
        compliance=read.matching("compliance", _TAG_VALUE, meaning),
    )


def _network(read: ConfigReader) -> NetworkSettings:
    raw_cidr = read.text("vpcCidr")
    try:
        network = ipaddress.IPv4Network(raw_cidr)
    except ValueError as error:
        raise SettingsError(read.key("vpcCidr"), f"must be an IPv4 network such as 10.40.0.0/16 ({error})") from None
    if not 16 <= network.prefixlen <= 20:
        raise SettingsError(read.key("vpcCidr"), f"must be a /16 to /20 network, got /{network.prefixlen}")
    if not network.is_private:
        raise SettingsError(read.key("vpcCidr"), f"must be a private (RFC 1918) range, got {network}")
    zones = read.integer("availabilityZoneCount", 2, 6)
    endpoint_zones = read.integer("endpointAvailabilityZoneCount", 1, 6)
    if endpoint_zones > zones:
        raise SettingsError(
            read.key("endpointAvailabilityZoneCount"),
            f"is {endpoint_zones} but the VPC spans only {zones} zones (availabilityZoneCount)",
        )
    return NetworkSettings(str(network), zones, read.boolean("natGateway"), endpoint_zones)


def _database(read: ConfigReader) -> DatabaseSettings:
    identifier = "a PostgreSQL identifier (lower-case letters, digits, _; at most 63)"
    allocated = read.integer("dbAllocatedStorageGb", 20, 65536)
    maximum = read.integer("dbMaxAllocatedStorageGb", 20, 65536)
    # RDS refuses a storage autoscaling ceiling less than 10% above the allocated storage:
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html
    if maximum * 10 < allocated * 11:
        raise SettingsError(
            read.key("dbMaxAllocatedStorageGb"),
            f"({maximum}) must be at least 10% above dbAllocatedStorageGb ({allocated}), at least "
            f"{-(-allocated * 11 // 10)} GiB (an RDS storage autoscaling rule)",
        )
    insights = read.choice("dbPerformanceInsightsRetentionDays", limits.PERFORMANCE_INSIGHTS_RETENTION_DAYS, int)
    writer = read.matching("dbWriterUser", _PG_IDENTIFIER, identifier)
    reader = read.matching("dbReaderUser", _PG_IDENTIFIER, identifier)
    # RDS: 1 to 63 letters, digits or underscores, the first a letter (API_CreateDBInstance, MasterUsername).
    master = read.matching(
        "dbMasterUsername", _RDS_MASTER_USERNAME, "1 to 63 lower-case letters, digits or _, a letter first"
    )
    if len({writer, reader, master}) != 3:
        raise SettingsError(read.key("dbReaderUser"), "dbMasterUsername, dbWriterUser and dbReaderUser must all differ")
    iam_auth, proxy = read.boolean("dbIamAuth"), read.boolean("dbProxy")
    if proxy and not iam_auth:
        raise SettingsError(
            read.key("dbProxy"),
            "needs dbIamAuth true: the proxy authenticates clients and itself with IAM end to end (no secrets)",
        )
    return DatabaseSettings(
        engine_version=read.matching(
            "dbEngineVersion", re.compile(r"^1[4-9](\.\d+)?$"), "a PostgreSQL version 14 or later, e.g. 16 or 16.4"
        ),
        # Only classes whose memory contract.limits knows: the connection budget is computed from it.
        instance_class=read.choice("dbInstanceClass", tuple(limits.RDS_INSTANCE_MEMORY_GIB), str),
        allocated_storage_gb=allocated,
        max_allocated_storage_gb=maximum,
        multi_az=read.boolean("dbMultiAz"),
        read_replica_count=read.integer("dbReadReplicaCount", 1, 5),
        backup_retention_days=read.integer("dbBackupRetentionDays", 1, 35),
        deletion_protection=read.boolean("dbDeletionProtection"),
        final_snapshot=read.boolean("dbFinalSnapshot"),
        performance_insights_retention_days=insights,
        name=read.matching("dbName", _PG_IDENTIFIER, identifier),
        master_username=master,
        writer_user=writer,
        reader_user=reader,
        iam_auth=iam_auth,
        statement_timeout_ms=read.integer("dbStatementTimeoutMs", 100, 900_000),
        connect_timeout_s=read.integer("dbConnectTimeoutS", 1, 60),
        proxy=proxy,
    )


def _api(read: ConfigReader) -> ApiSettings:
    maximum = read.integer("apiMaxPageSize", 1, 1000)
    default = read.integer("apiDefaultPageSize", 1, 1000)
    if default > maximum:
        raise SettingsError(read.key("apiDefaultPageSize"), f"({default}) exceeds apiMaxPageSize ({maximum})")
    return ApiSettings(default, maximum, read.integer("apiMaxBatchOrders", 1, 500))


def _cache(read: ConfigReader) -> CacheSettings:
    return CacheSettings(
        parameters_max_age_s=read.integer("parametersMaxAgeS", 1, 86_400),
        idempotency_ttl_s=read.integer("idempotencyTtlS", 60, 30 * 86_400),
        iam_token_refresh_margin_s=read.integer("iamTokenRefreshMarginS", 10, 600),
    )


def _compute(read: ConfigReader) -> ComputeSettings:
    reserved = read.integer("reservedConcurrency", 1, 10_000)
    low = read.integer("provisionedConcurrencyMin", 0, 10_000)
    high = read.integer("provisionedConcurrencyMax", 0, 10_000)
    if high > reserved:
        raise SettingsError(
            read.key("provisionedConcurrencyMax"),
            f"({high}) exceeds reservedConcurrency ({reserved}); provisioned concurrency is drawn from the reservation",
        )
    if low > high:
        raise SettingsError(
            read.key("provisionedConcurrencyMin"), f"({low}) exceeds provisionedConcurrencyMax ({high})"
        )
    snap_start = read.boolean("snapStart")
    # Lambda refuses SnapStart on a function with provisioned concurrency:
    # https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html
    if snap_start and high > 0:
        raise SettingsError(
            read.key("snapStart"),
            f"is true but provisionedConcurrencyMax is {high}: Lambda does not support SnapStart together with "
            "provisioned concurrency; set snapStart to false or provisionedConcurrencyMin/Max to 0",
        )
    return ComputeSettings(
        memory_mb=read.integer("functionMemoryMb", 128, 10_240),
        timeout_s=read.integer("functionTimeoutS", 1, 29),
        reserved_concurrency=reserved,
        provisioned_concurrency_min=low,
        provisioned_concurrency_max=high,
        provisioned_target_utilization=read.decimal("provisionedConcurrencyTargetUtilization", 0.1, 0.9),
        concurrency_quota=read.integer("lambdaConcurrencyQuota", 100, 10_000_000),
        snap_start=snap_start,
    )


def _worker(read: ConfigReader) -> WorkerSettings:
    batch = read.integer("workerBatchSize", 1, 500)
    window = read.integer("workerBatchingWindowS", 0, 300)
    if batch > 10 and window < 1:
        raise SettingsError(
            read.key("workerBatchingWindowS"),
            f"must be at least 1 when workerBatchSize ({batch}) is above 10 (an SQS rule)",
        )
    return WorkerSettings(
        memory_mb=read.integer("workerMemoryMb", 128, 10_240),
        timeout_s=read.integer("workerTimeoutS", 1, 900),
        batch_size=batch,
        batching_window_s=window,
        max_concurrency=read.integer("workerMaxConcurrency", 2, 1000),
    )


def _queue(read: ConfigReader, worker: WorkerSettings) -> QueueSettings:
    visibility = read.integer("queueVisibilityTimeoutS", 0, 43_200)
    if visibility < 6 * worker.timeout_s:
        raise SettingsError(
            read.key("queueVisibilityTimeoutS"),
            f"({visibility}) must be at least 6 times workerTimeoutS ({worker.timeout_s}), "
            "as AWS recommends for Lambda consumers",
        )
    retention, dlq_retention = read.integer("queueRetentionDays", 1, 14), read.integer("dlqRetentionDays", 1, 14)
    # A dead letter keeps its original enqueue time, so a DLQ retention no longer than the queue's would
    # expire it at once: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    if dlq_retention <= retention:
        raise SettingsError(
            read.key("dlqRetentionDays"),
            f"({dlq_retention}) must be longer than queueRetentionDays ({retention}): a dead-lettered message keeps "
            "its original enqueue time, so it would expire from the dead-letter queue almost at once",
        )
    return QueueSettings(
        visibility_timeout_s=visibility,
        max_receive_count=read.integer("queueMaxReceiveCount", 1, 1000),
        retention_days=retention,
        dlq_retention_days=dlq_retention,
        dlq_visibility_timeout_s=DLQ_ANALYZER_TIMEOUT_S,
    )


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _gateway(read: ConfigReader) -> ApiGatewaySettings:
    # A stage, method or usage plan throttle cannot exceed the account's per-region limits (10,000
    # requests per second, burst 5,000, by default): https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
    rate, burst = read.integer("apiThrottleRateLimit", 1, 10_000), read.integer("apiThrottleBurstLimit", 1, 5_000)
    write_rate = read.integer("apiWriteThrottleRateLimit", 1, 10_000)
    if write_rate > rate:
        raise SettingsError(
            read.key("apiWriteThrottleRateLimit"), f"({write_rate}) exceeds apiThrottleRateLimit ({rate})"
        )
    domain = (read.get("customDomainName") or "").strip().lower()
    zone = (read.get("customDomainZoneId") or "").strip()
    if domain and not _DOMAIN.match(domain):
        raise SettingsError(read.key("customDomainName"), f"must be a DNS name such as api.example.com; got {domain!r}")
    if domain and not re.match(r"^Z[A-Z0-9]{1,31}$", zone):
        raise SettingsError(
            read.key("customDomainZoneId"), "must be the Route 53 hosted zone id (Z...) of customDomainName"
        )
    return ApiGatewaySettings(
        rate_limit=rate,
        burst_limit=burst,
        write_rate_limit=write_rate,
        cache_size_gb=read.choice("apiCacheSizeGb", limits.API_CACHE_CLUSTER_SIZES_GB, str),
        cache_ttl_s=read.integer("apiCacheTtlS", 0, 3600),
        quota_per_day=read.integer("apiQuotaPerDay", 1, 1_000_000_000),
        custom_domain_name=domain,
        custom_domain_zone_id=zone if domain else "",
        # API Gateway allows 10,000 API keys per account and region ("Amazon API Gateway quotas",
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
        api_key_count=read.integer("apiKeyCount", 1, 10_000),
    )


def _observability(read: ConfigReader) -> ObservabilitySettings:
    email = (read.get("alarmEmail") or "").strip()
    if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        raise SettingsError(read.key("alarmEmail"), f"must be an e-mail address; got {email!r}")
    return ObservabilitySettings(
        alarm_email=email,
        monthly_budget_usd=_monthly_budget(read),
        latency_p99_alarm_ms=read.integer("latencyP99AlarmMs", 10, 29_000),
        config_recorder=read.boolean("configRecorder"),
        config_recorder_exists=read.boolean("configRecorderExists"),
    )


TRAFFIC_KEYS = {
    "peak_requests_per_minute": "costPeakRequestsPerMinute",
    "peak_hours_per_day": "costPeakHoursPerDay",
    "baseline_requests_per_minute": "costBaselineRequestsPerMinute",
    "api_duration_ms": "costApiDurationMs",
    "async_share": "costAsyncShare",
    "log_kb_per_request": "costLogKbPerRequest",
    "response_kb": "costResponseKb",
}
"""The configuration key of each TrafficSettings field."""


def parse_traffic(config: Mapping[str, str]) -> TrafficSettings:
    """Only the traffic profile of a stack's configuration (the ``cost*`` keys), for the cost tools."""
    return _traffic(ConfigReader(APPLICATION, config))


def parse_budget(config: Mapping[str, str]) -> int:
    """Only the stack's monthly budget in USD (``monthlyBudgetUsd``), for the cost tools."""
    return _monthly_budget(ConfigReader(APPLICATION, config))


def _monthly_budget(read: ConfigReader) -> int:
    return read.integer("monthlyBudgetUsd", 1, 1_000_000)


def _traffic(read: ConfigReader) -> TrafficSettings:
    keys = TRAFFIC_KEYS
    return TrafficSettings(
        peak_requests_per_minute=read.integer(keys["peak_requests_per_minute"], 0, 10_000_000),
        peak_hours_per_day=read.decimal(keys["peak_hours_per_day"], 0, 24),
        baseline_requests_per_minute=read.integer(keys["baseline_requests_per_minute"], 0, 10_000_000),
        api_duration_ms=read.integer(keys["api_duration_ms"], 1, 900_000),
        async_share=read.decimal(keys["async_share"], 0, 1),
        log_kb_per_request=read.decimal(keys["log_kb_per_request"], 0, 1024),
        response_kb=read.decimal(keys["response_kb"], 0, 10_240),
    )
