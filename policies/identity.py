"""Least privilege: no wildcard actions, no wildcard resources beyond AWS's own exceptions, no
administrator grants, one role per function, rotating keys.

Identity policies are checked where they are written (role inline policies, role policies,
managed policies); key, bucket and queue policies are resource policies and are out of scope here.

Unknown documents. The engine hands a policy the document as the program passed it: a JSON string
(``Output.json_dumps`` in ``infra/serverless_infra/iam.py``), which is unknown *as a whole* during a
preview in which any ARN it embeds is not yet known (a first preview). Nothing of its structure is
visible then, so the identity-policy controls cannot judge it and do not report it: they judge it
when it is known, which is before the resource exists. The engine runs resource policies again as
``pulumi up`` registers each resource, once the resources it embeds exist, and a violation stops
that resource before it is created; the offline gate's default mode (mocked IDs, every document
known) judges every document too. The trust policy is different: it embeds no ARN of this stack,
so an unknown trust policy is unexpected and fails closed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from pulumi_policy import Severity
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
    get,
    items,
    json_document,
    resource_policy,
    stack_policy,
)

POLICY_TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
    "aws:iam/role:Role",
)

# Actions that support no resource-level permissions, so "*" is the only resource AWS accepts.
RESOURCE_WILDCARD_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "cloudwatch:PutMetricData",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "ec2:DescribeSubnets",
)


def _documents(r: Resource) -> Iterator[object]:
    """The identity policy documents of a resource that are known.

    A document unknown during preview is a JSON string unknown as a whole (it embeds ARNs not yet
    known): it is skipped here and judged when known, when ``pulumi up`` registers the resource
    (see the module's docstring). An unknown list of inline policies is skipped likewise.
    """
    found = (
        [get(inline, "policy") for inline in items(r.get("inlinePolicies"))]
        if r.type == "aws:iam/role:Role"
        else [r.get("policy")]
    )
    for document in found:
        if document is not UNKNOWN:
            yield json_document(document)


def _is_wildcard_action(action: object) -> bool:
    """``*``, ``service:*`` and partial wildcards (``iam:Pass*``, ``s3:*Object``, ``s3:Get?bject``)."""
    return isinstance(action, str) and ("*" in action or "?" in action)


def _grants_every_resource(statement: object) -> bool:
    """Resource ``*``, or NotResource: everything but a list is as broad as everything."""
    return "*" in items(get(statement, "Resource")) or get(statement, "NotResource") is not MISSING


NO_WILDCARD_ACTIONS = Control(
    name="iam-no-wildcard-actions",
    concern="identity",
    kind=Kind.SECURITY,
    description=(
        "Identity policies grant named actions: no '*', no 'service:*', no partial wildcard ('iam:Pass*', "
        "'s3:*Object'), no Allow with NotAction. A document unknown during preview (it embeds ARNs not yet "
        "known) is judged when known: at `pulumi up`, before the resource is created."
    ),
    severity=Severity.HIGH,
    remediation="List the exact actions the code calls (contract/workloads.py is the source of truth).",
    resource_types=POLICY_TYPES,
    anchors=Anchors(cdk_nag=("AwsSolutions-IAM5",), checkov=("CKV_AWS_63",), security_hub=("IAM.21",)),
)


def _wildcard_actions(_: Control, r: Resource) -> Iterator[str]:
    for document in _documents(r):
        for statement in statements(document, "Allow"):
            if get(statement, "NotAction") is not MISSING:
                yield "an Allow statement uses NotAction"
            wildcards = sorted({str(a) for a in items(get(statement, "Action")) if _is_wildcard_action(a)})
            if wildcards:
                yield f"an Allow statement grants wildcard actions: {', '.join(wildcards)}"


NO_WILDCARD_RESOURCES = Control(
    name="iam-no-wildcard-resources",
    concern="identity",
    kind=Kind.SECURITY,
    description=(
        "Identity policies name resources; '*' only for actions AWS offers no resource-level control for, and "
        "never NotResource in an Allow. A document unknown during preview is judged when known (at `pulumi up`, "
        "before the resource is created)."
    ),
    severity=Severity.HIGH,
    remediation="Scope the statement to the ARNs it needs; keep '*' only for the actions listed in the "
    "allowedActions config (X-Ray, PutMetricData, Lambda's VPC network interfaces).",
    resource_types=POLICY_TYPES,
    anchors=Anchors(cdk_nag=("AwsSolutions-IAM5",), checkov=("CKV_AWS_355",)),
    config={
        "allowedActions": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z0-9-]+:[A-Za-z0-9]+$"},
            "uniqueItems": True,
            "description": "Actions that may be granted on Resource '*' (AWS supports no narrower resource).",
            "default": list(RESOURCE_WILDCARD_ACTIONS),
        }
    },
)


def _wildcard_resources(control: Control, r: Resource) -> Iterator[str]:
    allowed = set(control.setting(r.config, "allowedActions"))
    for document in _documents(r):
        for statement in statements(document, "Allow"):
            if not _grants_every_resource(statement):
                continue
            if get(statement, "NotAction") is not MISSING:
                yield "an Allow statement grants NotAction on every resource"
            actions = [a for a in items(get(statement, "Action")) if a not in allowed or _is_wildcard_action(a)]
            if actions:
                where = "NotResource" if get(statement, "NotResource") is not MISSING else "Resource '*'"
                yield f"an Allow statement grants actions on {where} that support narrower resources"


ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
AWS_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?P<path>.+)$")
ADMIN_MANAGED_POLICIES = frozenset({"AdministratorAccess", "PowerUserAccess", "IAMFullAccess"})

NO_ADMIN = Control(
    name="iam-no-admin",
    concern="identity",
    kind=Kind.SECURITY,
    description=(
        "No role or policy grants administrator or full-service access: no '*' on '*', no NotAction on '*', and "
        "no AWS-managed AdministratorAccess, PowerUserAccess, IAMFullAccess or '*FullAccess' policy attached "
        "unless policy config allows it by name. An unknown managed-policy ARN is not an AWS-managed one; a "
        "document unknown during preview is judged when known (at `pulumi up`, before the resource is created)."
    ),
    severity=Severity.CRITICAL,
    remediation="Remove the administrator grant; give the principal the actions it needs on the resources it uses.",
    resource_types=(*POLICY_TYPES, *ATTACHMENT_TYPES),
    anchors=Anchors(cdk_nag=("AwsSolutions-IAM4",), checkov=("CKV_AWS_62", "CKV_AWS_274"), security_hub=("IAM.1",)),
    config={
        "allowedManagedPolicies": {
            "type": "array",
            "items": {"type": "string"},
            "uniqueItems": True,
            "description": "AWS-managed policies (path and name, e.g. 'AmazonSSMReadOnlyAccess') that may be attached.",
            "default": [],
        }
    },
)


def _attached_arns(r: Resource) -> list[object]:
    return [r.get("policyArn")] if r.type in ATTACHMENT_TYPES else items(r.get("managedPolicyArns"))


def _admin(control: Control, r: Resource) -> Iterator[str]:
    allowed = set(control.setting(r.config, "allowedManagedPolicies"))
    for arn in _attached_arns(r):
        match = AWS_MANAGED_POLICY.match(arn) if isinstance(arn, str) else None
        if match is None or match["path"] in allowed or match["path"].rsplit("/", 1)[-1] in allowed:
            continue
        name = match["path"].rsplit("/", 1)[-1]
        if name in ADMIN_MANAGED_POLICIES or name.endswith("FullAccess"):
            yield f"the AWS-managed policy {name} is attached (administrator or full-service access)"
    if r.type in ATTACHMENT_TYPES:
        return
    for document in _documents(r):
        for statement in statements(document, "Allow"):
            if not _grants_every_resource(statement):
                continue
            if "*" in items(get(statement, "Action")):
                yield "an Allow statement grants '*' on '*'"
            elif get(statement, "NotAction") is not MISSING:
                yield "an Allow statement grants everything but its NotAction on '*'"


TRUST_POLICY = Control(
    name="iam-trust-policy",
    concern="identity",
    kind=Kind.SECURITY,
    description=(
        "Role trust policies name who may assume the role: no Principal '*' (or AWS '*'), no Allow with "
        "NotPrincipal, and a web identity (OIDC) principal only with conditions on its audience and subject. "
        "An unknown trust policy fails closed (it embeds no ARN of this stack, so it is known on every preview)."
    ),
    severity=Severity.CRITICAL,
    remediation="Name the service or the account/role that assumes the role; for OIDC federation add "
    "StringEquals on '<provider>:aud' and '<provider>:sub'.",
    resource_types=("aws:iam/role:Role",),
    anchors=Anchors(checkov=("CKV_AWS_60", "CKV_AWS_61")),
)


def _condition_keys(condition: object) -> set[str]:
    """The context keys a Condition block tests (``{"StringEquals": {"key": value}}`` → {"key"})."""
    if not isinstance(condition, Mapping):
        return set()
    return {str(key) for operator in condition.values() if isinstance(operator, Mapping) for key in operator}


def _trust_policy(_: Control, r: Resource) -> Iterator[str]:
    document = json_document(r.get("assumeRolePolicy"))
    if document is UNKNOWN:
        raise UnknownValueError(UNKNOWN_STRING_VALUE, ["assumeRolePolicy"])
    for statement in statements(document, "Allow"):
        if get(statement, "NotPrincipal") is not MISSING:
            yield "an Allow statement in the trust policy uses NotPrincipal"
        if "*" in principals(statement, "AWS"):
            yield "the trust policy lets any principal assume the role"
        federated = [p for p in principals(statement, "Federated") if isinstance(p, str)]
        if any(":oidc-provider/" in p for p in federated):
            keys = _condition_keys(get(statement, "Condition"))
            if not any(key.endswith(":sub") for key in keys) or not any(key.endswith(":aud") for key in keys):
                yield "a web identity principal may assume the role without conditions on its audience and subject"


ROLE_PER_FUNCTION = Control(
    name="lambda-role-per-function",
    concern="identity",
    kind=Kind.SECURITY,
    description="Each Lambda function has a role of its own, so its grants are exactly what it uses. The role "
    "is resolved through dependencies (known on a first preview) or its literal name or ARN.",
    severity=Severity.HIGH,
    remediation="Create one role per function and grant it only what that function's code calls.",
    resource_types=("aws:lambda/function:Function", "aws:iam/role:Role"),
)


def _role_per_function(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    users: dict[str, list[str]] = {}
    for function in stack.of_type("aws:lambda/function:Function"):
        roles = stack.resolve(function, "role", "aws:iam/role:Role")
        if not roles:
            yield "the function's role is not created by this stack, so its grants cannot be checked", function.urn
        for role in roles:
            users.setdefault(role.urn, []).append(function.urn)
    for functions in users.values():
        if len(functions) > 1:
            for urn in functions:
                yield f"the function shares its role with {len(functions) - 1} other function(s)", urn


KEY_ROTATION = Control(
    name="kms-key-rotation",
    concern="identity",
    kind=Kind.SECURITY,
    description="Symmetric customer-managed KMS keys rotate automatically. Unknown setting: not reported.",
    severity=Severity.HIGH,
    remediation="Set enable_key_rotation=True (and rotation_period_in_days, 90 to 2560).",
    resource_types=("aws:kms/key:Key",),
    anchors=Anchors(cdk_nag=("AwsSolutions-KMS5",), checkov=("CKV_AWS_7",), security_hub=("KMS.4",)),
)


def _key_rotation(_: Control, r: Resource) -> Iterator[str]:
    spec = r.get("customerMasterKeySpec")
    if spec is MISSING:
        spec = r.get("keySpec")
    if spec not in (MISSING, "SYMMETRIC_DEFAULT"):
        return
    rotation = r.get("enableKeyRotation")
    if rotation is not True and rotation is not UNKNOWN:
        yield "enableKeyRotation is not true (the default is no rotation)"


CHECKS: list[Check] = [
    resource_policy(NO_WILDCARD_ACTIONS, _wildcard_actions),
    resource_policy(NO_WILDCARD_RESOURCES, _wildcard_resources),
    resource_policy(NO_ADMIN, _admin),
    resource_policy(TRUST_POLICY, _trust_policy),
    stack_policy(ROLE_PER_FUNCTION, _role_per_function),
    resource_policy(KEY_ROTATION, _key_rotation),
]
