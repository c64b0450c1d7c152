"""PostgreSQL access: one connection per role per execution environment, TLS verify-full, retries.

- Connections are created on first use and reused across invocations; a broken one is replaced.
- ``sslmode=verify-full`` against the CA bundle at ``DB_SSLROOTCERT`` (the RDS bundle in Lambda).
- ``database/iam_auth`` chooses one way to log in, never both: ``true`` (RDS) uses IAM auth tokens
  only (signed locally, valid 15 minutes, cached until shortly before expiry), because a role
  granted ``rds_iam`` cannot log in with a password; ``false`` (a PostgreSQL without IAM, such as
  the local stack's) uses the application password from SSM. A token that cannot be signed or is
  refused is an error, logged with what to check; there is no password fallback. An
  authentication failure forces a fresh read of the parameters (and a fresh token) for the next
  attempt, so rotated credentials and a changed ``iam_auth`` are picked up.
- Transient failures are retried with exponential backoff and full jitter, never past the time
  the invocation has left; then the caller gets DatabaseUnavailable (503 with Retry-After).
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from contract.parameters import Category
from orders.config import Settings, SettingsSource
from orders.errors import DatabaseUnavailable
from orders.observability import logger

T = TypeVar("T")
TOKEN_LIFETIME_S = 900
DEFAULT_CA_BUNDLE = "/opt/python/certs/rds-global-bundle.pem"  # shipped in the layer by the packaging step
psycopg2.extras.register_uuid()


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


class Database:
    """Connections for one workload; call :meth:`run` with the work and the time left."""

    def __init__(self, source: SettingsSource, tokens: TokenCache | None = None, max_attempts: int = 4) -> None:
        self._source = source
        self._tokens = tokens or TokenCache()
        self._connections: dict[Role, psycopg2.extensions.connection] = {}
        self._max_attempts = max_attempts

    def run(self, role: Role, work: Callable[[Any], T], remaining_ms: Callable[[], int] | None = None) -> T:
        """Run ``work(cursor)`` in one transaction on ``role``, retrying transient failures."""
        deadline = time.monotonic() + (remaining_ms() / 1000 - 0.5 if remaining_ms else 25.0)
        delay = 0.05
        for attempt in range(1, self._max_attempts + 1):
            try:
                connection = self._connection(role, force_settings=attempt > 1 and self._last_was_auth_error)
                with connection, connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                    return work(cursor)
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
                self._drop(role)
                self._last_was_auth_error = _is_auth_error(error)
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
        raise AssertionError("unreachable")  # pragma: no cover

    _last_was_auth_error = False

    def ping(self, role: Role) -> None:
        """Raise DatabaseUnavailable unless ``SELECT 1`` succeeds (readiness)."""
        self.run(role, lambda cursor: cursor.execute("SELECT 1"), remaining_ms=lambda: 3000)

    def close(self) -> None:
        for role in list(self._connections):
            self._drop(role)

    def _connection(self, role: Role, *, force_settings: bool) -> psycopg2.extensions.connection:
        existing = self._connections.get(role)
        if existing is not None and not existing.closed and existing.status == psycopg2.extensions.STATUS_READY:
            return existing
        self._drop(role)
        target = Target.of(self._source.load(force=force_settings), role)
        self._connections[role] = self._connect(target)
        return self._connections[role]

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
            if _is_auth_error(error):
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
            application_name=os.environ.get("POWERTOOLS_SERVICE_NAME", "orders"),
            options=f"-c statement_timeout={target.statement_timeout_ms}",
        )

    def _drop(self, role: Role) -> None:
        connection = self._connections.pop(role, None)
        if connection is not None and not connection.closed:
            with contextlib.suppress(psycopg2.Error):
                connection.close()


def _is_auth_error(error: BaseException) -> bool:
    text = str(error).lower()
    return "authentication failed" in text or ("password" in text and "fail" in text)
