"""Every IAM and key policy document parses, passes the IAM linter and grants nothing broad."""

from __future__ import annotations

import json
import warnings

import pytest

from contract.parameters import Category
from contract.workloads import readers_of
from tests.unit.support import as_list, policy_documents, statements

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from parliament import analyze_policy_string

# Findings that are correct for one kind of document: in a key policy "*" means "this key" (AWS
# requires it); a trust policy has no Resource by definition.
EXPECTED_FINDINGS = {
    "aws:kms/key:Key": {("RESOURCE_STAR", None)},
    "aws:iam/role:Role": {("MALFORMED", "Statement contains neither Resource nor NotResource")},
}


def findings(document):
    policy = analyze_policy_string(json.dumps(document))
    return {(finding.issue, finding.detail if isinstance(finding.detail, str) else None) for finding in policy.findings}


def test_every_document_passes_the_iam_linter(stack_run):
    failures = {}
    for record, document in policy_documents(stack_run):
        unexpected = findings(document) - EXPECTED_FINDINGS.get(record.type, set())
        if unexpected:
            failures[record.name] = sorted(unexpected)
    assert failures == {}


def test_the_linter_catches_what_it_is_trusted_to_catch():
    broad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}]}
    assert {issue for issue, _ in findings(broad)} >= {"UNKNOWN_ACTION"}


def test_no_allow_statement_uses_a_wildcard_action(stack_run):
    wildcards = [
        (record.name, action)
        for record, document in policy_documents(stack_run)
        for stmt in statements(document)
        if stmt["Effect"] == "Allow"
        for action in as_list(stmt.get("Action", []))
        if "*" in action
    ]
    assert wildcards == []


# Actions AWS offers no resource-level permissions for: "*" is the only resource they accept.
RESOURCE_STAR_ONLY = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "cloudwatch:PutMetricData",
}


def test_wildcard_resources_appear_only_where_aws_requires_them(stack_run):
    offenders = [
        (record.name, stmt["Sid"])
        for record, document in policy_documents(stack_run)
        if record.type != "aws:kms/key:Key"
        for stmt in statements(document)
        if stmt["Effect"] == "Allow"
        and "*" in as_list(stmt.get("Resource", []))
        and not set(as_list(stmt["Action"])) <= RESOURCE_STAR_ONLY
    ]
    assert offenders == []


def test_no_policy_allows_notaction_or_notresource(stack_run):
    for _, document in policy_documents(stack_run):
        for stmt in statements(document):
            assert not ({"NotAction", "NotResource", "NotPrincipal"} & set(stmt) and stmt["Effect"] == "Allow")


def key_policy(run, purpose):
    key = run.named("aws:kms/key:Key", f"serverless-infra-{run.stack}-kms-key-{purpose}")
    return {stmt["Sid"]: stmt for stmt in statements(json.loads(key.inputs["policy"]))}


def test_key_policies_delegate_nothing_broad_to_the_account(stack_run):
    for purpose in ("database", "api", "cache", "logs", "artifacts"):
        for sid, stmt in key_policy(stack_run, purpose).items():
            if sid == "KeyAdministration":
                assert "kms:Decrypt" not in stmt["Action"]
                assert "kms:Encrypt" not in stmt["Action"]
            elif "AWS" in stmt["Principal"]:
                assert "aws:PrincipalArn" in stmt["Condition"]["ArnEquals"], (purpose, sid)


@pytest.mark.parametrize("category", list(Category))
def test_parameter_keys_decrypt_only_for_the_roles_that_read_the_category(stack_run, category):
    stmt = key_policy(stack_run, category.value)["WorkloadRolesDecryptThroughServices"]
    roles = as_list(stmt["Condition"]["ArnEquals"]["aws:PrincipalArn"])
    expected = {
        f"arn:aws:iam::123456789012:role/serverless-infra-{stack_run.stack}-role-{w.key}" for w in readers_of(category)
    }
    if category is Category.DATABASE:
        expected.add(f"arn:aws:iam::123456789012:role/serverless-infra-{stack_run.stack}-role-migrator")
    assert set(roles) == expected
    assert set(stmt["Action"]) == {"kms:Decrypt", "kms:DescribeKey"}
    assert "ssm.us-east-1.amazonaws.com" in as_list(stmt["Condition"]["StringEquals"]["kms:ViaService"])


def test_the_deployer_uses_keys_only_through_aws_services(stack_run):
    stmt = key_policy(stack_run, "api")["DeployerUseThroughServices"]
    assert stmt["Condition"]["StringEquals"]["kms:ViaService"] == ["ssm.us-east-1.amazonaws.com"]
    assert (
        stmt["Condition"]["ArnEquals"]["aws:PrincipalArn"] == "arn:aws:iam::123456789012:role/serverless-infra-deployer"
    )


def test_the_logs_key_admits_cloudwatch_logs_for_this_accounts_log_groups_only(stack_run):
    (service,) = [s for s in key_policy(stack_run, "logs").values() if "Service" in s["Principal"]]
    assert service["Principal"]["Service"] == "logs.us-east-1.amazonaws.com"
    assert service["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"
    }


def test_the_flow_log_role_writes_only_to_its_log_group(stack_run):
    policy = stack_run.named(
        "aws:iam/rolePolicy:RolePolicy", f"serverless-infra-{stack_run.stack}-role-policy-flow-logs"
    )
    (stmt,) = statements(json.loads(policy.inputs["policy"]))
    (group,) = [g for g in stack_run.of_type("aws:cloudwatch/logGroup:LogGroup") if "vpc-flow-logs" in g.inputs["name"]]
    assert stmt["Resource"] == [group.outputs["arn"], group.outputs["arn"] + ":log-stream:*"]


def test_service_roles_trust_only_their_service_in_this_account(stack_run):
    for role in stack_run.of_type("aws:iam/role:Role"):
        (stmt,) = statements(json.loads(role.inputs["assumeRolePolicy"]))
        assert set(stmt["Principal"]) == {"Service"}
        assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_the_artifact_bucket_refuses_plain_http(stack_run):
    (policy,) = stack_run.of_type("aws:s3/bucketPolicy:BucketPolicy")
    denies = {s["Sid"]: s for s in statements(json.loads(policy.inputs["policy"])) if s["Effect"] == "Deny"}
    assert denies["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert denies["DenyInsecureTransport"]["Principal"] == "*"
