"""Secrets Manager: secrets are encrypted with a customer-managed key and rotate."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.encryption import CUSTOMER_KEYS_CONFIG, KeyedResource, keyed_policy
from policies.rules import MISSING, Anchors, Check, Control, Kind, Stack, get, stack_policy

CONCERN = "secrets"
SECRET = "aws:secretsmanager/secret:Secret"  # noqa: S105 (a resource type)
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"  # noqa: S105 (a resource type)

SECRET_KMS = Control(
    name="secret-customer-managed-key",
    concern=CONCERN,
    kind=Kind.SECURITY,
    description="Secrets Manager secrets are encrypted with a customer-managed KMS key (kms_key_id), not the "
    "AWS-managed aws/secretsmanager key, so the key policy decides who can decrypt them.",
    severity=Severity.HIGH,
    remediation="Set kms_key_id on the secret to the key of its category (the database key for database "
    "credentials); the key policy must allow kms:Decrypt via secretsmanager for the readers.",
    resource_types=(SECRET,),
    anchors=Anchors(checkov=("CKV_AWS_149",)),
    config=CUSTOMER_KEYS_CONFIG,
    sources=("https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html",),
)


def _secret_kms(r: KeyedResource) -> Iterator[str]:
    if not r.customer_key("kmsKeyId", r.get("kmsKeyId")):
        yield "kmsKeyId does not name a customer-managed key (the default is the AWS-managed aws/secretsmanager key)"


SECRET_ROTATION_CONTROL = Control(
    name="secret-rotation",
    concern=CONCERN,
    kind=Kind.OPERATIONAL,
    description=(
        "Secrets rotate automatically (a SecretRotation or the secret's own rotation). Advisory: the program's "
        "database master secret holds a password RDS does not manage, and nothing rotates it yet (a rotation "
        "function must change the password in the database and the secret together); set this policy's "
        "enforcementLevel to mandatory in the policy config once rotation exists."
    ),
    severity=Severity.MEDIUM,
    remediation="Add a secretsmanager.SecretRotation with a rotation function (the AWS-provided PostgreSQL "
    "single-user rotation template) and rotation_rules.automatically_after_days, or let RDS manage the master "
    "password (manage_master_user_password), which rotates it.",
    resource_types=(SECRET, SECRET_ROTATION),
    anchors=Anchors(cdk_nag=("AwsSolutions-SMG4",), checkov=("CKV2_AWS_57",), security_hub=("SecretsManager.1",)),
    sources=("https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets.html",),
)


def _secret_rotation(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for secret in stack.of_type(SECRET):
        if stack.referrers(secret, "secretId", SECRET_ROTATION):
            continue
        if get(secret.props, "rotationRules") is not MISSING:
            continue
        yield "the secret has no automatic rotation", secret.urn


CHECKS: list[Check] = [
    keyed_policy(SECRET_KMS, _secret_kms),
    stack_policy(SECRET_ROTATION_CONTROL, _secret_rotation),
]
