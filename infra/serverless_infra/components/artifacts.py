"""A private bucket: versioned, lifecycle-managed, SSE-KMS, public access blocked, TLS-only.

The stack uses it for deployment artifacts; bootstrap/ uses it for Pulumi state (``purpose``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from serverless_infra.iam import document
from serverless_infra.naming import Namer, backup_tag
from serverless_infra.settings import ArtifactSettings


@dataclass(frozen=True)
class ArtifactsArgs:
    namer: Namer
    settings: ArtifactSettings
    key_arn: pulumi.Input[str]
    account_id: str
    allow_config_delivery: bool  # AWS Config's delivery channel writes here when configRecorder is on
    purpose: str = "artifacts"


class Artifacts(pulumi.ComponentResource):
    """A private, versioned, KMS-encrypted S3 bucket."""

    def __init__(self, name: str, args: ArtifactsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Artifacts", name, None, opts)
        namer, settings = args.namer, args.settings
        child = pulumi.ResourceOptions(parent=self)
        # Bucket names are global: the account id keeps two accounts' stacks from colliding.
        purpose = args.purpose
        bucket_name = namer.name(purpose, args.account_id)
        self.bucket = aws.s3.Bucket(
            namer.name("bucket", purpose),
            bucket=bucket_name,
            force_destroy=settings.force_destroy,
            tags=backup_tag(f"s3-versioning-{settings.noncurrent_version_days}d"),
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            namer.name("bucket-ownership", purpose),
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            namer.name("bucket-public-access", purpose),
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            namer.name("bucket-versioning", purpose),
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            namer.name("bucket-encryption", purpose),
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms",
                        kms_master_key_id=args.key_arn,
                    ),
                    bucket_key_enabled=True,  # one KMS call per object batch, not per object
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            namer.name("bucket-lifecycle", purpose),
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=settings.noncurrent_version_days,
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=settings.abort_incomplete_upload_days,
                    ),
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        statements: list[dict[str, Any]] = [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [self.bucket.arn, pulumi.Output.concat(self.bucket.arn, "/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
        if args.allow_config_delivery:
            statements += _config_delivery_statements(self.bucket.arn, args.account_id)
        aws.s3.BucketPolicy(
            namer.name("bucket-policy", purpose),
            bucket=self.bucket.id,
            policy=document(*statements),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        self.register_outputs({"bucket": self.bucket.bucket})


def _config_delivery_statements(bucket_arn: pulumi.Output[str], account_id: str) -> list[dict[str, Any]]:
    """What AWS Config's delivery channel needs on the bucket, for this account only."""
    principal = {"Service": "config.amazonaws.com"}
    source = {"aws:SourceAccount": account_id}
    return [
        {
            "Sid": "ConfigBucketCheck",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
            "Resource": bucket_arn,
            "Condition": {"StringEquals": source},
        },
        {
            "Sid": "ConfigDelivery",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:PutObject",
            "Resource": pulumi.Output.concat(bucket_arn, f"/aws-config/AWSLogs/{account_id}/Config/*"),
            "Condition": {"StringEquals": {**source, "s3:x-amz-acl": "bucket-owner-full-control"}},
        },
    ]
