"""The gate's contract: exit codes, errors, suppressions, policy config, JSON and SARIF output."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from offline.gate.analyzer import CANT_RUN_PREFIX
from tests.integration.policies.conftest import FIXTURES, SYNTHETIC

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "offline/gate/sarif-2.1.0.schema.json").read_text())


def _suppressions(tmp_path: Path, text: str) -> str:
    path = tmp_path / "suppressions.yaml"
    path.write_text(text)
    return str(path)


def test_a_suppressed_finding_no_longer_fails_and_is_listed(synthetic, tmp_path):
    path = _suppressions(
        tmp_path,
        "suppressions:\n"
        "  - policy: sqs-queue-kms\n"
        "    resource: serverless-infra-prod-queue-orders\n"
        "    justification: The queue carries only public reference data and is encrypted by SQS itself.\n"
        "    expires: 2999-01-01\n",
    )
    run = synthetic("sqs-queue-kms", "--suppressions", path)
    assert run.code == 0, run.out
    assert run.policies("suppressed") == {"sqs-queue-kms"}
    assert [s["status"] for s in run.report["summary"]["suppressions"]] == ["active"]
    result = next(r for r in run.sarif["runs"][0]["results"] if r["ruleId"] == "sqs-queue-kms")
    assert result["suppressions"][0]["justification"].startswith("The queue carries")


def test_an_expired_suppression_stops_suppressing(synthetic, tmp_path):
    path = _suppressions(
        tmp_path,
        "suppressions:\n"
        "  - policy: sqs-queue-kms\n"
        "    resource: serverless-infra-prod-queue-orders\n"
        "    justification: Accepted until the messaging key existed in every account we deploy to.\n"
        "    expires: 2000-01-01\n",
    )
    run = synthetic("sqs-queue-kms", "--suppressions", path)
    assert run.code == 1
    assert run.failing() == {"sqs-queue-kms"}
    assert [s["status"] for s in run.report["summary"]["suppressions"]] == ["expired"]


def test_a_suppression_without_a_real_justification_is_an_error(synthetic, tmp_path):
    path = _suppressions(tmp_path, "suppressions:\n  - policy: sqs-queue-kms\n    resource: x\n    justification: ok\n")
    run = synthetic("none", "--suppressions", path)
    assert run.code == 2
    assert "justification must be at least a sentence" in run.err


def test_a_policy_that_raises_is_a_gate_error(synthetic):
    run = synthetic("none", "--pack", str(FIXTURES / "raising_pack"))
    assert run.code == 2
    assert "policy bug while reading" in run.err


def test_a_program_that_cannot_run_is_a_gate_error(gate, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: broken\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("raise ValueError('no such setting: region')\n")
    run = gate("--project", str(tmp_path), "--stack", "dev", "--in-process")
    assert run.code == 2
    assert "no such setting: region" in run.err


def test_a_missing_project_is_a_gate_error(gate, tmp_path):
    run = gate("--project", str(tmp_path / "nowhere"), "--in-process")
    assert run.code == 2
    assert "Pulumi.yaml" in run.err


def test_policy_config_values_come_from_the_schema_and_can_be_overridden(synthetic, tmp_path):
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"required-tags": {"requiredTags": ["Environment", "DataClassification"]}}))
    run = synthetic("none", "--policy-config", str(config))
    assert run.code == 1
    assert run.failing() == {"required-tags"}


def test_invalid_policy_config_is_a_gate_error_naming_the_policy(synthetic, tmp_path):
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"log-retention": {"minimumDays": {"dev": 1}}}))
    run = synthetic("none", "--policy-config", str(config))
    assert run.code == 2
    assert "log-retention" in run.err


def test_a_mandatory_policy_downgraded_for_unknowns_fails_closed(synthetic):
    run = synthetic("none", "--unknowns")
    assert run.code == 1
    unknown = [f for f in run.report["findings"] if f["state"] == "unknown"]
    assert unknown
    assert all(f["message"].startswith(CANT_RUN_PREFIX) for f in unknown)


def test_json_is_sorted_and_sarif_validates(synthetic):
    run = synthetic("s3-versioning")
    findings = run.report["findings"]
    assert findings == sorted(findings, key=lambda f: (f["urn"], f["policy"], f["message"], f["state"]))
    resources = run.report["resources"]
    assert resources == sorted(resources, key=lambda r: r["urn"])
    assert set(findings[0]) == {
        "policy",
        "enforcement",
        "severity",
        "resource_type",
        "resource_name",
        "urn",
        "message",
        "state",
    }
    jsonschema.Draft4Validator(SCHEMA).validate(run.sarif)
    rule = next(r for r in run.sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "s3-versioning")
    assert "checkov:CKV_AWS_21" in rule["properties"]["tags"]
    assert "security-hub:S3.14" in rule["properties"]["tags"]


def test_sarif_of_a_clean_run_validates(synthetic):
    run = synthetic("none")
    jsonschema.Draft4Validator(SCHEMA).validate(run.sarif)
    assert run.sarif["runs"][0]["results"] == []


def test_fixture_project_is_a_plain_pulumi_project():
    assert (SYNTHETIC / "Pulumi.yaml").exists()
