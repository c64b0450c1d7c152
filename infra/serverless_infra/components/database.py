"""RDS PostgreSQL: a primary (multi-AZ where configured) and read replicas, in isolated subnets.

Storage, Performance Insights and the RDS-managed master secret are encrypted with the database
key; ``rds.force_ssl`` refuses plaintext connections; IAM authentication is on so the functions
need no long-lived password; log exports land in log groups created here first, so they get
retention and encryption instead of RDS's never-expiring defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from serverless_infra.naming import Namer, backup_tag
from serverless_infra.settings import DatabaseSettings

LOG_EXPORTS = ("postgresql", "upgrade")
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
BACKUP_WINDOW = "03:00-04:00"  # UTC, before the maintenance window
MAINTENANCE_WINDOW = "sun:04:30-sun:05:30"

PARAMETERS = {
    "rds.force_ssl": "1",
    "ssl_min_protocol_version": "TLSv1.2",
    "password_encryption": "scram-sha-256",
    "log_connections": "1",
    "log_disconnections": "1",
    "log_min_duration_statement": "500",  # ms: slow statements, for the operations dashboard
}


def parameter_group_family(engine_version: str) -> str:
    return f"postgres{engine_version.split('.')[0]}"


@dataclass(frozen=True)
class DatabaseArgs:
    namer: Namer
    settings: DatabaseSettings
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int


class Database(pulumi.ComponentResource):
    """Primary, replicas, subnet group, parameter group and log groups."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Database", name, None, opts)
        namer, settings = args.namer, args.settings
        child = pulumi.ResourceOptions(parent=self)
        subnet_group = aws.rds.SubnetGroup(
            namer.name("db-subnet-group"),
            name=namer.name("db-subnet-group"),
            description="Isolated database subnets (no route out of the VPC)",
            subnet_ids=list(args.subnet_ids),
            opts=child,
        )
        parameter_group = aws.rds.ParameterGroup(
            namer.name("db-parameter-group"),
            name=namer.name("db-parameter-group"),
            family=parameter_group_family(settings.engine_version),
            description="TLS-only PostgreSQL with connection and slow-statement logging",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(
                    name=key, value=value, apply_method="pending-reboot" if key.startswith("ssl") else "immediate"
                )
                for key, value in sorted(PARAMETERS.items())
            ],
            opts=child,
        )
        # What the primary and every replica share: placement, TLS, IAM auth, insights, log exports.
        common: dict[str, Any] = {
            "instance_class": settings.instance_class,
            "storage_type": "gp3",
            "storage_encrypted": True,
            "kms_key_id": args.key_arn,
            "max_allocated_storage": settings.max_allocated_storage_gb,
            "vpc_security_group_ids": [args.security_group_id],
            "publicly_accessible": False,
            "parameter_group_name": parameter_group.name,
            "iam_database_authentication_enabled": True,
            "ca_cert_identifier": CA_CERTIFICATE,
            "maintenance_window": MAINTENANCE_WINDOW,
            "auto_minor_version_upgrade": True,
            "performance_insights_enabled": True,
            "performance_insights_kms_key_id": args.key_arn,
            "performance_insights_retention_period": settings.performance_insights_retention_days,
            "enabled_cloudwatch_logs_exports": list(LOG_EXPORTS),
            "deletion_protection": settings.deletion_protection,
        }
        primary_id = namer.name("db", "primary")
        self.primary = aws.rds.Instance(
            primary_id,
            identifier=primary_id,
            engine="postgres",
            engine_version=settings.engine_version,
            db_name=settings.name,
            username=settings.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.key_arn,
            allocated_storage=settings.allocated_storage_gb,
            multi_az=settings.multi_az,
            db_subnet_group_name=subnet_group.name,
            backup_retention_period=settings.backup_retention_days,
            backup_window=BACKUP_WINDOW,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not settings.final_snapshot,
            skip_final_snapshot=not settings.final_snapshot,
            final_snapshot_identifier=namer.name("db", "final-snapshot") if settings.final_snapshot else None,
            tags=backup_tag(f"rds-automated-{settings.backup_retention_days}d"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._log_groups(args, primary_id)),
            **common,
        )
        self.replicas = []
        for index in range(1, settings.read_replica_count + 1):
            replica_id = namer.name("db", f"replica-{index}")
            self.replicas.append(
                aws.rds.Instance(
                    replica_id,
                    identifier=replica_id,
                    replicate_source_db=self.primary.identifier,
                    skip_final_snapshot=True,  # a replica's data is the primary's; its snapshots are the primary's
                    opts=pulumi.ResourceOptions(parent=self, depends_on=self._log_groups(args, replica_id)),
                    **common,
                )
            )
        self.writer_address = self.primary.address
        self.reader_address = self.replicas[0].address
        self.port = self.primary.port
        self.master_secret_arn = self.primary.master_user_secrets.apply(
            lambda secrets: secrets[0]["secret_arn"] if secrets else ""
        )
        self.register_outputs({"writerAddress": self.writer_address, "readerAddress": self.reader_address})

    def _log_groups(self, args: DatabaseArgs, identifier: str) -> list[pulumi.Resource]:
        return [
            aws.cloudwatch.LogGroup(
                args.namer.name("log-group", f"{identifier.rsplit('-db-', 1)[-1]}-{export}"),
                name=f"/aws/rds/instance/{identifier}/{export}",
                retention_in_days=args.log_retention_days,
                kms_key_id=args.logs_key_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for export in LOG_EXPORTS
        ]
