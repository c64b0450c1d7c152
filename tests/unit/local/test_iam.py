"""How local.iam decides a role's call: identity policies, key policies and conditions, as AWS does.

The documents have the shapes the program writes (infra/serverless_infra/components/functions.py
for a function role, infra/serverless_infra/iam.py ``key_policy`` for a key): grants scoped to
parameter paths and key ARNs, KMS use only through a service (``kms:ViaService``), and key
policies that delegate to the account and name the roles with ``aws:PrincipalArn``.
"""

from __future__ import annotations

import json
from typing import Any

from local.blueprint import RoleBlueprint
from local.iam import Check, IamEnforcement, action_matches, authorize, parse_call, statements_of

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
API_ROLE = f"arn:aws:iam::{ACCOUNT}:role/serverless-infra-dev-role-api"
WORKER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/serverless-infra-dev-role-worker"
PARAMETERS = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
FUNCTIONS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/214c1c41-2e8f-593d-b922-ddc9eac403c3"
DATABASE_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/b306cc48-b5cc-0282-6967-a357e6cfc48e"
VIA_SSM = f"ssm.{REGION}.amazonaws.com"
VIA_LAMBDA = f"lambda.{REGION}.amazonaws.com"

API_ROLE_POLICY = statements_of(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DecryptOwnEnvironment",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [FUNCTIONS_KEY],
                "Condition": {"StringEquals": {"kms:ViaService": VIA_LAMBDA}},
            },
            {
                "Sid": "ReadOwnParameters",
                "Effect": "Allow",
                "Action": ["ssm:GetParametersByPath"],
                "Resource": [f"{PARAMETERS}/myapp/dev/database", f"{PARAMETERS}/myapp/dev/database/*"],
            },
            {
                "Sid": "DecryptOwnParameters",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [DATABASE_KEY],
                "Condition": {"StringEquals": {"kms:ViaService": VIA_SSM}},
            },
        ],
    }
)


def key_policy(decrypting_roles: list[str]) -> list[dict[str, Any]]:
    """A key policy as the program writes it: the account administers, named roles decrypt through SSM."""
    return [
        {
            "Sid": "KeyAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": ROOT},
            "Action": ["kms:DescribeKey", "kms:PutKeyPolicy"],
            "Resource": "*",
        },
        {
            "Sid": "WorkloadRolesDecryptThroughServices",
            "Effect": "Allow",
            "Principal": {"AWS": ROOT},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:ViaService": [VIA_SSM], "kms:CallerAccount": ACCOUNT},
                "ArnEquals": {"aws:PrincipalArn": decrypting_roles},
            },
        },
    ]


def decide(check: Check, key: list[dict[str, Any]] | None = None, identity: list[dict[str, Any]] | None = None) -> bool:
    """Whether the api role may, with its own policy unless ``identity`` is given."""
    statements = API_ROLE_POLICY if identity is None else identity
    return authorize(statements, key, API_ROLE, ACCOUNT, check).allowed


def test_a_parameter_under_the_granted_path_may_be_read():
    # GIVEN the api role's grant on /myapp/dev/database/*  WHEN it reads that path  THEN AWS allows it
    assert decide(Check("ssm:GetParametersByPath", f"{PARAMETERS}/myapp/dev/database"))


def test_a_parameter_path_outside_the_grant_is_denied():
    # GIVEN the same grant  WHEN the role reads /myapp/dev/api  THEN no identity policy allows it
    verdict = authorize(
        API_ROLE_POLICY, None, API_ROLE, ACCOUNT, Check("ssm:GetParametersByPath", f"{PARAMETERS}/myapp/dev/api")
    )
    assert not verdict.allowed
    assert "no identity-based policy allows the ssm:GetParametersByPath action" in verdict.reason


def test_decrypting_through_ssm_needs_the_key_policy_to_name_the_role():
    # GIVEN the role's identity grant of kms:Decrypt via SSM and a key policy naming only the worker role
    check = Check("kms:Decrypt", DATABASE_KEY, VIA_SSM)
    # WHEN SSM decrypts for the api role  THEN the key policy denies it; naming the api role allows it
    assert not decide(check, key_policy([WORKER_ROLE]))
    assert decide(check, key_policy([API_ROLE, WORKER_ROLE]))


def test_a_key_policy_that_delegates_to_the_account_still_needs_the_identity_policy():
    # GIVEN a key policy naming the api role, but an identity policy without kms:Decrypt on that key
    check = Check("kms:Decrypt", DATABASE_KEY, VIA_SSM)
    # WHEN SSM decrypts for the role  THEN it is denied, as the account principal only delegates to IAM
    verdict = authorize([], key_policy([API_ROLE]), API_ROLE, ACCOUNT, check)
    assert not verdict.allowed
    assert "no identity-based policy allows the kms:Decrypt action" in verdict.reason


def test_a_key_policy_naming_the_role_as_principal_allows_without_an_identity_grant():
    # GIVEN a key policy whose statement names the role itself
    policy = [{"Effect": "Allow", "Principal": {"AWS": API_ROLE}, "Action": "kms:Decrypt", "Resource": "*"}]
    # WHEN the role decrypts directly  THEN the key policy alone allows it
    assert decide(Check("kms:Decrypt", DATABASE_KEY), policy, identity=[])


def test_a_direct_kms_call_is_denied_when_the_grants_hold_only_through_a_service():
    # GIVEN grants of kms:Decrypt through SSM only  WHEN the role calls KMS itself (no kms:ViaService)
    # THEN it is denied: an absent condition key does not match
    assert not decide(Check("kms:Decrypt", DATABASE_KEY), key_policy([API_ROLE]))


def test_an_allow_whose_condition_fails_does_not_deny_what_another_statement_allows():
    # GIVEN DecryptOwnEnvironment (via Lambda) on the same key as DecryptOwnParameters (via SSM)
    statements = [
        {**API_ROLE_POLICY[0], "Resource": [DATABASE_KEY]},
        API_ROLE_POLICY[2],
    ]
    # WHEN SSM decrypts  THEN the Lambda-only statement does not apply and the SSM one allows
    assert decide(Check("kms:Decrypt", DATABASE_KEY, VIA_SSM), key_policy([API_ROLE]), identity=statements)


def test_an_explicit_deny_wins_over_an_allow():
    deny = {"Effect": "Deny", "Action": "ssm:*", "Resource": f"{PARAMETERS}/myapp/dev/database/*"}
    check = Check("ssm:GetParametersByPath", f"{PARAMETERS}/myapp/dev/database/settings")
    verdict = authorize([*API_ROLE_POLICY, deny], None, API_ROLE, ACCOUNT, check)
    assert not verdict.allowed
    assert "explicit deny" in verdict.reason


def test_an_allow_with_a_condition_that_cannot_be_evaluated_grants_nothing():
    # GIVEN an Allow conditioned with StringLike (moto evaluates StringEquals only)
    statement = {
        "Effect": "Allow",
        "Action": "ssm:GetParametersByPath",
        "Resource": "*",
        "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/other-*"}},
    }
    # WHEN the api role (which the condition would not match) asks  THEN it is denied, never over-granted
    assert not decide(Check("ssm:GetParametersByPath", f"{PARAMETERS}/x"), identity=[statement])


def test_a_wildcard_grant_covers_the_actions_it_names_and_no_others():
    assert action_matches("sqs:*", "sqs:SendMessage")
    assert action_matches("kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext")
    assert not action_matches("sqs:Receive*", "sqs:SendMessage")


def test_a_json_protocol_request_is_read_as_its_operation_and_parameters():
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260101/us-east-1/ssm/aws4_request, "
        "SignedHeaders=host, Signature=abc",
        "X-Amz-Target": "AmazonSSM.GetParametersByPath",
    }
    call = parse_call("/", headers, json.dumps({"Path": "/myapp/dev/api", "WithDecryption": True}).encode())
    assert call is not None
    assert (call.service, call.operation, call.access_key_id, call.protocol) == (
        "ssm",
        "GetParametersByPath",
        "ASIAEXAMPLE",
        "json",
    )
    assert call.params["Path"] == "/myapp/dev/api"


def test_a_query_protocol_request_is_read_as_its_action_and_parameters():
    headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260101/us-east-1/sts/aws4_request, x"}
    call = parse_call("/", headers, b"Action=GetCallerIdentity&Version=2011-06-15")
    assert call is not None
    assert (call.service, call.operation, call.protocol) == ("sts", "GetCallerIdentity", "query")


def test_an_action_written_in_another_case_is_the_same_action():
    # GIVEN a grant written "SSM:getparametersbypath"  THEN it covers ssm:GetParametersByPath, as IAM compares
    statement = {"Effect": "Allow", "Action": "SSM:getparametersbypath", "Resource": f"{PARAMETERS}/*"}
    assert decide(Check("ssm:GetParametersByPath", f"{PARAMETERS}/myapp/dev/api"), identity=[statement])


def test_an_aws_managed_policy_grants_what_its_document_says():
    # GIVEN a role attaching AWSLambdaBasicExecutionRole (its document from moto's copy of AWS's policies)
    role = RoleBlueprint(
        "serverless-infra-dev-role-api",
        json.dumps({"Version": "2012-10-17", "Statement": []}),
        managed_policy_arns=("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",),
    )
    enforcement = IamEnforcement("http://127.0.0.1:1", REGION, ACCOUNT, [role])
    # WHEN its grants are listed  THEN they are the managed policy's
    granted = enforcement.granted_actions(role.name)
    assert granted == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
