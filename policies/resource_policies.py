"""Resource-based policies: who, outside the stack's own roles, may use a function, queue, topic,
bucket or key.

Identity policies are judged in :mod:`policies.identity`; these are the policies attached to the
resource itself, where a ``*`` principal means anyone with an AWS account (or none). A statement
open to ``*`` is acceptable only with a condition that pins the caller to fixed values (a source
ARN or account, an organisation, a principal ARN).

Unknown values. A policy document is a JSON string that embeds the resource's own ARN, so it is
unknown as a whole during a first preview: as in :mod:`policies.identity`, it is judged when it is
known (the offline gate's default mode, a later preview, and ``pulumi up``, which runs resource
policies on each resource's inputs before creating it) and not reported before; a queue or topic
whose policy is unknown is not reported as lacking the TLS rule either. A Lambda permission's
principal is a literal: unknown, it fails closed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from pulumi_policy import PolicyResource, Severity
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from policies.documents import principals, statements
from policies.rules import (
    MISSING,
    UNKNOWN,
    Anchors,
    Check,
    Control,
    Kind,
    Resource,
    Stack,
    StackCheck,
    get,
    items,
    json_document,
    resource_policy,
    stack_policy,
)

CONCERN = "resource-policies"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
KMS_KEY = "aws:kms/key:Key"

# Condition keys that pin the caller (or the resource acting for it) to fixed values.
RESTRICTING_CONDITION_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:SourceArn",
        "aws:SourceAccount",
        "aws:SourceOwner",
        "aws:SourceOrgID",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "kms:CallerAccount",
    )
)
# Operators that admit only matching values: negated and ...IfExists operators admit callers without the key.
PINNING_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"})
ACCOUNT_IN_PRINCIPAL = re.compile(r"^(?:arn:aws[a-z-]*:iam::)?(?P<account>\d{12})(?::|$)")


def document_of(props: object, prop: str) -> object:
    """The parsed policy document under ``prop`` (UNKNOWN during a preview that does not know it)."""
    return json_document(get(props, prop))


def is_public(statement: object) -> bool:
    """Open to any principal: Principal '*' or AWS '*' (or NotPrincipal) without a pinning condition."""
    if get(statement, "NotPrincipal") is not MISSING:
        return not _restricted(statement)
    return "*" in principals(statement) and not _restricted(statement)


def _restricted(statement: object) -> bool:
    condition = get(statement, "Condition")
    if not isinstance(condition, Mapping):
        return False
    for operator, tests in condition.items():
        if not isinstance(tests, Mapping) or operator not in PINNING_OPERATORS:
            continue
        for key, value in tests.items():
            values = items(value)
            if (
                str(key).lower() in RESTRICTING_CONDITION_KEYS
                and values
                and all(isinstance(v, str) and v and "*" not in v and "?" not in v for v in values)
            ):
                return True
    return False


def is_tls_deny(statement: object) -> bool:
    """A Deny to everyone of every request not sent over TLS (aws:SecureTransport false)."""
    if "*" not in principals(statement):
        return False
    secure = get(statement, "Condition", "Bool", "aws:SecureTransport")
    return secure in ("false", False)


# -- Lambda permissions ---------------------------------------------------------------------------
LAMBDA_PERMISSION_RESTRICTED = Control(
    name="lambda-permission-restricted",
    concern=CONCERN,
    kind=Kind.SECURITY,
    description=(
        "Lambda permissions name who may invoke: never principal '*', and an AWS service principal only with "
        "source_arn or source_account, so another account's bucket, rule or API cannot invoke the function."
    ),
    severity=Severity.CRITICAL,
    remediation="Set principal to the service (e.g. apigateway.amazonaws.com) or account that invokes the function, "
    "and source_arn to the exact resource that does (the API's execution ARN, the rule's ARN).",
    resource_types=(LAMBDA_PERMISSION,),
    anchors=Anchors(checkov=("CKV_AWS_364", "CKV_AWS_301"), security_hub=("Lambda.1",)),
    sources=(
        "https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-services.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html#lambda-1",
    ),
)


def _lambda_permission(_: Control, r: Resource) -> Iterator[str]:
    principal = r.get("principal")
    if principal is UNKNOWN:
        raise UnknownValueError(UNKNOWN_STRING_VALUE, ["principal"])
    if not isinstance(principal, str):
        return
    if "*" in principal:
        if r.get("principalOrgId") is MISSING:
            yield f"principal {principal!r} lets anyone invoke the function"
        return
    service = principal.endswith(".amazonaws.com") or principal.endswith(".amazonaws.com.cn")
    if service and r.get("sourceArn") is MISSING and r.get("sourceAccount") is MISSING:
        yield (
            f"the service principal {principal} may invoke the function for any resource of any account (no "
            "source_arn or source_account)"
        )


# -- SQS and SNS ----------------------------------------------------------------------------------
def _messaging_control(name: str, what: str, kind: str, anchors: Anchors, *sources: str) -> Control:
    return Control(
        name=name,
        concern=CONCERN,
        kind=Kind.SECURITY,
        description=(
            f"Every {what} has an access policy that denies requests not sent over TLS, and no statement of it "
            "(nor of an inline policy) lets any principal in without a condition pinning the caller "
            "(aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, ...)."
        ),
        severity=Severity.HIGH,
        remediation=f"Attach a {kind} with a Deny of every action to Principal '*' under Bool aws:SecureTransport "
        "'false', and name the service or account each Allow is for, with aws:SourceArn / aws:SourceAccount for a "
        "service principal.",
        resource_types=(QUEUE, QUEUE_POLICY) if kind == "QueuePolicy" else (TOPIC, TOPIC_POLICY),
        anchors=anchors,
        sources=sources,
    )


SQS_POLICY = _messaging_control(
    "sqs-queue-policy-restricted",
    "SQS queue",
    "QueuePolicy",
    Anchors(cdk_nag=("AwsSolutions-SQS4",), checkov=("CKV_AWS_168",), security_hub=("SQS.3",)),
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html",
    "https://docs.aws.amazon.com/config/latest/developerguide/sqs-queue-no-public-access.html",
)
SNS_POLICY = _messaging_control(
    "sns-topic-policy-restricted",
    "SNS topic",
    "TopicPolicy",
    Anchors(cdk_nag=("AwsSolutions-SNS3",), checkov=("CKV_AWS_169",), security_hub=("SNS.4",)),
    "https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html",
    "https://docs.aws.amazon.com/config/latest/developerguide/sns-topic-no-public-access.html",
)


def _messaging(target_type: str, policy_type: str, prop: str) -> StackCheck:
    def check(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
        for target in stack.of_type(target_type):
            attached = stack.referrers(target, prop, policy_type)
            documents: list[tuple[PolicyResource, object]] = [(p, document_of(p.props, "policy")) for p in attached]
            if get(target.props, "policy") is not MISSING:
                documents.append((target, document_of(target.props, "policy")))
            if any(document is UNKNOWN for _, document in documents):
                documents = [(owner, document) for owner, document in documents if document is not UNKNOWN]
            elif not any(is_tls_deny(s) for _, document in documents for s in statements(document, "Deny")):
                yield "no access policy denies requests that are not sent over TLS (aws:SecureTransport)", target.urn
            for owner, document in documents:
                if any(is_public(s) for s in statements(document, "Allow")):
                    yield "an Allow statement lets any principal in without a condition pinning the caller", owner.urn

    return check


# -- S3 bucket policies ---------------------------------------------------------------------------
S3_POLICY_NOT_PUBLIC = Control(
    name="s3-bucket-policy-not-public",
    concern=CONCERN,
    kind=Kind.SECURITY,
    description="No bucket policy lets any principal ('*', AWS '*' or NotPrincipal) in without a condition "
    "pinning the caller; Deny statements to '*' (the TLS-only rule) are fine.",
    severity=Severity.CRITICAL,
    remediation="Name the service or account the Allow is for, with aws:SourceArn / aws:SourceAccount for a "
    "service principal; serve public content through CloudFront with origin access control instead.",
    resource_types=(BUCKET_POLICY, *BUCKETS),
    anchors=Anchors(checkov=("CKV_AWS_70",), security_hub=("S3.2", "S3.3")),
    sources=(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"
        "#access-control-block-public-access-policy-status",
    ),
)


def _s3_policy(_: Control, r: Resource) -> Iterator[str]:
    if r.type != BUCKET_POLICY and r.get("policy") is MISSING:
        return
    if any(is_public(s) for s in statements(document_of(r.props, "policy"), "Allow")):
        yield "an Allow statement lets any principal in without a condition pinning the caller"


# -- KMS key policies -----------------------------------------------------------------------------
KMS_KEY_POLICY = Control(
    name="kms-key-policy-no-wildcard-grant",
    concern=CONCERN,
    kind=Kind.SECURITY,
    description=(
        "Key policies grant 'kms:*' (or '*') to no one but the accounts policy config lists (none by default: "
        "the program's key policies name the actions each role and service needs), and never to Principal '*'."
    ),
    severity=Severity.CRITICAL,
    remediation="Replace the kms:* grant with the actions each principal needs (kms:Decrypt, kms:GenerateDataKey, "
    "key administration for the deployer), or list the account in keyAdministratorAccounts if it must keep "
    "kms:* (AWS's default key policy does this for the key's own account).",
    resource_types=(KMS_KEY,),
    anchors=Anchors(checkov=("CKV_AWS_33",), security_hub=("KMS.5",)),
    config={
        "keyAdministratorAccounts": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[0-9]{12}$"},
            "uniqueItems": True,
            "description": "Accounts whose principals may be granted kms:* in a key policy.",
            "default": [],
        }
    },
    sources=(
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html",
        "https://docs.aws.amazon.com/kms/latest/developerguide/least-privilege.html",
    ),
)


def _kms_key_policy(control: Control, r: Resource) -> Iterator[str]:
    if r.get("policy") is MISSING:
        return  # AWS's default key policy: kms:* to the key's own account only
    trusted = set(control.setting(r.config, "keyAdministratorAccounts"))
    for statement in statements(document_of(r.props, "policy"), "Allow"):
        actions = items(get(statement, "Action"))
        if not ("kms:*" in actions or "*" in actions or get(statement, "NotAction") is not MISSING):
            continue
        for principal in principals(statement):
            if principal == "*":
                yield "an Allow statement grants kms:* to Principal '*'"
                continue
            match = ACCOUNT_IN_PRINCIPAL.match(principal) if isinstance(principal, str) else None
            if match is None or match["account"] not in trusted:
                yield f"an Allow statement grants kms:* to {principal}, outside the key administrator accounts"


CHECKS: list[Check] = [
    resource_policy(LAMBDA_PERMISSION_RESTRICTED, _lambda_permission),
    stack_policy(SQS_POLICY, _messaging(QUEUE, QUEUE_POLICY, "queueUrl")),
    stack_policy(SNS_POLICY, _messaging(TOPIC, TOPIC_POLICY, "arn")),
    resource_policy(S3_POLICY_NOT_PUBLIC, _s3_policy),
    resource_policy(KMS_KEY_POLICY, _kms_key_policy),
]
