"""The real program passes for every stack, and flipping a setting fails the named policy."""

from __future__ import annotations

import pytest

from tests.unit.support import STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_passes_with_no_mandatory_violation(real, stack):
    run = real(stack)
    assert run.code == 0, run.out
    assert run.failing() == set()
    assert run.report["summary"]["mandatory_violations"] == 0
    assert run.report["project"] == "serverless-infra"
    assert run.report["stack"] == stack
    assert len(run.report["resources"]) > 100


@pytest.mark.parametrize(
    ("setting", "value", "policy"),
    [
        ("dbMultiAz", "false", "rds-multi-az"),
        ("dbBackupRetentionDays", "7", "rds-backup-retention"),
        ("dbDeletionProtection", "false", "rds-deletion-protection"),
        ("dbFinalSnapshot", "false", "rds-final-snapshot"),
        ("logRetentionDays", "14", "log-retention"),
    ],
)
def test_flipping_a_prod_setting_fails_that_policy(real, setting, value, policy):
    run = real("prod", **{setting: value})
    assert run.code == 1
    assert run.failing() == {policy}


@pytest.mark.parametrize("stack", STACKS)
def test_a_first_preview_of_every_shipped_stack_passes_with_nothing_left_unknown(real, stack):
    """With every computed output unknown, each policy decides: the identity documents embedding ARNs are
    judged when known (at `pulumi up`, before the resource is created), not reported as `unknown`."""
    run = real(stack, "--unknowns")
    assert run.code == 0, run.out
    assert run.failing() == set()
    assert run.policies("unknown") == set()


def test_reports_never_print_secret_values(real):
    run = real("dev")
    for text in (run.out, run.err, str(run.report), str(run.sarif)):
        assert "offline-secret-for-" not in text


@pytest.mark.parametrize("change", [{"provisionedConcurrencyMin": "100"}, {"dbInstanceClass": "db.r7g.xlarge"}])
def test_raising_provisioned_concurrency_or_instance_size_past_the_budget_fails_the_gate(real, change):
    run = real("prod", **change)
    assert run.code == 1
    assert run.failing() == {"monthly-budget"}
    assert "exceeds the prod budget of $500" in run.out


def test_outside_prod_the_budget_is_not_checked_by_default(real):
    run = real("dev", dbInstanceClass="db.r7g.xlarge")
    assert "monthly-budget" not in run.failing()


def test_given_a_layer_without_the_rds_ca_bundle_when_gated_then_a_warning_is_reported_and_the_verdict_stands(real):
    """As `pulumi preview` does: the warning is printed, the offline main job still runs on a fresh clone."""
    run = real("dev")
    assert run.code == 0, run.out
    assert any("rds-global-bundle.pem" in warning for warning in run.report["warnings"])
    assert "warning: serverless-infra:layerArchive" in run.out


@pytest.mark.parametrize(("setting", "value"), [("lambdaConcurrencyQuota", "1000"), ("dbProxy", "false")])
def test_given_prod_without_what_its_scale_needs_then_the_preview_stops_naming_the_key(real, setting, value):
    """Settings refuse it before any resource is registered: exit 2 ("could not run"), the key named."""
    run = real("prod", **{setting: value})
    assert run.code == 2, run.out
    assert f"serverless-infra:{setting}" in run.out + run.err
