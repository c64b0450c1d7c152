"""Identity controls with no cheap way around them: partial wildcards, NotAction, NotResource,
AWS-managed policies and trust policies are all judged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies import identity as i
from policies.rules import Resource
from tests.unit.policies.conftest import UNKNOWN_STRING, unknown_checking_proxy

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def _judge(
    control: i.Control, check: Any, resource_type: str, props: dict[str, Any], config: dict[str, Any] | None = None
) -> list[str]:
    resource = Resource(resource_type, "r", "urn:r", unknown_checking_proxy(props), config or {})
    return list(check(control, resource))


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


def _allow(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", **fields}


# -- wildcard actions ------------------------------------------------------------------------------
@pytest.mark.parametrize("action", ["iam:Pass*", "s3:*Object", "s3:Get?bject", "*", "sqs:*"])
def test_given_a_partial_or_full_wildcard_action_then_it_is_refused(action):
    props = _policy(_allow(Action=[action], Resource="arn:aws:sqs:us-east-1:123456789012:q"))
    [message] = _judge(i.NO_WILDCARD_ACTIONS, i._wildcard_actions, ROLE_POLICY, props)
    assert action in message


def test_given_named_actions_then_no_wildcard_finding():
    props = _policy(_allow(Action=["sqs:SendMessage", "iam:PassRole"], Resource="arn:aws:iam::123456789012:role/x"))
    assert _judge(i.NO_WILDCARD_ACTIONS, i._wildcard_actions, ROLE_POLICY, props) == []


def test_given_an_allow_with_not_action_then_it_is_refused():
    props = _policy(_allow(NotAction="iam:*", Resource="arn:aws:s3:::bucket"))
    assert "an Allow statement uses NotAction" in _judge(i.NO_WILDCARD_ACTIONS, i._wildcard_actions, ROLE_POLICY, props)


# -- wildcard resources ----------------------------------------------------------------------------
def test_given_not_resource_in_an_allow_then_it_counts_as_every_resource():
    props = _policy(_allow(Action="s3:GetObject", NotResource="arn:aws:s3:::secret/*"))
    [message] = _judge(i.NO_WILDCARD_RESOURCES, i._wildcard_resources, ROLE_POLICY, props)
    assert "NotResource" in message


def test_given_a_partial_wildcard_of_an_allowed_action_on_star_then_it_is_refused():
    props = _policy(_allow(Action="xray:Put*", Resource="*"))
    assert _judge(i.NO_WILDCARD_RESOURCES, i._wildcard_resources, ROLE_POLICY, props)


def test_given_an_action_aws_only_grants_on_star_then_star_is_accepted():
    props = _policy(_allow(Action=["xray:PutTraceSegments"], Resource="*"))
    assert _judge(i.NO_WILDCARD_RESOURCES, i._wildcard_resources, ROLE_POLICY, props) == []


# -- administrator access --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/PowerUserAccess",
        "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        "arn:aws:iam::aws:policy/IAMFullAccess",
    ],
)
def test_given_an_admin_or_full_access_managed_policy_attached_then_it_is_refused(arn):
    [message] = _judge(i.NO_ADMIN, i._admin, ATTACHMENT, {"policyArn": arn})
    assert arn.rsplit("/", 1)[-1] in message


def test_given_a_full_access_policy_the_policy_config_allows_then_it_is_accepted():
    props = {"policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}
    config = {"allowedManagedPolicies": ["AmazonS3FullAccess"]}
    assert _judge(i.NO_ADMIN, i._admin, ATTACHMENT, props, config) == []


def test_given_a_narrow_aws_managed_service_role_policy_then_it_is_accepted():
    props = {"policyArn": "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"}
    assert _judge(i.NO_ADMIN, i._admin, ATTACHMENT, props) == []


def test_given_a_role_with_admin_in_its_managed_policy_arns_then_it_is_refused():
    props = {"managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"], "assumeRolePolicy": "{}"}
    assert _judge(i.NO_ADMIN, i._admin, ROLE, props)


def test_given_not_action_on_every_resource_then_it_is_administrator_access():
    props = _policy(_allow(NotAction="iam:*", Resource="*"))
    assert _judge(i.NO_ADMIN, i._admin, ROLE_POLICY, props) == [
        "an Allow statement grants everything but its NotAction on '*'"
    ]


# -- trust policies --------------------------------------------------------------------------------
def _trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


def test_given_a_service_principal_then_the_trust_policy_is_accepted():
    props = _trust(_allow(Principal={"Service": "lambda.amazonaws.com"}, Action="sts:AssumeRole"))
    assert _judge(i.TRUST_POLICY, i._trust_policy, ROLE, props) == []


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::123456789012:root", "*"]}])
def test_given_any_principal_then_the_trust_policy_is_refused(principal):
    props = _trust(_allow(Principal=principal, Action="sts:AssumeRole"))
    assert _judge(i.TRUST_POLICY, i._trust_policy, ROLE, props) == [
        "the trust policy lets any principal assume the role"
    ]


def test_given_not_principal_in_an_allow_then_the_trust_policy_is_refused():
    props = _trust(_allow(NotPrincipal={"AWS": "arn:aws:iam::123456789012:root"}, Action="sts:AssumeRole"))
    assert "NotPrincipal" in _judge(i.TRUST_POLICY, i._trust_policy, ROLE, props)[0]


OIDC = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def test_given_an_oidc_principal_without_subject_condition_then_the_trust_policy_is_refused():
    condition = {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
    props = _trust(_allow(Principal={"Federated": OIDC}, Action="sts:AssumeRoleWithWebIdentity", Condition=condition))
    assert _judge(i.TRUST_POLICY, i._trust_policy, ROLE, props)


def test_given_an_oidc_principal_with_audience_and_subject_then_the_trust_policy_is_accepted():
    condition = {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:owner/repo:environment:prod",
        }
    }
    props = _trust(_allow(Principal={"Federated": OIDC}, Action="sts:AssumeRoleWithWebIdentity", Condition=condition))
    assert _judge(i.TRUST_POLICY, i._trust_policy, ROLE, props) == []


def test_given_an_unknown_trust_policy_then_the_control_reports_it_cannot_run():
    from pulumi_policy.proxy import UnknownValueError

    with pytest.raises(UnknownValueError):
        _judge(i.TRUST_POLICY, i._trust_policy, ROLE, {"assumeRolePolicy": UNKNOWN_STRING})


# -- documents unknown during a first preview ------------------------------------------------------
@pytest.mark.parametrize(
    ("control", "check"),
    [
        (i.NO_WILDCARD_ACTIONS, i._wildcard_actions),
        (i.NO_WILDCARD_RESOURCES, i._wildcard_resources),
        (i.NO_ADMIN, i._admin),
    ],
)
@pytest.mark.parametrize(
    ("resource_type", "props"),
    [
        (ROLE_POLICY, {"policy": UNKNOWN_STRING}),
        (ROLE, {"inlinePolicies": [{"name": "inline", "policy": UNKNOWN_STRING}]}),
    ],
)
def test_given_a_document_unknown_because_it_embeds_arns_then_it_is_left_to_pulumi_up(
    control, check, resource_type, props
):
    """The engine hands the document as a JSON string unknown as a whole: nothing to judge during preview;
    the engine judges it when `pulumi up` registers the resource, before it is created."""
    assert _judge(control, check, resource_type, props) == []


def test_given_known_documents_beside_an_unknown_one_then_the_known_ones_are_still_judged():
    props = {
        "inlinePolicies": [
            {"name": "unknown", "policy": UNKNOWN_STRING},
            {"name": "known", **_policy(_allow(Action=["*"], Resource="*"))},
        ]
    }
    assert _judge(i.NO_ADMIN, i._admin, ROLE, props) == ["an Allow statement grants '*' on '*'"]
