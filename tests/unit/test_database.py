"""RDS PostgreSQL: placement, TLS, IAM auth, backups and protection, per environment."""

from __future__ import annotations

from tests.unit.support import resource_by_id

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
