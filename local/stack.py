"""The whole system on this machine, built from the Pulumi program: moto, the database, the functions, the API.

:func:`local.materialize.materialize` runs the program for the stack and reads what it declares
(the blueprint); nothing here repeats a size, a route or a setting. Start order follows the
deployment's: AWS resources (keys, parameters, queues, buckets, secret), the database, the
functions, then the migrator is invoked once (through the local Lambda runtime, as the program's
``aws.lambda_.Invocation`` does) before traffic is let in. Each SQS event source mapping polls its
queue; each schedule rule runs its function. What this machine cannot hold (a reservation of
hundreds of concurrent environments) is scaled down and said so in ``blueprint.notes``.
``stop`` undoes it all in reverse and leaves no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from aiohttp import web

from local import interpreters
from local.aws import MotoServer, SeededResources, client_environment, seed
from local.blueprint import Blueprint
from local.database import DatabaseEndpoint, DatabaseStep
from local.event_source import EventSourceMapping, MappingSpec
from local.gateway import ApiGateway
from local.iam import IamEnforcement
from local.machine import MAX_ENVIRONMENTS, fit_to_machine
from local.materialize import materialize
from local.runtime import FunctionPool, InvocationResult
from local.scheduler import Schedule, schedule_spec
from local.spec import function_specs

LOG = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class StackStartError(RuntimeError):
    """The stack could not start; everything it had started is stopped again."""


@dataclass
class StackOptions:
    """How to run the stack. Defaults: the dev stack's configuration, ``function/`` code, any free port."""

    project_root: Path = PROJECT_ROOT
    stack: str = "dev"
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    overrides: Mapping[str, str | int] = field(default_factory=dict)  # stack config keys, as `--config`
    database: DatabaseStep | None = None  # None: no database (the data routes fail, health does not)
    # None: the archives as packaged (build/), on the Python version each function's runtime names;
    # given: these import paths on this interpreter, for tests that run handlers of their own.
    code_paths: tuple[Path, ...] | None = None
    handlers: Mapping[str, str] | None = None  # workload key -> handler, to run other code
    enforce_iam: bool = True  # each function calls AWS as its declared role (local.iam)
    state_dir: Path | None = None  # default: <project_root>/.local
    api_key: str | None = None  # the first key's value (default: generated); the others are generated
    migrate: bool = True
    integration_timeout_s: float = 29.0
    max_environments: int = MAX_ENVIRONMENTS


class LocalStack:
    """Start with :meth:`start`, stop with :meth:`stop` (or use ``async with``)."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.state_dir = options.state_dir or options.project_root / ".local"
        self.api_key = options.api_key or secrets.token_urlsafe(30)
        self.api_keys: list[str] = [self.api_key]  # one value per key the program declares, once started
        self._blueprint: Blueprint | None = None
        self.moto: MotoServer | None = None
        self.resources: SeededResources | None = None
        self.database: DatabaseEndpoint | None = None
        self.pools: dict[str, FunctionPool] = {}
        self.mappings: dict[str, EventSourceMapping] = {}
        self.schedules: dict[str, Schedule] = {}
        self.url = ""
        self.port = 0  # the API's port once started (the one chosen when options.port is 0)
        self._runner: web.AppRunner | None = None
        self._listener: socket.socket | None = None
        self._logs: list[IO[bytes]] = []
        self.iam: IamEnforcement | None = None  # what each function's role was allowed, used and denied

    async def __aenter__(self) -> LocalStack:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def blueprint(self) -> Blueprint:
        """What the program declares for the stack, fitted to this machine (available once started)."""
        if self._blueprint is None:
            raise StackStartError("the stack has not materialized its blueprint yet: call start() first")
        return self._blueprint

    @property
    def settings(self) -> Blueprint:
        """The blueprint, under the name callers of the retired ``local.settings`` read ``region`` from."""
        return self.blueprint

    @property
    def endpoint_file(self) -> Path:
        return self.state_dir / "endpoint.json"

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        options = self.options
        self._listener = self._listen()  # the port first: a taken port fails before anything is started
        overrides = {key: str(value) for key, value in options.overrides.items()}
        LOG.info("materializing stack %r from the Pulumi program", options.stack)
        declared = await asyncio.to_thread(materialize, options.project_root, options.stack, overrides)
        blueprint = self._blueprint = fit_to_machine(declared, options.max_environments)
        for note in blueprint.notes:
            LOG.warning("scaled down: %s", note)
        self.api_keys = [self.api_key] + [secrets.token_urlsafe(30) for _ in blueprint.api.api_keys[1:]]
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        moto_log = (logs / "moto.log").open("ab")
        self._logs.append(moto_log)
        LOG.info("starting moto_server (AWS APIs on loopback)")
        self.moto = MotoServer(options.host, log=moto_log)
        await self.moto.start()
        LOG.info("AWS APIs ready at %s", self.moto.url)
        if options.database is not None:
            LOG.info("starting the database (TLS PostgreSQL)")
            self.database = await options.database.start()
            LOG.info("database ready at %s:%s/%s", self.database.host, self.database.port, self.database.name)
        self.resources = await asyncio.to_thread(seed, self.moto, blueprint, self.database)
        LOG.info(
            "seeded %d KMS keys, %d parameters, %d queues",
            len(blueprint.keys),
            len(self.resources.parameters),
            len(self.resources.queues),
        )
        platform = client_environment(self.moto, blueprint.region)
        if self.database is not None:
            platform.update(self.database.function_environment())
        roles = await self._enforce_iam() if options.enforce_iam else {}
        specs = function_specs(
            blueprint,
            code_paths=options.code_paths,
            platform_environment=platform,
            references=self.resources.references,
            log_dir=logs,
            handlers=options.handlers,
            packaged=await self._packaged_code() if options.code_paths is None else None,
            role_environments=roles,
        )
        self.pools = {key: FunctionPool(spec) for key, spec in specs.items()}
        LOG.info("preparing the function runtimes (%s)", ", ".join(sorted({f.runtime for f in blueprint.functions})))
        await asyncio.gather(*(pool.prepare() for pool in self.pools.values()))
        if options.migrate and self.database is not None:
            LOG.info("invoking the migrator")
            result = await self.migrate()
            LOG.info("migrations applied: %s", result.payload.decode(errors="replace"))
        self._start_mappings()
        self._start_schedules()
        await self._serve_api(self._listener)
        LOG.info("API front ready at %s (logs in %s)", self.url, logs)
        self._write_endpoint()

    async def _packaged_code(self) -> Callable[[str], tuple[Path, ...]]:
        """Import paths by runtime: build/function.zip as the task root, build/layer.zip where Lambda puts it.

        Laid out (and the layer rebuilt for this machine when its wheels are for another) off the
        event loop, once per runtime the program's functions name; cached under .local/lambda.
        """
        build = self.options.project_root / "build"
        archives = (build / "function.zip", build / "layer.zip")
        missing = [str(path) for path in archives if not path.is_file()]
        if missing:
            raise StackStartError(
                f"the local stack runs the archives as packaged and {', '.join(missing)} is missing: "
                "build them with `python3 -m nox -s package`"
            )
        runtimes = sorted({function.runtime for function in self.blueprint.functions})
        laid_out = await asyncio.gather(
            *(asyncio.to_thread(interpreters.packaged_code, runtime, *archives) for runtime in runtimes)
        )
        paths = {runtime: code.code_paths for runtime, code in zip(runtimes, laid_out, strict=True)}
        return paths.__getitem__

    async def _enforce_iam(self) -> dict[str, dict[str, str]]:
        """Put every function's AWS calls through its declared role (local.iam); role name -> environment."""
        blueprint, resources, moto = self.blueprint, self.resources, self.moto
        if resources is None or moto is None:
            raise StackStartError("AWS resources are not seeded")
        iam = IamEnforcement(moto.url, blueprint.region, blueprint.account_id, blueprint.roles, blueprint.keys)
        self.iam = iam
        await asyncio.to_thread(iam.prepare)
        kms = moto.client("kms", blueprint.region)
        for key in blueprint.keys:
            local_id = resources.key_ids.get(key.logical_name)
            if key.arn and local_id:
                iam.declare(kms.describe_key(KeyId=local_id)["KeyMetadata"]["Arn"], key.arn)
        for declared, local in resources.references.items():
            if declared.startswith("arn:") and local.startswith("arn:"):
                iam.declare(local, declared)
        return {function.role_name: iam.function_environment(function.role_name) for function in blueprint.functions}

    def _key_of(self, function_name: str) -> str:
        for function in self.blueprint.functions:
            if function.name == function_name:
                return function.key
        raise StackStartError(f"the program declares no function named {function_name!r}")

    async def migrate(self) -> InvocationResult:
        """Invoke the migrator as a deployment does; a failed migration stops the start."""
        result = await self.pools["migrator"].invoke({"action": "migrate"}, wait=True)
        if result.function_error is not None:
            raise StackStartError(f"the migrator failed: {result.payload.decode(errors='replace')}")
        return result

    async def analyze_dead_letters(self) -> InvocationResult:
        """Run the DLQ analyzer now, as its schedule does, and return the run's result."""
        return await self.schedules["dlq-analyzer"].run_now()

    def _start_mappings(self) -> None:
        blueprint, resources, moto = self.blueprint, self.resources, self.moto
        if resources is None or moto is None:
            raise StackStartError("AWS resources are not seeded")
        sqs = moto.client("sqs", blueprint.region)
        for mapping in blueprint.mappings:
            if not mapping.enabled:
                continue
            key = self._key_of(mapping.function_name)
            queue = resources.queues[mapping.queue_name]
            maximum = mapping.maximum_concurrency or self.pools[key].spec.concurrency
            spec = MappingSpec(
                queue.url,
                queue.arn,
                mapping.batch_size,
                mapping.batching_window_s,
                maximum,
                blueprint.region,
                function_response_types=mapping.function_response_types,
            )
            # On AWS the mapping polls, deletes and extends visibility as the function's role.
            role = next(f.role_name for f in blueprint.functions if f.key == key)
            poller = self.iam.client(role, "sqs") if self.iam is not None else sqs
            self.mappings[key] = EventSourceMapping(spec, self.pools[key], poller)
            self.mappings[key].start()
            LOG.info("%s polls %s (batch %d)", mapping.function_name, mapping.queue_name, mapping.batch_size)

    def _start_schedules(self) -> None:
        for schedule in self.blueprint.schedules:
            key = self._key_of(schedule.function_name)
            self.schedules[key] = Schedule(schedule_spec(schedule, self.blueprint.region), self.pools[key])
            self.schedules[key].start()
            LOG.info("%s runs %s (%s)", schedule.rule_name, schedule.function_name, schedule.schedule_expression)

    def _listen(self) -> socket.socket:
        """Bind the API's port now; a port in use is a :class:`StackStartError` naming it."""
        host, port = self.options.host, self.options.port
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind((host, port))
        except OSError as error:
            listener.close()
            if error.errno == errno.EADDRINUSE:
                raise StackStartError(f"port {port} on {host} is already in use; choose another with --port") from None
            raise StackStartError(f"cannot listen on {host}:{port}: {error.strerror}") from None
        return listener

    def api_pool(self) -> FunctionPool:
        """The pool of the one function the API's methods integrate with."""
        functions = {method.function_name for method in self.blueprint.api.methods if method.function_name}
        if len(functions) != 1:
            raise StackStartError(f"the local API front serves one function; the program's methods name {functions}")
        return self.pools[self._key_of(functions.pop())]

    async def _serve_api(self, listener: socket.socket) -> None:
        api_pool = self.api_pool()

        async def invoke(event: bytes) -> InvocationResult:
            return await api_pool.invoke(event)

        api = self.blueprint.api
        names = api.api_keys or ("local",)
        gateway = ApiGateway(
            invoke,
            self.api_key,
            stage=api.stage_name,
            integration_timeout_s=self.options.integration_timeout_s,
            api=api,
            api_keys=dict(zip(self.api_keys, names, strict=True)),
        )
        self._runner = web.AppRunner(gateway.application(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, listener).start()
        host, self.port = listener.getsockname()[:2]
        self.url = f"http://{host}:{self.port}/{gateway.stage}"

    def _write_endpoint(self) -> None:
        """``endpoint.json``: the URL and every key's value, readable by this user only (mode 0600)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        document = {"url": self.url, "api_key": self.api_key, "api_keys": self.api_keys}
        descriptor = os.open(self.endpoint_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # an older file keeps its mode through O_CREAT
        with os.fdopen(descriptor, "w") as handle:
            handle.write(json.dumps(document, indent=2) + "\n")

    async def stop(self) -> None:
        """Stop everything started, in reverse order; safe to call more than once."""
        for schedule in self.schedules.values():
            await schedule.stop()
        self.schedules.clear()
        for mapping in self.mappings.values():
            await mapping.stop()
        self.mappings.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        await asyncio.gather(*(pool.close() for pool in self.pools.values()))
        self.pools.clear()
        if self.iam is not None:
            await asyncio.to_thread(self.iam.close)  # its record of calls stays readable
        if self.options.database is not None and self.database is not None:
            await self.options.database.close()
            self.database = None
        if self.moto is not None:
            await self.moto.stop()
            self.moto = None
        for log in self._logs:
            with contextlib.suppress(OSError):
                log.close()
        self._logs.clear()
        with contextlib.suppress(FileNotFoundError):
            self.endpoint_file.unlink()
