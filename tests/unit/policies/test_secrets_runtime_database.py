"""Secrets Manager keys and rotation, Lambda runtimes, RDS logs / patches / monitoring / snapshot tags."""

from __future__ import annotations

import datetime

import pytest
from pulumi_policy import EnforcementLevel

from policies import database as d
from policies import encryption as e
from policies import runtime as rt
from policies import secrets as s
from tests.unit.policies.conftest import UNKNOWN_NUMBER, UNKNOWN_STRING, Finder, Resources

SECRET_KMS = next(c for c in s.CHECKS if c.control.name == "secret-customer-managed-key")
ROTATION = next(c for c in s.CHECKS if c.control.name == "secret-rotation")
RUNTIME = next(c for c in rt.CHECKS if c.control.name == "lambda-supported-runtime")
LOGS = next(c for c in d.CHECKS if c.control.name == "rds-log-exports")
MINOR = next(c for c in d.CHECKS if c.control.name == "rds-auto-minor-version-upgrade")
COPY_TAGS = next(c for c in d.CHECKS if c.control.name == "rds-copy-tags-to-snapshot")
MONITORING = next(c for c in d.CHECKS if c.control.name == "rds-enhanced-monitoring")
AWS_MANAGED_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b5c0e0e-1111-2222-3333-444455556666"


# -- Secrets Manager ------------------------------------------------------------------------------
@pytest.mark.parametrize("arn", [AWS_MANAGED_ARN, UNKNOWN_STRING])
def test_given_a_secret_encrypted_with_a_key_of_the_stack_then_no_finding(resources: Resources, findings: Finder, arn):
    key = resources.add(e.KMS_KEY, "key", {})
    resources.add(s.SECRET, "secret", {"kmsKeyId": arn}, deps={"kmsKeyId": [key]})
    assert findings(SECRET_KMS, resources) == []


@pytest.mark.parametrize("props", [{}, {"kmsKeyId": "alias/aws/secretsmanager"}, {"kmsKeyId": AWS_MANAGED_ARN}])
def test_given_a_secret_without_a_customer_managed_key_then_it_is_refused(resources, findings, props):
    resources.add(s.SECRET, "secret", props)
    assert findings(SECRET_KMS, resources) == [
        (
            "kmsKeyId does not name a customer-managed key (the default is the AWS-managed aws/secretsmanager key)",
            "secret",
        )
    ]


def test_secret_rotation_is_advisory():
    assert ROTATION.control.enforcement == EnforcementLevel.ADVISORY


def test_given_a_secret_with_a_rotation_then_no_finding(resources, findings):
    secret = resources.add(s.SECRET, "secret", {})
    resources.add(s.SECRET_ROTATION, "rotation", {"secretId": UNKNOWN_STRING}, deps={"secretId": [secret]})
    assert findings(ROTATION, resources) == []


def test_given_a_secret_without_rotation_then_it_is_reported(resources, findings):
    resources.add(s.SECRET, "secret", {})
    assert findings(ROTATION, resources) == [("the secret has no automatic rotation", "secret")]


# -- Lambda runtimes ------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime table's dates are judged against a fixed day, so the specs do not age."""
    monkeypatch.setattr(rt, "today", lambda: datetime.date(2026, 12, 1))


def runtime_findings(resources: Resources, props: dict[str, object]) -> list[str]:
    function = resources.add(rt.FUNCTION, "function", props)
    reported: list[str] = []

    class Args:
        resource_type = rt.FUNCTION
        name = "function"
        urn = function.urn

        @staticmethod
        def get_config():
            return {}

    Args.props = function.props  # type: ignore[attr-defined]
    RUNTIME.policy.validate(Args(), lambda message, urn=None: reported.append(message))
    return reported


@pytest.mark.parametrize("props", [{"runtime": "python3.12"}, {"packageType": "Image"}])
def test_given_a_supported_runtime_or_an_image_then_no_finding(resources, props):
    assert runtime_findings(resources, props) == []


def test_given_a_deprecated_runtime_then_it_is_refused(resources):
    assert runtime_findings(resources, {"runtime": "python3.9"}) == [
        "runtime python3.9 was deprecated on 2025-12-15 and no longer receives security patches"
    ]


def test_given_a_runtime_past_its_projected_date_then_it_is_refused(resources, monkeypatch):
    monkeypatch.setattr(rt, "today", lambda: datetime.date(2028, 11, 1))
    assert runtime_findings(resources, {"runtime": "python3.12"}) == [
        "runtime python3.12 was deprecated on 2028-10-31 and no longer receives security patches"
    ]


def test_given_a_runtime_the_table_does_not_know_then_it_is_refused(resources):
    [message] = runtime_findings(resources, {"runtime": "cobol85"})
    assert "not in the pack's table" in message


def test_given_an_unknown_runtime_then_it_is_not_passed(resources):
    assert runtime_findings(resources, {"runtime": UNKNOWN_STRING}) == [
        "the runtime is not known during preview, so it cannot be shown to be supported"
    ]


# -- RDS ------------------------------------------------------------------------------------------
COMPLIANT = {
    "engine": "postgres",
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "autoMinorVersionUpgrade": True,
    "copyTagsToSnapshot": True,
    "monitoringInterval": 60,
    "monitoringRoleArn": UNKNOWN_STRING,
}


@pytest.mark.parametrize("check", [LOGS, MINOR, COPY_TAGS, MONITORING])
def test_given_a_compliant_instance_and_replica_then_no_finding(resources, findings, check):
    primary = resources.add(d.RDS_INSTANCE, "primary", COMPLIANT)
    replica = {k: v for k, v in COMPLIANT.items() if k not in ("engine", "copyTagsToSnapshot")}
    resources.add(
        d.RDS_INSTANCE,
        "replica",
        replica | {"replicateSourceDb": UNKNOWN_STRING},
        deps={"replicateSourceDb": [primary]},
    )
    assert findings(check, resources) == []


def test_given_an_instance_without_log_exports_then_it_is_refused(resources, findings):
    resources.add(d.RDS_INSTANCE, "db", COMPLIANT | {"enabledCloudwatchLogsExports": ["upgrade"]})
    assert findings(LOGS, resources) == [
        ("enabledCloudwatchLogsExports lacks postgresql (the default exports nothing)", "db")
    ]


def test_given_a_replica_without_log_exports_then_its_sources_engine_applies(resources, findings):
    primary = resources.add(d.RDS_INSTANCE, "primary", COMPLIANT)
    resources.add(d.RDS_INSTANCE, "replica", {"replicateSourceDb": "x"}, deps={"replicateSourceDb": [primary]})
    assert [name for _, name in findings(LOGS, resources)] == ["replica"]


def test_given_unknown_log_exports_then_they_are_reported(resources, findings):
    resources.add(d.RDS_INSTANCE, "db", COMPLIANT | {"enabledCloudwatchLogsExports": UNKNOWN_STRING})
    assert findings(LOGS, resources) == [("enabledCloudwatchLogsExports is not known during preview", "db")]


def test_given_minor_upgrades_off_then_it_is_refused_and_absent_means_on(resources, findings):
    resources.add(d.RDS_INSTANCE, "off", COMPLIANT | {"autoMinorVersionUpgrade": False})
    resources.add(d.RDS_INSTANCE, "default", {k: v for k, v in COMPLIANT.items() if k != "autoMinorVersionUpgrade"})
    resources.add(d.RDS_INSTANCE, "unknown", COMPLIANT | {"autoMinorVersionUpgrade": UNKNOWN_STRING})
    assert [name for _, name in findings(MINOR, resources)] == ["off", "unknown"]


def test_given_no_copy_tags_then_it_is_reported_except_on_replicas(resources, findings):
    resources.add(d.RDS_INSTANCE, "db", {k: v for k, v in COMPLIANT.items() if k != "copyTagsToSnapshot"})
    resources.add(d.RDS_INSTANCE, "replica", {"replicateSourceDb": "db"})
    assert findings(COPY_TAGS, resources) == [("copyTagsToSnapshot is not true (the default is false)", "db")]


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"monitoringInterval": 0}, ["monitoringInterval is 0 (the default): Enhanced Monitoring is off"]),
        (
            {"monitoringInterval": 60, "monitoringRoleArn": None},
            ["monitoringInterval is set but monitoringRoleArn is not"],
        ),
        ({"monitoringInterval": UNKNOWN_NUMBER}, []),
    ],
)
def test_enhanced_monitoring_needs_an_interval_and_a_role(resources, findings, props, expected):
    resources.add(d.RDS_INSTANCE, "db", COMPLIANT | props)
    assert [message for message, _ in findings(MONITORING, resources)] == expected


def test_copy_tags_and_monitoring_are_advisory_logs_and_patches_mandatory():
    assert COPY_TAGS.control.enforcement == MONITORING.control.enforcement == EnforcementLevel.ADVISORY
    assert LOGS.control.enforcement == MINOR.control.enforcement == EnforcementLevel.MANDATORY
