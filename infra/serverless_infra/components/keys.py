"""Customer-managed KMS keys: one per parameter category, plus logs and artifacts.

Each key rotates yearly, has an alias named like every other resource, and a key policy that
names the services and roles allowed to use it (see :func:`serverless_infra.iam.key_policy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from contract.parameters import Category
from contract.workloads import WORKLOADS, DatabaseAccess, readers_of
from serverless_infra.iam import AccountContext, KeyUsage, OperatorUse, key_policy
from serverless_infra.naming import Namer


class KeyPurpose(StrEnum):
    DATABASE = Category.DATABASE.value
    API = Category.API.value
    CACHE = Category.CACHE.value
    LOGS = "logs"
    ARTIFACTS = "artifacts"
    MESSAGING = "messaging"
    FUNCTIONS = "functions"


def purpose_of(category: Category) -> KeyPurpose:
    """The key that encrypts a parameter category."""
    return KeyPurpose(category.value)


@dataclass(frozen=True)
class KeysArgs:
    namer: Namer
    account: AccountContext
    deletion_window_days: int
    config_delivery: bool = False  # this stack's AWS Config role writes encrypted objects to the artifact bucket
    operator_role_arn: str = ""  # the on-call role of docs/operations.md (operatorRoleArn); empty: none


class Keys(pulumi.ComponentResource):
    """The stack's KMS keys and aliases."""

    keys: dict[KeyPurpose, aws.kms.Key]
    aliases: dict[KeyPurpose, aws.kms.Alias]

    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Keys", name, None, opts)
        self.keys, self.aliases = {}, {}
        usages = key_usages(
            args.namer, args.account, config_delivery=args.config_delivery, operator_role_arn=args.operator_role_arn
        )
        for purpose, usage in usages.items():
            key_name = args.namer.name("kms-key", purpose.value)
            key = aws.kms.Key(
                key_name,
                description=f"{args.namer.name(purpose.value)}: encrypts {_WHAT[purpose]}",
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=args.deletion_window_days,
                policy=key_policy(args.account, usage),
                opts=pulumi.ResourceOptions(parent=self),
            )
            alias = aws.kms.Alias(
                args.namer.name("kms-alias", purpose.value),
                name=f"alias/{args.namer.name(purpose.value)}",
                target_key_id=key.key_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.keys[purpose], self.aliases[purpose] = key, alias
        self.register_outputs({"aliases": {p.value: a.name for p, a in self.aliases.items()}})

    def arn(self, purpose: KeyPurpose) -> pulumi.Output[str]:
        return self.keys[purpose].arn


_WHAT: Mapping[KeyPurpose, str] = {
    KeyPurpose.DATABASE: "RDS storage, Performance Insights, the master secret and /database/ parameters",
    KeyPurpose.API: "/api/ parameters",
    KeyPurpose.CACHE: "/cache/ parameters",
    KeyPurpose.LOGS: "CloudWatch log groups",
    KeyPurpose.ARTIFACTS: "deployment artifacts in S3",
    KeyPurpose.MESSAGING: "the orders queue, its dead-letter queue and the alarm topic",
    KeyPurpose.FUNCTIONS: "the functions' environment variables",
}


CONFIG_ROLE = "config"
"""Qualifier of AWS Config's role (``role-config``), created by the compliance component."""


def key_usages(
    namer: Namer, account: AccountContext, *, config_delivery: bool = False, operator_role_arn: str = ""
) -> dict[KeyPurpose, KeyUsage]:
    """Who uses which key: derived from the workload table, so a new reader needs no edit here.

    ``config_delivery``: AWS Config's delivery channel writes SSE-KMS objects to the artifact bucket
    with the recorder's role, which therefore encrypts with the artifacts key through S3.
    https://docs.aws.amazon.com/config/latest/developerguide/s3-kms-key-policy.html

    ``operator_role_arn``: the on-call role may use the parameter keys through SSM and the messaging
    key through SQS for exactly what the runbooks do (:func:`operator_usage`); nothing else.
    """

    def role(workload_key: str) -> str:
        (match,) = [w for w in WORKLOADS if w.key == workload_key]
        return namer.role_arn(match, account.account_id, account.partition)

    def roles_reading(category: Category) -> tuple[str, ...]:
        return tuple(namer.role_arn(w, account.account_id, account.partition) for w in readers_of(category))

    master_readers = tuple(
        namer.role_arn(w, account.account_id, account.partition)
        for w in WORKLOADS
        if w.database_access is DatabaseAccess.MASTER
    )
    logs_arn_pattern = f"arn:{account.partition}:logs:{account.region}:{account.account_id}:log-group:*"
    usages = {
        KeyPurpose.DATABASE: KeyUsage(
            via_services=("rds", "secretsmanager", "ssm"),
            decrypting_roles=tuple(sorted(set(roles_reading(Category.DATABASE) + master_readers))),
            grants_for_aws_resources=True,
        ),
        KeyPurpose.API: KeyUsage(via_services=("ssm",), decrypting_roles=roles_reading(Category.API)),
        KeyPurpose.CACHE: KeyUsage(via_services=("ssm",), decrypting_roles=roles_reading(Category.CACHE)),
        KeyPurpose.LOGS: KeyUsage(
            via_services=(),
            decrypting_roles=(),
            service_principals=(
                (
                    f"logs.{account.region}.amazonaws.com",
                    {"StringLike": {"kms:EncryptionContext:aws:logs:arn": logs_arn_pattern}},
                ),
            ),
        ),
        KeyPurpose.ARTIFACTS: KeyUsage(
            via_services=("s3",),
            decrypting_roles=(),
            encrypting_roles=(
                (namer.service_role_arn(CONFIG_ROLE, account.account_id, account.partition),) if config_delivery else ()
            ),
            # AWS Config's delivery channel (when this stack owns the recorder) writes encrypted objects here.
            service_principals=(("config.amazonaws.com", {"StringEquals": {"aws:SourceAccount": account.account_id}}),),
        ),
        KeyPurpose.MESSAGING: KeyUsage(
            via_services=("sqs", "sns"),
            decrypting_roles=(role("worker"), role("dlq-analyzer")),
            encrypting_roles=(role("api"),),
            service_principals=(
                # CloudWatch alarms publish to the encrypted alarm topic; SNS asks KMS on their behalf.
                ("cloudwatch.amazonaws.com", {"StringEquals": {"aws:SourceAccount": account.account_id}}),
                # AWS Budgets notifies the same topic (budgets-sns-policy.html); EventBridge delivers the RDS
                # storage-ceiling events to it, without source keys in the KMS request: the topic policy admits
                # only this stack's rule (sns-key-management.html#compatibility-with-aws-services).
                ("budgets.amazonaws.com", {"StringEquals": {"aws:SourceAccount": account.account_id}}),
                ("events.amazonaws.com", {}),
            ),
        ),
        KeyPurpose.FUNCTIONS: KeyUsage(
            via_services=("lambda",),
            decrypting_roles=tuple(namer.role_arn(w, account.account_id, account.partition) for w in WORKLOADS),
            grants_for_aws_resources=True,
        ),
    }
    return {
        purpose: replace(usage, operator=operator_usage(purpose, operator_role_arn))
        for purpose, usage in usages.items()
    }


OPERATOR_PARAMETER_ACTIONS = ("kms:Decrypt", "kms:Encrypt")
"""ops.parameters: ``history --decrypt`` and ``rollback`` read SecureStrings; ``rollback`` writes them."""
OPERATOR_QUEUE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
"""Reading the dead-letter queue and redriving it to the orders queue (SQS's message move task)."""


def operator_usage(purpose: KeyPurpose, operator_role_arn: str) -> OperatorUse | None:
    """What the runbooks of docs/operations.md need of one key (offline/deployer/operator.json asks IAM alike)."""
    if not operator_role_arn:
        return None
    if purpose in (KeyPurpose.DATABASE, KeyPurpose.API, KeyPurpose.CACHE):
        return OperatorUse(operator_role_arn, ("ssm",), OPERATOR_PARAMETER_ACTIONS)
    if purpose is KeyPurpose.MESSAGING:
        return OperatorUse(operator_role_arn, ("sqs",), OPERATOR_QUEUE_ACTIONS)
    return None
