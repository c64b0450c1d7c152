"""The Checkov pack (policies-checkov/): mapping, verdicts, enforcement, suppressions, in one report with the main pack.

The verdict tests hand Checkov small stacks of converted resources; the gate tests run the real
pack process through ``python -m offline.gate`` (``--pack-python current``: this interpreter has
Checkov, installed by the integration session).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from checkov_pack import answered, coverage, evaluation, terraform
from checkov_pack.generate_mapping import (
    EXTRACT_TOKENS,
    PROPERTIES_FROM_METADATA,
    PROPERTIES_KEPT,
    derive,
    pinned_pulumi_aws,
    sdk_resource_tokens,
)

from offline.gate import environment

ROOT = Path(__file__).resolve().parents[3]
PACK = ROOT / "policies-checkov"
CORPUS = ROOT / "tests" / "integration" / "gate_corpus" / "storage_and_compute"
PROD_CONFIG = PACK / "policy-config.prod.json"


@pytest.fixture(scope="module")
def prod() -> list[evaluation.StackResource]:
    return coverage.program_resources("prod", unknowns=False)


def resource(token: str, props: dict[str, Any], name: str = "r", deps: dict[str, list[str]] | None = None):
    return evaluation.StackResource(token, name, f"urn:pulumi:t::p::{token}::{name}", props, deps or {})


def verdicts(*resources: evaluation.StackResource) -> dict[tuple[str, str], str]:
    return {(v.check.id, v.urn.rsplit("::", 1)[1]): v.result for v in evaluation.evaluate(resources)}


# --- mapping -----------------------------------------------------------------------------------------
def test_every_aws_type_the_blueprint_registers_maps_to_a_terraform_type(prod):
    tokens = {r.token for r in prod if r.token.startswith("aws:")}
    unmapped = sorted(t for t in tokens if terraform.terraform_type(t) is None)
    assert unmapped == []


def test_each_blueprint_resource_converts_every_input_to_its_terraform_attribute(prod):
    """GIVEN each AWS resource of prod WHEN converted THEN each input is a snake_case attribute (or unknown)."""
    for record in (r for r in prod if r.token.startswith("aws:")):
        converted = terraform.convert(record.token, record.props)
        assert converted is not None, record.token
        assert converted.type.startswith("aws_"), record.token
        renames = terraform.load_mapping().properties.get(record.token, {})
        for key, value in record.props.items():
            if value is None:
                continue
            name = renames.get(key) or terraform.snake_case(key)
            assert {name, terraform.singular(name)} & (set(converted.values) | converted.unknown), (record.token, key)


@pytest.mark.parametrize(
    ("token", "props", "expected"),
    [
        (
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            {
                "bucket": "b",
                "rules": [
                    {"id": "x", "status": "Enabled", "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}
                ],
            },
            {
                "bucket": "b",
                "rule": [
                    {
                        "id": "x",
                        "status": "Enabled",
                        "abort_incomplete_multipart_upload": [{"days_after_initiation": 7}],
                    }
                ],
            },
        ),
        (
            "aws:lambda/function:Function",
            {"vpcConfig": {"subnetIds": ["s1", "s2"]}, "tags": {"Team": "a"}, "tracingConfig": {"mode": "Active"}},
            {
                "vpc_config": [{"subnet_ids": ["s1", "s2"]}],
                "tags": {"Team": "a"},
                "tracing_config": [{"mode": "Active"}],
            },
        ),
        (
            "aws:lb/listener:Listener",
            {"defaultActions": [{"type": "forward"}]},
            {"default_action": [{"type": "forward"}]},
        ),
    ],
    ids=["plural block list", "flattened block and map", "bridge rename"],
)
def test_pulumi_inputs_take_the_terraform_plan_shape(token, props, expected):
    converted = terraform.convert(token, props)
    assert converted is not None
    assert converted.values == expected


def test_a_value_unknown_during_preview_is_left_out_and_named():
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    converted = terraform.convert(
        "aws:lambda/function:Function", {"kmsKeyArn": unknown, "vpcConfig": {"subnetIds": [unknown]}}
    )
    assert converted is not None
    assert "kms_key_arn" not in converted.values
    assert converted.unknown == {"kms_key_arn", "vpc_config"}


def test_the_mapping_records_its_source_and_the_pinned_provider_version():
    mapping = terraform.load_mapping()
    assert mapping.pulumi_aws == pinned_pulumi_aws()
    assert "bridge-metadata.json" in mapping.source


def test_the_generator_keeps_checked_types_current_tokens_and_the_renames_beyond_snake_case():
    metadata = {
        "renames": {
            "resources": {
                "aws:s3/bucket:Bucket": "aws_s3_bucket_legacy",
                "aws:s3/bucketV2:BucketV2": "aws_s3_bucket",
                "aws:lb/listener:Listener": "aws_lb_listener",
                "aws:xray/group:Group": "aws_xray_group",
            },
            "renamedProperties": {
                "aws:s3/bucketV2:BucketV2": {"corsRules": "cors_rule", "bucketPrefix": "bucket_prefix"},
                "aws:lb/listener:Listener": {"defaultActions": "default_action", "sslPolicy": "ssl_policy"},
            },
        }
    }
    mapping = derive(metadata, ["aws_s3_bucket", "aws_lb_listener"], [], "abc123")
    assert mapping["resources"] == {
        "aws:s3/bucket:Bucket": "aws_s3_bucket",
        "aws:lb/listener:Listener": "aws_lb_listener",
    }
    assert mapping["properties"] == {
        "aws:s3/bucket:Bucket": {"corsRules": "cors_rule"},
        "aws:lb/listener:Listener": {"defaultActions": "default_action"},
    }
    assert (mapping["source_commit"], mapping["pulumi_aws"]) == ("abc123", pinned_pulumi_aws())


def test_the_generator_leaves_out_tokens_the_pinned_sdk_no_longer_defines():
    """GIVEN metadata older than the pin WHEN a token is absent from the SDK THEN it is not mapped."""
    metadata = {
        "renames": {
            "resources": {
                "aws:rds/securityGroup:SecurityGroup": "aws_db_security_group",
                "aws:rds/instance:Instance": "aws_db_instance",
            }
        }
    }
    mapping = derive(
        metadata, ["aws_db_security_group", "aws_db_instance"], [], "abc123", sdk_tokens={"aws:rds/instance:Instance"}
    )
    assert mapping["resources"] == {"aws:rds/instance:Instance": "aws_db_instance"}


def test_the_generator_remembers_the_extra_tokens_it_was_asked_to_map():
    metadata = {"renames": {"resources": {"aws:xray/group:Group": "aws_xray_group"}, "renamedProperties": {}}}
    mapping = derive(metadata, [], ["aws:xray/group:Group"], "abc123")
    assert mapping["resources"] == {"aws:xray/group:Group": "aws_xray_group"}
    assert mapping["extra_tokens"] == ["aws:xray/group:Group"]


def test_an_extract_without_property_renames_keeps_the_previous_ones_for_tokens_still_mapped():
    """GIVEN metadata holding only renames.resources WHEN derived THEN earlier property renames stay, marked so."""
    metadata = {"renames": {"resources": {"aws:lb/listener:Listener": "aws_lb_listener"}}}
    previous = {
        "aws:lb/listener:Listener": {"defaultActions": "default_action"},
        "aws:rds/securityGroup:SecurityGroup": {"ingress": "ingress"},
    }
    mapping = derive(metadata, ["aws_lb_listener"], [], "abc123", previous_properties=previous)
    assert mapping["properties"] == {"aws:lb/listener:Listener": {"defaultActions": "default_action"}}
    assert mapping["properties_source"] == PROPERTIES_KEPT


def test_an_extract_covering_some_tokens_takes_their_renames_and_keeps_the_others_listed():
    """GIVEN renamedProperties for the tokens an extract names WHEN derived THEN only those take the metadata's.

    A named token without an entry has no renames (its earlier entry goes); an unnamed token keeps its
    earlier entry and is listed in properties_kept.
    """
    metadata = {
        EXTRACT_TOKENS: ["aws:apigateway/stage:Stage", "aws:sns/topicPolicy:TopicPolicy"],
        "renames": {
            "resources": {
                "aws:apigateway/stage:Stage": "aws_api_gateway_stage",
                "aws:sns/topicPolicy:TopicPolicy": "aws_sns_topic_policy",
                "aws:lb/listener:Listener": "aws_lb_listener",
            },
            "renamedProperties": {
                "aws:apigateway/stage:Stage": {"restApi": "rest_api_id", "stageName": "stage_name"},
                "aws:lb/listener:Listener": {"defaultActions": "default_action", "sslPolicy": "ssl_policy"},
            },
        },
    }
    previous = {
        "aws:sns/topicPolicy:TopicPolicy": {"arn": "topic_arn"},
        "aws:lb/listener:Listener": {"defaultActions": "default_action"},
    }
    mapping = derive(
        metadata,
        ["aws_api_gateway_stage", "aws_sns_topic_policy", "aws_lb_listener"],
        [],
        "abc123",
        previous_properties=previous,
    )
    assert mapping["properties"] == {
        "aws:apigateway/stage:Stage": {"restApi": "rest_api_id"},
        "aws:lb/listener:Listener": {"defaultActions": "default_action"},
    }
    assert mapping["properties_kept"] == ["aws:lb/listener:Listener"]
    assert mapping["properties_source"].startswith(f"{PROPERTIES_FROM_METADATA} for the 2 tokens")


def test_full_metadata_is_the_source_of_every_token_s_renames():
    metadata = {
        "renames": {
            "resources": {"aws:lambda/permission:Permission": "aws_lambda_permission"},
            "renamedProperties": {"aws:lambda/permission:Permission": {"function": "function_name"}},
        }
    }
    mapping = derive(metadata, ["aws_lambda_permission"], [], "abc123", previous_properties={})
    assert mapping["properties_source"] == PROPERTIES_FROM_METADATA
    assert "properties_kept" not in mapping


def test_the_committed_mapping_gives_api_gateway_children_their_rest_api_id():
    """GIVEN a method registered with restApi WHEN converted THEN Checkov reads rest_api_id, as Terraform names it."""
    converted = terraform.convert("aws:apigateway/method:Method", {"restApi": "api-1", "httpMethod": "GET"})
    assert converted is not None
    assert converted.values == {"rest_api_id": "api-1", "http_method": "GET"}


def test_the_sdk_tokens_are_the_custom_resources_its_modules_declare(tmp_path):
    module = tmp_path / "s3" / "bucket.py"
    module.parent.mkdir()
    module.write_text(
        '@pulumi.type_token("aws:s3/bucket:Bucket")\nclass Bucket(pulumi.CustomResource):\n    pass\n\n'
        "@pulumi.input_type\nclass BucketArgs:\n    pass\n"
        '@pulumi.type_token("aws:s3/BucketCorsRule:BucketCorsRule")\nclass BucketCorsRule(dict):\n    pass\n',
        encoding="utf-8",
    )
    assert sdk_resource_tokens(tmp_path) == {"aws:s3/bucket:Bucket"}


def test_every_terraform_type_checkov_checks_has_a_pulumi_token_in_the_mapping():
    """Except the EC2-Classic security groups, which the Terraform AWS provider 5 (and so pulumi-aws 6+) removed.

    https://registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/version-5-upgrade
    """
    from checkov.terraform.checks.resource.registry import resource_registry

    removed = {"aws_db_security_group", "aws_elasticache_security_group", "aws_redshift_security_group"}
    checked = {t for t in resource_registry.checks if t.startswith("aws_")}
    assert checked - set(terraform.load_mapping().resources.values()) == removed


def test_every_mapped_token_is_a_resource_of_the_pinned_sdk():
    import pulumi_aws

    sdk = sdk_resource_tokens(Path(pulumi_aws.__file__).parent)
    assert sorted(set(terraform.load_mapping().resources) - sdk) == []


# --- verdicts, a sample of checks across services -----------------------------------------------------
@pytest.mark.parametrize(
    ("check", "compliant", "violating"),
    [
        ("CKV_AWS_50", {"tracingConfig": {"mode": "Active"}}, {}),
        ("CKV_AWS_115", {"reservedConcurrentExecutions": 5}, {}),
        (
            "CKV_AWS_45",
            {"environment": {"variables": {"TABLE": "orders"}}},
            {"environment": {"variables": {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}},
        ),
    ],
    ids=["lambda tracing", "lambda concurrency", "lambda secrets in environment"],
)
def test_lambda_checks_pass_the_compliant_function_and_fail_the_other(check, compliant, violating):
    base = {"functionName": "f", "role": "arn:aws:iam::1:role/r", "runtime": "python3.12", "handler": "h"}
    good = resource("aws:lambda/function:Function", {**base, **compliant}, "good")
    bad = resource("aws:lambda/function:Function", {**base, **violating}, "bad")
    found = verdicts(good, bad)
    assert (found[(check, "good")], found[(check, "bad")]) == ("passed", "failed")


def test_an_instance_without_imdsv2_and_encryption_fails_where_the_hardened_one_passes():
    base = {"ami": "ami-1", "instanceType": "t3.micro"}
    good = resource(
        "aws:ec2/instance:Instance",
        {**base, "metadataOptions": {"httpTokens": "required"}, "rootBlockDevice": {"encrypted": True}},
        "good",
    )
    bad = resource("aws:ec2/instance:Instance", {**base, "metadataOptions": {"httpTokens": "optional"}}, "bad")
    found = verdicts(good, bad)
    for check in ("CKV_AWS_79", "CKV_AWS_8"):
        assert (found[(check, "good")], found[(check, "bad")]) == ("passed", "failed"), check


def test_a_graph_check_follows_property_dependencies_between_resources():
    """GIVEN a bucket with a public access block naming it WHEN checked THEN CKV2_AWS_6 passes; alone it fails."""
    bucket = resource("aws:s3/bucket:Bucket", {"bucket": "b"}, "covered")
    block = resource(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        {
            "bucket": "b",
            "blockPublicAcls": True,
            "blockPublicPolicy": True,
            "ignorePublicAcls": True,
            "restrictPublicBuckets": True,
        },
        "block",
        deps={"bucket": [bucket.urn]},
    )
    lonely = resource("aws:s3/bucket:Bucket", {"bucket": "c"}, "lonely")
    found = verdicts(bucket, block, lonely)
    assert (found[("CKV2_AWS_6", "covered")], found[("CKV2_AWS_6", "lonely")]) == ("passed", "failed")


def test_security_group_and_iam_policy_checks_fail_on_open_access():
    group = resource(
        "aws:ec2/securityGroup:SecurityGroup",
        {
            "description": "d",
            "ingress": [
                {"description": "all", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}
            ],
        },
        "open",
    )
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    policy = resource("aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": json.dumps(document)}, "admin")
    document["Statement"][0]["Action"] = "s3:GetObject"
    narrow = resource("aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": json.dumps(document)}, "narrow")
    found = verdicts(group, policy, narrow)
    assert found[("CKV_AWS_277", "open")] == "failed"
    assert (found[("CKV_AWS_290", "admin")], found[("CKV_AWS_290", "narrow")]) == ("failed", "passed")


def test_a_failure_that_depends_on_an_unknown_value_is_unknown_not_failed():
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    base = {"functionName": "f", "role": "arn:aws:iam::1:role/r", "runtime": "python3.12", "handler": "h"}
    pending = resource("aws:lambda/function:Function", {**base, "tracingConfig": unknown}, "pending")
    assert verdicts(pending)[("CKV_AWS_50", "pending")] == "unknown"


def test_a_finding_links_the_checks_source_at_the_pinned_version_when_checkov_gives_no_guideline():
    info = evaluation.load_checks()["CKV_AWS_50"]
    assert info.severity == "unspecified"
    assert info.guideline.startswith(f"https://github.com/bridgecrewio/checkov/blob/{evaluation.checkov_version()}/")


# --- generated files ----------------------------------------------------------------------------------
def test_the_checks_the_main_pack_answers_are_derived_from_its_controls():
    assert answered.render(answered.derive()) == answered.ANSWERED_FILE.read_text(encoding="utf-8"), (
        "run: python -m checkov_pack.answered"
    )


def test_the_coverage_table_is_current():
    assert coverage.generate() == coverage.PAGE.read_text(encoding="utf-8"), "run: python -m checkov_pack.coverage"


# --- the gate: both packs, one report -----------------------------------------------------------------
def both_packs(config: Path | str = "") -> list[str]:
    return [
        "--policy-pack",
        "policies",
        "--policy-pack",
        str(PACK),
        "--policy-pack-config",
        "",
        "--policy-pack-config",
        str(config),
    ]


def test_prod_passes_both_packs_with_every_checkov_finding_suppressed_and_over_80_checks_evaluated(real):
    run = real("prod", *both_packs(PROD_CONFIG))
    assert run.code == 0, run.out
    checkov = [f for f in run.report["findings"] if f["pack"] == "checkov-aws"]
    assert checkov
    assert {f["state"] for f in checkov} == {"suppressed"}
    assert {f["pack"] for f in run.report["findings"]} == {"checkov-aws", "serverless-infra"}
    evaluated = run.report["summary"]["checkov_checks_evaluated"]
    assert len(evaluated) >= 80
    assert all(c.startswith(("CKV_AWS_", "CKV2_AWS_")) for c in evaluated)
    assert {e["status"] for e in run.report["summary"]["suppressions"]} == {"active"}


def test_a_first_preview_of_prod_passes_too_reporting_no_failure_that_depends_on_an_unknown_value(real):
    run = real("prod", "--unknowns", *both_packs(PACK / "policy-config.{stack}.json"))
    assert run.code == 0, run.out
    assert not [f for f in run.report["findings"] if f["pack"] == "checkov-aws" and f["state"] == "fail"]


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_the_other_stacks_pass_with_their_own_checkov_config(real, stack):
    run = real(stack, *both_packs(PACK / "policy-config.{stack}.json"))
    assert run.code == 0, run.out
    assert {e["status"] for e in run.report["summary"]["suppressions"]} == {"active"}


def test_a_checkov_finding_is_one_sarif_result_under_its_check_id_with_the_guideline(real):
    run = real("prod", *both_packs(PROD_CONFIG))
    rules = {rule["id"]: rule for rule in run.sarif["runs"][0]["tool"]["driver"]["rules"]}
    results = [r for r in run.sarif["runs"][0]["results"] if r["ruleId"] == "CKV_AWS_116"]
    assert results
    assert all(r["suppressions"][0]["justification"] for r in results)
    assert rules["CKV_AWS_116"]["helpUri"].endswith("LambdaDLQConfigured.py")
    schema = json.loads((ROOT / "offline" / "gate" / "sarif-2.1.0.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(run.sarif)


def test_a_program_of_another_shape_gets_checkov_findings_on_its_bucket_and_instance(gate):
    run = gate("--project", str(CORPUS), "--stack", "test", "--in-process", "--policy-pack", str(PACK))
    assert run.code == 0, run.err  # advisory by default
    found = {(f["policy"], f["resource_name"]) for f in run.report["findings"] if f["state"] == "fail"}
    assert {("CKV_AWS_79", "web"), ("CKV_AWS_8", "web"), ("CKV2_AWS_6", "reports")} <= found
    assert ("CKV_AWS_24", "web") not in found  # answered by the main pack's security-group control


def test_the_hardened_variant_passes_the_checks_the_plain_one_fails(gate):
    run = gate("--project", str(CORPUS), "--stack", "hardened", "--in-process", "--policy-pack", str(PACK))
    failed = {f["policy"] for f in run.report["findings"] if f["state"] == "fail"}
    assert not failed & {"CKV_AWS_79", "CKV_AWS_8", "CKV2_AWS_6", "CKV_AWS_126", "CKV_AWS_135"}


def _corpus_run_with_config(gate, tmp_path, checkov_config):
    """The gate on the corpus's test stack with the Checkov pack alone, configured with ``checkov_config``."""
    config = tmp_path / "checkov.json"
    config.write_text(json.dumps({"checkov": checkov_config}))
    return gate(
        "--project",
        str(CORPUS),
        "--stack",
        "test",
        "--in-process",
        "--policy-pack",
        str(PACK),
        "--policy-pack-config",
        str(config),
    )


def test_a_check_made_mandatory_fails_the_run_and_reporting_main_pack_checks_adds_them(gate, tmp_path):
    run = _corpus_run_with_config(gate, tmp_path, {"mandatory": ["CKV_AWS_79"], "report_main_pack_checks": True})
    assert run.code == 1
    assert run.failing() == {"CKV_AWS_79"}
    assert "CKV_AWS_24" in run.policies("fail")


def test_an_expired_or_unused_checkov_suppression_fails_the_run_as_in_the_main_pack(gate, tmp_path):
    entry = {"resource": "web", "justification": "A reviewed exception kept for this test run.", "owner": "qa"}
    suppressions = [
        {**entry, "check": "CKV_AWS_79", "expires": "2020-01-01"},
        {**entry, "check": "CKV_AWS_135", "expires": "2999-01-01"},
        {**entry, "check": "CKV_AWS_20", "expires": "2999-01-01"},
    ]
    run = _corpus_run_with_config(gate, tmp_path, {"suppressions": suppressions})
    assert run.code == 1
    statuses = Counter((e["policy"], e["status"]) for e in run.report["summary"]["suppressions"])
    assert statuses == Counter(
        {("CKV_AWS_79", "expired"): 1, ("CKV_AWS_135", "active"): 1, ("CKV_AWS_20", "unused"): 1}
    )
    assert "CKV_AWS_79" in run.policies("fail")
    assert "CKV_AWS_135" in run.policies("suppressed")


def test_policy_pack_configs_must_pair_with_the_packs(gate):
    with pytest.raises(SystemExit) as exited:
        gate("--policy-pack", "policies", "--policy-pack", str(PACK), "--policy-pack-config", str(PROD_CONFIG))
    assert exited.value.code == 2


@pytest.mark.slow
def test_the_pack_runs_in_its_own_virtualenv_with_checkov_beside_pulumi_policy_compiled(gate):
    """GIVEN requirements.txt (checkov, pulumi-policy; constraints.txt's pins) WHEN the gate builds the pack's
    environment as the CLI would THEN it serves the pack, and its modules are compiled (a pack start
    where PYTHONDONTWRITEBYTECODE is set does not compile Checkov again)."""
    python = environment.pack_python(PACK)
    assert python.is_relative_to(environment.cache_root())
    site = next(python.parent.parent.glob("lib/python3*/site-packages"))
    assert next((site / "checkov").glob("__pycache__/__init__.*.pyc"), None) is not None
    run = gate(
        "--project", str(CORPUS), "--stack", "test", "--in-process", "--policy-pack", str(PACK), "--pack-python", "venv"
    )
    assert run.code == 0, run.err
    assert "CKV_AWS_79" in run.policies("fail")


def test_a_reference_is_filed_under_the_same_terraform_attribute_as_its_value():
    """GIVEN a stage whose restApi input comes from a REST API WHEN the plan is built THEN the reference
    graph checks follow sits under rest_api_id, where the bridge puts the value, not under rest_api."""
    api = resource("aws:apigateway/restApi:RestApi", {"name": "orders"}, name="api")
    stage = resource(
        "aws:apigateway/stage:Stage",
        {"restApi": "abc123", "stageName": "v1"},
        name="stage",
        deps={"restApi": [api.urn]},
    )
    plan = evaluation.build_plan([api, stage])
    configured = {r["name"]: r for r in plan.document["configuration"]["root_module"]["resources"]}
    planned = {r["name"]: r for r in plan.document["planned_values"]["root_module"]["resources"]}
    stage_name = next(name for name in configured if name.endswith("_stage"))
    assert set(configured[stage_name]["expressions"]) == {"rest_api_id"}
    assert planned[stage_name]["values"]["rest_api_id"] == "abc123"
