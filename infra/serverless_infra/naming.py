"""Names and tags for every resource, in one place.

Names follow :func:`contract.naming.resource_name`. Tags are applied by one SDK-side stack
transformation to every resource whose provider type accepts ``tags``, so they sit in each
resource's own inputs: visible to ``pulumi preview``, to the policy pack (offline and online) and
to the mocks, unlike provider ``default_tags`` or engine-side transforms.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import pulumi

from contract import naming
from contract.workloads import Workload
from serverless_infra.settings import Settings

NOT_BACKED_UP = "none"
"""Backup tag of resources that hold no state to back up; stateful resources set their own."""


@dataclass(frozen=True)
class Namer:
    """Builds canonical names for one environment."""

    environment: str

    def name(self, resource_type: str, qualifier: str | None = None) -> str:
        return naming.resource_name(self.environment, resource_type, qualifier)

    def role_name(self, workload: Workload) -> str:
        """Each workload's execution role. Key policies refer to it before it exists, by ARN."""
        return self.name("role", workload.key)

    def role_arn(self, workload: Workload, account_id: str, partition: str = "aws") -> str:
        return f"arn:{partition}:iam::{account_id}:role/{self.role_name(workload)}"

    def service_role_arn(self, qualifier: str, account_id: str, partition: str = "aws") -> str:
        """The ARN of a service's role named ``role-{qualifier}`` (e.g. AWS Config's), before it exists."""
        return f"arn:{partition}:iam::{account_id}:role/{self.name('role', qualifier)}"


def required_tags(settings: Settings) -> dict[str, str]:
    """The tags every resource carries. Backup defaults to 'none' and stateful resources override it."""
    return {
        "Environment": settings.environment,
        "CostCenter": settings.tags.cost_center,
        "Owner": settings.tags.owner,
        "Application": naming.APPLICATION,
        "Backup": NOT_BACKED_UP,
        "Compliance": settings.tags.compliance,
    }


def backup_tag(description: str) -> dict[str, str]:
    """Explicit tags for a stateful resource: its backup regime, e.g. ``rds-automated-35d``."""
    return {"Backup": description}


_TAGGABLE_BY_TYPE: dict[str, bool] = {}


def _accepts_tags(type_token: str, resource_class: type) -> bool:
    """Whether the provider SDK's resource class takes ``tags`` (remembered per type token)."""
    if type_token not in _TAGGABLE_BY_TYPE:
        init = getattr(resource_class, "_internal_init", None)
        _TAGGABLE_BY_TYPE[type_token] = init is not None and "tags" in inspect.signature(init).parameters
    return _TAGGABLE_BY_TYPE[type_token]


def tagging_transformation(tags: dict[str, str]) -> pulumi.ResourceTransformation:
    """A transformation that gives every taggable resource the required tags and a Name tag.

    A resource's own tags win only for Backup (and Name); the other required tags cannot be
    overridden, so no component can mislabel its environment or owner. A resource's or component's
    own ``transformations`` run before this one (the SDK applies a resource's, then its parents', up
    to the stack's), so they cannot undo it either. Engine-side ``transforms`` would run after it, on
    the resource and on every child of a component that declares them, so they are refused.
    https://www.pulumi.com/docs/iac/concepts/options/transforms/
    """
    enforced = {key: value for key, value in tags.items() if key != "Backup"}

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.opts is not None and args.opts.transforms:
            raise ValueError(
                f"{args.name} ({args.type_}) declares engine-side transforms, which run after the required "
                "tags are set and could change them; use the transformations resource option instead"
            )
        if not isinstance(args.resource, pulumi.CustomResource) or not _accepts_tags(args.type_, type(args.resource)):
            return None
        props: dict[str, Any] = dict(args.props)
        base = {"Name": args.name, "Backup": tags["Backup"]}
        own = props.get("tags") or {}
        if isinstance(own, dict):
            props["tags"] = {**base, **own, **enforced}
        else:
            props["tags"] = pulumi.Output.from_input(own).apply(
                lambda resolved: {**base, **(resolved or {}), **enforced}
            )
        return pulumi.ResourceTransformationResult(props, args.opts)

    return transform
