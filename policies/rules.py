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

from contract.naming import ENVIRONMENTS


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


MANDATORY_KINDS: Final = frozenset({Kind.SECURITY, Kind.TAGGING, Kind.NAMING, Kind.BUDGET, Kind.DEPLOYABILITY})


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
    def enforcement(self) -> EnforcementLevel:
        return EnforcementLevel.MANDATORY if self.kind in MANDATORY_KINDS else EnforcementLevel.ADVISORY

    def tags(self) -> list[str]:
        return [f"concern:{self.concern}", f"kind:{self.kind.value}", *self.anchors.tags()]

    def remediation_steps(self) -> str:
        """The remediation, followed by the sources that state the rule (what the engine prints)."""
        return f"{self.remediation} Source: {' ; '.join(self.sources)}" if self.sources else self.remediation

    def schema(self) -> PolicyConfigSchema | None:
        return (
            PolicyConfigSchema(properties={key: dict(value) for key, value in self.config.items()})
            if self.config
            else None
        )

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


def environment_of(props: Any) -> str:
    """The environment a resource belongs to: its Environment tag, else the stack name, else prod.

    An unrecognised environment is held to prod's rules: failing closed is the safe default.
    """
    tag = get(props, "tags", "Environment")
    if isinstance(tag, str) and tag in ENVIRONMENTS:
        return tag
    stack = os.environ.get("PULUMI_STACK", "")
    return stack if stack in ENVIRONMENTS else "prod"


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
        return environment_of(self.props)


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

    def referrers(self, target: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
        """Resources of ``types`` whose ``prop`` was computed from ``target``."""
        return [r for r in self.of_type(*types) if any(dep.urn == target.urn for dep in self.deps(r, prop))]


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
        if "*" not in types and args.resource_type not in types:
            return
        resource = Resource(args.resource_type, args.name, args.urn, args.props, args.get_config())
        for message in check(control, resource):
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
        url=control.sources[0] if control.sources else None,
    )
    return Check(control, policy)


def stack_policy(control: Control, check: StackCheck) -> Check:
    """A stack policy: ``check`` yields (message, urn) pairs for the resources at fault."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for message, urn in check(control, Stack(args.resources, args.get_config())):
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
        url=control.sources[0] if control.sources else None,
    )
    return Check(control, policy)
