"""Build the local stack's :class:`~local.blueprint.Blueprint` from the Pulumi program itself.

The program runs under the offline mocks (:func:`offline.harness.run_program`, the capture the
offline gate uses, as a preview), and what it registers is read into the blueprint: local/ keeps no
copy of a size, a route, a queue setting or a parameter. Before anything is read, the policy pack's
deployability controls (the rules AWS applies at create time) run over the captured resources, in
process and unchanged, so a configuration AWS would refuse is refused here with the pack's own
messages: the local stack never runs what ``pulumi up`` could not create.

References between resources are followed through property dependencies (known even when the
referenced value is not), falling back to the referenced name or ARN written as a literal.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from contract.naming import APPLICATION, REGION, resource_name
from contract.workloads import WORKLOADS
from local.blueprint import (
    ApiBlueprint,
    Blueprint,
    DatabaseBlueprint,
    FunctionBlueprint,
    GatewayResponseBlueprint,
    KeyBlueprint,
    MappingBlueprint,
    MethodBlueprint,
    MethodSettingsBlueprint,
    ParameterBlueprint,
    QueueBlueprint,
    RedriveBlueprint,
    RoleBlueprint,
    ScheduleBlueprint,
    UsagePlanBlueprint,
)
from offline.harness import ProgramError, ProgramRun, run_program
from offline.mocks import ResourceRecord
from offline.package import placeholder_archives

SECRET_SIG: Final = "4dabf18193072939515e22adb298388d"  # noqa: S105 - the SDK's secret marker
UNKNOWN_SENTINEL: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown-string value

FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
QUEUE = "aws:sqs/queue:Queue"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
PARAMETER = "aws:ssm/parameter:Parameter"
KEY = "aws:kms/key:Key"
KEY_ALIAS = "aws:kms/alias:Alias"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
BUCKET = "aws:s3/bucket:Bucket"
SECRET = "aws:secretsmanager/secret:Secret"  # noqa: S105 - a type token
REST_API = "aws:apigateway/restApi:RestApi"
API_RESOURCE = "aws:apigateway/resource:Resource"
API_METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
STAGE = "aws:apigateway/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
API_KEY = "aws:apigateway/apiKey:ApiKey"
USAGE_PLAN_KEY = "aws:apigateway/usagePlanKey:UsagePlanKey"
GATEWAY_RESPONSE = "aws:apigateway/gatewayResponse:GatewayResponse"
DB_INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"

DEFAULTS: Final = {
    # SQS CreateQueue defaults: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    "visibilityTimeoutSeconds": 30,
    "messageRetentionSeconds": 345_600,
    "delaySeconds": 0,
    "receiveWaitTimeSeconds": 0,
    "maxMessageSize": 262_144,
    # Lambda CreateFunction defaults: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
    "timeout": 3,
    "memorySize": 128,
    # CreateEventSourceMapping defaults for SQS: https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
    "batchSize": 10,
    "maximumBatchingWindowInSeconds": 0,
    # CreateDBInstance: PostgreSQL listens on 5432 unless told otherwise
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
    "port": 5432,
}


class MaterializeError(Exception):
    """The program cannot be built locally: it fails to run, or AWS would refuse what it declares.

    ``messages`` are the policy pack's own messages when deployability controls refused it.
    """

    def __init__(self, message: str, messages: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.messages = tuple(messages)


def materialize(project_root: Path, stack: str, overrides: Mapping[str, str] | None = None) -> Blueprint:
    """Run the program for ``stack`` (with ``overrides``, bare or ``project:``-qualified keys) and read it.

    Raises :class:`MaterializeError` when the program fails (its own configuration checks included)
    or a deployability control of the policy pack refuses what it declares.
    """
    return blueprint_of(capture(project_root, stack, overrides))


def capture(project_root: Path, stack: str, overrides: Mapping[str, str] | None = None) -> ProgramRun:
    """The program's registrations for ``stack``, as a preview under the offline mocks.

    The function and layer archives are empty stand-ins unless ``overrides`` names real ones: the
    local stack runs the code from the working tree, and the archives' contents change nothing read here.
    """
    config = {_qualified(key): str(value) for key, value in (overrides or {}).items()}
    with tempfile.TemporaryDirectory(prefix="materialize-") as directory:
        archives = placeholder_archives(Path(directory))
        try:
            return run_program(project_root, stack, config_overrides={**archives, **config}, preview=True)
        except ProgramError as error:
            raise MaterializeError(str(error)) from error


def blueprint_of(run: ProgramRun) -> Blueprint:
    """Refuse what AWS would refuse (the pack's deployability controls), then read ``run``."""
    refusals = deployability_refusals(run)
    if refusals:
        listing = "\n".join(f"  - {message}" for message in refusals)
        raise MaterializeError(
            f"stack {run.stack!r} declares what AWS would refuse (the policy pack's deployability controls):\n"
            f"{listing}",
            refusals,
        )
    return _Reader(run).blueprint()


def _qualified(key: str) -> str:
    return key if ":" in key else f"{APPLICATION}:{key}"


# -- refusing what AWS refuses --------------------------------------------------------------------
def deployability_refusals(run: ProgramRun) -> list[str]:
    """The messages of every DEPLOYABILITY control of the pack that the captured resources break.

    The controls run in process exactly as the engine runs them (resource policies per resource,
    stack policies once), over ``PolicyResource`` objects built from the registrations: inputs with
    secrets unwrapped, unknowns raising as they do during preview, property dependencies linked.
    """
    from pulumi_policy import StackValidationPolicy

    from policies.pack import all_checks
    from policies.rules import Kind

    resources = _policy_resources(run)
    found: list[str] = []

    def report(message: str, _urn: str | None = None) -> None:
        if message not in found:
            found.append(message)

    with _pack_environment(run):
        for check in all_checks():
            if check.control.kind is not Kind.DEPLOYABILITY:
                continue
            validate = check.policy.validate  # type: ignore[attr-defined]
            if isinstance(check.policy, StackValidationPolicy):
                validate(_StackArgs(resources), report)
            else:
                for resource in resources:
                    validate(_ResourceArgs(resource), report)
    return found


class _StackArgs:
    """What the engine hands a stack policy."""

    def __init__(self, resources: list[Any]) -> None:
        self.resources = resources

    @staticmethod
    def get_config() -> Mapping[str, Any]:
        return {}  # no pack configuration: every control uses its schema defaults


class _ResourceArgs:
    """What the engine hands a resource policy for one resource."""

    def __init__(self, resource: Any) -> None:
        self.resource_type = resource.resource_type
        self.name = resource.name
        self.urn = resource.urn
        self.props = resource.props

    @staticmethod
    def get_config() -> Mapping[str, Any]:
        return {}


@contextlib.contextmanager
def _pack_environment(run: ProgramRun) -> Iterator[None]:
    """PULUMI_STACK and PULUMI_CONFIG as the engine sets them for the pack; restored afterwards."""
    saved = {name: os.environ.get(name) for name in ("PULUMI_STACK", "PULUMI_CONFIG")}
    os.environ["PULUMI_STACK"] = run.stack
    os.environ["PULUMI_CONFIG"] = run.config.environment()["PULUMI_CONFIG"]
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _policy_resources(run: ProgramRun) -> list[Any]:
    from pulumi_policy import PolicyResource
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

    def policy_value(value: Any) -> Any:
        return _unwrapped(value, unknown=UNKNOWN_STRING_VALUE)  # as the SDK hands unknowns to policies

    built: dict[str, Any] = {}
    for record in run.resources:
        built[record.urn] = PolicyResource(
            resource_type=record.type,
            props=unknown_checking_proxy({key: policy_value(value) for key, value in record.inputs.items()}),
            urn=record.urn,
            name=record.name,
            opts=None,  # type: ignore[arg-type]
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
    for record in run.resources:
        resource = built[record.urn]
        resource.dependencies.extend(built[urn] for urn in record.dependencies if urn in built)
        for key, urns in record.property_dependencies.items():
            resource.property_dependencies[key] = [built[urn] for urn in urns if urn in built]
    return list(built.values())


# -- reading values -------------------------------------------------------------------------------
def _is_unknown(value: Any) -> bool:
    from pulumi.output import Unknown

    return isinstance(value, Unknown) or value == UNKNOWN_SENTINEL


def plain(value: Any) -> Any:
    """A registered value with secrets unwrapped and unknowns as None."""
    return _unwrapped(value, unknown=None)


def _unwrapped(value: Any, *, unknown: Any) -> Any:
    """``value`` with secrets unwrapped, at any depth, and every unknown replaced by ``unknown``."""
    if _is_unknown(value):
        return unknown
    if isinstance(value, list):
        return [_unwrapped(element, unknown=unknown) for element in value]
    if isinstance(value, dict):
        if value.get(SECRET_SIG) is not None:
            return _unwrapped(value.get("value"), unknown=unknown)
        return {key: _unwrapped(element, unknown=unknown) for key, element in value.items()}
    return value


def _arn_tail(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]


def _function_of_arn(arn: str) -> str:
    """The function name in a function or alias ARN (``arn:aws:lambda:r:a:function:NAME[:alias]``)."""
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 and parts[5] == "function" else arn


class _Reader:
    """Reads one program run into a blueprint."""

    def __init__(self, run: ProgramRun) -> None:
        self.run = run
        self.by_urn = {record.urn: record for record in run.resources}
        self.config = {key: str(value) for key, value in run.config.values.items()}
        self.environment = self.config.get(f"{APPLICATION}:environment", run.stack)
        self.region = self.config.get("aws:region", REGION)

    # -- generic helpers
    def of(self, type_: str) -> list[ResourceRecord]:
        return self.run.of_type(type_)

    def get(self, record: ResourceRecord, key: str, default: Any = None) -> Any:
        value = plain(record.inputs.get(key))
        return default if value is None else value

    def number(self, record: ResourceRecord, key: str) -> int:
        return int(self.get(record, key, DEFAULTS.get(key, 0)))

    def referenced(self, record: ResourceRecord, key: str, type_: str) -> ResourceRecord | None:
        """The resource of ``type_`` that ``key`` names: by property dependency, else by literal."""
        for urn in record.property_dependencies.get(key, []):
            found = self.by_urn.get(urn)
            if found is not None and found.type == type_:
                return found
        literal = self.get(record, key)
        if not isinstance(literal, str) or not literal:
            return None
        tails = {literal, _arn_tail(literal), _function_of_arn(literal)}
        for candidate in self.of(type_):
            identities = {candidate.id, candidate.name}
            for field in ("name", "arn", "id", "bucket", "functionName", "keyId"):
                for source in (candidate.inputs, candidate.outputs):
                    value = plain(source.get(field))
                    if isinstance(value, str):
                        identities.add(value)
            if tails & identities:
                return candidate
        return None

    def function_name(self, record: ResourceRecord, key: str) -> str | None:
        """The function a property names, through an alias if it names one."""
        alias = self.referenced(record, key, ALIAS)
        if alias is not None:
            return str(self.get(alias, "functionName"))
        function = self.referenced(record, key, FUNCTION)
        if function is not None:
            return str(self.get(function, "name", function.name))
        literal = self.get(record, key)
        if isinstance(literal, str) and ":function:" in literal:
            return _function_of_arn(literal.split("/functions/", 1)[-1])
        return None

    def account_id(self) -> str:
        for record in self.of(FUNCTION):
            role = self.get(record, "role")
            if isinstance(role, str) and role.startswith("arn:"):
                return role.split(":")[4]
        raise MaterializeError("the program declares no function with a role ARN to read the account from")

    # -- the parts
    def blueprint(self) -> Blueprint:
        return Blueprint(
            project=self.run.project.name,
            stack=self.run.stack,
            environment=self.environment,
            region=self.region,
            account_id=self.account_id(),
            functions=self.functions(),
            queues=self.queues(),
            mappings=self.mappings(),
            schedules=self.schedules(),
            parameters=self.parameters(),
            keys=self.keys(),
            roles=self.roles(),
            buckets=tuple(str(self.get(record, "bucket", record.name)) for record in self.of(BUCKET)),
            api=self.api(),
            database=self.database(),
            secrets=tuple(str(self.get(record, "name", record.name)) for record in self.of(SECRET)),
            config={
                key.split(":", 1)[1]: value for key, value in self.config.items() if key.startswith(f"{APPLICATION}:")
            },
            secret_arns={
                str(self.get(record, "name", record.name)): str(plain(record.outputs.get("arn")) or "")
                for record in self.of(SECRET)
            },
        )

    def functions(self) -> tuple[FunctionBlueprint, ...]:
        keys = {resource_name(self.environment, "function", workload.key): workload.key for workload in WORKLOADS}
        aliases = {str(self.get(alias, "functionName")): str(self.get(alias, "name")) for alias in self.of(ALIAS)}
        provisioned: dict[str, int] = {}
        for record in self.of(PROVISIONED):
            name = str(self.get(record, "functionName"))
            provisioned[name] = int(self.get(record, "provisionedConcurrentExecutions", 0))
        found = []
        for record in self.of(FUNCTION):
            name = str(self.get(record, "name", record.name))
            if name not in keys:
                raise MaterializeError(f"function {name!r} is no workload of contract.workloads")
            reserved = self.get(record, "reservedConcurrentExecutions")
            variables = (self.get(record, "environment") or {}).get("variables") or {}
            architectures = self.get(record, "architectures") or ["x86_64"]  # Lambda's default architecture
            found.append(
                FunctionBlueprint(
                    key=keys[name],
                    name=name,
                    handler=str(self.get(record, "handler")),
                    runtime=str(self.get(record, "runtime")),
                    architecture=str(architectures[0]),
                    timeout_s=self.number(record, "timeout"),
                    memory_mb=self.number(record, "memorySize"),
                    reserved_concurrency=None if reserved is None or int(reserved) < 0 else int(reserved),
                    environment={str(key): str(value) for key, value in variables.items() if value is not None},
                    layers=tuple(str(layer) for layer in self.get(record, "layers") or ()),
                    role_name=_arn_tail(str(self.get(record, "role", ""))),
                    alias=aliases.get(name),
                    provisioned_concurrency=provisioned.get(name, 0),
                )
            )
        return tuple(found)

    def queues(self) -> tuple[QueueBlueprint, ...]:
        names = {record.urn: str(self.get(record, "name", record.name)) for record in self.of(QUEUE)}
        found = []
        for record in self.of(QUEUE):
            redrive = None
            policy = self.get(record, "redrivePolicy")
            if policy:
                document = json.loads(policy) if isinstance(policy, str) else policy
                target = self.referenced(record, "redrivePolicy", QUEUE)
                target_name = names[target.urn] if target else _arn_tail(str(document["deadLetterTargetArn"]))
                redrive = RedriveBlueprint(target_name, int(document["maxReceiveCount"]))
            key = self.referenced(record, "kmsMasterKeyId", KEY)
            found.append(
                QueueBlueprint(
                    name=names[record.urn],
                    visibility_timeout_s=self.number(record, "visibilityTimeoutSeconds"),
                    message_retention_s=self.number(record, "messageRetentionSeconds"),
                    delay_s=self.number(record, "delaySeconds"),
                    receive_wait_s=self.number(record, "receiveWaitTimeSeconds"),
                    max_message_bytes=self.number(record, "maxMessageSize"),
                    fifo=bool(self.get(record, "fifoQueue", False)),
                    kms_key_id=self.get(record, "kmsMasterKeyId"),
                    redrive=redrive,
                    kms_key=key.name if key else None,
                    url=str(plain(record.outputs.get("url")) or ""),
                    arn=str(plain(record.outputs.get("arn")) or ""),
                )
            )
        return tuple(found)

    def mappings(self) -> tuple[MappingBlueprint, ...]:
        found = []
        for record in self.of(MAPPING):
            queue = self.referenced(record, "eventSourceArn", QUEUE)
            if queue is None:
                continue  # not an SQS source: the local stack has no other event source
            function = self.function_name(record, "functionName")
            if function is None:
                raise MaterializeError(f"event source mapping {record.name!r} names no function the program declares")
            scaling = self.get(record, "scalingConfig") or {}
            maximum = scaling.get("maximumConcurrency")
            found.append(
                MappingBlueprint(
                    function_name=function,
                    queue_name=str(self.get(queue, "name", queue.name)),
                    batch_size=self.number(record, "batchSize"),
                    batching_window_s=self.number(record, "maximumBatchingWindowInSeconds"),
                    function_response_types=tuple(self.get(record, "functionResponseTypes") or ()),
                    maximum_concurrency=None if maximum is None else int(maximum),
                    enabled=bool(self.get(record, "enabled", True)),
                )
            )
        return tuple(found)

    def schedules(self) -> tuple[ScheduleBlueprint, ...]:
        found = []
        for target in self.of(TARGET):
            rule = self.referenced(target, "rule", RULE)
            if rule is None or not self.get(rule, "scheduleExpression"):
                continue
            function = self.function_name(target, "arn")
            if function is None:
                continue  # a schedule that targets something other than a function
            found.append(
                ScheduleBlueprint(
                    rule_name=str(self.get(rule, "name", rule.name)),
                    schedule_expression=str(self.get(rule, "scheduleExpression")),
                    function_name=function,
                )
            )
        return tuple(found)

    def parameters(self) -> tuple[ParameterBlueprint, ...]:
        found = []
        for record in self.of(PARAMETER):
            # A value computed from another resource (a generated password, an instance's address)
            # exists only once deployed: the mocks' stand-in is not it, so it is left to the local stack.
            # A settings document holding such a value keeps the mocks' text as a stand-in: the local
            # stack replaces the fields it knows (the database's address) and keeps the rest.
            computed = bool(record.property_dependencies.get("value"))
            declared = plain(record.inputs.get("value"))
            value = None if computed else declared
            key = self.referenced(record, "keyId", KEY)
            found.append(
                ParameterBlueprint(
                    name=str(self.get(record, "name", record.name)),
                    type=str(self.get(record, "type", "String")),
                    value=None if value is None else str(value),
                    key_id=self.get(record, "keyId"),
                    kms_key=key.name if key else None,
                    description=str(self.get(record, "description", "")),
                    stand_in=str(declared) if computed and declared is not None else None,
                )
            )
        return tuple(found)

    def keys(self) -> tuple[KeyBlueprint, ...]:
        aliases: dict[str, list[str]] = {}
        for alias in self.of(KEY_ALIAS):
            key = self.referenced(alias, "targetKeyId", KEY)
            if key is not None:
                aliases.setdefault(key.urn, []).append(str(self.get(alias, "name")))
        return tuple(
            KeyBlueprint(
                logical_name=record.name,
                description=str(self.get(record, "description", "")),
                aliases=tuple(aliases.get(record.urn, ())),
                policy=self.get(record, "policy"),
                arn=str(plain(record.outputs.get("arn")) or ""),
            )
            for record in self.of(KEY)
        )

    def roles(self) -> tuple[RoleBlueprint, ...]:
        inline: dict[str, dict[str, str]] = {}
        managed: dict[str, list[str]] = {}
        for policy in self.of(ROLE_POLICY):
            role = self.referenced(policy, "role", ROLE)
            if role is not None:
                name = str(self.get(policy, "name", policy.name))
                inline.setdefault(role.urn, {})[name] = str(self.get(policy, "policy"))
        for attachment in self.of(ROLE_ATTACHMENT):
            role = self.referenced(attachment, "role", ROLE)
            if role is not None:
                managed.setdefault(role.urn, []).append(str(self.get(attachment, "policyArn")))
        return tuple(
            RoleBlueprint(
                name=str(self.get(record, "name", record.name)),
                assume_role_policy=str(self.get(record, "assumeRolePolicy")),
                inline_policies=inline.get(record.urn, {}),
                managed_policy_arns=tuple(self.get(record, "managedPolicyArns") or ())
                + tuple(managed.get(record.urn, ())),
            )
            for record in self.of(ROLE)
        )

    def api(self) -> ApiBlueprint:
        rest_apis = self.of(REST_API)
        if len(rest_apis) != 1:
            raise MaterializeError(f"the local stack serves one REST API; the program declares {len(rest_apis)}")
        rest_api = rest_apis[0]
        stages = self.of(STAGE)
        if len(stages) != 1:
            raise MaterializeError(f"the local stack serves one stage; the program declares {len(stages)}")
        stage = stages[0]
        keys = {record.urn: str(self.get(record, "name", record.name)) for record in self.of(API_KEY)}
        plan_keys: dict[str, list[str]] = {}
        for link in self.of(USAGE_PLAN_KEY):
            plan = self.referenced(link, "usagePlanId", USAGE_PLAN)
            key = self.referenced(link, "keyId", API_KEY)
            if plan is not None and key is not None:
                plan_keys.setdefault(plan.urn, []).append(keys[key.urn])
        return ApiBlueprint(
            name=str(self.get(rest_api, "name", rest_api.name)),
            stage_name=str(self.get(stage, "stageName")),
            methods=self.methods(),
            method_settings=tuple(self.method_settings(record) for record in self.of(METHOD_SETTINGS)),
            cache_cluster_enabled=bool(self.get(stage, "cacheClusterEnabled", False)),
            cache_cluster_size_gb=self.get(stage, "cacheClusterSize"),
            usage_plans=tuple(
                self.usage_plan(record, tuple(plan_keys.get(record.urn, ()))) for record in self.of(USAGE_PLAN)
            ),
            # Registration order varies (the SDK registers concurrently); the declared first key (the
            # shortest name, "...-api-key", then "-2", "-3", ...) comes first, as in the stack outputs.
            api_keys=tuple(sorted(keys.values(), key=lambda name: (len(name), name))),
            gateway_responses=tuple(
                GatewayResponseBlueprint(
                    response_type=str(self.get(record, "responseType")),
                    status_code=self.get(record, "statusCode"),
                    response_templates=self.get(record, "responseTemplates") or {},
                    response_parameters=self.get(record, "responseParameters") or {},
                )
                for record in self.of(GATEWAY_RESPONSE)
            ),
        )

    def path_of(self, record: ResourceRecord | None) -> str:
        """A resource's full path: its path part under its parent's path ("/" for the root)."""
        if record is None:
            return "/"
        parent = self.referenced(record, "parentId", API_RESOURCE)
        prefix = self.path_of(parent).rstrip("/")
        return f"{prefix}/{self.get(record, 'pathPart')}"

    def methods(self) -> tuple[MethodBlueprint, ...]:
        integrations: dict[str, ResourceRecord] = {}
        for record in self.of(INTEGRATION):
            method = self.referenced(record, "httpMethod", API_METHOD) or self.referenced(
                record, "resourceId", API_METHOD
            )
            if method is not None:
                integrations[method.urn] = record
        found = []
        for record in self.of(API_METHOD):
            path = self.path_of(self.referenced(record, "resourceId", API_RESOURCE))
            integration = integrations.get(record.urn)
            parameters = self.get(record, "requestParameters") or {}
            found.append(
                MethodBlueprint(
                    resource_path=path,
                    http_method=str(self.get(record, "httpMethod")),
                    api_key_required=bool(self.get(record, "apiKeyRequired", False)),
                    authorization=str(self.get(record, "authorization", "NONE")),
                    function_name=self.function_name(integration, "uri") if integration else None,
                    integration_timeout_ms=int(self.get(integration, "timeoutMilliseconds", 29_000))
                    if integration
                    else 29_000,
                    cache_key_parameters=tuple(self.get(integration, "cacheKeyParameters") or ())
                    if integration
                    else (),
                    request_parameters={str(key): bool(value) for key, value in parameters.items()},
                )
            )
        return tuple(found)

    def method_settings(self, record: ResourceRecord) -> MethodSettingsBlueprint:
        settings = self.get(record, "settings") or {}

        def optional(key: str, kind: type) -> Any:
            value = settings.get(key)
            return None if value is None else kind(value)

        return MethodSettingsBlueprint(
            method_path=str(self.get(record, "methodPath")),
            throttling_rate_limit=optional("throttlingRateLimit", float),
            throttling_burst_limit=optional("throttlingBurstLimit", int),
            caching_enabled=bool(settings.get("cachingEnabled", False)),
            cache_ttl_s=optional("cacheTtlInSeconds", int),
            require_authorization_for_cache_control=optional("requireAuthorizationForCacheControl", bool),
            unauthorized_cache_control_header_strategy=optional("unauthorizedCacheControlHeaderStrategy", str),
        )

    def usage_plan(self, record: ResourceRecord, keys: tuple[str, ...]) -> UsagePlanBlueprint:
        throttle = self.get(record, "throttleSettings") or {}
        quota = self.get(record, "quotaSettings") or {}
        return UsagePlanBlueprint(
            name=str(self.get(record, "name", record.name)),
            throttle_rate_limit=None if throttle.get("rateLimit") is None else float(throttle["rateLimit"]),
            throttle_burst_limit=None if throttle.get("burstLimit") is None else int(throttle["burstLimit"]),
            quota_limit=None if quota.get("limit") is None else int(quota["limit"]),
            quota_period=quota.get("period"),
            quota_offset=int(quota.get("offset") or 0),
            api_keys=keys,
        )

    def database(self) -> DatabaseBlueprint | None:
        primaries = [record for record in self.of(DB_INSTANCE) if not self.get(record, "replicateSourceDb")]
        if not primaries:
            return None
        primary = primaries[0]
        return DatabaseBlueprint(
            name=str(self.get(primary, "dbName")),
            port=self.number(primary, "port"),
            master_username=str(self.get(primary, "username")),
            iam_authentication=bool(self.get(primary, "iamDatabaseAuthenticationEnabled", False)),
            force_ssl=self.force_ssl(primary),
        )

    def force_ssl(self, instance: ResourceRecord) -> bool:
        """``rds.force_ssl`` from the instance's parameter group, else RDS's default for the engine.

        RDS for PostgreSQL 15 and later default ``rds.force_ssl`` to 1, earlier versions to 0:
        https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html
        """
        group = self.referenced(instance, "parameterGroupName", PARAMETER_GROUP)
        for parameter in (self.get(group, "parameters") or []) if group else []:
            if parameter.get("name") == "rds.force_ssl":
                return str(parameter.get("value")) == "1"
        version = str(self.get(instance, "engineVersion", "0")).split(".", 1)[0]
        return version.isdigit() and int(version) >= 15
