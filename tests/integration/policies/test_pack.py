"""Every policy, through the real gate: one compliant and one violating program each."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel

from offline.gate.analyzer import AnalyzerSession, policies_from_info
from policies.pack import all_controls

PACK = Path(__file__).resolve().parents[3] / "policies"
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


def test_the_pack_tells_the_engine_each_controls_metadata():
    """GIVEN the pack served as the engine starts it WHEN the engine asks what it enforces (GetAnalyzerInfo)
    THEN every control is there with its own description, enforcement, severity, remediation, tags and url."""
    with AnalyzerSession(PACK, deadline=time.monotonic() + 120) as session:
        advertised = policies_from_info(session.analyzer_info())

    assert set(advertised) == {control.name for control in CONTROLS}
    for control in CONTROLS:
        policy = advertised[control.name]
        assert policy.description == control.description
        assert policy.enforcement == control.enforcement.value
        assert policy.severity == control.severity.value
        assert policy.remediation == control.remediation_steps()
        assert list(policy.tags) == control.tags()
        assert policy.url == (control.url or "")


def test_every_control_says_what_it_checks_and_how_to_fix_a_finding():
    unexplained = [control.name for control in CONTROLS if not control.description.strip()]
    without_remedy = [control.name for control in CONTROLS if not control.remediation.strip()]

    assert (unexplained, without_remedy) == ([], [])
