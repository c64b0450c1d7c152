"""The pack's own bookkeeping: suppressions that no longer hold fail the run; those that do are shown.

Both are stack policies served after every other policy (see :mod:`policies.suppressions`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from pulumi_policy import Severity

from policies import suppressions
from policies.rules import Control, Kind, Stack, stack_policy

POLICY_SUPPRESSIONS = Control(
    name="policy-suppressions",
    concern="governance",
    kind=Kind.GOVERNANCE,
    description="Every suppression in the policy config is live (not past its expiry date) and matches a finding.",
    severity=Severity.HIGH,
    remediation=(
        "Fix the finding and delete the suppression, or have its owner review it and set a new `expires` date; "
        "delete a suppression that matches nothing."
    ),
    resource_types=("*",),
)

SUPPRESSED_FINDINGS = Control(
    name="suppressed-findings",
    concern="governance",
    kind=Kind.AUDIT,
    description="Lists each violation a live suppression kept from failing the run, with its justification.",
    severity=Severity.LOW,
    remediation="Nothing to do now; each entry names the suppression's owner and the date it must be reviewed by.",
    resource_types=("*",),
)


def stale(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    del control, stack
    today = dt.date.today()
    ledger = suppressions.LEDGER
    for policy in sorted(ledger.declared):
        for suppression in ledger.declared[policy]:
            where = f"suppression of '{policy}' on '{suppression.resource}' (owner {suppression.owner})"
            if suppression.expired(today):
                yield f"{where} expired on {suppression.expires.isoformat()}", ""
            elif suppression not in ledger.used:
                yield f"{where} matches no finding of '{policy}' in this run", ""


def suppressed(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    del control, stack
    for entry in suppressions.LEDGER.suppressed:
        yield suppressions.describe(entry), entry.urn


CHECKS = (
    stack_policy(POLICY_SUPPRESSIONS, stale),
    stack_policy(SUPPRESSED_FINDINGS, suppressed),
)
