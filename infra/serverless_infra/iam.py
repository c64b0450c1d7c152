"""IAM and key policy documents, built as data.

Documents are plain dicts (with Pulumi Outputs where an ARN is not known yet) serialised with
``Output.json_dumps``, so tests can parse and lint exactly what AWS will receive. Actions are
always spelled out: no ``*`` and no ``service:*``; the only wildcard resource is the one AWS
requires in a key policy (``"*"`` there means "this key").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

VERSION = "2012-10-17"

KMS_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
KMS_USE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
KMS_GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
KMS_DECRYPT_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
KMS_ENCRYPT_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")  # SQS and SNS need both to write
KMS_DATA_ACTIONS = tuple(action for action in KMS_USE_ACTIONS if action != "kms:DescribeKey")
"""What a service principal does with a key under an encryption-context condition (DescribeKey has no context)."""


@dataclass(frozen=True)
class AccountContext:
    """Where the stack deploys and who deploys it (answered by invokes at run time)."""

    account_id: str
    partition: str
    region: str
    deployer_arn: str  # the IAM role or user running Pulumi (the session's issuer, not the session)

    @property
    def root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def service_endpoint(self, service: str) -> str:
        """The value of kms:ViaService for a service in this region."""
        return f"{service}.{self.region}.amazonaws.com"


def document(*statements: Mapping[str, Any]) -> pulumi.Output[str]:
    """Serialise a policy document; Outputs inside statements are resolved first."""
    return pulumi.Output.json_dumps({"Version": VERSION, "Statement": list(statements)})


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[Any] | str,
    *,
    principal: Mapping[str, Any] | None = None,
    condition: Mapping[str, Mapping[str, Any]] | None = None,
    effect: str = "Allow",
) -> dict[str, Any]:
    """One statement; actions sorted and de-duplicated so documents are stable across runs."""
    result: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        result["Principal"] = dict(principal)
    result["Action"] = sorted(set(actions))
    result["Resource"] = resources if isinstance(resources, str) else list(resources)
    if condition:
        result["Condition"] = {test: dict(values) for test, values in condition.items()}
    return result


def assume_role_policy(service: str, account: AccountContext) -> pulumi.Output[str]:
    """Trust policy for an AWS service, limited to this account (confused-deputy protection)."""
    return document(
        {
            "Sid": "TrustedService",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account.account_id}},
        }
    )


@dataclass(frozen=True)
class OperatorUse:
    """What the operator (on-call) role may do with a key, and through which services only."""

    role_arn: str
    via_services: tuple[str, ...]
    actions: tuple[str, ...]


@dataclass(frozen=True)
class KeyUsage:
    """Who may use one KMS key, and how."""

    via_services: tuple[str, ...]  # services that use the key on a caller's behalf (kms:ViaService)
    decrypting_roles: tuple[str, ...]  # role ARNs allowed to decrypt through those services
    encrypting_roles: tuple[str, ...] = ()  # role ARNs that also produce ciphertext (e.g. send to an encrypted queue)
    grants_for_aws_resources: bool = False  # the service keeps using the key after the call (RDS)
    direct_users: tuple[str, ...] = ()  # principals that call KMS themselves (the CLI's awskms:// secrets provider)
    service_principals: tuple[tuple[str, Mapping[str, Mapping[str, Any]]], ...] = ()
    operator: OperatorUse | None = None  # the runbooks' role (operatorRoleArn), through named services only


def key_policy(account: AccountContext, usage: KeyUsage) -> pulumi.Output[str]:
    """A key policy that lets the account administer the key and nobody use it beyond ``usage``.

    There is deliberately no "Enable IAM user permissions" statement granting kms:* to the
    account: IAM policies alone cannot grant use of this key. Roles are matched with
    ``aws:PrincipalArn`` rather than named as principals, so the policy can name roles that are
    created later in the same deployment (KMS rejects unknown principals, not unknown conditions).
    """
    via = {
        "kms:ViaService": [account.service_endpoint(s) for s in usage.via_services],
        "kms:CallerAccount": account.account_id,
    }
    account_principal = {"AWS": account.root_arn}
    statements: list[dict[str, Any]] = [
        statement("KeyAdministration", KMS_ADMIN_ACTIONS, "*", principal=account_principal),
    ]
    if usage.via_services:
        statements.append(
            statement(
                "DeployerUseThroughServices",
                KMS_USE_ACTIONS,
                "*",
                principal=account_principal,
                condition={"StringEquals": via, "ArnEquals": {"aws:PrincipalArn": account.deployer_arn}},
            )
        )
    if usage.direct_users:
        statements.append(
            statement(
                "DirectUseByNamedPrincipals",
                ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"),
                "*",
                principal=account_principal,
                condition={"ArnEquals": {"aws:PrincipalArn": sorted(usage.direct_users)}},
            )
        )
    if usage.grants_for_aws_resources:
        statements.append(
            statement(
                "DeployerGrantsForAwsResources",
                KMS_GRANT_ACTIONS,
                "*",
                principal=account_principal,
                condition={
                    "StringEquals": via,
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                    "ArnEquals": {"aws:PrincipalArn": account.deployer_arn},
                },
            )
        )
    if usage.decrypting_roles and usage.via_services:
        statements.append(
            statement(
                "WorkloadRolesDecryptThroughServices",
                KMS_DECRYPT_ACTIONS,
                "*",
                principal=account_principal,
                condition={"StringEquals": via, "ArnEquals": {"aws:PrincipalArn": sorted(usage.decrypting_roles)}},
            )
        )
    if usage.encrypting_roles and usage.via_services:
        statements.append(
            statement(
                "WorkloadRolesEncryptThroughServices",
                KMS_ENCRYPT_ACTIONS,
                "*",
                principal=account_principal,
                condition={"StringEquals": via, "ArnEquals": {"aws:PrincipalArn": sorted(usage.encrypting_roles)}},
            )
        )
    if usage.operator is not None:
        operator = usage.operator
        statements.append(
            statement(
                "OperatorUseThroughServices",
                operator.actions,
                "*",
                principal=account_principal,
                condition={
                    "StringEquals": {
                        "kms:ViaService": [account.service_endpoint(s) for s in operator.via_services],
                        "kms:CallerAccount": account.account_id,
                    },
                    "ArnEquals": {"aws:PrincipalArn": operator.role_arn},
                },
            )
        )
    for index, (service_principal, condition) in enumerate(usage.service_principals):
        statements.append(
            statement(
                f"ServicePrincipal{index}",
                KMS_DATA_ACTIONS,
                "*",
                principal={"Service": service_principal},
                condition=condition,
            )
        )
    return document(*statements)
