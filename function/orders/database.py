"""PostgreSQL access: one connection per role per execution environment, TLS verify-full, retries.

- Connections are created on first use and reused across invocations; a broken one is replaced.
- ``sslmode=verify-full`` against the CA bundle at ``DB_SSLROOTCERT`` (the RDS bundle in Lambda).
- ``database/iam_auth`` chooses one way to log in, never both: ``true`` (RDS) uses IAM auth tokens
  only (signed locally, valid 15 minutes, cached until shortly before expiry), because a role
  granted ``rds_iam`` cannot log in with a password; ``false`` (a PostgreSQL without IAM, such as
  the local stack's) uses the application password from SSM. A token that cannot be signed or is
  refused is an error, logged with what to check; there is no password fallback. An
  authentication failure is retried once, at once, with a fresh read of the parameters (and a
  fresh token), so rotated credentials and a changed ``iam_auth`` are picked up; a second refusal
  fails fast.
- Every wait on the server (connecting, TLS, each statement, the commit) ends at a deadline: the
  time the invocation has left minus :data:`RESERVE_MS`, and for a connection attempt also
  ``database/connect_timeout_s``. psycopg2's wait callback (``psycopg2.extensions.set_wait_callback``,
  https://www.psycopg.org/docs/advanced.html#support-for-coroutine-libraries) enforces it on the
  client, so a server that accepts and never answers, or stops mid-statement, still gives the caller
  a 503 before Lambda's timeout would give API Gateway a 502. The server-side ``statement_timeout``
  is lowered to the same deadline when that is shorter, so PostgreSQL stops the work too.
- TCP keepalives and ``tcp_user_timeout`` (libpq "34.1.2. Parameter Key Words") detect a peer that
  vanished (failover, a dropped NAT or security-group path) on an idle pooled connection.
- Transient failures (see :mod:`orders.failures`) are retried with exponential backoff and full
  jitter, never past the deadline; then the caller gets DatabaseUnavailable (503 with
  Retry-After). Failures no retry can fix fail fast as DatabaseMisconfigured, with a CRITICAL log
  line and the ``DatabaseConfigurationErrors`` metric.
- Reads fall back to the writer when the reader endpoint cannot be reached (the replica is down
  or being replaced); the reader is tried again after :data:`READER_RETRY_AFTER_S`.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from aws_lambda_powertools.metrics import MetricUnit

from contract.parameters import Category
from orders.config import Settings, SettingsSource
from orders.errors import DatabaseUnavailable
from orders.failures import (
    CONFIGURATION_ERROR_METRIC,
    READER_FALLBACK_METRIC,
    DatabaseMisconfigured,
    Failure,
    classify,
    is_authentication_error,
)
from orders.observability import logger, metrics

T = TypeVar("T")
TOKEN_LIFETIME_S = 900
DEFAULT_CA_BUNDLE = "/opt/python/certs/rds-global-bundle.pem"  # shipped in the layer by the packaging step
psycopg2.extras.register_uuid()

RESERVE_MS = 500
"""Kept back from the invocation's remaining time: enough to log, answer 503 and flush metrics."""
DEFAULT_BUDGET_MS = 25_000
"""The budget when the caller passes no remaining time (scripts, readiness checks set their own)."""
READER_RETRY_AFTER_S = 30.0
"""After the reader could not be reached, reads go to the writer for this long before trying it again."""

# libpq "34.1.2. Parameter Key Words" (https://www.postgresql.org/docs/current/libpq-connect.html):
KEEPALIVES_IDLE_S = 30
"""``keepalives_idle``: idle seconds before the first probe (Linux default 7200 s, longer than an
environment lives, and an NAT or load-balancer path forgets an idle flow after 350 s)."""
KEEPALIVES_INTERVAL_S = 10
"""``keepalives_interval``: seconds between unanswered probes."""
KEEPALIVES_COUNT = 3
"""``keepalives_count``: unanswered probes before the kernel declares the connection dead."""
TCP_USER_TIMEOUT_MS = 10_000
"""``tcp_user_timeout``: sent data unacknowledged this long breaks the connection (TCP_USER_TIMEOUT,
RFC 5482) instead of the kernel's ~15 minutes of retransmissions."""

_deadline: ContextVar[float | None] = ContextVar("database_deadline", default=None)


class DeadlineExceeded(psycopg2.OperationalError):  # type: ignore[misc]
    """The server did not answer before the deadline (a transient failure: the server is hung or slow)."""


def _wait_until_deadline(connection: Any) -> None:
    """psycopg2's wait callback: poll the connection, never waiting past the current deadline.

    Without a deadline it waits as long as libpq would (the migrator, tests). On expiry the
    connection is left mid-protocol; the caller drops it.
    """
    while True:
        state = connection.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        deadline = _deadline.get()
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if state == psycopg2.extensions.POLL_READ:
            ready = select.select([connection.fileno()], [], [], timeout)[0]
        elif state == psycopg2.extensions.POLL_WRITE:
            ready = select.select([], [connection.fileno()], [], timeout)[1]
        else:  # pragma: no cover - psycopg2 documents no other state
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        if not ready:
            raise DeadlineExceeded("timeout expired: the database did not answer in the time the invocation has left")


psycopg2.extensions.set_wait_callback(_wait_until_deadline)


@contextlib.contextmanager
def _until(deadline: float) -> Iterator[None]:
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


class Role(StrEnum):
    WRITER = "writer"  # the primary
    READER = "reader"  # the read replica


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    dbname: str
    user: str
    iam_auth: bool
    password: str | None  # the application password; None (and never read) with IAM authentication
    statement_timeout_ms: int
    connect_timeout_s: int
    token_margin_s: int

    @classmethod
    def of(cls, settings: Settings, role: Role) -> Target:
        db, cache = Category.DATABASE, Category.CACHE
        iam_auth = settings.flag(db, "iam_auth")
        margin = (
            settings.integer(cache, "iam_token_refresh_margin_s")
            if _has(settings, cache, "iam_token_refresh_margin_s")
            else 120
        )
        return cls(
            host=settings.text(db, f"{role.value}_host"),
            port=settings.integer(db, "port"),
            dbname=settings.text(db, "name"),
            user=settings.text(db, f"{role.value}_user"),
            iam_auth=iam_auth,
            password=None if iam_auth else settings.text(db, "app_password"),
            statement_timeout_ms=settings.integer(db, "statement_timeout_ms"),
            connect_timeout_s=settings.integer(db, "connect_timeout_s"),
            token_margin_s=margin,
        )


def _has(settings: Settings, category: Category, name: str) -> bool:
    try:
        settings.text(category, name)
    except KeyError:
        return False
    return True


class TokenCache:
    """IAM database auth tokens per (host, port, user), reused until ``margin`` before expiry."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._tokens: dict[tuple[str, int, str], tuple[str, float]] = {}
        self._clock = clock
        self._client: Any = None

    def token(self, target: Target) -> str:
        key = (target.host, target.port, target.user)
        cached = self._tokens.get(key)
        if cached and cached[1] - target.token_margin_s > self._clock():
            return cached[0]
        if self._client is None:
            import boto3  # first use only
            from botocore.config import Config

            self._client = boto3.client("rds", config=Config(retries={"mode": "standard"}))
        token = str(
            self._client.generate_db_auth_token(DBHostname=target.host, Port=target.port, DBUsername=target.user)
        )
        self._tokens[key] = (token, self._clock() + TOKEN_LIFETIME_S)
        return token

    def forget(self, target: Target) -> None:
        """Drop the cached token for ``target`` (it was refused): the next one is signed afresh."""
        self._tokens.pop((target.host, target.port, target.user), None)

    def clear(self) -> None:
        """Drop every cached token (after a SnapStart restore: they were signed elsewhere)."""
        self._tokens.clear()


class Database:
    """Connections for one workload; call :meth:`run` with the work and the time left."""

    def __init__(self, source: SettingsSource, tokens: TokenCache | None = None, max_attempts: int = 4) -> None:
        self._source = source
        self._tokens = tokens or TokenCache()
        self._connections: dict[Role, psycopg2.extensions.connection] = {}
        self._max_attempts = max_attempts
        self._reload_settings = False  # set after an authentication failure: credentials may have rotated
        self._reader_down_until = 0.0

    def run(self, role: Role, work: Callable[[Any], T], remaining_ms: Callable[[], int] | None = None) -> T:
        """Run ``work(cursor)`` in one transaction on ``role``, retrying transient failures.

        Raises DatabaseUnavailable when the database stays unreachable until the deadline, and
        DatabaseMisconfigured (a subclass) at once when no retry can succeed.
        """
        budget_ms = (remaining_ms() if remaining_ms else DEFAULT_BUDGET_MS) - RESERVE_MS
        deadline = time.monotonic() + budget_ms / 1000
        delay = 0.05
        retried_authentication = False
        for attempt in range(1, self._max_attempts + 1):
            try:
                if time.monotonic() >= deadline:
                    raise DeadlineExceeded("timeout expired: no time left in the invocation for the database")
                with _until(deadline):
                    connection, target = self._connection(role, deadline)
                    with connection, connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                        _fit_statement_timeout(cursor, target, deadline)
                        return work(cursor)
            except DatabaseMisconfigured:
                raise
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
                self._drop(role)
                if is_authentication_error(error) and not retried_authentication:
                    # Rotated credentials: read the parameters (and sign a token) afresh, once, now.
                    retried_authentication = self._reload_settings = True
                    logger.warning(
                        "database refused the credentials; retrying with freshly read parameters",
                        extra={"role": role.value, "attempt": attempt},
                    )
                    continue
                if classify(error) is Failure.MISCONFIGURED:
                    raise self._misconfigured(role, error) from None
                pause = random.uniform(0, delay)  # noqa: S311 - jitter, not cryptography
                if attempt == self._max_attempts or time.monotonic() + pause >= deadline:
                    logger.error(
                        "database unavailable",
                        extra={"role": role.value, "attempts": attempt, "error": type(error).__name__},
                    )
                    raise DatabaseUnavailable("the database is unavailable; retry shortly") from None
                logger.warning(
                    "database call failed; retrying",
                    extra={"role": role.value, "attempt": attempt, "error": type(error).__name__},
                )
                time.sleep(pause)
                delay = min(delay * 2, 2.0)
        logger.error("database unavailable", extra={"role": role.value, "attempts": self._max_attempts})
        raise DatabaseUnavailable("the database is unavailable; retry shortly")

    def ping(self, role: Role) -> None:
        """Raise DatabaseUnavailable unless ``SELECT 1`` succeeds (readiness)."""
        self.run(role, lambda cursor: cursor.execute("SELECT 1"), remaining_ms=lambda: 3000)

    def close(self) -> None:
        for role in list(self._connections):
            self._drop(role)

    def forget_environment(self) -> None:
        """After a SnapStart restore (orders.snapstart): nothing opened, signed or timed before it is kept.

        The next :meth:`run` connects afresh, with a newly signed token and freshly read settings.
        """
        self.close()
        self._tokens.clear()
        self._reader_down_until = 0.0
        self._reload_settings = True

    def _misconfigured(self, role: Role, error: BaseException) -> DatabaseMisconfigured:
        """Log CRITICAL and count the metric for a failure no retry can fix; the error to raise."""
        self._reload_settings = True  # the next call reads the parameters afresh: the fix may be there
        logger.critical(
            "database misconfigured: credentials, TLS or parameters are wrong; retrying cannot help",
            extra={"role": role.value, "error": type(error).__name__, "reason": _reason(error)},
        )
        metrics.add_metric(name=CONFIGURATION_ERROR_METRIC, unit=MetricUnit.Count, value=1)
        return DatabaseMisconfigured("the database refuses this service's configuration; operators are alerted")

    def _connection(self, role: Role, deadline: float) -> tuple[psycopg2.extensions.connection, Target]:
        """A ready connection for ``role`` and its target; a read goes to the writer while the reader is down."""
        if role is Role.READER and time.monotonic() < self._reader_down_until:
            return self._connection(Role.WRITER, deadline)
        try:
            return self._open_role(role, deadline)
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
            if role is not Role.READER or classify(error) is not Failure.TRANSIENT:
                raise
            self._reader_down_until = time.monotonic() + READER_RETRY_AFTER_S
            logger.warning(
                "reader endpoint unreachable; reading from the writer",
                extra={"error": type(error).__name__, "retry_reader_after_s": READER_RETRY_AFTER_S},
            )
            metrics.add_metric(name=READER_FALLBACK_METRIC, unit=MetricUnit.Count, value=1)
            return self._open_role(Role.WRITER, deadline)

    def _open_role(self, role: Role, deadline: float) -> tuple[psycopg2.extensions.connection, Target]:
        try:
            target = Target.of(self._source.load(force=self._reload_settings), role)
        except (KeyError, ValueError) as error:
            raise self._misconfigured(role, error) from None
        self._reload_settings = False
        existing = self._connections.get(role)
        if existing is not None and not existing.closed and existing.status == psycopg2.extensions.STATUS_READY:
            return existing, target
        self._drop(role)
        with _until(min(deadline, time.monotonic() + target.connect_timeout_s)):
            self._connections[role] = self._connect(target)
        return self._connections[role], target

    def _connect(self, target: Target) -> psycopg2.extensions.connection:
        if not target.iam_auth:
            return self._open(target, target.password or "")
        try:
            token = self._tokens.token(target)
        except Exception as error:  # no credentials to sign with, or the RDS client cannot be made
            logger.error(
                "cannot sign an IAM database auth token; with database/iam_auth true there is no password login",
                extra={"user": target.user, "host": target.host, "error": type(error).__name__},
            )
            raise psycopg2.OperationalError("IAM auth token unavailable") from None
        try:
            return self._open(target, token)
        except psycopg2.OperationalError as error:
            if is_authentication_error(error):
                self._tokens.forget(target)
                logger.error(
                    "IAM authentication refused: check that the role is granted rds_iam (the migrator grants "
                    "it) and that the function may rds-db:connect as this user on this instance",
                    extra={"user": target.user, "host": target.host},
                )
            raise

    @staticmethod
    def _open(target: Target, secret: str) -> psycopg2.extensions.connection:
        return psycopg2.connect(
            host=target.host,
            port=target.port,
            dbname=target.dbname,
            user=target.user,
            password=secret,
            sslmode="verify-full",
            sslrootcert=os.environ.get("DB_SSLROOTCERT", DEFAULT_CA_BUNDLE),
            connect_timeout=target.connect_timeout_s,
            keepalives=1,
            keepalives_idle=KEEPALIVES_IDLE_S,
            keepalives_interval=KEEPALIVES_INTERVAL_S,
            keepalives_count=KEEPALIVES_COUNT,
            tcp_user_timeout=TCP_USER_TIMEOUT_MS,
            application_name=os.environ.get("POWERTOOLS_SERVICE_NAME", "orders"),
            options=f"-c statement_timeout={target.statement_timeout_ms}",
        )

    def _drop(self, role: Role) -> None:
        connection = self._connections.pop(role, None)
        if connection is not None and not connection.closed:
            with contextlib.suppress(psycopg2.Error):
                connection.close()


def _fit_statement_timeout(cursor: Any, target: Target, deadline: float) -> None:
    """Lower ``statement_timeout`` for this transaction when the deadline is nearer than the setting.

    ``SET LOCAL`` lasts until the transaction ends (PostgreSQL "SET"); the server then cancels work
    the caller could no longer wait for, instead of finishing it for nobody.
    """
    left_ms = int((deadline - time.monotonic()) * 1000)
    if left_ms < target.statement_timeout_ms:
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", (str(max(left_ms, 1)),))


def _reason(error: BaseException) -> str:
    """The first line of a driver error (libpq's message: no secrets), or the error's class."""
    if isinstance(error, psycopg2.Error):
        return str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
    return str(error)[:200]
