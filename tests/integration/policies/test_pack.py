"""Every policy, through the real gate: one compliant and one violating program each."""

from __future__ import annotations

import pytest
from pulumi_policy import EnforcementLevel

from policies.pack import all_controls

CONTROLS = all_controls()
# The suppression bookkeeping (policy-suppressions, suppressed-findings) has no fixture case: test_gate covers it.
CHECKED = [c for c in CONTROLS if c.suppressible]
MANDATORY = [c.name for c in CHECKED if c.enforcement == EnforcementLevel.MANDATORY]
ADVISORY = [c.name for c in CHECKED if c.enforcement == EnforcementLevel.ADVISORY]
# Cases the synthetic program can only break in dev (cost advice applies outside prod).
DEV_CASES = {"rds-burstable-outside-prod"}


def test_the_compliant_program_has_no_finding_at_all(synthetic):
    run = synthetic("none")
    assert run.code == 0, run.out
    assert run.report["findings"] == []
    assert run.report["summary"]["policies"] == len(CONTROLS)


@pytest.mark.parametrize("policy", MANDATORY)
def test_breaking_a_mandatory_policy_fails_the_gate_naming_only_it(synthetic, policy):
    run = synthetic(policy, environment="dev" if policy in DEV_CASES else "prod")
    assert run.code == 1, run.out
    assert run.failing() == {policy}
    assert policy in run.out


@pytest.mark.parametrize("policy", ADVISORY)
def test_breaking_an_advisory_policy_is_reported_without_failing(synthetic, policy):
    run = synthetic(policy, environment="dev" if policy in DEV_CASES else "prod")
    assert run.code == 0, run.out
    assert run.failing() == set()
    findings = [f for f in run.report["findings"] if f["policy"] == policy]
    assert findings
    assert {f["enforcement"] for f in findings} == {"advisory"}


def test_every_policy_carries_its_metadata():
    for control in CONTROLS:
        assert control.remediation
        assert control.description
        assert control.severity
        assert control.enforcement in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
