"""AWS Config managed rules: the deployed account keeps checking what the policy pack checked at preview.

Each rule names the policy-pack control it mirrors (same concern), so a finding in either place
points to the same remediation. The recorder and delivery channel are opt-in (``configRecorder``):
an account and region can have only one, often owned by a central team. Rules evaluate nothing
without a recorder, so they are deployed only with this stack's recorder or where one is declared
present (``configRecorderExists``); otherwise the stack leaves them out and says so.
https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config.html

The recorder's role (a role of the stack's, not the service-linked one) is what delivers to the
artifact bucket, so it may write there, under the channel's prefix only, and encrypt with the
artifacts key through S3. https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-policy.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from contract.naming import REQUIRED_TAG_KEYS
from serverless_infra.components.keys import CONFIG_ROLE
from serverless_infra.iam import AccountContext, statement
from serverless_infra.naming import Namer
from serverless_infra.service_role import service_role

DELIVERY_PREFIX = "aws-config"


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
    delivery_bucket_arn: pulumi.Input[str]
    delivery_key_arn: pulumi.Input[str]  # the artifact bucket's key; delivered objects are encrypted with it
    recorder_exists: bool = False  # a recorder this stack does not own already records the account


class Compliance(pulumi.ComponentResource):
    """Config rules, and (opt-in) the recorder that feeds them."""

    rules: list[aws.cfg.Rule]

    def __init__(self, name: str, args: ComplianceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Compliance", name, None, opts)
        namer = args.namer
        depends_on = self._recorder(args) if args.create_recorder else []
        if not (args.create_recorder or args.recorder_exists):
            pulumi.log.warn(
                "AWS Config rules left out: the stack neither creates a configuration recorder "
                "(serverless-infra:configRecorder) nor declares one present in the account "
                "(serverless-infra:configRecorderExists); set one of them to deploy the rules",
                resource=self,
            )
            self.rules = []
            self.register_outputs({"rules": []})
            return
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
        account = args.account
        config_role = service_role(
            namer,
            CONFIG_ROLE,
            service="config.amazonaws.com",
            account=account,
            description="Lets AWS Config record resource configuration and deliver it to the artifact bucket",
            statements=tuple(delivery_statements(args)),
            parent=self,
        )
        role, delivery = config_role.role, config_role.policy
        managed = aws.iam.RolePolicyAttachment(
            namer.name("role-policy-attachment", CONFIG_ROLE),
            role=role.name,
            policy_arn=f"arn:{account.partition}:iam::aws:policy/service-role/AWS_ConfigRole",
            opts=child,
        )
        recorder = aws.cfg.Recorder(
            namer.name("config-recorder"),
            name=namer.name("config-recorder"),
            role_arn=role.arn,
            recording_group=aws.cfg.RecorderRecordingGroupArgs(all_supported=True, include_global_resource_types=False),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[managed]),
        )
        # A delivery channel needs the recorder; the recorder starts only once a channel exists.
        # https://docs.aws.amazon.com/config/latest/APIReference/API_PutDeliveryChannel.html
        channel = aws.cfg.DeliveryChannel(
            namer.name("config-delivery-channel"),
            name=namer.name("config-delivery-channel"),
            s3_bucket_name=args.delivery_bucket,
            s3_key_prefix=DELIVERY_PREFIX,
            s3_kms_key_arn=args.delivery_key_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[recorder, delivery]),
        )
        status = aws.cfg.RecorderStatus(
            namer.name("config-recorder-status"),
            name=recorder.name,
            is_enabled=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[channel]),
        )
        return [status]


def delivery_statements(args: ComplianceArgs) -> list[dict[str, Any]]:
    """What the recorder's role needs to deliver: the bucket check, PutObject under its prefix, the key."""
    account = args.account
    objects = pulumi.Output.concat(
        args.delivery_bucket_arn, f"/{DELIVERY_PREFIX}/AWSLogs/{account.account_id}/Config/*"
    )
    return [
        statement("CheckDeliveryBucket", ("s3:GetBucketAcl", "s3:ListBucket"), [args.delivery_bucket_arn]),
        statement(
            "DeliverConfiguration",
            ("s3:PutObject",),
            [objects],
            condition={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
        ),
        statement(
            "EncryptDeliveries",
            ("kms:Decrypt", "kms:GenerateDataKey"),
            [args.delivery_key_arn],
            condition={"StringEquals": {"kms:ViaService": account.service_endpoint("s3")}},
        ),
    ]
