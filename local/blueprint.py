"""What the program declares for a stack, as the local stack builds it: the program's twin.

:func:`materialize` runs the Pulumi program for a stack under the offline mocks (the capture the
gate uses, :func:`offline.harness.run_program`) and reads the registered resources into the plain,
frozen descriptions below. The local stack is built from these alone; local/ keeps no definition of
its own of a function, queue, route, parameter or limit. Values the mocks cannot give (a generated
password, an ARN) get local stand-ins, said where they are made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FunctionBlueprint:
    """One ``aws:lambda/function:Function`` with its alias."""

    key: str  # the workload key (contract.workloads): api, worker, dlq-analyzer, migrator
    name: str  # the function name
    handler: str
    runtime: str  # e.g. "python3.12"
    architecture: str  # "arm64" or "x86_64"
    timeout_s: int
    memory_mb: int
    reserved_concurrency: int | None  # None: unreserved
    environment: Mapping[str, str]  # the variables the program sets (values known offline)
    layers: tuple[str, ...]  # layer version ARNs
    role_name: str
    alias: str | None  # the alias traffic goes to ("live"), if any
    provisioned_concurrency: int = 0


@dataclass(frozen=True)
class RedriveBlueprint:
    dead_letter_queue: str  # queue name
    max_receive_count: int


@dataclass(frozen=True)
class QueueBlueprint:
    """One ``aws:sqs/queue:Queue``."""

    name: str
    visibility_timeout_s: int
    message_retention_s: int
    delay_s: int = 0
    receive_wait_s: int = 0
    max_message_bytes: int = 262_144
    fifo: bool = False
    kms_key_id: str | None = None
    redrive: RedriveBlueprint | None = None
    kms_key: str | None = None  # the KeyBlueprint.logical_name of kms_key_id, for a local key to stand in
    url: str = ""  # the program's URL and ARN, as other resources (function environments) name the queue
    arn: str = ""


@dataclass(frozen=True)
class MappingBlueprint:
    """One ``aws:lambda/eventSourceMapping:EventSourceMapping`` from a queue."""

    function_name: str  # the function (the alias it names is resolved to the function)
    queue_name: str
    batch_size: int
    batching_window_s: int
    function_response_types: tuple[str, ...]  # e.g. ("ReportBatchItemFailures",)
    maximum_concurrency: int | None
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleBlueprint:
    """An EventBridge rule with a schedule that targets a function."""

    rule_name: str
    schedule_expression: str  # "rate(5 minutes)", "cron(...)"
    function_name: str


@dataclass(frozen=True)
class ParameterBlueprint:
    """One ``aws:ssm/parameter:Parameter``; ``value`` None when only AWS would know it (made locally)."""

    name: str
    type: str  # String | StringList | SecureString
    value: str | None
    key_id: str | None = None
    kms_key: str | None = None  # the KeyBlueprint.logical_name of key_id
    description: str = ""
    stand_in: str | None = None  # a computed value as the mocks gave it (their stand-ins in place of AWS's values)


@dataclass(frozen=True)
class KeyBlueprint:
    """One ``aws:kms/key:Key`` with its aliases and key policy (JSON)."""

    logical_name: str
    description: str
    aliases: tuple[str, ...]
    policy: str | None
    arn: str = ""  # the key's ARN as the program (under the mocks) knows it, which its policies name


@dataclass(frozen=True)
class RoleBlueprint:
    """One ``aws:iam/role:Role``: its trust policy, inline policies and managed policy ARNs (JSON texts)."""

    name: str
    assume_role_policy: str
    inline_policies: Mapping[str, str] = field(default_factory=dict)
    managed_policy_arns: tuple[str, ...] = ()


@dataclass(frozen=True)
class MethodBlueprint:
    """One method on one resource of the REST API, with its integration."""

    resource_path: str  # "/orders/{order_id}"
    http_method: str  # GET, POST, ... or ANY
    api_key_required: bool
    authorization: str  # NONE, AWS_IAM, ...
    function_name: str | None  # the proxy integration's function (alias resolved), None for a mock
    integration_timeout_ms: int = 29_000
    cache_key_parameters: tuple[str, ...] = ()  # e.g. "method.request.querystring.limit"
    request_parameters: Mapping[str, bool] = field(default_factory=dict)

    @property
    def resource(self) -> str:
        """``resource_path``, under the name the gateway's event building reads."""
        return self.resource_path

    @property
    def api_key(self) -> bool:
        """``api_key_required``, under the name the gateway's key check reads."""
        return self.api_key_required


@dataclass(frozen=True)
class MethodSettingsBlueprint:
    """``aws:apigateway/methodSettings:MethodSettings`` for one method path ("*/*", "orders/GET", ...)."""

    method_path: str  # as the program declares it, "~1" escapes included
    throttling_rate_limit: float | None
    throttling_burst_limit: int | None
    caching_enabled: bool
    cache_ttl_s: int | None
    require_authorization_for_cache_control: bool | None
    unauthorized_cache_control_header_strategy: str | None


@dataclass(frozen=True)
class UsagePlanBlueprint:
    """A usage plan: throttle, quota and the API keys it covers (by key name)."""

    name: str
    throttle_rate_limit: float | None
    throttle_burst_limit: int | None
    quota_limit: int | None
    quota_period: str | None  # DAY | WEEK | MONTH
    quota_offset: int
    api_keys: tuple[str, ...]


@dataclass(frozen=True)
class GatewayResponseBlueprint:
    response_type: str  # e.g. INTEGRATION_FAILURE, THROTTLED
    status_code: str | None
    response_templates: Mapping[str, str] = field(default_factory=dict)
    response_parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiBlueprint:
    """The REST API: methods, stage, settings, usage plans and keys, gateway responses."""

    name: str
    stage_name: str
    methods: tuple[MethodBlueprint, ...]
    method_settings: tuple[MethodSettingsBlueprint, ...]
    cache_cluster_enabled: bool
    cache_cluster_size_gb: str | None
    usage_plans: tuple[UsagePlanBlueprint, ...]
    api_keys: tuple[str, ...]  # key names; local values are generated
    gateway_responses: tuple[GatewayResponseBlueprint, ...] = ()


@dataclass(frozen=True)
class DatabaseBlueprint:
    """The PostgreSQL the functions use: database name, port, users, IAM authentication, TLS."""

    name: str
    port: int
    master_username: str
    iam_authentication: bool
    force_ssl: bool


@dataclass(frozen=True)
class Blueprint:
    """Everything the local stack builds for one stack."""

    project: str
    stack: str
    environment: str
    region: str
    account_id: str
    functions: tuple[FunctionBlueprint, ...]
    queues: tuple[QueueBlueprint, ...]
    mappings: tuple[MappingBlueprint, ...]
    schedules: tuple[ScheduleBlueprint, ...]
    parameters: tuple[ParameterBlueprint, ...]
    keys: tuple[KeyBlueprint, ...]
    roles: tuple[RoleBlueprint, ...]
    buckets: tuple[str, ...]
    api: ApiBlueprint
    database: DatabaseBlueprint | None
    secrets: tuple[str, ...] = ()  # Secrets Manager secret names
    notes: tuple[str, ...] = ()  # what was scaled down or stood in for locally, printed at start
    secret_arns: Mapping[str, str] = field(default_factory=dict)  # secret name -> the program's ARN
    config: Mapping[str, str] = field(default_factory=dict)  # the stack configuration it ran with, bare keys

    def function(self, key: str) -> FunctionBlueprint:
        """The function of workload ``key``."""
        for candidate in self.functions:
            if candidate.key == key:
                return candidate
        raise KeyError(f"the program declares no function for workload {key!r}")

    def queue(self, name: str) -> QueueBlueprint:
        for candidate in self.queues:
            if candidate.name == name:
                return candidate
        raise KeyError(f"the program declares no queue named {name!r}")

    def role(self, name: str) -> RoleBlueprint:
        for candidate in self.roles:
            if candidate.name == name:
                return candidate
        raise KeyError(f"the program declares no role named {name!r}")
