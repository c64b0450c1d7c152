"""The pack's contents: every check of every concern, in a stable order.

Importing this module is side-effect free (documentation and tests read it); only ``__main__``
serves the pack.
"""

from __future__ import annotations

from pulumi_policy import Policy

from policies import (
    argument_values,
    cost,
    data_protection,
    deployability,
    encryption,
    identity,
    naming,
    network,
    observability,
    tagging,
)
from policies.rules import Check, Control

PACK_NAME = "serverless-infra"
CONCERNS = (
    encryption,
    network,
    identity,
    data_protection,
    observability,
    tagging,
    naming,
    cost,
    deployability,
    argument_values,
)


def all_checks() -> list[Check]:
    checks = [check for module in CONCERNS for check in module.CHECKS]
    names = [check.control.name for check in checks]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"policy names must be unique; repeated: {duplicates}")
    return checks


def all_policies() -> list[Policy]:
    return [check.policy for check in all_checks()]


def all_controls() -> list[Control]:
    return [check.control for check in all_checks()]
