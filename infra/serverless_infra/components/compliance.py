"""AWS Config managed rules: the deployed account keeps checking what the policy pack checked at preview.

Each rule names the policy-pack control it mirrors (same concern), so a finding in either place
points to the same remediation. The recorder and delivery channel are opt-in (``configRecorder``):
an account and region can have only one, often owned by a central team.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from contract.naming import REQUIRED_TAG_KEYS
from serverless_infra.iam import AccountContext, assume_role_policy
from serverless_infra.naming import Namer


@dataclass(frozen=True)
class ConfigRuleSpec:
    identifier: str  # the AWS managed rule identifier
    mirrors: str  # the policy-pack control with the same concern
    parameters: dict[str, str] = field(default_factory=dict)


def rule_specs(log_retention_days: int, backup_retention_days: int) -> tuple[ConfigRuleSpec, ...]:
    tags = {f"tag{index}Key": key for index, key in enumerate(REQUIRED_TAG_KEYS, start=1)}
    return (
        ConfigRuleSpec("RDS_STORAGE_ENCRYPTED", "rds-storage-encrypted"),
        ConfigRuleSpec("RDS_INSTANCE_PUBLIC_ACCESS_CHECK", "rds-not-public"),
        ConfigRuleSpec("RDS_MULTI_AZ_SUPPORT", "rds-multi-az"),
        ConfigRuleSpec(
            "DB_INSTANCE_BACKUP_ENABLED", "rds-backup-retention", {"backupRetentionMinimum": str(backup_retention_days)}
        ),
        ConfigRuleSpec("RDS_INSTANCE_DELETION_PROTECTION_ENABLED", "rds-deletion-protection"),
        ConfigRuleSpec("RDS_INSTANCE_IAM_AUTHENTICATION_CONFIGURED", "rds-iam-authentication"),
        ConfigRuleSpec("S3_BUCKET_VERSIONING_ENABLED", "s3-versioning"),
        ConfigRuleSpec("S3_BUCKET_SSL_REQUESTS_ONLY", "s3-tls-only"),
        ConfigRuleSpec("S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", "s3-bucket-sse-kms"),
        ConfigRuleSpec("S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED", "s3-public-access-block"),
        ConfigRuleSpec("LAMBDA_INSIDE_VPC", "lambda-in-vpc"),
        ConfigRuleSpec("CLOUDWATCH_LOG_GROUP_ENCRYPTED", "log-group-kms"),
        ConfigRuleSpec(
            "CW_LOGGROUP_RETENTION_PERIOD_CHECK", "log-retention", {"MinRetentionTime": str(log_retention_days)}
        ),
        ConfigRuleSpec("CMK_BACKING_KEY_ROTATION_ENABLED", "kms-key-rotation"),
        ConfigRuleSpec("SNS_ENCRYPTED_KMS", "sns-topic-kms"),
        ConfigRuleSpec("API_GW_XRAY_ENABLED", "api-stage-xray"),
        ConfigRuleSpec("API_GW_CACHE_ENABLED_AND_ENCRYPTED", "api-cache-encrypted"),
        ConfigRuleSpec("API_GW_EXECUTION_LOGGING_ENABLED", "api-access-logging"),
        ConfigRuleSpec("VPC_FLOW_LOGS_ENABLED", "vpc-flow-logs"),
        ConfigRuleSpec("VPC_DEFAULT_SECURITY_GROUP_CLOSED", "default-security-group-closed"),
        ConfigRuleSpec("IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS", "iam-no-admin"),
        ConfigRuleSpec("RESTRICTED_INCOMING_TRAFFIC", "no-public-ingress"),
        ConfigRuleSpec("REQUIRED_TAGS", "required-tags", tags),
    )


@dataclass(frozen=True)
class ComplianceArgs:
    namer: Namer
    account: AccountContext
    log_retention_days: int
    backup_retention_days: int
    create_recorder: bool
    delivery_bucket: pulumi.Input[str]


class Compliance(pulumi.ComponentResource):
    """Config rules, and (opt-in) the recorder that feeds them."""

    def __init__(self, name: str, args: ComplianceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Compliance", name, None, opts)
        namer = args.namer
        depends_on = self._recorder(args) if args.create_recorder else []
        self.rules = [
            aws.cfg.Rule(
                namer.name("config-rule", spec.identifier.lower().replace("_", "-")),
                name=namer.name("config-rule", spec.identifier.lower().replace("_", "-")),
                description=f"Mirrors policy-pack control {spec.mirrors}",
                source=aws.cfg.RuleSourceArgs(owner="AWS", source_identifier=spec.identifier),
                input_parameters=json.dumps(spec.parameters) if spec.parameters else None,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
            )
            for spec in rule_specs(args.log_retention_days, args.backup_retention_days)
        ]
        self.register_outputs({"rules": [rule.name for rule in self.rules]})

    def _recorder(self, args: ComplianceArgs) -> list[pulumi.Resource]:
        namer, child = args.namer, pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            namer.name("role", "config"),
            name=namer.name("role", "config"),
            description="Lets AWS Config record resource configuration",
            assume_role_policy=assume_role_policy("config.amazonaws.com", args.account),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            namer.name("role-policy-attachment", "config"),
            role=role.name,
            policy_arn=f"arn:{args.account.partition}:iam::aws:policy/service-role/AWS_ConfigRole",
            opts=child,
        )
        recorder = aws.cfg.Recorder(
            namer.name("config-recorder"),
            name=namer.name("config-recorder"),
            role_arn=role.arn,
            recording_group=aws.cfg.RecorderRecordingGroupArgs(all_supported=True, include_global_resource_types=False),
            opts=child,
        )
        channel = aws.cfg.DeliveryChannel(
            namer.name("config-delivery-channel"),
            name=namer.name("config-delivery-channel"),
            s3_bucket_name=args.delivery_bucket,
            s3_key_prefix="aws-config",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[recorder]),
        )
        status = aws.cfg.RecorderStatus(
            namer.name("config-recorder-status"),
            name=recorder.name,
            is_enabled=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[channel]),
        )
        return [status]
