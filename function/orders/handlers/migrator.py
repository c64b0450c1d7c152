"""The schema migrator, invoked at deploy time: apply pending migrations, then ensure the app roles.

Runs with the master credentials: the Secrets Manager secret named by ``DB_MASTER_SECRET_ARN``,
whose SecretString is ``{"username": ..., "password": ...}`` (the shape of an RDS-managed secret),
against the primary's own endpoint: the secret's ``host`` and ``port`` when it carries them (the
program writes them, since ``database/writer_host`` is an RDS Proxy endpoint where one is deployed
and the proxy admits only IAM-authenticated roles), else ``database/writer_host`` (``DB_MASTER_DSN``
instead, in tests).
Migrations are versioned SQL files applied by yoyo under its lock, so two runs never apply one
twice. The writer and reader roles are created if missing, given exactly their grants,
and set up for one way to log in: IAM authentication (``rds_iam``, no password) when
``database/iam_auth`` is true, the application password when it is false. The password is sent
as a SCRAM-SHA-256 verifier computed here (:mod:`orders.scram`), never as plaintext in SQL text,
where ``log_statement`` or ``pg_stat_activity`` could show it.
Every connection it opens (yoyo's and its own) is closed before it returns, also on failure:
``with psycopg2.connect(...)`` only ends the transaction (psycopg2 "with statement": "the
connection is not closed by the context"), and a deploy-time function must not leave master
sessions behind on the primary.
Safe to run any number of times.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

from contract.parameters import Category
from contract.workloads import workload
from orders.config import Settings, SettingsSource
from orders.database import DEFAULT_CA_BUNDLE
from orders.failures import aws_client_config
from orders.observability import logger, tracer
from orders.scram import verifier

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def master_dsn(settings: Settings) -> str:
    """A yoyo URI for the master user, TLS verify-full like every other connection."""
    explicit = os.environ.get("DB_MASTER_DSN")
    if explicit:
        return explicit
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    # Short timeouts and bounded retries: a hung Secrets Manager call must not outlive the deploy step.
    provider = SecretsProvider(boto_config=aws_client_config())
    secret: Any = provider.get(os.environ["DB_MASTER_SECRET_ARN"], transform="json", max_age=0)
    if not (isinstance(secret, dict) and all(isinstance(secret.get(key), str) for key in ("username", "password"))):
        raise ValueError('the master secret (DB_MASTER_SECRET_ARN) must be JSON {"username": ..., "password": ...}')
    db = Category.DATABASE
    ca = quote(os.environ.get("DB_SSLROOTCERT", DEFAULT_CA_BUNDLE))
    host = secret.get("host") if isinstance(secret.get("host"), str) else settings.text(db, "writer_host")
    port = secret.get("port") if isinstance(secret.get("port"), int) else settings.integer(db, "port")
    return (
        f"postgresql://{quote(secret['username'], safe='')}:{quote(secret['password'], safe='')}"
        f"@{host}:{port}/{settings.text(db, 'name')}"
        f"?sslmode=verify-full&sslrootcert={ca}"
    )


def apply_migrations(dsn: str) -> list[str]:
    """Apply what is pending; returns the ids applied (none on a second run)."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(dsn)
    try:
        migrations = read_migrations(str(MIGRATIONS))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [migration.id for migration in pending]
    finally:
        with contextlib.suppress(psycopg2.Error):
            backend.connection.close()


def ensure_roles(dsn: str, settings: Settings) -> None:
    """Create the writer and reader roles with their grants and one way to log in; idempotent.

    ``database/iam_auth`` true: the roles are granted ``rds_iam`` and have no password (RDS refuses
    password logins for a member of ``rds_iam`` anyway); the server must be RDS. False: the roles
    are not members of ``rds_iam`` (revoked if an earlier run granted it) and log in with
    ``database/app_password``.
    """
    from yoyo.connections import parse_uri

    uri = parse_uri(dsn)
    db = Category.DATABASE
    writer, reader = settings.text(db, "writer_user"), settings.text(db, "reader_user")
    iam_auth = settings.flag(db, "iam_auth")
    password = None if iam_auth else settings.text(db, "app_password")
    with (
        contextlib.closing(
            psycopg2.connect(
                host=uri.hostname,
                port=uri.port,
                dbname=uri.database,
                user=uri.username,
                password=uri.password,
                **uri.args,
            )
        ) as connection,
        connection,  # one transaction: committed on success, rolled back on error
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'")
        has_rds_iam = cursor.fetchone() is not None
        if iam_auth and not has_rds_iam:
            raise RuntimeError(
                "database/iam_auth is true but the server has no rds_iam role (not RDS): "
                "set it to false to use the application password"
            )
        for role, privileges in ((writer, "SELECT, INSERT"), (reader, "SELECT")):
            name = sql.Identifier(role)
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
            if iam_auth:
                cursor.execute(sql.SQL("GRANT rds_iam TO {}").format(name))
                cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD NULL").format(name))
            else:
                if has_rds_iam:
                    cursor.execute(sql.SQL("REVOKE rds_iam FROM {}").format(name))
                cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(name), (verifier(password or ""),))
            cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(uri.database), name))
            cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name))
            cursor.execute(sql.SQL("REVOKE ALL ON orders FROM {}").format(name))
            cursor.execute(sql.SQL("GRANT " + privileges + " ON orders TO {}").format(name))
    logger.info("application roles ensured", extra={"roles": [writer, reader], "iam_auth": iam_auth})


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    action = (event or {}).get("action", "migrate")
    if action != "migrate":
        raise ValueError(f"unknown action {action!r}; the migrator supports 'migrate'")
    settings = SettingsSource(categories=workload("migrator").parameter_categories).load(force=True)
    dsn = master_dsn(settings)
    applied = apply_migrations(dsn)
    ensure_roles(dsn, settings)
    logger.info("migrations applied", extra={"applied": applied})
    return {"applied": applied, "status": "ok"}


__all__ = ["handler"]
