"""What the function needs around it, for groups that call it without the whole local stack.

moto_server seeded by ``local.aws.seed`` from the program's blueprint (``local.materialize``: the
parameter hierarchy, queues, the master secret), a real TLS PostgreSQL from ``local.postgres``, the
functions' specs from ``local.spec`` and the
schema applied by invoking the migrator through the local runtime, as a deployment does. The
event source mappings and the HTTP front are left out: their polling would only add noise to a
measurement that does not use them. Everything started is stopped again on the way out, also
after a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from bench.processes import CODE_PATHS, PROJECT_ROOT
from local.aws import MotoServer, SeededResources, client_environment, seed
from local.blueprint import Blueprint
from local.materialize import materialize
from local.postgres import PostgresServer
from local.runtime import FunctionPool, FunctionSpec
from local.spec import function_specs


class BackendError(RuntimeError):
    """The backend could not be prepared (for example the migration failed)."""


@dataclass(frozen=True)
class StackValues:
    """The stack configuration the program ran with, for groups that read one value of it."""

    blueprint: Blueprint

    def text(self, key: str) -> str:
        """The value of ``serverless-infra:<key>``, defaults applied."""
        return self.blueprint.config[key]


@dataclass
class Backend:
    """A running moto and PostgreSQL, seeded and migrated, and the function specs pointing at them."""

    blueprint: Blueprint
    moto: MotoServer
    server: PostgresServer
    resources: SeededResources
    specs: dict[str, FunctionSpec]
    workdir: Path

    def spec(self, workload: str, *, handler: str | None = None, python: str | None = None) -> FunctionSpec:
        """``workload``'s spec, optionally running another handler or interpreter, one environment only."""
        spec = self.specs[workload]
        return dataclasses.replace(
            spec,
            handler=handler or spec.handler,
            python=python or spec.python,
            concurrency=1,
        )

    def in_process_environment(self, workload: str) -> dict[str, str]:
        """The variables ``workload``'s function gets, for calling its handler in a plain process.

        Tracing is switched off as the integration tests do: outside the Lambda runtime there is
        no trace header for X-Ray to continue, and the Lambda-runtime runs keep the shipped setting.
        """
        return {**self.specs[workload].environment, "POWERTOOLS_TRACE_DISABLED": "true"}

    @property
    def settings(self) -> StackValues:
        return StackValues(self.blueprint)

    def master_dsn(self) -> str:
        return self.server.dsn()


async def migrate(spec: FunctionSpec) -> None:
    """Invoke the migrator once through the local runtime, as the deployment's Invocation does."""
    pool = FunctionPool(dataclasses.replace(spec, concurrency=1))
    try:
        result = await pool.invoke({"action": "migrate"}, wait=True)
    finally:
        await pool.close()
    if result.function_error is not None:
        raise BackendError(f"the migrator failed: {result.payload.decode(errors='replace')[:800]}")


@contextlib.asynccontextmanager
async def running_backend(
    workdir: Path, *, stack: str = "dev", overrides: Mapping[str, str | int] | None = None
) -> AsyncIterator[Backend]:
    """Start, seed and migrate; yield the backend; stop and remove everything, whatever happened."""
    blueprint = await asyncio.to_thread(
        materialize, PROJECT_ROOT, stack, {key: str(value) for key, value in (overrides or {}).items()}
    )
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "moto.log").open("ab") as moto_log:
        moto = MotoServer("127.0.0.1", log=moto_log)
        server: PostgresServer | None = None
        try:
            await moto.start()
            server = await asyncio.to_thread(PostgresServer, database="orders")
            await asyncio.to_thread(server.start)
            endpoint = server.endpoint()
            resources = await asyncio.to_thread(seed, moto, blueprint, endpoint)
            platform = {**client_environment(moto, blueprint.region), **endpoint.function_environment()}
            specs = function_specs(
                blueprint,
                code_paths=CODE_PATHS,
                platform_environment=platform,
                references=resources.references,
                log_dir=logs,
            )
            await migrate(specs["migrator"])
            yield Backend(blueprint, moto, server, resources, specs, workdir)
        finally:
            if server is not None:
                await asyncio.to_thread(server.close)
            await moto.stop()


def insert_order(dsn: str, caller: str) -> str:
    """One order written as the master user for ``caller`` (an API key's id, as the gateway names it)."""
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders"
            " (order_id, caller_id, customer_id, amount_minor, currency, idempotency_key, request_fingerprint)"
            " VALUES (gen_random_uuid(), %s, 'bench-cold', 1999, 'EUR', 'bench:' || gen_random_uuid(), repeat('0', 64))"
            " RETURNING order_id::text",
            (caller,),
        )
        row = cursor.fetchone()
    connection.close()
    if row is None:
        raise BackendError("inserting an order returned nothing")
    return str(row[0])
