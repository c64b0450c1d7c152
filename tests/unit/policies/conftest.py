"""In-process specifications of the pack's controls: resources built by hand, checks called directly.

``resources`` builds the :class:`PolicyResource` objects the engine hands a stack policy (property
values wrapped as the SDK wraps them, so a value marked unknown raises as it does during preview;
property dependencies as the engine records them), and ``findings`` runs one control over them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

__all__ = ["UNKNOWN_NUMBER", "UNKNOWN_STRING", "Finder", "Resources", "unknown_checking_proxy"]

from offline.project import PulumiProject, load_stack_config
from policies.rules import Check, Stack
from tests.unit.support import PROJECT_ROOT

UNKNOWN_NUMBER = UNKNOWN_NUMBER_VALUE
UNKNOWN_STRING = UNKNOWN_STRING_VALUE


class Resources:
    """The resources of one hand-built stack."""

    def __init__(self) -> None:
        self.all: list[PolicyResource] = []

    def add(
        self,
        type_: str,
        name: str,
        props: Mapping[str, Any] | None = None,
        *,
        deps: Mapping[str, list[PolicyResource]] | None = None,
        depends_on: tuple[PolicyResource, ...] = (),
    ) -> PolicyResource:
        """Register a resource; ``deps`` maps a property to the resources its value was computed from."""
        resource = PolicyResource(
            resource_type=type_,
            props=unknown_checking_proxy(dict(props or {})),
            urn=f"urn:pulumi:test::project::{type_}::{name}",
            name=name,
            opts=None,  # type: ignore[arg-type]
            provider=None,
            parent=None,
            dependencies=[*depends_on, *(d for found in (deps or {}).values() for d in found)],
            property_dependencies={key: list(value) for key, value in (deps or {}).items()},
        )
        self.all.append(resource)
        return resource


@pytest.fixture
def resources() -> Resources:
    return Resources()


Finder = Callable[[Check, Resources], list[tuple[str, str]]]


@pytest.fixture
def findings() -> Finder:
    """Run one stack control over the hand-built resources: [(message, resource name)]."""

    def run(check: Check, built: Resources, config: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
        reported: list[tuple[str, str]] = []
        by_urn = {r.urn: r.name for r in built.all}
        stack = Stack(built.all, dict(config or {}))
        validate = check.policy.validate  # type: ignore[attr-defined]

        class Args:
            resources = built.all

            @staticmethod
            def get_config() -> Mapping[str, Any]:
                return stack.config

        validate(Args(), lambda message, urn=None: reported.append((message, by_urn.get(urn or "", ""))))
        return reported

    return run


@pytest.fixture
def stack_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set the stack configuration the engine hands the pack (PULUMI_CONFIG), keys without namespace."""

    def set_config(**values: Any) -> None:
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"serverless-infra:{k}": str(v) for k, v in values.items()}))

    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    return set_config


@pytest.fixture
def shipped_stack_config(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Hand the pack a shipped stack's configuration (PULUMI_CONFIG, Pulumi.yaml's defaults applied) with
    keys changed (without namespace; None removes one), as the engine would for that stack."""
    project = PulumiProject.load(PROJECT_ROOT)

    def set_config(stack: str = "prod", **changes: Any) -> None:
        keyed = {f"serverless-infra:{key}": value for key, value in changes.items()}
        values = load_stack_config(project, stack).with_overrides(keyed).values
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps(dict(values)))

    return set_config
