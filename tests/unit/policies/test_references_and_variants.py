"""A reference written as a literal name, id or ARN resolves like a computed one; every control judges
the variants of the types it names (Aurora clusters and their instances, both S3 bucket generations)."""

from __future__ import annotations

import pytest

from policies import data_protection as dp
from policies import encryption as e
from policies.pack import all_checks
from policies.rules import Check
from tests.unit.policies.conftest import Finder, Resources
from tests.unit.policies.test_stack_environment import resource_findings

CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_ARN = "arn:aws:iam::123456789012:role/serverless-infra-prod-role-api"
PRIMARY = {"identifier": "serverless-infra-prod-db-primary", "engine": "postgres", "engineVersion": "16.4"}


def check(name: str) -> Check:
    return next(c for c in all_checks() if c.control.name == name)


@pytest.fixture(autouse=True)
def prod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "prod")


# -- literal references ----------------------------------------------------------------------------
def test_given_a_replica_naming_its_primary_by_identifier_then_the_primary_has_a_replica(resources, findings):
    resources.add(dp.RDS_INSTANCE, "primary", PRIMARY)
    resources.add(dp.RDS_INSTANCE, "replica", {"replicateSourceDb": PRIMARY["identifier"]})
    assert findings(check("rds-read-replica"), resources) == []


def test_given_a_replica_naming_its_primary_by_arn_then_the_primary_has_a_replica(resources, findings):
    resources.add(dp.RDS_INSTANCE, "primary", PRIMARY)
    arn = f"arn:aws:rds:us-east-1:123456789012:db:{PRIMARY['identifier']}"
    resources.add(dp.RDS_INSTANCE, "replica", {"replicateSourceDb": arn})
    assert findings(check("rds-read-replica"), resources) == []


def test_given_a_parameter_group_named_literally_then_its_force_ssl_value_is_judged(resources, findings):
    resources.add(dp.PARAMETER_GROUP, "group", {"name": "pg", "parameters": [{"name": "rds.force_ssl", "value": "0"}]})
    resources.add(dp.RDS_INSTANCE, "db", {**PRIMARY, "parameterGroupName": "pg"})
    assert findings(check("rds-force-ssl"), resources) == [("the parameter group does not set rds.force_ssl=1", "db")]


@pytest.mark.parametrize(
    ("bucket", "versioning"), [(dp.BUCKETS[0], dp.VERSIONING[0]), (dp.BUCKETS[1], dp.VERSIONING[1])]
)
def test_given_bucket_resources_naming_the_bucket_literally_then_they_count(resources, findings, bucket, versioning):
    resources.add(bucket, "bucket", {"bucket": "serverless-infra-prod-bucket-artifacts"})
    resources.add(
        versioning,
        "versioning",
        {"bucket": "serverless-infra-prod-bucket-artifacts", "versioningConfiguration": {"status": "Enabled"}},
    )
    policy = {"Statement": [{"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    resources.add(dp.BUCKET_POLICY, "policy", {"bucket": "serverless-infra-prod-bucket-artifacts", "policy": policy})
    assert findings(check("s3-versioning"), resources) == []
    assert findings(check("s3-tls-only"), resources) == []


def test_given_functions_naming_one_role_by_arn_then_the_shared_role_is_found(resources, findings):
    resources.add(ROLE, "role", {"name": "serverless-infra-prod-role-api"})
    resources.add(FUNCTION, "api", {"role": ROLE_ARN})
    resources.add(FUNCTION, "worker", {"role": ROLE_ARN})
    assert findings(check("lambda-role-per-function"), resources) == [
        ("the function shares its role with 1 other function(s)", "api"),
        ("the function shares its role with 1 other function(s)", "worker"),
    ]


def test_given_a_function_naming_its_own_role_by_arn_then_no_finding(resources, findings):
    resources.add(ROLE, "role", {"name": "serverless-infra-prod-role-api"})
    resources.add(FUNCTION, "api", {"role": ROLE_ARN})
    assert findings(check("lambda-role-per-function"), resources) == []


@pytest.mark.parametrize(
    ("category", "expected"),
    [("database", []), ("messaging", [("encrypted with a key whose alias does not end in -messaging", "parameter")])],
)
def test_given_a_parameter_naming_its_key_by_alias_then_the_category_key_is_judged(
    resources, findings, category, expected
):
    key = resources.add(e.KMS_KEY, "key", {})
    resources.add(e.KMS_ALIAS, "alias", {"name": "alias/serverless-infra-prod-database"}, deps={"targetKeyId": [key]})
    resources.add(
        e.SSM_PARAMETER,
        "parameter",
        {"name": f"/serverless-infra/prod/{category}/name", "keyId": "alias/serverless-infra-prod-database"},
    )
    assert findings(check("ssm-parameter-category-key"), resources) == expected


def test_given_a_queue_naming_the_stacks_key_by_alias_then_it_is_customer_managed(resources, findings):
    resources.add(e.KMS_ALIAS, "alias", {"name": "alias/serverless-infra-prod-messaging"})
    resources.add("aws:sqs/queue:Queue", "queue", {"kmsMasterKeyId": "alias/serverless-infra-prod-messaging"})
    assert findings(check("sqs-queue-kms"), resources) == []


def test_given_a_literal_naming_no_resource_of_the_stack_then_it_still_does_not_resolve(resources, findings):
    resources.add(dp.RDS_INSTANCE, "primary", PRIMARY)
    resources.add(dp.RDS_INSTANCE, "replica", {"replicateSourceDb": "some-other-database"})
    assert findings(check("rds-read-replica"), resources) == [("the primary has no read replica", "primary")]


# -- variants: Aurora ------------------------------------------------------------------------------
UNPROTECTED_CLUSTER = {"clusterIdentifier": "serverless-infra-prod-aurora", "engine": "aurora-postgresql"}


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("rds-deletion-protection", "deletionProtection is not true"),
        ("rds-backup-retention", "backups are kept fewer than 35 days (prod minimum)"),
        ("rds-final-snapshot", "no finalSnapshotIdentifier is set, so deleting the instance fails or loses data"),
        ("rds-iam-authentication", "iamDatabaseAuthenticationEnabled is not true"),
    ],
)
def test_an_unprotected_aurora_cluster_fails_the_rds_controls(policy, message):
    assert resource_findings(check(policy), CLUSTER, UNPROTECTED_CLUSTER) == [message]


def test_an_unencrypted_aurora_cluster_fails_storage_encryption(resources: Resources, findings: Finder):
    resources.add(CLUSTER, "aurora", UNPROTECTED_CLUSTER)
    assert [m for m, _ in findings(check("rds-storage-encrypted"), resources)] == [
        "storageEncrypted is not true (the AWS default is unencrypted storage)",
        "kmsKeyId does not name a customer-managed key (the default is the AWS-managed aws/rds key)",
    ]


def test_a_public_aurora_instance_fails_rds_not_public():
    assert resource_findings(check("rds-not-public"), CLUSTER_INSTANCE, {"publiclyAccessible": True}) == [
        "publiclyAccessible is true"
    ]


@pytest.mark.parametrize("type_", [CLUSTER, CLUSTER_INSTANCE])
def test_aurora_performance_insights_without_a_customer_key_fails(resources, findings, type_):
    resources.add(type_, "aurora", {"performanceInsightsEnabled": True})
    assert findings(check("rds-performance-insights-encrypted"), resources) == [
        ("performanceInsightsKmsKeyId does not name a customer-managed key", "aurora")
    ]


def test_a_large_aurora_instance_outside_prod_is_cost_advice(monkeypatch):
    monkeypatch.setenv("PULUMI_STACK", "dev")
    assert resource_findings(check("rds-burstable-outside-prod"), CLUSTER_INSTANCE, {"instanceClass": "db.r7g.large"})


def test_an_aurora_cluster_with_one_instance_in_prod_is_single_az_without_a_reader(resources, findings):
    cluster = resources.add(CLUSTER, "aurora", UNPROTECTED_CLUSTER)
    resources.add(CLUSTER_INSTANCE, "writer", {"availabilityZone": "us-east-1a"}, deps={"clusterIdentifier": [cluster]})
    assert findings(check("rds-multi-az"), resources) == [
        ("the Aurora cluster has fewer than two instances, so it runs in one zone", "aurora")
    ]
    assert findings(check("rds-read-replica"), resources) == [
        ("the Aurora cluster has no reader instance or replica cluster", "aurora")
    ]


def test_an_aurora_cluster_with_instances_in_two_zones_is_multi_az_with_a_reader(resources, findings):
    resources.add(CLUSTER, "aurora", UNPROTECTED_CLUSTER)
    for name, zone in (("writer", "us-east-1a"), ("reader", "us-east-1b")):
        resources.add(
            CLUSTER_INSTANCE, name, {"clusterIdentifier": "serverless-infra-prod-aurora", "availabilityZone": zone}
        )
    assert findings(check("rds-multi-az"), resources) == []
    assert findings(check("rds-read-replica"), resources) == []


def test_an_aurora_cluster_with_both_instances_in_one_zone_is_not_multi_az(resources, findings):
    cluster = resources.add(CLUSTER, "aurora", UNPROTECTED_CLUSTER)
    for name in ("writer", "reader"):
        resources.add(CLUSTER_INSTANCE, name, {"availabilityZone": "us-east-1a"}, deps={"clusterIdentifier": [cluster]})
    assert findings(check("rds-multi-az"), resources) == [
        ("every instance of the Aurora cluster is placed in the same zone", "aurora")
    ]


@pytest.mark.parametrize(
    "policy",
    [
        "rds-storage-encrypted",
        "rds-deletion-protection",
        "rds-backup-retention",
        "rds-iam-authentication",
        "rds-final-snapshot",
        "rds-performance-insights-encrypted",
        "rds-multi-az",
        "rds-read-replica",
    ],
)
def test_the_rds_controls_name_aurora_clusters(policy):
    assert CLUSTER in check(policy).control.resource_types


@pytest.mark.parametrize(
    "policy", ["rds-not-public", "rds-performance-insights-encrypted", "rds-burstable-outside-prod"]
)
def test_the_instance_level_rds_controls_name_aurora_instances(policy):
    assert CLUSTER_INSTANCE in check(policy).control.resource_types


@pytest.mark.parametrize("policy", ["s3-versioning", "s3-public-access-block", "s3-tls-only", "s3-bucket-sse-kms"])
def test_the_s3_controls_name_both_bucket_generations(policy):
    assert {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"} <= set(check(policy).control.resource_types)


def test_given_a_function_naming_its_subnets_literally_in_vpc_config_then_they_are_judged(resources, findings):
    resources.add("aws:ec2/subnet:Subnet", "subnet", {"id": "subnet-0a1b2c", "mapPublicIpOnLaunch": True})
    resources.add(FUNCTION, "api", {"vpcConfig": {"subnetIds": ["subnet-0a1b2c"], "securityGroupIds": []}})
    assert ("subnet used by a function assigns public IPs on launch", "subnet") in findings(
        check("private-subnets-no-internet-route"), resources
    )


@pytest.mark.parametrize(
    ("value", "expected"), [("1", []), ("0", ["the cluster parameter group does not set rds.force_ssl=1"])]
)
def test_an_aurora_postgresql_cluster_accepts_tls_only_through_its_cluster_parameter_group(
    resources, findings, value, expected
):
    parameters = {"name": "aurora-pg", "parameters": [{"name": "rds.force_ssl", "value": value}]}
    resources.add(dp.CLUSTER_PARAMETER_GROUP, "group", parameters)
    resources.add(CLUSTER, "aurora", {**UNPROTECTED_CLUSTER, "dbClusterParameterGroupName": "aurora-pg"})
    assert [message for message, _ in findings(check("rds-force-ssl"), resources)] == expected


def test_an_aurora_postgresql_cluster_without_a_cluster_parameter_group_fails_force_ssl(resources, findings):
    resources.add(CLUSTER, "aurora", UNPROTECTED_CLUSTER)
    assert findings(check("rds-force-ssl"), resources) == [
        ("no cluster parameter group sets rds.force_ssl=1", "aurora")
    ]
