"""Encryption at rest with customer-managed keys: RDS, SSM, S3, SQS, SNS, logs, Lambda, API cache.

"Customer-managed" means a key this stack creates, traced through the property's dependencies (known
even on a first preview, when the key's ARN is not), or a key ARN the policy config lists. A literal
key reference is never trusted on its own: an AWS-managed key's ARN (arn:aws:kms:...:key/...) looks
exactly like a customer-managed key's, and alias/aws/... names an AWS-managed key outright.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from pulumi_policy import PolicyResource, Severity

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
    resource_policy,
    stack_policy,
)

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
CATEGORY_PATH = re.compile(r"^/[^/]+/[^/]+/(?P<category>[a-z0-9-]+)/")


CUSTOMER_KEYS_CONFIG = {
    "customerManagedKeys": {
        "type": "array",
        "items": {"type": "string"},
        "uniqueItems": True,
        "description": (
            "ARNs (or alias names) of customer-managed keys this stack uses but does not create; a literal key "
            "reference outside this list cannot be told apart from an AWS-managed key's ARN."
        ),
        "default": [],
    }
}


@dataclass(frozen=True)
class KeyedResource:
    """A resource with the stack around it, so a key reference can be traced to the key it came from."""

    control: Control
    resource: PolicyResource
    stack: Stack

    def get(self, *path: str | int) -> object:
        return get(self.resource.props, *path)

    def customer_key(self, prop: str, value: object) -> bool:
        """``value`` (found under top-level ``prop``) names a customer-managed key.

        Yes when it names a KMS key or alias this stack creates: computed from it (property
        dependencies, known even when the ARN is not) or a literal naming it (its ARN, key id or
        alias name; :meth:`Stack.resolve`). Another literal only when policy config lists it. Never
        an AWS-managed key: ``alias/aws/...`` or a bare key ARN, which could be one.
        """
        if isinstance(value, str) and "alias/aws/" in value:
            return False
        if self.stack.resolve(self.resource, prop, KMS_KEY, KMS_ALIAS):
            return True
        if not isinstance(value, str) or not value or "alias/aws/" in value:
            return False
        return value in set(self.control.setting(self.stack.config, "customerManagedKeys"))


KeyedCheck = Callable[[KeyedResource], Iterable[str]]


def keyed_policy(control: Control, check: KeyedCheck) -> Check:
    """A stack policy running ``check`` on each resource of the control's types, with its key references."""

    def run(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
        for resource in stack.of_type(*control.resource_types):
            for message in check(KeyedResource(control, resource, stack)):
                yield message, resource.urn

    return stack_policy(control, run)


RDS_STORAGE = Control(
    name="rds-storage-encrypted",
    concern="encryption",
    kind=Kind.SECURITY,
    description="RDS instances and Aurora clusters encrypt storage with a customer-managed KMS key. Unknown "
    "storageEncrypted: not reported; the key is traced by dependency, known on a first preview.",
    severity=Severity.HIGH,
    remediation="Set storage_encrypted=True and kms_key_id to the database key's ARN (read replicas inherit "
    "encryption from their source but still name the key).",
    resource_types=(RDS_INSTANCE, RDS_CLUSTER),
    anchors=Anchors(cdk_nag=("AwsSolutions-RDS2",), checkov=("CKV_AWS_16",), security_hub=("RDS.3",)),
    config=CUSTOMER_KEYS_CONFIG,
)


def _rds_storage(r: KeyedResource) -> Iterator[str]:
    replica = r.get("replicateSourceDb") is not MISSING or r.get("replicationSourceIdentifier") is not MISSING
    encrypted = r.get("storageEncrypted")
    if not replica and encrypted is not True and encrypted is not UNKNOWN:
        yield "storageEncrypted is not true (the AWS default is unencrypted storage)"
    if not r.customer_key("kmsKeyId", r.get("kmsKeyId")):
        yield "kmsKeyId does not name a customer-managed key (the default is the AWS-managed aws/rds key)"


RDS_PERFORMANCE_INSIGHTS = Control(
    name="rds-performance-insights-encrypted",
    concern="encryption",
    kind=Kind.SECURITY,
    description="Performance Insights data (RDS instances, Aurora clusters and cluster instances) is encrypted "
    "with a customer-managed KMS key. Unknown performanceInsightsEnabled: not reported.",
    severity=Severity.MEDIUM,
    remediation="Set performance_insights_kms_key_id to the database key's ARN wherever Performance Insights is on.",
    resource_types=(RDS_INSTANCE, RDS_CLUSTER, CLUSTER_INSTANCE),
    anchors=Anchors(checkov=("CKV_AWS_354",)),
    config=CUSTOMER_KEYS_CONFIG,
)


def _rds_performance_insights(r: KeyedResource) -> Iterator[str]:
    key = r.get("performanceInsightsKmsKeyId")
    if r.get("performanceInsightsEnabled") is True and not r.customer_key("performanceInsightsKmsKeyId", key):
        yield "performanceInsightsKmsKeyId does not name a customer-managed key"


SSM_SECURE_STRING = Control(
    name="ssm-parameter-secure-string",
    concern="encryption",
    kind=Kind.SECURITY,
    description="SSM parameters are SecureStrings encrypted with a customer-managed KMS key.",
    severity=Severity.HIGH,
    remediation="Create the parameter with type='SecureString' and key_id set to its category's key.",
    resource_types=(SSM_PARAMETER,),
    anchors=Anchors(checkov=("CKV2_AWS_34",)),
    config=CUSTOMER_KEYS_CONFIG,
)


def _ssm_secure_string(r: KeyedResource) -> Iterator[str]:
    kind = r.get("type")
    if kind is not UNKNOWN and kind != "SecureString":
        yield "type is not SecureString"
    elif not r.customer_key("keyId", r.get("keyId")):
        yield "keyId does not name a customer-managed key (the default is the AWS-managed aws/ssm key)"


SSM_CATEGORY_KEY = Control(
    name="ssm-parameter-category-key",
    concern="encryption",
    kind=Kind.SECURITY,
    description="Each SSM parameter under /{prefix}/{env}/{category}/ is encrypted with that category's key "
    "(the key resolved by dependency or by its literal ARN, id or alias; unknown name: not judged).",
    severity=Severity.HIGH,
    remediation="Pass the key whose alias ends in -{category} (e.g. alias/serverless-infra-prod-database) as the "
    "parameter's key_id, so that reading one category never grants decrypting another.",
    resource_types=(SSM_PARAMETER, KMS_KEY, KMS_ALIAS),
)


def _alias_targets(stack: Stack, alias: PolicyResource) -> list[PolicyResource]:
    return stack.resolve(alias, "targetKeyId", KMS_KEY)


def _ssm_category_key(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for parameter in stack.of_type(SSM_PARAMETER):
        name = get(parameter.props, "name")
        match = CATEGORY_PATH.match(name) if isinstance(name, str) else None
        if match is None:
            continue
        category = match.group("category")
        keys = stack.resolve(parameter, "keyId", KMS_KEY)
        keys += [key for alias in stack.resolve(parameter, "keyId", KMS_ALIAS) for key in _alias_targets(stack, alias)]
        if not keys:
            yield f"keyId does not name a KMS key of this stack (expected the {category} key)", parameter.urn
            continue
        aliases = [get(alias.props, "name") for key in keys for alias in stack.referrers(key, "targetKeyId", KMS_ALIAS)]
        if not any(isinstance(alias, str) and alias.endswith(f"-{category}") for alias in aliases):
            yield f"encrypted with a key whose alias does not end in -{category}", parameter.urn


S3_SSE_KMS = Control(
    name="s3-bucket-sse-kms",
    concern="encryption",
    kind=Kind.SECURITY,
    description="S3 buckets (Bucket, BucketV2) encrypt objects by default with a customer-managed KMS key "
    "(SSE-KMS). An encryption configuration unknown during preview is not reported (judged when known).",
    severity=Severity.HIGH,
    remediation="Add a BucketServerSideEncryptionConfiguration for the bucket with sse_algorithm='aws:kms', "
    "kms_master_key_id set to the bucket's key and bucket_key_enabled=True.",
    resource_types=(*BUCKETS, *BUCKET_SSE),
    anchors=Anchors(checkov=("CKV_AWS_145",), security_hub=("S3.17",)),
    config=CUSTOMER_KEYS_CONFIG,
)


def _sse_rule_ok(owner: KeyedResource, prop: str, rule: object) -> bool:
    default = get(rule, "applyServerSideEncryptionByDefault")
    algorithm = get(default, "sseAlgorithm")
    if algorithm is UNKNOWN or default is UNKNOWN:
        return True  # first preview: the configuration is computed; judged again when it is known
    return algorithm in ("aws:kms", "aws:kms:dsse") and owner.customer_key(prop, get(default, "kmsMasterKeyId"))


def _s3_sse(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for bucket in stack.of_type(*BUCKETS):
        candidates = [
            (KeyedResource(control, configuration, stack), "rules", rule)
            for configuration in stack.referrers(bucket, "bucket", *BUCKET_SSE)
            for rule in items(get(configuration.props, "rules"))
        ]
        inline = get(bucket.props, "serverSideEncryptionConfiguration", "rule")
        if inline is not MISSING:
            candidates.append((KeyedResource(control, bucket, stack), "serverSideEncryptionConfiguration", inline))
        if not candidates:
            yield "no default encryption configuration (the AWS default is SSE-S3, not KMS)", bucket.urn
        elif not all(_sse_rule_ok(owner, prop, rule) for owner, prop, rule in candidates):
            yield "default encryption is not SSE-KMS with a customer-managed key", bucket.urn


SQS_KMS = Control(
    name="sqs-queue-kms",
    concern="encryption",
    kind=Kind.SECURITY,
    description="SQS queues are encrypted with a customer-managed KMS key.",
    severity=Severity.HIGH,
    remediation="Set kms_master_key_id on the queue to the messaging key's ARN.",
    resource_types=("aws:sqs/queue:Queue",),
    anchors=Anchors(cdk_nag=("AwsSolutions-SQS2",), checkov=("CKV_AWS_27",), security_hub=("SQS.1",)),
    config=CUSTOMER_KEYS_CONFIG,
)

SNS_KMS = Control(
    name="sns-topic-kms",
    concern="encryption",
    kind=Kind.SECURITY,
    description="SNS topics are encrypted with a customer-managed KMS key.",
    severity=Severity.HIGH,
    remediation="Set kms_master_key_id on the topic to the messaging key's ARN.",
    resource_types=("aws:sns/topic:Topic",),
    anchors=Anchors(checkov=("CKV_AWS_26",), security_hub=("SNS.1",)),
    config=CUSTOMER_KEYS_CONFIG,
)


def _kms_master_key(r: KeyedResource) -> Iterator[str]:
    if not r.customer_key("kmsMasterKeyId", r.get("kmsMasterKeyId")):
        yield "kmsMasterKeyId does not name a customer-managed key"


LOG_GROUP_KMS = Control(
    name="log-group-kms",
    concern="encryption",
    kind=Kind.SECURITY,
    description="CloudWatch log groups are encrypted with a customer-managed KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set kms_key_id on the log group to the logs key's ARN (its key policy must let CloudWatch Logs "
    "use it).",
    resource_types=("aws:cloudwatch/logGroup:LogGroup",),
    anchors=Anchors(checkov=("CKV_AWS_158",)),
    config=CUSTOMER_KEYS_CONFIG,
)


def _log_group_kms(r: KeyedResource) -> Iterator[str]:
    if not r.customer_key("kmsKeyId", r.get("kmsKeyId")):
        yield "kmsKeyId is not set (the default is CloudWatch Logs' service-owned encryption)"


LAMBDA_ENVIRONMENT_KMS = Control(
    name="lambda-environment-kms",
    concern="encryption",
    kind=Kind.SECURITY,
    description="Lambda functions with environment variables encrypt them with a customer-managed KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set kms_key_arn on the function to the functions key's ARN.",
    resource_types=("aws:lambda/function:Function",),
    anchors=Anchors(checkov=("CKV_AWS_173",)),
    config=CUSTOMER_KEYS_CONFIG,
)


def _lambda_environment(r: KeyedResource) -> Iterator[str]:
    variables = r.get("environment", "variables")
    if variables is MISSING or (hasattr(variables, "__len__") and len(variables) == 0):
        return
    if not r.customer_key("kmsKeyArn", r.get("kmsKeyArn")):
        yield "environment variables are set but kmsKeyArn is not"


API_CACHE = Control(
    name="api-cache-encrypted",
    concern="encryption",
    kind=Kind.SECURITY,
    description="API Gateway response caches are encrypted.",
    severity=Severity.MEDIUM,
    remediation="Set cache_data_encrypted=True in every method setting that enables caching.",
    resource_types=("aws:apigateway/methodSettings:MethodSettings",),
    anchors=Anchors(checkov=("CKV_AWS_308",), security_hub=("APIGateway.5",)),
)


def _api_cache(_: Control, r: Resource) -> Iterator[str]:
    caching = r.get("settings", "cachingEnabled")
    encrypted = r.get("settings", "cacheDataEncrypted")
    if caching is True and encrypted is not True and encrypted is not UNKNOWN:
        yield "cachingEnabled is true but cacheDataEncrypted is not (the default is unencrypted)"


CHECKS: list[Check] = [
    keyed_policy(RDS_STORAGE, _rds_storage),
    keyed_policy(RDS_PERFORMANCE_INSIGHTS, _rds_performance_insights),
    keyed_policy(SSM_SECURE_STRING, _ssm_secure_string),
    stack_policy(SSM_CATEGORY_KEY, _ssm_category_key),
    stack_policy(S3_SSE_KMS, _s3_sse),
    keyed_policy(SQS_KMS, _kms_master_key),
    keyed_policy(SNS_KMS, _kms_master_key),
    keyed_policy(LOG_GROUP_KMS, _log_group_kms),
    keyed_policy(LAMBDA_ENVIRONMENT_KMS, _lambda_environment),
    resource_policy(API_CACHE, _api_cache),
]
