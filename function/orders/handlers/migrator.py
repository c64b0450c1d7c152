"""The schema migrator, invoked at deploy time: apply pending migrations, then ensure the app roles.

Runs with the master credentials (the RDS-managed secret in Secrets Manager; ``DB_MASTER_DSN``
locally). Migrations are versioned SQL files applied by yoyo under its lock, so two runs never
apply one twice. The writer and reader roles are created if missing, given exactly their grants,
and set up for IAM authentication on RDS (``rds_iam``) or for the application password elsewhere.
Safe to run any number of times.
"""

from __future__ import annotations

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
from orders.observability import logger, tracer

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def master_dsn(settings: Settings) -> str:
    """A yoyo URI for the master user, TLS verify-full like every other connection."""
    explicit = os.environ.get("DB_MASTER_DSN")
    if explicit:
        return explicit
    from aws_lambda_powertools.utilities import parameters

    secret: Any = parameters.get_secret(os.environ["DB_MASTER_SECRET_ARN"], transform="json", max_age=0)
    db = Category.DATABASE
    ca = quote(os.environ.get("DB_SSLROOTCERT", DEFAULT_CA_BUNDLE))
    return (
        f"postgresql://{quote(secret['username'], safe='')}:{quote(secret['password'], safe='')}"
        f"@{settings.text(db, 'writer_host')}:{settings.integer(db, 'port')}/{settings.text(db, 'name')}"
        f"?sslmode=verify-full&sslrootcert={ca}"
    )


def apply_migrations(dsn: str) -> list[str]:
    """Apply what is pending; returns the ids applied (none on a second run)."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(dsn)
    migrations = read_migrations(str(MIGRATIONS))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [migration.id for migration in pending]


def ensure_roles(dsn: str, settings: Settings) -> None:
    """Create the writer and reader roles with their grants; idempotent."""
    from yoyo.connections import parse_uri

    uri = parse_uri(dsn)
    db = Category.DATABASE
    writer, reader = settings.text(db, "writer_user"), settings.text(db, "reader_user")
    password = settings.text(db, "app_password")
    with (
        psycopg2.connect(
            host=uri.hostname, port=uri.port, dbname=uri.database, user=uri.username, password=uri.password, **uri.args
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'")
        on_rds = cursor.fetchone() is not None
        for role, privileges in ((writer, "SELECT, INSERT"), (reader, "SELECT")):
            name = sql.Identifier(role)
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
            if on_rds and settings.flag(db, "iam_auth"):
                cursor.execute(sql.SQL("GRANT rds_iam TO {}").format(name))
            else:
                cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(name), (password,))
            cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(uri.database), name))
            cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name))
            cursor.execute(sql.SQL("REVOKE ALL ON orders FROM {}").format(name))
            cursor.execute(sql.SQL("GRANT " + privileges + " ON orders TO {}").format(name))


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
