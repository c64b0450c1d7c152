"""The pack's contents: every check of every concern, in a stable order.

Importing this module is side-effect free (documentation and tests read it); only ``__main__``
serves the pack.
"""

from __future__ import annotations

from pulumi_policy import Policy

from policies import (
    api_gateway,
    argument_values,
    cost,
    data_protection,
    database,
    deployability,
    encryption,
    governance,
    identity,
    naming,
    network,
    observability,
    resource_policies,
    runtime,
    secrets,
    tagging,
)
from policies.rules import Check, Control

PACK_NAME = "serverless-infra"
CONCERNS = (
    encryption,
    network,
    identity,
    resource_policies,
    api_gateway,
    secrets,
    runtime,
    database,
    data_protection,
    observability,
    tagging,
    naming,
    cost,
    deployability,
    argument_values,
)


def all_checks() -> list[Check]:
    # The suppression bookkeeping runs last: it reports what every other policy suppressed.
    checks = [check for module in CONCERNS for check in module.CHECKS] + list(governance.CHECKS)
    names = [check.control.name for check in checks]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"policy names must be unique; repeated: {duplicates}")
    return checks


def all_policies() -> list[Policy]:
    return [check.policy for check in all_checks()]


def all_controls() -> list[Control]:
    return [check.control for check in all_checks()]
