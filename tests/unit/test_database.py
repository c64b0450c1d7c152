"""RDS PostgreSQL: placement, TLS, IAM auth, backups and protection, per environment."""

from __future__ import annotations

import json

from contract import limits
from contract.parameters import DOCUMENT_NAME, decode_document
from tests.unit.support import as_list, is_secret, plain, resource_by_id, statements

INSTANCE = "aws:rds/instance:Instance"


def primary(run):
    return run.named(INSTANCE, f"serverless-infra-{run.stack}-db-primary")


def replicas(run):
    return [r for r in run.of_type(INSTANCE) if r.inputs.get("replicateSourceDb")]


def test_there_is_at_least_one_read_replica_of_the_primary(stack_run):
    found = replicas(stack_run)
    assert len(found) >= 1
    assert all(r.inputs["replicateSourceDb"] == primary(stack_run).inputs["identifier"] for r in found)


def test_no_instance_is_publicly_accessible(stack_run):
    assert all(r.inputs["publiclyAccessible"] is False for r in stack_run.of_type(INSTANCE))


def test_instances_live_in_the_isolated_database_subnets(stack_run):
    (group,) = stack_run.of_type("aws:rds/subnetGroup:SubnetGroup")
    assert primary(stack_run).inputs["dbSubnetGroupName"] == group.outputs["name"]
    subnet_names = {resource_by_id(stack_run, s).name for s in group.inputs["subnetIds"]}
    assert all("-subnet-db-" in name for name in subnet_names)
    assert len(subnet_names) == 3


def test_only_the_database_security_group_is_attached(stack_run):
    for instance in stack_run.of_type(INSTANCE):
        (group_id,) = instance.inputs["vpcSecurityGroupIds"]
        assert resource_by_id(stack_run, group_id).name.endswith("-security-group-database")


def test_tls_is_forced_by_the_parameter_group(stack_run):
    (group,) = stack_run.of_type("aws:rds/parameterGroup:ParameterGroup")
    parameters = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["ssl_min_protocol_version"] == "TLSv1.2"
    assert group.inputs["family"] == "postgres16"
    assert all(r.inputs["parameterGroupName"] == group.outputs["name"] for r in stack_run.of_type(INSTANCE))


def test_iam_database_authentication_is_on(stack_run):
    assert all(r.inputs["iamDatabaseAuthenticationEnabled"] is True for r in stack_run.of_type(INSTANCE))


def test_logs_are_exported_to_pre_created_encrypted_log_groups(stack_run):
    group_names = {g.inputs["name"] for g in stack_run.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for instance in stack_run.of_type(INSTANCE):
        exports = instance.inputs["enabledCloudwatchLogsExports"]
        assert "postgresql" in exports
        for export in exports:
            assert f"/aws/rds/instance/{instance.inputs['identifier']}/{export}" in group_names


def test_backup_retention_grows_with_the_environment(runs):
    retention = {stack: int(primary(run).inputs["backupRetentionPeriod"]) for stack, run in runs.items()}
    assert retention == {"dev": 7, "staging": 14, "prod": 35}


def test_prod_is_multi_az_protected_and_keeps_a_final_snapshot(runs):
    prod = primary(runs["prod"]).inputs
    assert prod["multiAz"] is True
    assert prod["deletionProtection"] is True
    assert prod["skipFinalSnapshot"] is False
    assert prod["finalSnapshotIdentifier"] == "serverless-infra-prod-db-final-snapshot"
    assert prod["deleteAutomatedBackups"] is False


def test_dev_can_be_destroyed_without_a_snapshot(runs):
    dev = primary(runs["dev"]).inputs
    assert dev["multiAz"] is False
    assert dev["deletionProtection"] is False
    assert dev["skipFinalSnapshot"] is True


def test_storage_autoscales_on_gp3(stack_run):
    inputs = primary(stack_run).inputs
    assert inputs["storageType"] == "gp3"
    assert int(inputs["maxAllocatedStorage"]) >= int(inputs["allocatedStorage"])


SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PASSWORD = "random:index/randomPassword:RandomPassword"


def test_rds_does_not_manage_the_master_password_of_a_replicated_primary(stack_run):
    """RDS refuses a read replica of a source whose master password it manages in Secrets Manager."""
    inputs = primary(stack_run).inputs
    assert not inputs.get("manageMasterUserPassword")
    assert "masterUserSecretKmsKeyId" not in inputs
    password = stack_run.named(PASSWORD, f"serverless-infra-{stack_run.stack}-secret-db-master-password")
    assert plain(inputs["password"]) == password.outputs["result"]
    assert is_secret(inputs["password"])


def test_the_generated_master_password_uses_only_characters_rds_accepts(stack_run):
    password = stack_run.named(PASSWORD, f"serverless-infra-{stack_run.stack}-secret-db-master-password")
    assert 8 <= int(password.inputs["length"]) <= 128
    assert password.inputs["special"] is True
    assert not set(password.inputs["overrideSpecial"]) & set("/@\"' ")


def test_the_master_credentials_live_in_a_secret_of_the_stack(stack_run):
    secret = stack_run.named(SECRET, f"serverless-infra-{stack_run.stack}-secret-db-master")
    assert secret.inputs["name"] == f"serverless-infra-{stack_run.stack}-secret-db-master"
    (version,) = stack_run.of_type(SECRET_VERSION)
    assert version.inputs["secretId"] == secret.id
    assert is_secret(version.inputs["secretString"])
    value = json.loads(plain(version.inputs["secretString"]))
    password = stack_run.named(PASSWORD, f"serverless-infra-{stack_run.stack}-secret-db-master-password")
    assert value["username"] == primary(stack_run).inputs["username"]
    assert value["password"] == password.outputs["result"]
    assert value["host"] == primary(stack_run).outputs["address"]  # direct, never through the proxy
    assert stack_run.outputs["databaseMasterSecretArn"] == secret.outputs["arn"]


def test_the_migrator_reads_the_stacks_secret(stack_run):
    secret = stack_run.named(SECRET, f"serverless-infra-{stack_run.stack}-secret-db-master")
    migrator = stack_run.named("aws:lambda/function:Function", f"serverless-infra-{stack_run.stack}-function-migrator")
    assert migrator.inputs["environment"]["variables"]["DB_MASTER_SECRET_ARN"] == secret.outputs["arn"]
    policy = stack_run.named(
        "aws:iam/rolePolicy:RolePolicy", f"serverless-infra-{stack_run.stack}-role-policy-migrator"
    )
    (read,) = [s for s in statements(json.loads(policy.inputs["policy"])) if s["Sid"] == "ReadMasterSecret"]
    assert read["Resource"] == [secret.outputs["arn"]]


def test_the_database_key_lets_secrets_manager_encrypt_and_the_migrator_decrypt_the_secret(stack_run):
    key = stack_run.named("aws:kms/key:Key", f"serverless-infra-{stack_run.stack}-kms-key-database")
    found = {s["Sid"]: s for s in statements(json.loads(key.inputs["policy"]))}
    via = "secretsmanager.us-east-1.amazonaws.com"
    deployer = found["DeployerUseThroughServices"]
    assert via in deployer["Condition"]["StringEquals"]["kms:ViaService"]
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= set(deployer["Action"])
    readers = found["WorkloadRolesDecryptThroughServices"]
    assert via in readers["Condition"]["StringEquals"]["kms:ViaService"]
    assert f"arn:aws:iam::123456789012:role/serverless-infra-{stack_run.stack}-role-migrator" in as_list(
        readers["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    )


PROXY = "aws:rds/proxy:Proxy"


def test_dev_and_staging_connect_directly_and_prod_through_rds_proxy(runs):
    assert runs["dev"].of_type(PROXY) == []
    assert runs["staging"].of_type(PROXY) == []
    assert len(runs["prod"].of_type(PROXY)) == 1


def test_the_proxy_requires_tls_and_iam_end_to_end_in_the_database_subnets(runs):
    run = runs["prod"]
    (proxy,) = run.of_type(PROXY)
    assert proxy.inputs["engineFamily"] == "POSTGRESQL"
    assert proxy.inputs["requireTls"] is True
    assert proxy.inputs["defaultAuthScheme"] == "IAM_AUTH"
    assert not proxy.inputs.get("auths")  # no Secrets Manager secret: IAM authentication end to end
    (group,) = run.of_type("aws:rds/subnetGroup:SubnetGroup")
    assert proxy.inputs["vpcSubnetIds"] == group.inputs["subnetIds"]
    (security_group,) = proxy.inputs["vpcSecurityGroupIds"]
    assert resource_by_id(run, security_group).name == "serverless-infra-prod-security-group-db-proxy"


def test_the_proxy_role_may_connect_to_the_primary_as_the_application_roles_only(runs):
    run = runs["prod"]
    (proxy,) = run.of_type(PROXY)
    role = run.named("aws:iam/role:Role", "serverless-infra-prod-role-db-proxy")
    assert proxy.inputs["roleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "rds.amazonaws.com"}
    policy = run.named("aws:iam/rolePolicy:RolePolicy", "serverless-infra-prod-role-policy-db-proxy")
    (connect,) = statements(json.loads(policy.inputs["policy"]))
    resource_id = primary(run).outputs["resourceId"]
    assert connect["Action"] == ["rds-db:connect"]
    assert connect["Resource"] == [
        f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}/orders_writer",
        f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}/orders_reader",
    ]


def test_the_proxy_pool_leaves_the_direct_connections_room_on_the_primary(runs):
    run = runs["prod"]
    (proxy,) = run.of_type(PROXY)
    (group,) = run.of_type("aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup")
    assert group.inputs["dbProxyName"] == proxy.outputs["name"]
    maximum = limits.rds_postgres_max_connections(limits.RDS_INSTANCE_MEMORY_GIB["db.t4g.small"])
    percent = int(group.inputs["connectionPoolConfig"]["maxConnectionsPercent"])
    pool = maximum * percent // 100
    assert pool <= maximum - limits.RDS_RESERVED_SUPERUSER_CONNECTIONS - limits.RDS_CONNECTION_HEADROOM
    assert percent >= 80  # and the proxy still gets most of the instance
    (target,) = run.of_type("aws:rds/proxyTarget:ProxyTarget")
    assert target.inputs["dbInstanceIdentifier"] == primary(run).outputs["identifier"]
    assert target.inputs["targetGroupName"] == group.outputs["name"]


def database_hosts(run):
    """The host settings of the database settings document the program stores."""
    (document,) = (
        p for p in run.of_type("aws:ssm/parameter:Parameter") if p.inputs["name"].endswith(f"/database/{DOCUMENT_NAME}")
    )
    values = decode_document("database/settings", plain(document.inputs["value"]))
    return {name: value for name, value in values.items() if name.endswith("_host")}


def test_with_the_proxy_both_host_parameters_name_the_proxy(runs):
    """RDS Proxy cannot target an RDS read replica: reads go through the proxy to the primary too."""
    run = runs["prod"]
    (proxy,) = run.of_type(PROXY)
    hosts = database_hosts(run)
    assert hosts == {"writer_host": proxy.outputs["endpoint"], "reader_host": proxy.outputs["endpoint"]}


def test_without_the_proxy_the_host_parameters_name_the_primary_and_the_replica(runs):
    run = runs["dev"]
    hosts = database_hosts(run)
    assert hosts["writer_host"] == primary(run).outputs["address"]
    assert hosts["reader_host"] == replicas(run)[0].outputs["address"]
