"""Data protection: backups by environment, deletion safeguards and replicas in prod, TLS-only and
IAM-authenticated databases, versioned private TLS-only buckets.

Environment-dependent minimums come from the pack configuration; the environment is the stack's
(see :func:`policies.rules.environment_of`), never a resource's Environment tag. The RDS controls
judge Aurora too: a cluster (``aws:rds/cluster:Cluster``) carries the storage, backup, deletion and
authentication settings, its cluster instances the class, placement and public access. The S3
controls judge both bucket types (``Bucket``, ``BucketV2``) and both generations of sub-resources.

Unknown values: the settings judged here are inputs the program sets from configuration, known on
every preview; each control's description says what it does with one that is unknown nevertheless
(backup retention and the force_ssl value fail closed, the others judge it when known). References
between resources are followed through property dependencies, or resolved from literal names, ids
and ARNs (:meth:`policies.rules.Stack.resolve`), both known on a first preview.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import PolicyResource, Severity

from policies.documents import statements
from policies.rules import (
    MISSING,
    UNKNOWN,
    Anchors,
    Check,
    Control,
    Kind,
    Resource,
    Stack,
    environment_of,
    get,
    items,
    json_document,
    per_environment,
    resource_policy,
    stack_policy,
)

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
DATABASES = (RDS_INSTANCE, RDS_CLUSTER)  # what holds storage, backups and the deletion settings
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PROD_ONLY = {
    "environments": {
        "type": "array",
        "items": {"type": "string"},
        "uniqueItems": True,
        "description": "Environments this control applies to.",
        "default": ["prod"],
    }
}
DEFAULT_BACKUP_RETENTION_DAYS = 1  # what RDS keeps when backup_retention_period is not given


def _is_replica(props: object) -> bool:
    """A read replica instance (replicateSourceDb) or a replica cluster (replicationSourceIdentifier)."""
    return get(props, "replicateSourceDb") is not MISSING or get(props, "replicationSourceIdentifier") is not MISSING


def _applies(control: Control, r: Resource) -> bool:
    return environment_of() in control.setting(r.config, "environments")


BACKUP_RETENTION = Control(
    name="rds-backup-retention",
    concern="data_protection",
    kind=Kind.SECURITY,
    description="RDS primaries and Aurora clusters keep automated backups at least as long as their environment "
    "requires. Unknown retention: reported (fail closed).",
    severity=Severity.HIGH,
    remediation="Raise backup_retention_period (dbBackupRetentionDays in the stack config) to the minimum.",
    resource_types=DATABASES,
    anchors=Anchors(checkov=("CKV_AWS_133",), security_hub=("RDS.11",)),
    config={
        "minimumDays": per_environment(
            {"dev": 7, "staging": 14, "prod": 35}, "Minimum automated backup retention in days, per environment."
        )
    },
)


def _backup_retention(control: Control, r: Resource) -> Iterator[str]:
    if _is_replica(r.props):
        return
    minimum = control.setting(r.config, "minimumDays")[environment_of()]
    days = r.get("backupRetentionPeriod")
    if days is UNKNOWN:
        yield "backupRetentionPeriod is not known during preview"
    elif (DEFAULT_BACKUP_RETENTION_DAYS if days is MISSING else days) < minimum:
        yield f"backups are kept fewer than {int(minimum)} days ({environment_of()} minimum)"


DELETION_PROTECTION = Control(
    name="rds-deletion-protection",
    concern="data_protection",
    kind=Kind.SECURITY,
    description="RDS instances and Aurora clusters in production refuse deletion. Unknown setting: not reported.",
    severity=Severity.HIGH,
    remediation="Set deletion_protection=True (dbDeletionProtection: true in the stack config).",
    resource_types=DATABASES,
    anchors=Anchors(cdk_nag=("AwsSolutions-RDS10",), checkov=("CKV_AWS_293",), security_hub=("RDS.8",)),
    config=PROD_ONLY,
)


def _deletion_protection(control: Control, r: Resource) -> Iterator[str]:
    if _applies(control, r) and r.get("deletionProtection") not in (True, UNKNOWN):
        yield "deletionProtection is not true"


FINAL_SNAPSHOT = Control(
    name="rds-final-snapshot",
    concern="data_protection",
    kind=Kind.SECURITY,
    description="RDS primaries and Aurora clusters in production take a final snapshot when deleted. Unknown "
    "identifier: not reported.",
    severity=Severity.HIGH,
    remediation="Set skip_final_snapshot=False and a final_snapshot_identifier (dbFinalSnapshot: true).",
    resource_types=DATABASES,
    config=PROD_ONLY,
)


def _final_snapshot(control: Control, r: Resource) -> Iterator[str]:
    if not _applies(control, r) or _is_replica(r.props):
        return
    if r.get("skipFinalSnapshot") is True:
        yield "skipFinalSnapshot is true"
    elif r.get("finalSnapshotIdentifier") is MISSING:
        yield "no finalSnapshotIdentifier is set, so deleting the instance fails or loses data"


MULTI_AZ = Control(
    name="rds-multi-az",
    concern="data_protection",
    kind=Kind.SECURITY,
    description="RDS primaries in production are multi-AZ deployments; an Aurora cluster has instances in at "
    "least two zones (a Multi-AZ DB cluster is multi-AZ by construction). Unknown multiAz or zone: not reported.",
    severity=Severity.HIGH,
    remediation="Set multi_az=True (dbMultiAz: true in the stack config); give an Aurora cluster a second "
    "cluster instance in another availability zone.",
    resource_types=(*DATABASES, CLUSTER_INSTANCE),
    anchors=Anchors(checkov=("CKV_AWS_157",), security_hub=("RDS.5",)),
    config=PROD_ONLY,
)


def _cluster_instances(stack: Stack, cluster: PolicyResource) -> list[PolicyResource]:
    return stack.referrers(cluster, "clusterIdentifier", CLUSTER_INSTANCE)


def _multi_az(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    if environment_of() not in control.setting(stack.config, "environments"):
        return
    for database in stack.of_type(RDS_INSTANCE):
        if not _is_replica(database.props) and get(database.props, "multiAz") not in (True, UNKNOWN):
            yield "multiAz is not true (the default is a single-AZ instance)", database.urn
    for cluster in stack.of_type(RDS_CLUSTER):
        if _is_replica(cluster.props) or get(cluster.props, "dbClusterInstanceClass") is not MISSING:
            continue  # a Multi-AZ DB cluster always spans three zones
        instances = _cluster_instances(stack, cluster)
        zones = [get(instance.props, "availabilityZone") for instance in instances]
        if len(instances) < 2:
            yield "the Aurora cluster has fewer than two instances, so it runs in one zone", cluster.urn
        elif all(isinstance(zone, str) for zone in zones) and len(set(zones)) < 2:
            yield "every instance of the Aurora cluster is placed in the same zone", cluster.urn


READ_REPLICA = Control(
    name="rds-read-replica",
    concern="data_protection",
    kind=Kind.SECURITY,
    description="Every RDS primary in production has at least one read replica (an Aurora cluster: a reader "
    "instance or a replica cluster). References are resolved through dependencies or literal identifiers.",
    severity=Severity.MEDIUM,
    remediation="Set dbReadReplicaCount to 1 or more.",
    resource_types=(*DATABASES, CLUSTER_INSTANCE),
    config=PROD_ONLY,
)


def _read_replica(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    if environment_of() not in control.setting(stack.config, "environments"):
        return
    for primary in stack.of_type(RDS_INSTANCE):
        if not _is_replica(primary.props) and not stack.referrers(primary, "replicateSourceDb", RDS_INSTANCE):
            yield "the primary has no read replica", primary.urn
    for cluster in stack.of_type(RDS_CLUSTER):
        if _is_replica(cluster.props):
            continue
        readers = len(_cluster_instances(stack, cluster)) - 1
        if readers < 1 and not stack.referrers(cluster, "replicationSourceIdentifier", RDS_CLUSTER):
            yield "the Aurora cluster has no reader instance or replica cluster", cluster.urn


FORCE_SSL = Control(
    name="rds-force-ssl",
    concern="data_protection",
    kind=Kind.SECURITY,
    description="PostgreSQL instances and Aurora PostgreSQL clusters accept TLS connections only (rds.force_ssl=1). "
    "The (cluster) parameter group is resolved through dependencies or its literal name; an unknown parameter "
    "value is reported.",
    severity=Severity.HIGH,
    remediation="Use a parameter group (for Aurora, a cluster parameter group) that sets rds.force_ssl to 1.",
    resource_types=(RDS_INSTANCE, PARAMETER_GROUP, RDS_CLUSTER, CLUSTER_PARAMETER_GROUP),
)


def _force_ssl_value(group: PolicyResource) -> object:
    for parameter in items(get(group.props, "parameters")):
        if get(parameter, "name") == "rds.force_ssl":
            return get(parameter, "value")
    return MISSING


def _default_forces_ssl(props: object) -> bool:
    """PostgreSQL 15 and later default rds.force_ssl to 1."""
    version = get(props, "engineVersion")
    major = version.split(".", 1)[0] if isinstance(version, str) else ""
    return major.isdigit() and int(major) >= 15


def _force_ssl(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for database in stack.of_type(RDS_INSTANCE):
        if get(database.props, "engine") not in ("postgres", MISSING) and not _is_replica(database.props):
            continue
        groups = stack.resolve(database, "parameterGroupName", PARAMETER_GROUP)
        if not groups:
            if not _is_replica(database.props) and not _default_forces_ssl(database.props):
                yield "no parameter group sets rds.force_ssl=1 (the default before PostgreSQL 15 is 0)", database.urn
            continue
        for group in groups:
            value = _force_ssl_value(group)
            if value is MISSING and _default_forces_ssl(database.props):
                continue
            if str(value) not in ("1", "true"):
                yield "the parameter group does not set rds.force_ssl=1", database.urn
    for cluster in stack.of_type(RDS_CLUSTER):
        if get(cluster.props, "engine") != "aurora-postgresql":
            continue
        groups = stack.resolve(cluster, "dbClusterParameterGroupName", CLUSTER_PARAMETER_GROUP)
        if not groups:
            yield "no cluster parameter group sets rds.force_ssl=1", cluster.urn
        for group in groups:
            if str(_force_ssl_value(group)) not in ("1", "true"):
                yield "the cluster parameter group does not set rds.force_ssl=1", cluster.urn


IAM_AUTH = Control(
    name="rds-iam-authentication",
    concern="data_protection",
    kind=Kind.SECURITY,
    description="RDS instances and Aurora clusters accept IAM database authentication, so functions need no "
    "stored passwords. Unknown setting: not reported.",
    severity=Severity.MEDIUM,
    remediation="Set iam_database_authentication_enabled=True (dbIamAuth: true).",
    resource_types=DATABASES,
    anchors=Anchors(checkov=("CKV_AWS_161",), security_hub=("RDS.10",)),
)


def _iam_auth(_: Control, r: Resource) -> Iterator[str]:
    if r.get("iamDatabaseAuthenticationEnabled") not in (True, UNKNOWN):
        yield "iamDatabaseAuthenticationEnabled is not true"


S3_VERSIONING = Control(
    name="s3-versioning",
    concern="data_protection",
    kind=Kind.SECURITY,
    description="S3 buckets (Bucket, BucketV2) keep object versions (BucketVersioning or its V2). Unknown "
    "status: not reported.",
    severity=Severity.MEDIUM,
    remediation="Add a BucketVersioning resource for the bucket with status 'Enabled'.",
    resource_types=(*BUCKETS, *VERSIONING),
    anchors=Anchors(checkov=("CKV_AWS_21",), security_hub=("S3.14",)),
)


def _s3_versioning(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for bucket in stack.of_type(*BUCKETS):
        statuses = [
            get(v.props, "versioningConfiguration", "status") for v in stack.referrers(bucket, "bucket", *VERSIONING)
        ]
        if get(bucket.props, "versioning", "enabled") is True:
            statuses.append("Enabled")
        if not any(status in ("Enabled", UNKNOWN) for status in statuses):
            yield "versioning is not enabled (the default is unversioned)", bucket.urn


S3_PUBLIC_ACCESS = Control(
    name="s3-public-access-block",
    concern="data_protection",
    kind=Kind.SECURITY,
    description="S3 buckets block every form of public access. Unknown setting: not reported (only an explicit "
    "false is).",
    severity=Severity.CRITICAL,
    remediation="Keep all four settings of the bucket's BucketPublicAccessBlock true (new buckets default to true).",
    resource_types=(*BUCKETS, PUBLIC_ACCESS_BLOCK),
    anchors=Anchors(
        cdk_nag=("AwsSolutions-S2",),
        checkov=("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"),
        security_hub=("S3.8",),
    ),
)
_BLOCK_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _s3_public_access(_: Control, r: Resource) -> Iterator[str]:
    if r.type != PUBLIC_ACCESS_BLOCK:
        return
    for setting in _BLOCK_SETTINGS:
        if r.get(setting) is False:
            yield f"{setting} is false"


S3_TLS_ONLY = Control(
    name="s3-tls-only",
    concern="data_protection",
    kind=Kind.SECURITY,
    description="S3 bucket policies deny requests that do not use TLS. Unknown policy document: not reported "
    "(it is judged when known; the engine checks again during `pulumi up`).",
    severity=Severity.HIGH,
    remediation="Add a bucket policy statement denying s3:* to everyone when aws:SecureTransport is false.",
    resource_types=(*BUCKETS, BUCKET_POLICY),
    anchors=Anchors(cdk_nag=("AwsSolutions-S10",), security_hub=("S3.5",)),
)


def _denies_plain_http(document: object) -> bool:
    return any(
        str(get(statement, "Condition", "Bool", "aws:SecureTransport")).lower() == "false"
        for statement in statements(document, "Deny")
    )


def _s3_tls_only(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for bucket in stack.of_type(*BUCKETS):
        documents = [json_document(get(p.props, "policy")) for p in stack.referrers(bucket, "bucket", BUCKET_POLICY)]
        if not any(document is UNKNOWN or _denies_plain_http(document) for document in documents):
            yield "no bucket policy denies requests without TLS", bucket.urn


CHECKS: list[Check] = [
    resource_policy(BACKUP_RETENTION, _backup_retention),
    resource_policy(DELETION_PROTECTION, _deletion_protection),
    resource_policy(FINAL_SNAPSHOT, _final_snapshot),
    stack_policy(MULTI_AZ, _multi_az),
    stack_policy(READ_REPLICA, _read_replica),
    stack_policy(FORCE_SSL, _force_ssl),
    resource_policy(IAM_AUTH, _iam_auth),
    stack_policy(S3_VERSIONING, _s3_versioning),
    resource_policy(S3_PUBLIC_ACCESS, _s3_public_access),
    stack_policy(S3_TLS_ONLY, _s3_tls_only),
]
