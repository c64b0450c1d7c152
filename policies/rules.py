"""Controls as data, and the adapters that turn them into CrossGuard policies.

A :class:`Control` carries everything a reader of a finding needs (what, why, how to fix, which
cdk-nag / Checkov / Security Hub rule it mirrors) and its configurable values as a JSON schema
with defaults. The engine applies those defaults when it configures the pack, so a value such as
the required tag keys lives in the schema, not in the check.

The engine hands policies resource *inputs* after the provider's Check during ``pulumi preview``,
and the offline gate hands them the program's own inputs: provider defaults, auto-names and
``default_tags`` are absent in the second case. Checks therefore read fields with :func:`get`, which
returns :data:`MISSING` for an absent field (the check then applies the AWS default) and
:data:`UNKNOWN` for a value not known during preview, so each check decides about unknowns
explicitly instead of having the SDK downgrade it to an advisory "can't run during preview".
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, NamedTuple

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from contract.naming import APPLICATION, ENVIRONMENTS
from policies import suppressions


class _Marker:
    """A value that is not a property value: absent, or not known during preview."""

    def __init__(self, label: str) -> None:
        self._label = label

    def __repr__(self) -> str:
        return self._label

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Marker("MISSING")
UNKNOWN: Final = _Marker("UNKNOWN")


def get(value: Any, *path: str | int) -> Any:
    """Follow ``path`` into a property bag: :data:`MISSING` if absent/null, :data:`UNKNOWN` if unknown."""
    current = value
    for key in path:
        try:
            current = current[key]
        except UnknownValueError:
            return UNKNOWN
        except (KeyError, IndexError, TypeError):
            return MISSING
        if current is None:
            return MISSING
    return current


def items(value: Any) -> list[Any]:
    """The elements of a list property (a scalar counts as a one-element list); [] when absent."""
    if value is MISSING or value is UNKNOWN:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [get(value, index) for index in range(len(value))]
    return [value]


def is_true(value: Any) -> bool:
    return value is True


def json_document(value: Any) -> Any:
    """A JSON policy document given as text or as an object; MISSING/UNKNOWN pass through."""
    if value is MISSING or value is UNKNOWN:
        return value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return MISSING
    return value


class Kind(StrEnum):
    """What a control protects; decides its enforcement level."""

    SECURITY = "security"
    TAGGING = "tagging"
    NAMING = "naming"
    COST = "cost"
    BUDGET = "budget"  # a spending limit the owners set: blocking, unlike cost advice
    OPERATIONAL = "operational"
    DEPLOYABILITY = "deployability"  # a rule AWS applies at create time: breaking it fails `pulumi up`
    GOVERNANCE = "governance"  # the pack's own bookkeeping: an expired or unused suppression blocks
    AUDIT = "audit"  # a record for reviewers (what suppressions hid); never blocks


MANDATORY_KINDS: Final = frozenset(
    {Kind.SECURITY, Kind.TAGGING, Kind.NAMING, Kind.BUDGET, Kind.DEPLOYABILITY, Kind.GOVERNANCE}
)
UNSUPPRESSIBLE_KINDS: Final = frozenset({Kind.GOVERNANCE, Kind.AUDIT})  # the suppression machinery itself


@dataclass(frozen=True)
class Anchors:
    """IDs of the equivalent rules in other tools, for readers who know those."""

    cdk_nag: tuple[str, ...] = ()
    checkov: tuple[str, ...] = ()
    security_hub: tuple[str, ...] = ()

    def tags(self) -> list[str]:
        return (
            [f"cdk-nag:{rule}" for rule in self.cdk_nag]
            + [f"checkov:{rule}" for rule in self.checkov]
            + [f"security-hub:{rule}" for rule in self.security_hub]
        )


SECURITY_HUB_GUIDE = "https://docs.aws.amazon.com/securityhub/latest/userguide"


def security_hub_url(control_id: str) -> str:
    """A Security Hub control's page: ``RDS.3`` is ``rds-controls.html#rds-3`` in the user guide."""
    service, _, number = control_id.partition(".")
    return f"{SECURITY_HUB_GUIDE}/{service.lower()}-controls.html#{service.lower()}-{number}"


@dataclass(frozen=True)
class Control:
    """One policy, as data."""

    name: str
    concern: str
    kind: Kind
    description: str
    severity: Severity
    remediation: str
    resource_types: tuple[str, ...]
    anchors: Anchors = Anchors()
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # the pages (AWS documentation, provider source) that state the rule

    @property
    def url(self) -> str | None:
        """Where the rule is stated: its first source, else the Security Hub control it matches."""
        if self.sources:
            return self.sources[0]
        if self.anchors.security_hub:
            return security_hub_url(self.anchors.security_hub[0])
        return None

    @property
    def enforcement(self) -> EnforcementLevel:
        return EnforcementLevel.MANDATORY if self.kind in MANDATORY_KINDS else EnforcementLevel.ADVISORY

    def tags(self) -> list[str]:
        return [f"concern:{self.concern}", f"kind:{self.kind.value}", *self.anchors.tags()]

    def remediation_steps(self) -> str:
        """The remediation, followed by the sources that state the rule (what the engine prints)."""
        return f"{self.remediation} Source: {' ; '.join(self.sources)}" if self.sources else self.remediation

    @property
    def suppressible(self) -> bool:
        return self.kind not in UNSUPPRESSIBLE_KINDS

    def schema(self) -> PolicyConfigSchema | None:
        """The config schema the engine validates: the control's settings, plus its suppressions."""
        properties = {key: dict(value) for key, value in self.config.items()}
        if self.suppressible:
            properties[suppressions.PROPERTY] = dict(suppressions.SCHEMA)
        return PolicyConfigSchema(properties=properties) if properties else None

    def setting(self, config: Mapping[str, Any], key: str) -> Any:
        """A configured value, or the schema default when the engine sent no configuration."""
        if key in config:
            return config[key]
        return self.config[key]["default"]


def per_environment(default: Mapping[str, int], description: str) -> dict[str, Any]:
    """A config schema entry holding one integer per environment."""
    return {
        "type": "object",
        "description": description,
        "properties": {env: {"type": "integer", "minimum": 0} for env in ENVIRONMENTS},
        "required": list(ENVIRONMENTS),
        "additionalProperties": False,
        "default": dict(default),
    }


ENVIRONMENT_CONFIG_KEY: Final = f"{APPLICATION}:environment"


def stack_config(name: str) -> str | None:
    """The stack's value for ``serverless-infra:<name>``, as the engine passes it (None when unset).

    The Pulumi engine starts a policy pack with the stack's configuration in ``PULUMI_CONFIG`` (the
    same variable a program reads); the offline gate does the same.
    """
    raw = os.environ.get("PULUMI_CONFIG", "")
    try:
        config = json.loads(raw) if raw else {}
    except ValueError:
        return None
    value = config.get(f"{APPLICATION}:{name}") if isinstance(config, dict) else None
    return None if value is None else str(value)


def environment_of() -> str:
    """The environment of the stack being checked: never a value the program sets on a resource.

    The stack's name when it names an environment (``PULUMI_STACK``, set by the engine and by the
    gate), else the stack's ``serverless-infra:environment`` configuration (``PULUMI_CONFIG``). An
    unrecognised or absent environment is held to prod's rules: failing closed is the safe default.
    A resource's Environment tag is checked against this value (``required-tags``), never trusted.
    """
    stack = os.environ.get("PULUMI_STACK", "")
    if stack in ENVIRONMENTS:
        return stack
    configured = stack_config("environment")
    return configured if configured in ENVIRONMENTS else "prod"


@dataclass(frozen=True)
class Resource:
    """What a resource check sees of one resource."""

    type: str
    name: str
    urn: str
    props: Any
    config: Mapping[str, Any]

    def get(self, *path: str | int) -> Any:
        return get(self.props, *path)

    @property
    def environment(self) -> str:
        """The stack's environment (see :func:`environment_of`), whatever the resource's tags say."""
        return environment_of()


class Stack:
    """What a stack check sees: every resource with its outputs and property dependencies."""

    def __init__(self, resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> None:
        self.resources = list(resources)
        self.config = config

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [resource for resource in self.resources if resource.resource_type in types]

    @staticmethod
    def deps(resource: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
        """The resources a property's value was computed from (known even when the value is not)."""
        found = list(resource.property_dependencies.get(prop, []))
        return [dep for dep in found if not types or dep.resource_type in types]

    def resolve(self, resource: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
        """The resources of ``types`` a property names: by dependency, else by a literal name, id or ARN.

        Property dependencies are known even when the value is not (first preview). A literal (a
        string, or any string inside a list or object, e.g. ``vpcConfig.subnetIds``) is matched
        against each candidate's own name, id, ARN and identifier; an ARN also matches by its last
        segment (``arn:aws:iam::1:role/NAME`` → NAME), so a reference written by hand resolves to the
        same resource as one computed from it.
        """
        found = self.deps(resource, prop, *types)
        if found:
            return found
        literals = _strings(get(resource.props, prop))
        literals |= {_arn_tail(value) for value in literals if value.startswith("arn:")}
        if not literals:
            return []
        return [candidate for candidate in self.of_type(*types) if literals & _identities(candidate)]

    def referrers(self, target: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
        """Resources of ``types`` whose ``prop`` names ``target`` (by dependency or literal, see :meth:`resolve`)."""
        return [
            r
            for r in self.of_type(*types)
            if any(found.urn == target.urn for found in self.resolve(r, prop, target.resource_type))
        ]


_IDENTITY_KEYS: Final = (
    "name",
    "arn",
    "id",
    "identifier",
    "clusterIdentifier",
    "bucket",
    "keyId",
    "invokeArn",
    "functionName",
)


def _strings(value: Any, depth: int = 3) -> set[str]:
    """The non-empty known strings in a property value, inside lists and objects down to ``depth``."""
    if isinstance(value, str):
        return {value} if value else set()
    if depth == 0 or value is MISSING or value is UNKNOWN:
        return set()
    if isinstance(value, Mapping):
        return {found for key in value for found in _strings(get(value, key), depth - 1)}
    return {found for element in items(value) for found in _strings(element, depth - 1)}


def _arn_tail(arn: str) -> str:
    """The resource name at the end of an ARN (after the last '/' or, failing that, the last ':')."""
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]


def _identities(resource: PolicyResource) -> set[str]:
    """The strings a literal reference to ``resource`` may be: its name, id, ARN and the like."""
    found = {value for key in _IDENTITY_KEYS if isinstance(value := get(resource.props, key), str) and value}
    return found | {_arn_tail(value) for value in found if value.startswith("arn:")}


class Check(NamedTuple):
    """A control and the CrossGuard policy that enforces it."""

    control: Control
    policy: Policy


ResourceCheck = Callable[[Control, Resource], Iterable[str]]
StackCheck = Callable[[Control, Stack], Iterator[tuple[str, str]]]


def resource_policy(control: Control, check: ResourceCheck) -> Check:
    """A resource policy that runs ``check`` on resources of the control's types."""
    types = frozenset(control.resource_types)

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        config = args.get_config()
        declared = suppressions.LEDGER.declare(control.name, config) if control.suppressible else ()
        if "*" not in types and args.resource_type not in types:
            return
        resource = Resource(args.resource_type, args.name, args.urn, args.props, config)
        for message in check(control, resource):
            if not suppressions.LEDGER.suppresses(declared, args.urn, message):
                report(message, None)

    policy = ResourceValidationPolicy(
        name=control.name,
        description=control.description,
        validate=validate,
        enforcement_level=control.enforcement,
        config_schema=control.schema(),
        severity=control.severity,
        tags=control.tags(),
        remediation_steps=control.remediation_steps(),
        url=control.url,
    )
    return Check(control, policy)


def stack_policy(control: Control, check: StackCheck) -> Check:
    """A stack policy: ``check`` yields (message, urn) pairs for the resources at fault."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        config = args.get_config()
        declared = suppressions.LEDGER.declare(control.name, config) if control.suppressible else ()
        for message, urn in check(control, Stack(args.resources, config)):
            if not suppressions.LEDGER.suppresses(declared, urn or "", message):
                report(message, urn)

    policy = StackValidationPolicy(
        name=control.name,
        description=control.description,
        validate=validate,
        enforcement_level=control.enforcement,
        config_schema=control.schema(),
        severity=control.severity,
        tags=control.tags(),
        remediation_steps=control.remediation_steps(),
        url=control.url,
    )
    return Check(control, policy)
