"""The database step of the local stack: where PostgreSQL is and how to stop and restart it.

The step is pluggable so the stack runs against any PostgreSQL: one given by ``DATABASE_URL``
(``postgresql://user:password@host:port/name?sslrootcert=/path/ca.pem``), or one the stack starts
itself. The endpoint carries the CA the server's certificate chains to, so the functions can
connect with ``verify-full`` as they do against RDS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit


@dataclass(frozen=True)
class DatabaseEndpoint:
    """How to reach the database as its master user."""

    host: str
    port: int
    name: str
    master_user: str
    master_password: str
    ca_file: Path | None = None  # the CA that signed the server certificate; None: TLS not verified

    def dsn(self, database: str | None = None, *, user: str | None = None, password: str | None = None) -> str:
        """A libpq connection string, TLS ``verify-full`` when the CA is known (``require`` otherwise)."""
        tls = f"sslmode=verify-full sslrootcert={self.ca_file}" if self.ca_file else "sslmode=require"
        return (
            f"host={self.host} port={self.port} dbname={database or self.name} user={user or self.master_user} "
            f"password={password or self.master_password} {tls} connect_timeout=5"
        )

    def yoyo_uri(self, database: str | None = None) -> str:
        """The master user's URI in yoyo's form, as the migrator builds it from the RDS-managed secret."""
        tls = f"sslmode=verify-full&sslrootcert={quote(str(self.ca_file))}" if self.ca_file else "sslmode=require"
        return (
            f"postgresql://{quote(self.master_user, safe='')}:{quote(self.master_password, safe='')}"
            f"@{self.host}:{self.port}/{quote(database or self.name, safe='')}?{tls}"
        )

    def url(self) -> str:
        """The ``postgresql://`` form ``DATABASE_URL`` takes (parsed back by :func:`parse_database_url`)."""
        query = f"?sslrootcert={quote(str(self.ca_file))}" if self.ca_file else ""
        return (
            f"postgresql://{quote(self.master_user, safe='')}:{quote(self.master_password, safe='')}"
            f"@{self.host}:{self.port}/{quote(self.name, safe='')}{query}"
        )

    def function_environment(self) -> dict[str, str]:
        """Where the functions find the CA: ``DB_SSLROOTCERT``, which names the RDS bundle on Lambda."""
        return {} if self.ca_file is None else {"DB_SSLROOTCERT": str(self.ca_file)}


class DatabaseStep(Protocol):
    """A PostgreSQL the stack can use; ``stop``/``start`` again simulate an outage and recovery."""

    async def start(self) -> DatabaseEndpoint: ...

    async def stop(self) -> None: ...

    async def close(self) -> None:
        """Stop for good and remove what ``start`` created (nothing, for a server run by someone else)."""


class ExternalDatabaseError(ValueError):
    """``DATABASE_URL`` cannot be used; the message says what is wrong with it."""


def parse_database_url(url: str) -> DatabaseEndpoint:
    """A ``postgresql://`` URL as an endpoint; ``sslrootcert`` in the query names the CA file."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ExternalDatabaseError(f"DATABASE_URL must start with postgresql://, got {parts.scheme!r}")
    if not parts.hostname or not parts.username or parts.password is None:
        raise ExternalDatabaseError("DATABASE_URL must name a host, a user and a password")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ExternalDatabaseError("DATABASE_URL must name a database")
    ca = parse_qs(parts.query).get("sslrootcert")
    return DatabaseEndpoint(
        host=parts.hostname,
        port=parts.port or 5432,
        name=name,
        master_user=unquote(parts.username),
        master_password=unquote(parts.password),
        ca_file=Path(ca[0]) if ca else None,
    )


class ExternalDatabase:
    """A PostgreSQL run by someone else: the stack neither starts nor stops it."""

    def __init__(self, url: str) -> None:
        self.endpoint = parse_database_url(url)

    async def start(self) -> DatabaseEndpoint:
        return self.endpoint

    async def stop(self) -> None:
        return None

    async def close(self) -> None:
        return None
