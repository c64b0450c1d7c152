"""The deployer's and the operator's IAM policies, generated from the program (offline/deployer)."""

from __future__ import annotations

import json
import warnings
from fnmatch import fnmatchcase

import pytest

import offline.deployer as deployer
from offline.deployer import (
    ACCOUNT_VARIABLE,
    DOCS_DIR,
    MANAGED_POLICY_LIMIT,
    ROLES,
    deployer_policies,
    expected_files,
    load_mapping,
    load_operator_needs,
    missing_entries,
    operator_policies,
    policies_for,
)
from offline.deployer.__main__ import main
from tests.unit.support import PROJECT_ROOT, STACKS, plain, statements

ACCOUNT = "111122223333"
OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/serverless-infra-operator-dev"
PARLIAMENT_SEVERITIES_ABOVE_LOW = {"MEDIUM", "HIGH", "CRITICAL"}


def all_statements(policies):
    return [s for policy in policies for s in policy.document["Statement"]]


def as_list(value):
    return value if isinstance(value, list) else [value]


def granting(policies, action):
    return [s for s in all_statements(policies) if action in s["Action"]]


# --- the mapping ---------------------------------------------------------------------------------
def test_given_a_shipped_stack_when_its_program_runs_then_the_mapping_knows_every_type_and_invoke(stack_run):
    assert missing_entries(stack_run) == [], "add the missing entries to offline/deployer/actions.json"


def test_given_a_type_the_mapping_lacks_when_the_policy_is_built_then_it_fails_naming_the_type(runs, monkeypatch):
    mapping = json.loads(json.dumps(load_mapping()))
    del mapping["types"]["aws:sqs/queue:Queue"]
    del mapping["invokes"]["aws:index/getAvailabilityZones:getAvailabilityZones"]
    monkeypatch.setattr(deployer, "load_mapping", lambda: mapping)
    assert missing_entries(runs["dev"]) == [
        "aws:sqs/queue:Queue",
        "invoke aws:index/getAvailabilityZones:getAvailabilityZones",
    ]
    with pytest.raises(KeyError, match="aws:sqs/queue:Queue"):
        deployer_policies(runs["dev"])


def test_every_mapping_entry_names_its_sources_and_known_scopes():
    mapping = load_mapping()
    scopes = set(mapping["scopes"]) | {"*"}
    for token, entry in {**mapping["types"], **mapping["invokes"]}.items():
        assert any(source.startswith("pike:") for source in entry["sources"]), token
        assert any(source.startswith("terraform-provider-aws:") for source in entry["sources"]), token
        for action, scope in entry["actions"].items():
            assert "*" not in action, (token, action)
            assert set(as_list(scope)) <= scopes, (token, action, scope)


def test_every_operator_need_names_its_runbook_and_known_scopes(runs):
    needs = load_operator_needs()
    scopes = set(load_mapping()["scopes"]) | set(needs["scopes"]) | {"*"}
    scopes |= set(deployer._stack_scopes(runs["dev"], deployer.context_of(runs["dev"])))
    for key, need in needs["runbooks"].items():
        assert need["runbook"].startswith("docs/operations.md"), key
        for action, scope in need["actions"].items():
            assert set(as_list(scope)) <= scopes, (key, action, scope)


# --- the generated policies ----------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_every_managed_policy_fits_iams_size_limit(stack_run, role):
    for policy in policies_for(role, stack_run):
        assert policy.size <= MANAGED_POLICY_LIMIT, policy.name
        assert policy.size == len(json.dumps(policy.document, separators=(",", ":")))


@pytest.mark.parametrize("role", ROLES)
def test_resource_star_is_used_only_for_actions_without_resource_level_permissions(stack_run, role):
    marked_star = {
        action
        for entry in [
            *load_mapping()["types"].values(),
            *load_mapping()["invokes"].values(),
            *load_operator_needs()["runbooks"].values(),
        ]
        for action, scope in entry["actions"].items()
        if scope == "*"
    }
    for statement in all_statements(policies_for(role, stack_run)):
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in statement["Action"]), statement["Sid"]
        if statement["Resource"] == "*":
            assert set(statement["Action"]) <= marked_star, statement["Sid"]


# Types whose ARNs carry the generated name, and the action that creates each.
NAMED = {
    "aws:sqs/queue:Queue": "sqs:CreateQueue",
    "aws:sns/topic:Topic": "sns:CreateTopic",
    "aws:lambda/function:Function": "lambda:CreateFunction",
    "aws:lambda/alias:Alias": "lambda:CreateAlias",
    "aws:iam/role:Role": "iam:CreateRole",
    "aws:rds/instance:Instance": "rds:CreateDBInstance",
    "aws:cloudwatch/logGroup:LogGroup": "logs:CreateLogGroup",
    "aws:cloudwatch/eventRule:EventRule": "events:PutRule",
    "aws:s3/bucket:Bucket": "s3:CreateBucket",
    "aws:secretsmanager/secret:Secret": "secretsmanager:CreateSecret",
    "aws:ssm/parameter:Parameter": "ssm:PutParameter",
    "aws:kms/alias:Alias": "kms:CreateAlias",
}


def test_given_the_stacks_resources_when_created_then_their_arns_fall_inside_the_deployers_scopes(stack_run):
    policies = deployer_policies(stack_run, ACCOUNT)
    for type_token, action in NAMED.items():
        patterns = [p for s in granting(policies, action) for p in as_list(s["Resource"])]
        for record in stack_run.of_type(type_token):
            arn = str(record.outputs["arn"]).replace("123456789012", ACCOUNT)
            assert any(fnmatchcase(arn, pattern) for pattern in patterns), (action, arn, patterns)


def test_the_deployers_scopes_exclude_another_stacks_resources(runs):
    policies = deployer_policies(runs["prod"], ACCOUNT)
    patterns = [p for s in granting(policies, "sqs:DeleteQueue") for p in as_list(s["Resource"])]
    assert not any(
        fnmatchcase(f"arn:aws:sqs:us-east-1:{ACCOUNT}:serverless-infra-dev-queue-orders", p) for p in patterns
    )
    assert any(fnmatchcase(f"arn:aws:sqs:us-east-1:{ACCOUNT}:serverless-infra-prod-queue-orders", p) for p in patterns)


def test_the_deployer_passes_roles_only_to_the_services_that_use_them(stack_run):
    (passing,) = granting(deployer_policies(stack_run), "iam:PassRole")
    assert passing["Action"] == ["iam:PassRole"]
    assert passing["Resource"] == f"arn:aws:iam::{ACCOUNT_VARIABLE}:role/serverless-infra-{stack_run.stack}-*"
    services = set(as_list(passing["Condition"]["StringEquals"]["iam:PassedToService"]))
    assert {"lambda.amazonaws.com", "vpc-flow-logs.amazonaws.com", "apigateway.amazonaws.com"} <= services


def test_the_deployer_uses_kms_keys_only_through_the_services_that_encrypt_with_them(stack_run):
    for statement in all_statements(deployer_policies(stack_run)):
        data_actions = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"} & set(
            statement["Action"]
        )
        if data_actions:
            via = statement["Condition"]["StringEquals"]["kms:ViaService"]
            assert via.endswith(".us-east-1.amazonaws.com"), statement["Sid"]


def test_the_operator_reads_and_redrives_only_the_stacks_dead_letter_queue(stack_run):
    policies = operator_policies(stack_run, ACCOUNT)
    dlq = f"arn:aws:sqs:us-east-1:{ACCOUNT}:serverless-infra-{stack_run.stack}-queue-orders-dlq"
    orders = f"arn:aws:sqs:us-east-1:{ACCOUNT}:serverless-infra-{stack_run.stack}-queue-orders"
    for action in (
        "sqs:ReceiveMessage",
        "sqs:StartMessageMoveTask",
        "sqs:ListMessageMoveTasks",
        "sqs:CancelMessageMoveTask",
    ):
        assert [s["Resource"] for s in granting(policies, action)] == [dlq], action
    assert [s["Resource"] for s in granting(policies, "sqs:SendMessage")] == [orders]
    (through_sqs,) = [s for s in all_statements(policies) if s["Sid"] == "KmsThroughSqs"]
    assert through_sqs["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert through_sqs["Condition"] == {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}}


def test_the_operator_queries_exactly_the_stacks_log_groups(stack_run):
    policies = operator_policies(stack_run, ACCOUNT)
    (query,) = granting(policies, "logs:StartQuery")
    groups = sorted(
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{r.inputs['name']}*"
        for r in stack_run.of_type("aws:cloudwatch/logGroup:LogGroup")
    )
    assert sorted(as_list(query["Resource"])) == groups


def test_the_operator_rolls_back_only_the_stacks_parameters(stack_run):
    policies = operator_policies(stack_run, ACCOUNT)
    prefix = stack_run.config.values["serverless-infra:parameterPrefix"]
    for action in ("ssm:GetParameterHistory", "ssm:GetParameter", "ssm:PutParameter", "ssm:LabelParameterVersion"):
        (statement,) = granting(policies, action)
        assert statement["Resource"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/{prefix}/{stack_run.stack}/*"
    (through_ssm,) = [s for s in all_statements(policies) if s["Sid"] == "KmsThroughSsm"]
    assert through_ssm["Action"] == ["kms:Decrypt", "kms:Encrypt"]


@pytest.mark.parametrize("role", ROLES)
def test_given_parliament_when_it_reviews_each_policy_then_it_finds_nothing_above_low(stack_run, role):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # parliament imports pkg_resources
        import parliament

    accepted = {(f["issue"], f["action"]) for f in load_mapping()["accepted_findings"]}
    for policy in policies_for(role, stack_run, ACCOUNT):
        analysed = parliament.analyze_policy_string(json.dumps(policy.document))
        serious = [
            (finding.issue, detail.get("action"))
            for finding in analysed.findings
            if finding.severity in PARLIAMENT_SEVERITIES_ABOVE_LOW
            for detail in (finding.detail if isinstance(finding.detail, list) else [finding.detail or {}])
        ]
        assert [f for f in serious if f not in accepted] == [], policy.name


def test_the_committed_policy_files_are_current(runs):
    stale = [path.name for path, text in expected_files(runs).items() if path.read_text(encoding="utf-8") != text]
    assert stale == [], "run: python -m offline.deployer --stack <stack> [--operator] --write"


# --- the command ---------------------------------------------------------------------------------
def test_given_an_unknown_stack_when_the_command_runs_then_it_exits_2_with_one_line(capsys):
    assert main(["--project", str(PROJECT_ROOT), "--stack", "qa"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "unknown stack 'qa'" in captured.err


def test_given_a_bad_account_id_when_the_command_runs_then_it_exits_2(capsys):
    assert main(["--project", str(PROJECT_ROOT), "--stack", "dev", "--account-id", "12"]) == 2
    assert "--account-id must be 12 digits" in capsys.readouterr().err


def test_given_part_and_an_account_when_the_command_runs_then_it_prints_one_document_for_that_account(capsys):
    assert (
        main(["--project", str(PROJECT_ROOT), "--stack", "dev", "--operator", "--part", "1", "--account-id", ACCOUNT])
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["Version"] == "2012-10-17"
    assert ACCOUNT_VARIABLE not in json.dumps(document)
    assert ACCOUNT in json.dumps(document)


# --- the key policies admit the operator ---------------------------------------------------------
def key_statements(run, purpose):
    key = run.named("aws:kms/key:Key", f"serverless-infra-{run.stack}-kms-key-{purpose}")
    return {s["Sid"]: s for s in statements(json.loads(plain(key.inputs["policy"])))}


def test_given_no_operator_role_when_deployed_then_no_key_policy_names_an_operator(runs):
    for purpose in ("database", "api", "cache", "logs", "artifacts", "messaging", "functions"):
        assert "OperatorUseThroughServices" not in key_statements(runs["dev"], purpose), purpose


def test_given_an_operator_role_when_deployed_then_it_uses_parameter_keys_through_ssm_only(run_stack):
    run = run_stack("dev", operatorRoleArn=OPERATOR)
    for purpose in ("database", "api", "cache"):
        statement = key_statements(run, purpose)["OperatorUseThroughServices"]
        assert statement["Action"] == ["kms:Decrypt", "kms:Encrypt"]
        assert statement["Condition"]["StringEquals"]["kms:ViaService"] == ["ssm.us-east-1.amazonaws.com"]
        assert statement["Condition"]["ArnEquals"] == {"aws:PrincipalArn": OPERATOR}


def test_given_an_operator_role_when_deployed_then_it_uses_the_messaging_key_through_sqs_only(run_stack):
    run = run_stack("dev", operatorRoleArn=OPERATOR)
    statement = key_statements(run, "messaging")["OperatorUseThroughServices"]
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Condition"]["StringEquals"]["kms:ViaService"] == ["sqs.us-east-1.amazonaws.com"]
    for purpose in ("logs", "artifacts", "functions"):
        assert "OperatorUseThroughServices" not in key_statements(run, purpose), purpose


def test_docs_iam_holds_one_file_per_role_and_shipped_stack():
    assert {path.name for path in DOCS_DIR.glob("*.json")} == {
        f"{role}-{stack}.json" for role in ROLES for stack in STACKS
    }
