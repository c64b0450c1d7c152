"""Resource-based policies: Lambda permissions, queue and topic policies, bucket policies, key policies."""

from __future__ import annotations

import json

import pytest
from pulumi_policy.proxy import UnknownValueError

from policies import resource_policies as rp
from tests.unit.policies.conftest import UNKNOWN_STRING, Finder, Resources

LAMBDA = next(c for c in rp.CHECKS if c.control.name == "lambda-permission-restricted")
SQS = next(c for c in rp.CHECKS if c.control.name == "sqs-queue-policy-restricted")
SNS = next(c for c in rp.CHECKS if c.control.name == "sns-topic-policy-restricted")
S3 = next(c for c in rp.CHECKS if c.control.name == "s3-bucket-policy-not-public")
KMS = next(c for c in rp.CHECKS if c.control.name == "kms-key-policy-no-wildcard-grant")
ACCOUNT = "123456789012"
TLS_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "sqs:*",
    "Resource": "*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def policy(*statements: object) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def resource_findings(check, resources: Resources) -> list[tuple[str, str]]:
    """Run a resource policy over every hand-built resource of its types."""
    reported: list[tuple[str, str]] = []
    validate = check.policy.validate
    for r in resources.all:

        class Args:
            resource_type = r.resource_type
            name = r.name
            urn = r.urn
            props = r.props

            @staticmethod
            def get_config():
                return {}

        validate(Args(), lambda message, urn=None, name=r.name: reported.append((message, name)))
    return reported


# -- Lambda permissions ---------------------------------------------------------------------------
def test_given_a_service_permission_scoped_to_a_source_arn_then_no_finding(resources: Resources):
    props = {"principal": "apigateway.amazonaws.com", "sourceArn": UNKNOWN_STRING, "action": "lambda:InvokeFunction"}
    resources.add(rp.LAMBDA_PERMISSION, "permission", props)
    assert resource_findings(LAMBDA, resources) == []


def test_given_a_permission_to_another_account_then_no_finding(resources):
    resources.add(rp.LAMBDA_PERMISSION, "permission", {"principal": ACCOUNT})
    assert resource_findings(LAMBDA, resources) == []


def test_given_principal_star_then_anyone_may_invoke(resources):
    resources.add(rp.LAMBDA_PERMISSION, "permission", {"principal": "*"})
    assert resource_findings(LAMBDA, resources) == [("principal '*' lets anyone invoke the function", "permission")]


def test_given_a_service_principal_without_source_then_it_is_refused(resources):
    resources.add(rp.LAMBDA_PERMISSION, "permission", {"principal": "s3.amazonaws.com"})
    [(message, _)] = resource_findings(LAMBDA, resources)
    assert "no source_arn or source_account" in message


def test_given_a_service_principal_with_a_source_account_then_no_finding(resources):
    resources.add(rp.LAMBDA_PERMISSION, "permission", {"principal": "s3.amazonaws.com", "sourceAccount": ACCOUNT})
    assert resource_findings(LAMBDA, resources) == []


def test_given_an_unknown_principal_then_the_check_does_not_pass_it(resources):
    resources.add(rp.LAMBDA_PERMISSION, "permission", {"principal": UNKNOWN_STRING})
    with pytest.raises(UnknownValueError):
        resource_findings(LAMBDA, resources)


# -- SQS / SNS ------------------------------------------------------------------------------------
def test_given_a_queue_with_a_tls_only_policy_then_no_finding(resources: Resources, findings: Finder):
    queue = resources.add(rp.QUEUE, "queue", {})
    resources.add(rp.QUEUE_POLICY, "policy", {"policy": policy(TLS_DENY)}, deps={"queueUrl": [queue]})
    assert findings(SQS, resources) == []


def test_given_a_queue_whose_other_policy_is_open_while_one_is_unknown_then_the_known_one_is_judged(
    resources, findings
):
    queue = resources.add(rp.QUEUE, "queue", {})
    public = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}
    resources.add(rp.QUEUE_POLICY, "unknown", {"policy": UNKNOWN_STRING}, deps={"queueUrl": [queue]})
    resources.add(rp.QUEUE_POLICY, "open", {"policy": policy(public)}, deps={"queueUrl": [queue]})
    assert findings(SQS, resources) == [
        ("an Allow statement lets any principal in without a condition pinning the caller", "open")
    ]


def test_given_a_queue_without_a_policy_then_tls_is_not_required(resources, findings):
    resources.add(rp.QUEUE, "queue", {})
    assert findings(SQS, resources) == [
        ("no access policy denies requests that are not sent over TLS (aws:SecureTransport)", "queue")
    ]


def test_given_a_queue_policy_open_to_anyone_then_it_is_refused(resources, findings):
    queue = resources.add(rp.QUEUE, "queue", {})
    public = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage", "Resource": "*"}
    resources.add(rp.QUEUE_POLICY, "policy", {"policy": policy(TLS_DENY, public)}, deps={"queueUrl": [queue]})
    assert findings(SQS, resources) == [
        ("an Allow statement lets any principal in without a condition pinning the caller", "policy")
    ]


@pytest.mark.parametrize(
    ("condition", "public"),
    [
        ({"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic"}}, False),
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, False),
        ({"StringLike": {"aws:SourceArn": "*"}}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, True),
        ({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}, True),
        ({"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}, True),
    ],
)
def test_given_principal_star_only_a_pinning_condition_restricts_it(resources, findings, condition, public):
    topic = resources.add(rp.TOPIC, "topic", {})
    allow = {"Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": "*", "Condition": condition}
    resources.add(rp.TOPIC_POLICY, "policy", {"policy": policy(TLS_DENY, allow)}, deps={"arn": [topic]})
    assert bool(findings(SNS, resources)) is public


def test_given_a_topic_policy_unknown_in_a_first_preview_then_it_is_judged_when_known(resources, findings):
    topic = resources.add(rp.TOPIC, "topic", {})
    resources.add(rp.TOPIC_POLICY, "policy", {"policy": UNKNOWN_STRING}, deps={"arn": [topic]})
    assert findings(SNS, resources) == []


# -- S3 -------------------------------------------------------------------------------------------
def test_given_a_bucket_policy_with_only_a_tls_deny_and_a_pinned_service_then_no_finding(resources):
    service = {
        "Effect": "Allow",
        "Principal": {"Service": "config.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }
    resources.add(rp.BUCKET_POLICY, "policy", {"policy": policy(TLS_DENY, service)})
    assert resource_findings(S3, resources) == []


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::123456789012:root", "*"]}])
def test_given_a_bucket_policy_open_to_anyone_then_it_is_refused(resources, principal):
    allow = {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "*"}
    resources.add(rp.BUCKET_POLICY, "policy", {"policy": policy(allow)})
    assert resource_findings(S3, resources) == [
        ("an Allow statement lets any principal in without a condition pinning the caller", "policy")
    ]


def test_given_a_bucket_policy_unknown_in_a_first_preview_then_it_is_judged_when_known(resources):
    resources.add(rp.BUCKET_POLICY, "policy", {"policy": UNKNOWN_STRING})
    assert resource_findings(S3, resources) == []


# -- KMS ------------------------------------------------------------------------------------------
def test_given_a_key_policy_naming_actions_then_no_finding(resources):
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",
    }
    resources.add(rp.KMS_KEY, "key", {"policy": policy(statement)})
    assert resource_findings(KMS, resources) == []


def test_given_a_key_without_a_policy_then_it_is_not_judged(resources):
    resources.add(rp.KMS_KEY, "key", {})
    assert resource_findings(KMS, resources) == []


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        ("*", "an Allow statement grants kms:* to Principal '*'"),
        (
            {"AWS": "arn:aws:iam::999999999999:root"},
            "an Allow statement grants kms:* to arn:aws:iam::999999999999:root, outside the key administrator accounts",
        ),
    ],
)
def test_given_kms_star_to_anyone_or_another_account_then_it_is_refused(resources, principal, message):
    statement = {"Effect": "Allow", "Principal": principal, "Action": "kms:*", "Resource": "*"}
    resources.add(rp.KMS_KEY, "key", {"policy": policy(statement)})
    assert resource_findings(KMS, resources) == [(message, "key")]


def test_given_kms_star_to_a_listed_administrator_account_then_no_finding(resources):
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*"}
    resources.add(rp.KMS_KEY, "key", {"policy": policy(statement)})
    check = KMS.policy.validate
    reported: list[str] = []

    class Args:
        resource_type = rp.KMS_KEY
        name = "key"
        urn = resources.all[0].urn
        props = resources.all[0].props

        @staticmethod
        def get_config():
            return {"keyAdministratorAccounts": [ACCOUNT]}

    check(Args(), lambda message, urn=None: reported.append(message))
    assert reported == []


def test_given_a_key_policy_unknown_in_a_first_preview_then_it_is_judged_when_known(resources):
    resources.add(rp.KMS_KEY, "key", {"policy": UNKNOWN_STRING})
    assert resource_findings(KMS, resources) == []
