"""The migrator's credentials handling against the real TLS PostgreSQL: verifiers, not passwords; no leaks."""

from __future__ import annotations

import logging

import psycopg2
import psycopg2.extras
import pytest
from orders.handlers import migrator
from orders.scram import verifier

from tests.integration.function.conftest import APP_PASSWORD


def sessions(postgres) -> int:
    """Sessions of the master user other than the one asking."""
    with psycopg2.connect(postgres.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()")
        count = int(cursor.fetchone()[0])
    connection.close()
    return count


def test_postgresql_accepts_a_login_with_the_password_of_a_client_side_verifier(migrated):
    # GIVEN a role whose password was set as a SCRAM-SHA-256 verifier computed here
    password = "verifier-test-0123456789abcdef"
    with psycopg2.connect(migrated.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS scram_probe")
        cursor.execute("CREATE ROLE scram_probe LOGIN")
        cursor.execute("ALTER ROLE scram_probe PASSWORD %s", (verifier(password),))
    connection.close()
    try:
        # WHEN it logs in with the password
        with psycopg2.connect(migrated.dsn(user="scram_probe", password=password)) as login, login.cursor() as cursor:
            cursor.execute("SELECT current_user")
            # THEN the server accepts it
            assert cursor.fetchone()[0] == "scram_probe"
        login.close()
    finally:
        with psycopg2.connect(migrated.dsn()) as connection, connection.cursor() as cursor:
            cursor.execute("DROP ROLE scram_probe")
        connection.close()


def test_postgresql_refuses_another_password_for_a_client_side_verifier(migrated):
    # GIVEN the writer role's stored verifier (set by the migrator)
    # WHEN a login uses a different password
    # THEN it is refused
    with pytest.raises(psycopg2.OperationalError, match="authentication failed"):
        psycopg2.connect(migrated.dsn(user="orders_writer", password=APP_PASSWORD + "x")).close()


def test_the_migrator_sends_no_plaintext_password_in_sql(migrated, context, monkeypatch):
    # GIVEN every statement the migrator's own connection sends is recorded
    statements: list[str] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            statements.append(str(record.msg))

    recorder = logging.getLogger("test.migrator.sql")
    recorder.addHandler(Recorder())
    recorder.setLevel(logging.DEBUG)
    connect = psycopg2.connect

    def logging_connect(*args, **kwargs):
        connection = connect(*args, connection_factory=psycopg2.extras.LoggingConnection, **kwargs)
        connection.initialize(recorder)
        return connection

    monkeypatch.setattr(migrator.psycopg2, "connect", logging_connect)
    # WHEN the migrator ensures the roles
    migrator.handler({"action": "migrate"}, context)
    # THEN passwords were set, but only as SCRAM verifiers
    password_statements = [s for s in statements if "PASSWORD" in s]
    assert password_statements
    assert all("SCRAM-SHA-256$" in s for s in password_statements)
    assert not any(APP_PASSWORD in s for s in statements)


def test_the_migrator_leaves_no_session_open(migrated, context):
    # GIVEN the master user's sessions before a run
    before = sessions(migrated)
    # WHEN the migrator runs
    migrator.handler({"action": "migrate"}, context)
    # THEN it left none behind
    assert sessions(migrated) == before
