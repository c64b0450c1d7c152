"""RDS PostgreSQL: a primary (multi-AZ where configured), read replicas and (opt-in) RDS Proxy.

Storage, Performance Insights and the master secret are encrypted with the database key;
``rds.force_ssl`` refuses plaintext connections; IAM authentication is on so the functions need no
long-lived password; log exports land in log groups created here first, so they get retention and
encryption instead of RDS's never-expiring defaults.

The master password is generated here and kept in a Secrets Manager secret of the stack's own, not
managed by RDS: RDS refuses to create a read replica of a source whose master password it manages
in Secrets Manager (all engines but SQL Server).
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html#rds-secrets-manager-limitations

With ``dbProxy`` the functions connect through RDS Proxy, with IAM authentication end to end
(``default_auth_scheme="IAM_AUTH"``: no secret; the proxy's role connects to the database with
``rds-db:connect``), so their connections share a pool that stays within max_connections. A proxy
can target only the writer of an RDS DB instance replication setup, not a read replica, so the
proxy serves reads too (docs/design.md argues the choice).
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.html#rds-proxy.limits
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-iam-setup.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from serverless_infra.iam import AccountContext, statement
from serverless_infra.naming import Namer, backup_tag
from serverless_infra.service_role import service_role
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


MASTER_PASSWORD_SPECIALS = "!#$%&()*+,-.:;<=>?[]^_{|}~"  # noqa: S105 - a character set, not a password
"""Punctuation the generated master password may use. RDS accepts any printable ASCII but '/', '"', '@'
and space (the console also refuses "'"): https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html"""
MASTER_PASSWORD_LENGTH = 40  # RDS for PostgreSQL: 8 to 128 characters
PROXY_IDLE_CLIENT_TIMEOUT_S = 900  # a Lambda environment idle this long gives its proxy connection back


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
    account: AccountContext
    proxy_security_group_id: pulumi.Input[str] | None = None  # required when settings.proxy


class Database(pulumi.ComponentResource):
    """Primary, replicas, master secret, subnet group, parameter group, log groups and the proxy."""

    proxy: aws.rds.Proxy | None

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
        password = random.RandomPassword(
            namer.name("secret", "db-master-password"),
            length=MASTER_PASSWORD_LENGTH,
            special=True,
            override_special=MASTER_PASSWORD_SPECIALS,
            min_lower=1,
            min_upper=1,
            min_numeric=1,
            opts=child,
        )
        self.primary = aws.rds.Instance(
            primary_id,
            identifier=primary_id,
            engine="postgres",
            engine_version=settings.engine_version,
            db_name=settings.name,
            username=settings.master_username,
            password=password.result,
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
        self.master_secret = self._master_secret(args, password)
        self.master_secret_arn = self.master_secret.arn
        self.primary_address = self.primary.address
        self.replica_address = self.replicas[0].address
        self.port = self.primary.port
        self.proxy_resource_id: pulumi.Output[str] | None = None
        self.proxy_target: aws.rds.ProxyTarget | None = None
        self.proxy = self._proxy(args) if settings.proxy else None
        # Where the functions connect: the proxy for both roles when there is one (it cannot target a
        # replica), else the primary for writes and the first replica for reads.
        self.writer_address: pulumi.Output[str] = self.proxy.endpoint if self.proxy else self.primary_address
        self.reader_address: pulumi.Output[str] = self.proxy.endpoint if self.proxy else self.replica_address
        self.register_outputs({"writerAddress": self.writer_address, "readerAddress": self.reader_address})

    def _master_secret(self, args: DatabaseArgs, password: random.RandomPassword) -> aws.secretsmanager.Secret:
        """The master credentials in Secrets Manager, encrypted with the database key.

        The SecretString has the JSON structure Secrets Manager documents for RDS PostgreSQL credentials
        (``username`` and ``password``, as an RDS-managed secret has, plus ``engine``, ``host``, ``port``
        and ``dbname``): the migrator connects with it directly to the primary, never through the proxy.
        https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html
        """
        namer, settings = args.namer, args.settings
        secret = aws.secretsmanager.Secret(
            namer.name("secret", "db-master"),
            name=namer.name("secret", "db-master"),
            description=f"Master credentials of {namer.name('db', 'primary')} (schema migrations only)",
            kms_key_id=args.key_arn,
            # Protected stacks keep a deleted secret recoverable for 30 days; elsewhere it goes with the
            # database it unlocks, so a re-created stack can take the same name at once.
            recovery_window_in_days=30 if settings.deletion_protection else 0,
            opts=pulumi.ResourceOptions(parent=self),
        )
        value = pulumi.Output.json_dumps(
            {
                "engine": "postgres",
                "host": self.primary.address,
                "port": self.primary.port,
                "dbname": settings.name,
                "username": settings.master_username,
                "password": password.result,
            }
        )
        self.master_secret_version = aws.secretsmanager.SecretVersion(
            namer.name("secret-version", "db-master"),
            secret_id=secret.id,
            secret_string=value.apply(pulumi.Output.secret),  # a Pulumi secret in state
            opts=pulumi.ResourceOptions(parent=self),
        )
        return secret

    def _proxy(self, args: DatabaseArgs) -> aws.rds.Proxy:
        """RDS Proxy on the primary: TLS required, IAM authentication end to end, its own role and group."""
        namer, settings, account = args.namer, args.settings, args.account
        if args.proxy_security_group_id is None:
            raise ValueError("DatabaseArgs.proxy_security_group_id is required when the proxy is on")
        child = pulumi.ResourceOptions(parent=self)
        # End-to-end IAM: the proxy's role needs rds-db:connect on the database for every user clients
        # connect as; no Secrets Manager access (there is no secret).
        dbuser = f"arn:{account.partition}:rds-db:{account.region}:{account.account_id}:dbuser:"
        proxy_role = service_role(
            namer,
            "db-proxy",
            service="rds.amazonaws.com",
            account=account,
            description="Lets RDS Proxy connect to the primary as the application roles (IAM authentication)",
            statements=(
                statement(
                    "ConnectToPrimaryAsApplicationRoles",
                    ("rds-db:connect",),
                    [
                        pulumi.Output.concat(dbuser, self.primary.resource_id, "/", user)
                        for user in (settings.writer_user, settings.reader_user)
                    ],
                ),
            ),
            parent=self,
        )
        proxy = aws.rds.Proxy(
            namer.name("db-proxy"),
            name=namer.name("db-proxy"),
            engine_family="POSTGRESQL",
            default_auth_scheme="IAM_AUTH",
            require_tls=True,
            role_arn=proxy_role.role.arn,
            vpc_subnet_ids=list(args.subnet_ids),
            vpc_security_group_ids=[args.proxy_security_group_id],
            idle_client_timeout=PROXY_IDLE_CLIENT_TIMEOUT_S,
            debug_logging=False,  # it would log SQL text: customer data
            opts=pulumi.ResourceOptions(parent=self, depends_on=[proxy_role.policy]),
        )
        target_group = aws.rds.ProxyDefaultTargetGroup(
            namer.name("db-proxy-target-group"),
            db_proxy_name=proxy.name,
            connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                # The pool may use the connection budget: max_connections less the superuser reservation
                # and the headroom the migrator's direct connection and operators need.
                # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html
                max_connections_percent=settings.proxy_max_connections_percent,
                connection_borrow_timeout=settings.connect_timeout_s,
            ),
            opts=child,
        )
        self.proxy_target = aws.rds.ProxyTarget(
            namer.name("db-proxy-target"),
            db_proxy_name=proxy.name,
            target_group_name=target_group.name,
            db_instance_identifier=self.primary.identifier,
            opts=child,
        )
        # IAM database authentication through a proxy names the proxy's resource id (prx-...), the last
        # segment of its ARN: arn:aws:rds:REGION:ACCOUNT:db-proxy:prx-...
        self.proxy_resource_id = proxy.arn.apply(lambda arn: arn.rsplit(":", 1)[-1])
        return proxy

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
