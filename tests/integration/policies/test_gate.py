"""The gate's contract: exit codes, errors, suppressions, policy config, JSON and SARIF output."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema

from offline.gate.analyzer import CANT_RUN_PREFIX, AnalyzerSession, Diagnostic
from policies.pack import all_controls
from policies.rules import Kind
from tests.integration.policies.conftest import FIXTURES, SYNTHETIC

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "offline/gate/sarif-2.1.0.schema.json").read_text())


QUEUE = "serverless-infra-prod-queue-orders"
JUSTIFICATION = "The queue carries only public reference data and is encrypted by SQS itself."


def _policy_config(tmp_path: Path, document: dict[str, object]) -> str:
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps(document))
    return str(path)


def _suppression(resource: str = QUEUE, expires: str = "2999-01-01", **overrides: str) -> dict[str, str]:
    return {
        "resource": resource,
        "justification": JUSTIFICATION,
        "owner": "platform-team",
        "expires": expires,
    } | overrides


def _suppressing(tmp_path: Path, *entries: dict[str, str], policy: str = "sqs-queue-kms") -> str:
    """Suppress ``policy``; every other policy but policy-suppressions advisory, so the verdict is theirs alone."""
    return _policy_config(
        tmp_path,
        {
            "all": "advisory",
            policy: {"enforcementLevel": "mandatory", "suppressions": list(entries)},
            "policy-suppressions": "mandatory",
        },
    )


def test_a_suppression_in_the_policy_config_is_applied_by_the_pack_and_listed(synthetic, tmp_path):
    run = synthetic("sqs-queue-kms", "--policy-config", _suppressing(tmp_path, _suppression()))
    assert run.code == 0, run.out
    assert run.policies("suppressed") == {"sqs-queue-kms"}
    # What the engine would print: no sqs-queue-kms violation, an advisory "suppressed:" line instead.
    assert not {"sqs-queue-kms", "policy-suppressions"} & run.policies("fail")
    [entry] = run.report["summary"]["suppressions"]
    assert (entry["status"], entry["owner"], entry["expires"]) == ("active", "platform-team", "2999-01-01")


def test_the_pack_itself_withholds_a_suppressed_violation_from_what_the_engine_receives(
    synthetic, tmp_path, monkeypatch
):
    received: list[Diagnostic] = []
    for method in ("analyze", "analyze_stack"):
        original = getattr(AnalyzerSession, method)

        def spy(self: AnalyzerSession, *args: object, _original: Any = original) -> list[Diagnostic]:
            found: list[Diagnostic] = _original(self, *args)
            received.extend(found)
            return found

        monkeypatch.setattr(AnalyzerSession, method, spy)
    synthetic("sqs-queue-kms", "--policy-config", _suppressing(tmp_path, _suppression()))
    assert not [d for d in received if d.policy == "sqs-queue-kms"]
    [shown] = [d for d in received if d.policy == "suppressed-findings"]
    assert shown.enforcement == "advisory"
    assert shown.message.startswith("suppressed: sqs-queue-kms: ")
    assert shown.urn.endswith(QUEUE)


def test_a_suppression_matches_a_glob_over_the_resource_name(synthetic, tmp_path):
    run = synthetic("sqs-queue-kms", "--policy-config", _suppressing(tmp_path, _suppression("*-queue-*")))
    assert run.code == 0, run.out
    assert run.policies("suppressed") == {"sqs-queue-kms"}


def test_an_expired_suppression_stops_suppressing_and_fails_the_run(synthetic, tmp_path):
    run = synthetic("sqs-queue-kms", "--policy-config", _suppressing(tmp_path, _suppression(expires="2000-01-01")))
    assert run.code == 1
    assert run.failing() == {"sqs-queue-kms", "policy-suppressions"}
    [stale] = [f for f in run.report["findings"] if f["policy"] == "policy-suppressions"]
    assert "expired on 2000-01-01" in stale["message"]
    assert [s["status"] for s in run.report["summary"]["suppressions"]] == ["expired"]


def test_a_suppression_that_matches_nothing_fails_the_run(synthetic, tmp_path):
    run = synthetic("none", "--policy-config", _suppressing(tmp_path, _suppression("no-such-resource")))
    assert run.code == 1
    assert run.failing() == {"policy-suppressions"}
    [stale] = [f for f in run.report["findings"] if f["policy"] == "policy-suppressions"]
    assert "matches no finding of 'sqs-queue-kms'" in stale["message"]
    assert [s["status"] for s in run.report["summary"]["suppressions"]] == ["unused"]


def test_a_suppression_without_a_real_justification_is_rejected_by_the_schema(synthetic, tmp_path):
    run = synthetic("none", "--policy-config", _suppressing(tmp_path, _suppression(justification="ok")))
    assert run.code == 2
    assert "sqs-queue-kms" in run.err
    assert "suppressions/0/justification" in run.err


def test_a_suppression_needs_an_owner_and_an_expiry_date(synthetic, tmp_path):
    entry = {"resource": QUEUE, "justification": JUSTIFICATION}
    run = synthetic("none", "--policy-config", _suppressing(tmp_path, entry))
    assert run.code == 2
    assert "'owner' is a required property" in run.err or "'expires' is a required property" in run.err


def test_sarif_marks_a_suppressed_result_as_suppressed_with_its_justification(synthetic, tmp_path):
    run = synthetic("sqs-queue-kms", "--policy-config", _suppressing(tmp_path, _suppression()))
    jsonschema.Draft4Validator(SCHEMA).validate(run.sarif)
    [result] = [r for r in run.sarif["runs"][0]["results"] if r["ruleId"] == "sqs-queue-kms"]
    assert result["suppressions"] == [{"kind": "external", "status": "accepted", "justification": JUSTIFICATION}]
    assert not [r for r in run.sarif["runs"][0]["results"] if r["ruleId"] == "suppressed-findings"]


def test_a_policy_that_raises_is_a_gate_error(synthetic):
    run = synthetic("none", "--pack", str(FIXTURES / "raising_pack"))
    assert run.code == 2
    assert "policy bug while reading" in run.err


def test_a_program_that_cannot_run_is_a_gate_error(gate, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: broken\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
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
        "pack",
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


# Policy config is merged as pulumi/pulumi pkg/resource/analyzer/config.go (applyConfig) merges it:
# "all" contributes only its enforcement level, to every policy, before any per-policy entry; keys
# that are not policies are passed on, and sdk/go/common/resource/plugin/analyzer_plugin.go
# (analyzer.Configure) rejects an entry without a valid enforcement level.


def test_all_sets_every_policys_enforcement_level(synthetic, tmp_path):
    run = synthetic("sqs-queue-kms", "--policy-config", _policy_config(tmp_path, {"all": "advisory"}))
    assert run.code == 0, run.out
    assert {f["enforcement"] for f in run.report["findings"]} == {"advisory"}


def test_a_policys_own_entry_overrides_all_whatever_the_key_order(synthetic, tmp_path):
    document = {"sqs-queue-kms": "mandatory", "all": "advisory"}
    run = synthetic("sqs-queue-kms", "--policy-config", _policy_config(tmp_path, document))
    assert run.code == 1
    assert run.failing() == {"sqs-queue-kms"}


def test_properties_under_all_do_not_reach_the_policies(synthetic, tmp_path):
    required = ["Environment", "DataClassification"]
    document = {"all": {"enforcementLevel": "advisory", "requiredTags": required}, "required-tags": "mandatory"}
    run = synthetic("none", "--policy-config", _policy_config(tmp_path, document))
    assert "required-tags" not in run.policies("fail")


def test_an_unknown_policy_name_with_an_enforcement_level_is_ignored(synthetic, tmp_path):
    document = {"all": "advisory", "no-such-policy": "mandatory"}
    run = synthetic("none", "--policy-config", _policy_config(tmp_path, document))
    assert run.code == 0, run.out


def test_an_unknown_policy_name_with_only_properties_is_an_error_as_in_the_engine(synthetic, tmp_path):
    run = synthetic("none", "--policy-config", _policy_config(tmp_path, {"no-such-policy": {"limit": 1}}))
    assert run.code == 2
    assert "invalid enforcement level" in run.err
    assert "no-such-policy" in run.err


def test_sarif_rules_carry_absolute_help_uris_honest_tags_and_the_pack_version(synthetic, monkeypatch):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/infra")
    monkeypatch.setenv("GITHUB_SHA", "0123abc")
    run = synthetic("s3-versioning")
    driver = run.sarif["runs"][0]["tool"]["driver"]
    assert driver["version"]  # the pack's version, as GetAnalyzerInfo reports it
    rules = {rule["id"]: rule for rule in driver["rules"]}
    own = "https://github.com/acme/infra/blob/0123abc/docs/policies.md"
    for control in all_controls():
        assert rules[control.name]["helpUri"] == (control.url or f"{own}#{control.name}")
        assert rules[control.name]["helpUri"].startswith("https://")  # SARIF 2.1.0 3.49.12: an absolute URI
        assert ("security" in rules[control.name]["properties"]["tags"]) == (control.kind is Kind.SECURITY)
    assert "security" in rules["s3-versioning"]["properties"]["tags"]
    assert "security" not in rules["required-tags"]["properties"]["tags"]


def test_without_an_address_for_the_docs_a_project_rule_has_no_help_uri_and_names_the_section(synthetic, monkeypatch):
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    run = synthetic("s3-versioning")
    rules = {rule["id"]: rule for rule in run.sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "helpUri" not in rules["resource-naming"]
    assert "docs/policies.md, section resource-naming" in rules["resource-naming"]["help"]["text"]
    assert rules["rds-multi-az"]["helpUri"].startswith("https://docs.aws.amazon.com/")


def test_sarif_fingerprints_depend_on_the_control_and_the_resource_only(synthetic):
    first, second = synthetic("s3-versioning"), synthetic("s3-versioning")
    prints = [[r["partialFingerprints"] for r in run.sarif["runs"][0]["results"]] for run in (first, second)]
    assert prints[0] == prints[1]
    [result] = [r for r in first.sarif["runs"][0]["results"] if r["ruleId"] == "s3-versioning"]
    urn = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
    expected = hashlib.sha256(f"s3-versioning|{urn}".encode()).hexdigest()
    assert result["partialFingerprints"] == {"policyFinding/v2": expected}


def test_given_a_finding_then_its_sarif_location_is_the_program_line_that_registered_the_resource(synthetic):
    run = synthetic("sqs-queue-kms")
    [result] = [r for r in run.sarif["runs"][0]["results"] if r["ruleId"] == "sqs-queue-kms"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "tests/integration/policies/fixtures/synthetic/program/__main__.py"
    program = (SYNTHETIC / "program" / "__main__.py").read_text().splitlines()
    assert "aws.sqs.Queue(" in program[location["region"]["startLine"] - 1]
