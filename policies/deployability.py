"""Deployability: the rules AWS applies when it creates or updates a resource, checked before deploy.

A mocked run accepts anything, and ``pulumi preview`` asks AWS nothing: a change that breaks one of
these rules previews cleanly and then fails half-way through ``pulumi up``. Each control here states
one such rule, names the page that states it (``Control.sources``) and is mandatory, so the preview
(and the offline gate) stops the change instead.

Unknown values. Every control reads *inputs the program sets* (timeouts, batch sizes, concurrency,
paths, classes): those are known during preview, first preview included, because they are literals
or come from configuration. Where such a value is nevertheless unknown, the control cannot prove
the rule holds and reports so (fail closed): letting it through would move the failure to ``up``.
References between resources (which queue a mapping reads, which function an alias names) are
followed through property dependencies, which the engine knows even when the referenced IDs are
not; a reference given as a literal name or ARN is matched against the resources' own names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, Severity

from contract import limits
from contract.naming import APPLICATION
from policies.api_gateway import resource_path
from policies.rules import (
    MISSING,
    UNKNOWN,
    Control,
    Kind,
    Stack,
    get,
    items,
    json_document,
    stack_config,
    stack_policy,
)

FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
PROVISIONED_CONCURRENCY = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
SCALING_TARGET = "aws:appautoscaling/target:Target"
QUEUE = "aws:sqs/queue:Queue"
RDS_INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
PROXY = "aws:rds/proxy:Proxy"
PROXY_TARGET_GROUP = "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup"
PROXY_TARGET = "aws:rds/proxyTarget:ProxyTarget"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REST_API = "aws:apigateway/restApi:RestApi"
API_RESOURCE = "aws:apigateway/resource:Resource"
API_METHOD = "aws:apigateway/method:Method"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
CONFIG_RULE = "aws:cfg/rule:Rule"
CONFIG_RECORDER = "aws:cfg/recorder:Recorder"
CONFIG_RECORDER_STATUS = "aws:cfg/recorderStatus:RecorderStatus"

CONCERN = "deployability"


def _control(
    name: str, description: str, remediation: str, resource_types: tuple[str, ...], *sources: str, **extra: Any
) -> Control:
    return Control(
        name=name,
        concern=CONCERN,
        kind=Kind.DEPLOYABILITY,
        description=description,
        severity=Severity.HIGH,
        remediation=remediation,
        resource_types=resource_types,
        sources=sources,
        **extra,
    )


# -- stack configuration (what the engine hands the pack in PULUMI_CONFIG) ------------------------
class StackConfigError(ValueError):
    """A stack configuration value the pack reads is malformed; the message names the key."""


def stack_config_int(name: str, default: int) -> int:
    raw = stack_config(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise StackConfigError(f"{APPLICATION}:{name} must be a whole number, got {raw!r}") from None


def stack_config_bool(name: str, default: bool) -> bool:
    raw = stack_config(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise StackConfigError(f"{APPLICATION}:{name} must be true or false, got {raw!r}")
    return raw.lower() == "true"


# -- following references ------------------------------------------------------------------------
def referenced(stack: Stack, resource: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
    """The resources of ``types`` a property names (see :meth:`policies.rules.Stack.resolve`)."""
    return stack.resolve(resource, prop, *types)


def function_of(stack: Stack, resource: PolicyResource, prop: str = "functionName") -> PolicyResource | None:
    """The function a ``functionName`` names directly or through an alias."""
    for target in referenced(stack, resource, prop, FUNCTION, ALIAS):
        if target.resource_type == FUNCTION:
            return target
        return function_of(stack, target)
    return None


def _number(value: Any, default: float) -> float | _Unknown:
    if value is UNKNOWN:
        return UNKNOWN_NUMBER
    if value is MISSING:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return UNKNOWN_NUMBER


class _Unknown:
    """A number that is not known during preview."""


UNKNOWN_NUMBER = _Unknown()


# -- SQS event sources ---------------------------------------------------------------------------
DEFAULT_VISIBILITY_TIMEOUT_S = 30  # SQS CreateQueue: VisibilityTimeout default
DEFAULT_FUNCTION_TIMEOUT_S = 3  # Lambda CreateFunction: Timeout default
DEFAULT_SQS_BATCH_SIZE = 10  # CreateEventSourceMapping: BatchSize default for SQS
STANDARD_QUEUE_MAX_BATCH = 10_000
FIFO_QUEUE_MAX_BATCH = 10
MAX_BATCHING_WINDOW_S = 300

SQS_VISIBILITY = _control(
    "sqs-visibility-covers-function-timeout",
    "An SQS queue that feeds a Lambda function through an event source mapping has a visibility timeout "
    "at least as long as that function's timeout (Lambda refuses to create the mapping otherwise).",
    "Raise the queue's visibility_timeout_seconds to at least the function's timeout (AWS recommends six "
    "times it), or lower the function's timeout. The default visibility timeout is 30 s.",
    (EVENT_SOURCE_MAPPING, QUEUE, FUNCTION),
    "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html",
    "https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html",
)


def _sqs_sources(stack: Stack) -> Iterator[tuple[PolicyResource, PolicyResource]]:
    for mapping in stack.of_type(EVENT_SOURCE_MAPPING):
        for queue in referenced(stack, mapping, "eventSourceArn", QUEUE):
            yield mapping, queue


def _sqs_visibility(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for mapping, queue in _sqs_sources(stack):
        function = function_of(stack, mapping)
        if function is None:
            continue
        visibility = _number(get(queue.props, "visibilityTimeoutSeconds"), DEFAULT_VISIBILITY_TIMEOUT_S)
        timeout = _number(get(function.props, "timeout"), DEFAULT_FUNCTION_TIMEOUT_S)
        if isinstance(visibility, _Unknown) or isinstance(timeout, _Unknown):
            yield "the queue's visibility timeout or the function's timeout is not known during preview", mapping.urn
        elif visibility < timeout:
            yield (
                f"the queue {queue.name} keeps messages invisible for {visibility:g} s, less than the "
                f"{timeout:g} s timeout of the function {function.name} it feeds",
                mapping.urn,
            )


SQS_BATCHING = _control(
    "sqs-event-source-batching",
    "An SQS event source mapping's batch size and batching window are within the queue type's limits: a batch "
    f"above 10 needs a batching window of at least 1 s; standard queues allow {STANDARD_QUEUE_MAX_BATCH:,} "
    f"records, FIFO queues {FIFO_QUEUE_MAX_BATCH} and no batching window; the window is at most "
    f"{MAX_BATCHING_WINDOW_S} s.",
    "Set maximum_batching_window_in_seconds to 1 or more when batch_size is above 10 (workerBatchingWindowS), "
    "keep batch_size within the queue type's maximum (workerBatchSize).",
    (EVENT_SOURCE_MAPPING, QUEUE),
    "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html",
    "https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html",
)


def _is_fifo(queue: PolicyResource) -> bool:
    if get(queue.props, "fifoQueue") is True:
        return True
    return any(str(get(queue.props, key)).endswith(".fifo") for key in ("name", "arn"))


def _sqs_batching(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for mapping, queue in _sqs_sources(stack):
        batch = _number(get(mapping.props, "batchSize"), DEFAULT_SQS_BATCH_SIZE)
        window = _number(get(mapping.props, "maximumBatchingWindowInSeconds"), 0)
        if isinstance(batch, _Unknown) or isinstance(window, _Unknown):
            yield "batchSize or maximumBatchingWindowInSeconds is not known during preview", mapping.urn
            continue
        fifo = _is_fifo(queue)
        maximum = FIFO_QUEUE_MAX_BATCH if fifo else STANDARD_QUEUE_MAX_BATCH
        if not 1 <= batch <= maximum:
            kind = "FIFO" if fifo else "standard"
            yield f"batchSize {batch:g} is outside 1..{maximum} for a {kind} queue", mapping.urn
        if fifo and window > 0:
            yield "a FIFO queue's event source mapping cannot have a batching window", mapping.urn
        elif not 0 <= window <= MAX_BATCHING_WINDOW_S:
            yield f"maximumBatchingWindowInSeconds {window:g} is outside 0..{MAX_BATCHING_WINDOW_S}", mapping.urn
        elif batch > DEFAULT_SQS_BATCH_SIZE and window < 1 and not fifo:
            yield (
                f"batchSize {batch:g} is above 10 but the batching window is {window:g} s (needs 1 s or more)",
                (mapping.urn),
            )


# -- RDS -----------------------------------------------------------------------------------------
REPLICA_OF_MANAGED_PASSWORD = _control(
    "rds-replica-source-password-not-managed",
    "A read replica's source instance does not have its master password managed by RDS in Secrets Manager "
    "(RDS refuses to create the replica).",
    "Generate the master password in the program, keep it in a Secrets Manager secret of its own and pass it "
    "as `password`, instead of manage_master_user_password=True on the primary.",
    (RDS_INSTANCE,),
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html",
)


def _replica_of_managed_password(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for replica in stack.of_type(RDS_INSTANCE):
        if get(replica.props, "replicateSourceDb") is MISSING:
            continue
        for source in referenced(stack, replica, "replicateSourceDb", RDS_INSTANCE):
            managed = get(source.props, "manageMasterUserPassword")
            if managed is UNKNOWN:
                yield f"whether {source.name} manages its master password is not known during preview", replica.urn
            elif managed is True:
                yield f"the source {source.name} has its master password managed in Secrets Manager", replica.urn


CONNECTION_BUDGET = _control(
    "rds-connection-budget",
    "The database connections the stack's functions can open stay within each instance's max_connections: "
    "for each instance, the most concurrent environments of every function allowed to connect to it (its "
    "reserved concurrency, or what the account leaves it) times the connections each holds (one per database "
    "user its role may connect as), plus every RDS Proxy pool on it, leaves the reserved superuser "
    "connections and a headroom free.",
    "Reserve concurrency for the functions that connect, route them through an RDS Proxy (dbProxy), lower the "
    "proxy's max_connections_percent, or choose a larger instance class.",
    (RDS_INSTANCE, FUNCTION, PROXY, ROLE_POLICY),
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html",
    "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html",
    config={
        "usableMemoryFraction": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": (
                "Share of the instance class's memory taken as DBInstanceClassMemory (RDS keeps the rest for "
                "the operating system and does not publish it per class)."
            ),
            "default": limits.RDS_USABLE_MEMORY_FRACTION,
        },
        "headroomConnections": {
            "type": "integer",
            "minimum": 0,
            "description": "Connections kept free for migrations and operators.",
            "default": limits.RDS_CONNECTION_HEADROOM,
        },
    },
)


@dataclass(frozen=True)
class _Connector:
    function: PolicyResource
    connections: int  # per environment


def _max_connections(control: Control, stack: Stack, instance: PolicyResource) -> int | None:
    """max_connections from the instance's parameter group, else RDS's formula for PostgreSQL."""
    for group in referenced(stack, instance, "parameterGroupName", PARAMETER_GROUP):
        for parameter in items(get(group.props, "parameters")):
            if get(parameter, "name") == "max_connections" and str(get(parameter, "value")).isdigit():
                return int(get(parameter, "value"))
    memory = limits.RDS_INSTANCE_MEMORY_GIB.get(str(get(instance.props, "instanceClass")))
    if memory is None:
        return None
    fraction = float(control.setting(stack.config, "usableMemoryFraction"))
    return limits.rds_postgres_max_connections(memory, fraction)


def _resource_id_of(target: PolicyResource) -> str | None:
    """The id IAM database authentication names: db-... for an instance, prx-... for a proxy."""
    if target.resource_type == RDS_INSTANCE:
        value = get(target.props, "resourceId")
        return value if isinstance(value, str) else None
    arn = get(target.props, "arn")
    return arn.rsplit(":", 1)[-1] if isinstance(arn, str) else None


def _connect_grants(policy: PolicyResource, target: PolicyResource) -> int:
    """How many database users a role policy lets its role connect as on ``target`` (0: none).

    With the document unknown (first preview), a policy computed from the target counts as one user.
    """
    document = json_document(get(policy.props, "policy"))
    resource_id = _resource_id_of(target)
    if document is UNKNOWN or document is MISSING or resource_id is None:
        return 1
    users: set[str] = set()
    for entry in items(get(document, "Statement")):
        actions = {str(a) for a in items(get(entry, "Action"))}
        if get(entry, "Effect") != "Allow" or not actions & {"rds-db:connect", "rds-db:*", "*"}:
            continue
        for arn in items(get(entry, "Resource")):
            if isinstance(arn, str) and f":dbuser:{resource_id}/" in arn:
                users.add(arn)
    return len(users)


def _connectors(stack: Stack, target: PolicyResource) -> list[_Connector]:
    """The functions whose role may connect to ``target`` with IAM authentication."""
    found = []
    for policy in stack.of_type(ROLE_POLICY):
        if not any(dep.urn == target.urn for dep in stack.deps(policy, "policy")):
            continue
        grants = _connect_grants(policy, target)
        if not grants:
            continue
        roles = {role.urn for role in referenced(stack, policy, "role", ROLE)}
        for function in stack.of_type(FUNCTION):
            if any(role.urn in roles for role in referenced(stack, function, "role", ROLE)):
                found.append(_Connector(function, grants))
    return found


def _reserved(function: PolicyResource) -> float | _Unknown | None:
    """The function's reserved concurrency; None when it has none (it draws on the unreserved pool)."""
    value = _number(get(function.props, "reservedConcurrentExecutions"), -1)
    if isinstance(value, _Unknown):
        return value
    return None if value < 0 else value


def _pool(stack: Stack, proxy: PolicyResource, maximum: int) -> float | _Unknown:
    percent: float | _Unknown = 100.0  # RDS Proxy's default max_connections_percent
    for group in stack.of_type(PROXY_TARGET_GROUP):
        if any(p.urn == proxy.urn for p in referenced(stack, group, "dbProxyName", PROXY)):
            percent = _number(get(group.props, "connectionPoolConfig", "maxConnectionsPercent"), 100)
    return percent if isinstance(percent, _Unknown) else math.floor(maximum * percent / 100)


def _connection_budget(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    try:
        quota = stack_config_int("lambdaConcurrencyQuota", limits.LAMBDA_DEFAULT_CONCURRENCY_QUOTA)
    except StackConfigError:
        return  # lambda-unreserved-concurrency reports the malformed value once
    reserved_total = sum(r for f in stack.of_type(FUNCTION) if isinstance(r := _reserved(f), float))
    unreserved_pool = max(quota - reserved_total, 0)
    headroom = int(control.setting(stack.config, "headroomConnections"))
    proxies_on: dict[str, list[PolicyResource]] = {}
    for target in stack.of_type(PROXY_TARGET):
        for instance in referenced(stack, target, "dbInstanceIdentifier", RDS_INSTANCE):
            proxies_on.setdefault(instance.urn, []).extend(referenced(stack, target, "dbProxyName", PROXY))
    for instance in stack.of_type(RDS_INSTANCE):
        maximum = _max_connections(control, stack, instance)
        if maximum is None:
            yield (
                f"max_connections of instance class {get(instance.props, 'instanceClass')!r} is not known to the "
                "pack; set max_connections in the parameter group",
                instance.urn,
            )
            continue
        load: float = 0
        parts: list[str] = []
        for connector in _connectors(stack, instance):
            environments = _reserved(connector.function)
            if isinstance(environments, _Unknown):
                yield f"the reserved concurrency of {connector.function.name} is not known during preview", instance.urn
                return
            count = unreserved_pool if environments is None else environments
            load += count * connector.connections
            parts.append(f"{connector.function.name} {count:g} x {connector.connections}")
        for proxy in proxies_on.get(instance.urn, []):
            pool = _pool(stack, proxy, maximum)
            if isinstance(pool, _Unknown):
                yield f"the connection pool of proxy {proxy.name} is not known during preview", instance.urn
                return
            load += pool
            parts.append(f"proxy {proxy.name} pool {pool:g}")
        budget = maximum - limits.RDS_RESERVED_SUPERUSER_CONNECTIONS - headroom
        if load > budget:
            yield (
                f"{load:g} connections can be opened ({', '.join(parts)}) but {instance.name} allows "
                f"{budget} (max_connections {maximum} less {limits.RDS_RESERVED_SUPERUSER_CONNECTIONS} reserved "
                f"and {headroom} headroom)",
                instance.urn,
            )


# -- Lambda concurrency --------------------------------------------------------------------------
UNRESERVED_CONCURRENCY = _control(
    "lambda-unreserved-concurrency",
    f"The functions' reserved concurrency leaves the {limits.LAMBDA_MIN_UNRESERVED_CONCURRENCY} unreserved "
    "executions Lambda keeps, within the account concurrency quota the stack declares "
    f"(lambdaConcurrencyQuota, default {limits.LAMBDA_DEFAULT_CONCURRENCY_QUOTA}).",
    "Lower reserved concurrency, or request a quota increase (Service Quotas, quota code L-B99A9384) and "
    "declare it with `pulumi config set lambdaConcurrencyQuota N`.",
    (FUNCTION,),
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
)


def _unreserved_concurrency(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    functions = stack.of_type(FUNCTION)
    if not functions:
        return
    try:
        quota = stack_config_int("lambdaConcurrencyQuota", limits.LAMBDA_DEFAULT_CONCURRENCY_QUOTA)
    except StackConfigError as error:
        yield str(error), functions[0].urn
        return
    total = 0.0
    for function in functions:
        reserved = _reserved(function)
        if isinstance(reserved, _Unknown):
            yield "reservedConcurrentExecutions is not known during preview", function.urn
            return
        total += reserved or 0
    allowed = quota - limits.LAMBDA_MIN_UNRESERVED_CONCURRENCY
    if total > allowed:
        yield (
            f"the functions reserve {total:g} concurrent executions; an account quota of {quota} allows at most "
            f"{allowed} (Lambda keeps {limits.LAMBDA_MIN_UNRESERVED_CONCURRENCY} unreserved)",
            functions[0].urn,
        )


PROVISIONED_WITHIN_RESERVED = _control(
    "lambda-provisioned-within-reserved",
    "Provisioned concurrency on a function (and the most its autoscaling target may set) does not exceed the "
    "function's reserved concurrency.",
    "Keep provisionedConcurrencyMax at or below reservedConcurrency.",
    (PROVISIONED_CONCURRENCY, SCALING_TARGET, FUNCTION),
    "https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html",
)


def _scaling_target_function(stack: Stack, target: PolicyResource) -> PolicyResource | None:
    """``function:NAME:QUALIFIER`` resource ids name their function through a dependency or literally."""
    for dep in stack.deps(target, "resourceId", FUNCTION, ALIAS):
        return dep if dep.resource_type == FUNCTION else function_of(stack, dep)
    value = get(target.props, "resourceId")
    if isinstance(value, str) and value.startswith("function:"):
        name = value.split(":")[1]
        return next((f for f in stack.of_type(FUNCTION) if get(f.props, "name") == name), None)
    return None


def _provisioned_within_reserved(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    checks: list[tuple[PolicyResource, PolicyResource | None, str]] = [
        (config, function_of(stack, config), "provisionedConcurrentExecutions")
        for config in stack.of_type(PROVISIONED_CONCURRENCY)
    ]
    checks += [
        (target, _scaling_target_function(stack, target), "maxCapacity")
        for target in stack.of_type(SCALING_TARGET)
        if get(target.props, "scalableDimension") == "lambda:function:ProvisionedConcurrency"
    ]
    for resource, function, prop in checks:
        if function is None:
            continue
        reserved = _reserved(function)
        wanted = _number(get(resource.props, prop), 0)
        if isinstance(reserved, _Unknown) or isinstance(wanted, _Unknown):
            yield f"{prop} or the function's reserved concurrency is not known during preview", resource.urn
        elif reserved is not None and wanted > reserved:
            yield f"{prop} {wanted:g} exceeds the reserved concurrency {reserved:g} of {function.name}", resource.urn


# -- Lambda SnapStart ----------------------------------------------------------------------------
SNAP_START_COMPATIBLE = _control(
    "lambda-snap-start-compatible",
    "A function with SnapStart (snap_start apply_on PublishedVersions) runs a managed runtime SnapStart supports "
    "(Python 3.12 or later, Java 11 or later, .NET 8 or later; no container image), has no provisioned "
    "concurrency on any of its versions or aliases, mounts no EFS file system and has at most "
    f"{limits.SNAPSTART_MAX_EPHEMERAL_STORAGE_MB} MB of ephemeral storage: Lambda refuses SnapStart otherwise.",
    "Turn SnapStart off (snapStart: false) where the function needs provisioned concurrency, EFS or more than "
    f"{limits.SNAPSTART_MAX_EPHEMERAL_STORAGE_MB} MB of /tmp, or keep it and drop those (provisionedConcurrencyMin "
    "and provisionedConcurrencyMax 0); run python3.12 or later.",
    (FUNCTION, PROVISIONED_CONCURRENCY, SCALING_TARGET),
    limits.SNAPSTART_DOC,
    "https://docs.aws.amazon.com/lambda/latest/api/API_SnapStart.html",
    "https://github.com/hashicorp/terraform-provider-aws/blob/main/website/docs/r/lambda_function.html.markdown",
)


def _provisioned_functions(stack: Stack) -> dict[str, PolicyResource]:
    """Provisioned concurrency configurations and autoscaling targets, by the URN of the function they warm."""
    found: dict[str, PolicyResource] = {}
    for config in stack.of_type(PROVISIONED_CONCURRENCY):
        function = function_of(stack, config)
        if function is not None:
            found.setdefault(function.urn, config)
    for target in stack.of_type(SCALING_TARGET):
        if get(target.props, "scalableDimension") != "lambda:function:ProvisionedConcurrency":
            continue
        function = _scaling_target_function(stack, target)
        if function is not None:
            found.setdefault(function.urn, target)
    return found


def _snap_start_problems(function: PolicyResource, provisioned: PolicyResource | None) -> Iterator[str]:
    runtime = get(function.props, "runtime")
    if runtime is UNKNOWN:
        yield "its runtime is not known during preview"
    elif runtime is MISSING:
        yield "it has no managed runtime (a container image): SnapStart supports managed runtimes only"
    elif not limits.snap_start_supports_runtime(str(runtime)):
        yield f"its runtime {runtime} is not one SnapStart supports (python3.12+, java11+, dotnet8+)"
    if provisioned is not None:
        yield f"{provisioned.name} gives it provisioned concurrency"
    file_systems = get(function.props, "fileSystemConfig")
    if file_systems is UNKNOWN:
        yield "whether it mounts an EFS file system is not known during preview"
    elif file_systems is not MISSING:
        yield "it mounts an EFS file system (fileSystemConfig)"
    storage = _number(get(function.props, "ephemeralStorage", "size"), limits.SNAPSTART_MAX_EPHEMERAL_STORAGE_MB)
    if isinstance(storage, _Unknown):
        yield "its ephemeral storage size is not known during preview"
    elif storage > limits.SNAPSTART_MAX_EPHEMERAL_STORAGE_MB:
        yield f"its ephemeral storage is {storage:g} MB (SnapStart allows {limits.SNAPSTART_MAX_EPHEMERAL_STORAGE_MB})"


def _snap_start_compatible(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    provisioned = _provisioned_functions(stack)
    for function in stack.of_type(FUNCTION):
        apply_on = get(function.props, "snapStart", "applyOn")
        if apply_on is UNKNOWN:
            yield "whether SnapStart is on (snapStart.applyOn) is not known during preview", function.urn
            continue
        if apply_on != "PublishedVersions":
            continue
        for problem in _snap_start_problems(function, provisioned.get(function.urn)):
            yield f"SnapStart is on for {function.name} but {problem}", function.urn


# -- API Gateway ---------------------------------------------------------------------------------
METHOD_SETTINGS_PATH = _control(
    "api-method-settings-path",
    "Every API Gateway method-settings override names a method the API has, as `{resource_path}/{HTTP_METHOD}` "
    "with the '/' inside the resource path escaped as '~1' (e.g. `~1orders~1{order_id}/GET`), or `*/*`; "
    "any other path updates nothing (or fails), so the throttle or cache it carries never applies.",
    "Build method_path from the resource path with every '/' replaced by '~1' (so it starts with '~1'), then "
    "'/' and the method.",
    (METHOD_SETTINGS, API_METHOD, API_RESOURCE),
    "https://docs.aws.amazon.com/apigateway/latest/api/API_UpdateStage.html",
    "https://docs.aws.amazon.com/apigateway/latest/api/API_PatchOperation.html",
    "https://github.com/hashicorp/terraform-provider-aws/blob/main/website/docs/r/api_gateway_method_settings.html.markdown",
)


def _api_methods(stack: Stack, api: PolicyResource) -> dict[str, set[str]] | None:
    """Resource path → HTTP methods on it, for one REST API (None when a path is unknown)."""
    methods: dict[str, set[str]] = {}
    for method in stack.of_type(API_METHOD):
        if not any(a.urn == api.urn for a in referenced(stack, method, "restApi", REST_API)):
            continue
        resources = stack.deps(method, "resourceId", API_RESOURCE)
        path = resource_path(stack, resources[0]) if resources else "/"
        if path is None:
            return None
        methods.setdefault(path, set()).add(str(get(method.props, "httpMethod")).upper())
    return methods


def _method_settings_path(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for settings in stack.of_type(METHOD_SETTINGS):
        path = get(settings.props, "methodPath")
        if path is UNKNOWN:
            yield "methodPath is not known during preview", settings.urn
            continue
        if path == "*/*":
            continue
        if not isinstance(path, str) or path.count("/") != 1:
            yield (
                f"methodPath {path!r} is not `{{resource_path}}/{{METHOD}}` with the resource path's '/' "
                "escaped as '~1'",
                settings.urn,
            )
            continue
        escaped, method = path.split("/")
        if escaped != "*" and not escaped.startswith("~1"):
            yield (
                f"methodPath {path!r} does not start with '~1' (the resource path's leading '/', escaped): the "
                "stage stores the setting under the escaped key and the provider never finds it",
                settings.urn,
            )
            continue
        resource = escaped.replace("~1", "/")
        for api in referenced(stack, settings, "restApi", REST_API):
            methods = _api_methods(stack, api)
            if methods is None:
                yield "the API's resource paths are not known during preview", settings.urn
            elif escaped != "*" and resource not in methods:
                yield f"methodPath {path!r} names the resource {resource}, which the API does not have", settings.urn
            elif method != "*" and escaped != "*" and method.upper() not in methods[resource] | {"ANY"}:
                yield f"methodPath {path!r} names {method} on {resource}, which the API does not serve", settings.urn


# -- AWS Config ----------------------------------------------------------------------------------
CONFIG_RULES_NEED_RECORDER = _control(
    "config-rules-need-recorder",
    "AWS Config rules deploy only where a configuration recorder exists: one the stack creates (and the rules "
    "wait for), or one the stack declares already present in the account and region (configRecorderExists).",
    "Set configRecorder: true to create the recorder, or configRecorderExists: true where the account already "
    "records (`aws configservice describe-configuration-recorders`); otherwise leave the rules out.",
    (CONFIG_RULE, CONFIG_RECORDER),
    "https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigRule.html",
    "https://docs.aws.amazon.com/config/latest/developerguide/stop-start-recorder.html",
)


def _depends_on(resource: PolicyResource, types: Iterable[str], seen: set[str] | None = None) -> bool:
    seen = set() if seen is None else seen
    for dep in resource.dependencies:
        if dep.urn in seen:
            continue
        seen.add(dep.urn)
        if dep.resource_type in types or _depends_on(dep, types, seen):
            return True
    return False


def _config_rules_need_recorder(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    rules = stack.of_type(CONFIG_RULE)
    if not rules:
        return
    try:
        declared = stack_config_bool("configRecorderExists", False)
    except StackConfigError as error:
        yield str(error), rules[0].urn
        return
    recorders = stack.of_type(CONFIG_RECORDER)
    if not recorders and not declared:
        yield (
            f"{len(rules)} Config rule(s) but no configuration recorder: the stack creates none "
            "(configRecorder) and does not declare one present (configRecorderExists)",
            rules[0].urn,
        )
        return
    for rule in rules:
        if recorders and not _depends_on(rule, (CONFIG_RECORDER, CONFIG_RECORDER_STATUS)):
            yield "the rule does not wait for the stack's configuration recorder (depends_on)", rule.urn


CHECKS = (
    stack_policy(SQS_VISIBILITY, _sqs_visibility),
    stack_policy(SQS_BATCHING, _sqs_batching),
    stack_policy(REPLICA_OF_MANAGED_PASSWORD, _replica_of_managed_password),
    stack_policy(CONNECTION_BUDGET, _connection_budget),
    stack_policy(UNRESERVED_CONCURRENCY, _unreserved_concurrency),
    stack_policy(PROVISIONED_WITHIN_RESERVED, _provisioned_within_reserved),
    stack_policy(SNAP_START_COMPATIBLE, _snap_start_compatible),
    stack_policy(METHOD_SETTINGS_PATH, _method_settings_path),
    stack_policy(CONFIG_RULES_NEED_RECORDER, _config_rules_need_recorder),
)
