"""Which dependency failures are worth retrying, and the settings of the AWS clients.

A retry helps only when the cause can go away within the invocation: a refused or reset
connection, a timeout, a server starting up or out of connection slots, a serialization failure
or deadlock. A wrong password, a refused IAM token, a certificate that does not verify, an unknown
database or role, or a missing parameter will fail the same way on every attempt, so retrying them
only spends the caller's time and hides the cause: they fail at once as
:class:`DatabaseMisconfigured` (503, code ``database_misconfigured``), with a CRITICAL log line and
the :data:`CONFIGURATION_ERROR_METRIC` metric an alarm can watch.

SQLSTATE classes are from PostgreSQL's "Appendix A. PostgreSQL Error Codes"
(https://www.postgresql.org/docs/current/errcodes-appendix.html). Errors raised while connecting
carry no SQLSTATE in psycopg2 (libpq reports them as text, see "34.2. Connection Status
Functions", ``PQerrorMessage``), so those are recognised by libpq's own message wording.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from contract import metrics
from orders.errors import DatabaseUnavailable

CONFIGURATION_ERROR_METRIC = metrics.DATABASE_CONFIGURATION_ERRORS  # the program alarms on any datapoint
READER_FALLBACK_METRIC = metrics.DATABASE_READER_FALLBACKS


class DatabaseMisconfigured(DatabaseUnavailable):
    """The database refuses us for a reason retrying cannot fix: credentials, TLS or configuration.

    A subclass of DatabaseUnavailable, so every caller that already answers 503 (and the worker,
    which fails the rest of its batch at once) treats it as an outage; the distinct ``code`` tells
    the operator it needs a change, not patience.
    """

    code = "database_misconfigured"


class Failure(StrEnum):
    TRANSIENT = "transient"  # retry with backoff while the invocation has time
    MISCONFIGURED = "misconfigured"  # fail fast: no retry can succeed


# SQLSTATE classes/codes that a retry cannot fix: 28 invalid authorization, 3D000 invalid catalog
# name (unknown database), 42501 insufficient privilege, 42P01 undefined table (schema missing).
_PERMANENT_SQLSTATES = ("28", "3D000", "42501", "42P01")

# libpq's wording for failures while connecting that no retry can fix.
_PERMANENT_MESSAGES = (
    "authentication failed",  # password or PAM (IAM token) refused
    "no pg_hba.conf entry",  # the server's host-based authentication refuses this client
    "password authentication",
    "certificate verify failed",  # sslmode=verify-full: the server's chain is not in sslrootcert
    "does not match host name",  # verify-full: the certificate names another host
    "root certificate file",  # sslrootcert is missing or unreadable
    "server does not support ssl",  # sslmode=verify-full requires TLS
    "tlsv1 alert",
    "does not exist",  # unknown database or role
    "invalid connection option",
    "invalid sslmode",
    "iam auth token unavailable",  # no credentials to sign a token with (see database.py)
)


def classify(error: BaseException) -> Failure:
    """Whether ``error`` may go away on a retry (TRANSIENT) or never will (MISCONFIGURED)."""
    if isinstance(error, KeyError | ValueError):  # a database parameter is missing or malformed
        return Failure.MISCONFIGURED
    code: Any = getattr(error, "pgcode", None)
    if isinstance(code, str) and code.startswith(_PERMANENT_SQLSTATES):
        return Failure.MISCONFIGURED
    text = str(error).lower()
    if any(message in text for message in _PERMANENT_MESSAGES):
        return Failure.MISCONFIGURED
    return Failure.TRANSIENT


def is_authentication_error(error: BaseException) -> bool:
    """A refused password or token: the only permanent failure a fresh read of the credentials can fix."""
    code: Any = getattr(error, "pgcode", None)
    text = str(error).lower()
    return (isinstance(code, str) and code.startswith("28")) or "authentication failed" in text


AWS_CONNECT_TIMEOUT_S = 2
"""A TCP connect to an AWS endpoint in the Region takes milliseconds; 2 s means it is not coming."""
AWS_READ_TIMEOUT_S = 3
"""SSM GetParametersByPath and SQS SendMessage answer well under a second; botocore's 60 s default
would outlive an API invocation."""
AWS_MAX_ATTEMPTS = 3
"""One call plus two retries (botocore ``standard`` mode: exponential backoff with jitter)."""


def aws_client_config() -> Any:
    """The botocore Config for every AWS client the function makes (SSM, SQS, Secrets Manager).

    See botocore's Config reference (``connect_timeout``, ``read_timeout``, ``retries``) and the
    AWS SDKs "Retry behavior" guide for the ``standard`` mode: the worst case is about
    ``AWS_MAX_ATTEMPTS * (connect + read)`` seconds, which fits inside an API invocation.
    """
    from botocore.config import Config  # first use only: keeps cold start short

    return Config(
        connect_timeout=AWS_CONNECT_TIMEOUT_S,
        read_timeout=AWS_READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": AWS_MAX_ATTEMPTS},
    )
