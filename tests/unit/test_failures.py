"""Which database failures are retried (orders.failures.classify): transient ones only."""

from __future__ import annotations

import psycopg2
import pytest
from orders.failures import Failure, classify, is_authentication_error


class WithCode(psycopg2.OperationalError):
    """A driver error carrying a SQLSTATE, as psycopg2 raises for errors during a statement."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def pgcode(self) -> str:  # type: ignore[override]
        return self.code


@pytest.mark.parametrize(
    "message",
    [
        'connection to server at "10.0.0.5", port 5432 failed: Connection refused',
        "server closed the connection unexpectedly",
        "SSL SYSCALL error: EOF detected",
        "timeout expired",
        'could not translate host name "db.internal" to address: Temporary failure in name resolution',
        "FATAL:  the database system is starting up",
        "FATAL:  sorry, too many clients already",
    ],
)
def test_connection_level_failures_are_transient(message):
    assert classify(psycopg2.OperationalError(message)) is Failure.TRANSIENT


@pytest.mark.parametrize(
    "message",
    [
        'FATAL:  password authentication failed for user "orders_writer"',
        'FATAL:  PAM authentication failed for user "orders_writer"',
        'FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "orders_writer", database "orders", no encryption',
        "SSL error: certificate verify failed",
        'server certificate for "db.example" does not match host name "10.0.0.5"',
        'root certificate file "/opt/python/certs/rds-global-bundle.pem" does not exist',
        'FATAL:  database "orderz" does not exist',
        "IAM auth token unavailable",
    ],
)
def test_credentials_tls_and_configuration_failures_are_permanent(message):
    assert classify(psycopg2.OperationalError(message)) is Failure.MISCONFIGURED


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("40001", Failure.TRANSIENT),
        ("40P01", Failure.TRANSIENT),
        ("57014", Failure.TRANSIENT),
        ("28P01", Failure.MISCONFIGURED),
        ("42501", Failure.MISCONFIGURED),
    ],
)
def test_statement_failures_are_classified_by_sqlstate(code, expected):
    assert classify(WithCode("failed", code)) is expected


def test_a_missing_parameter_is_permanent():
    assert classify(KeyError("parameter database/port is not set")) is Failure.MISCONFIGURED


def test_only_a_refused_login_counts_as_an_authentication_error():
    assert is_authentication_error(psycopg2.OperationalError('password authentication failed for user "x"'))
    assert not is_authentication_error(psycopg2.OperationalError("SSL error: certificate verify failed"))
