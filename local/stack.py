"""The whole system on this machine: moto, the database, the functions, the queue's mapping, the API.

Start order follows the deployment's: AWS resources (keys, parameters, queues, secret), the
database, the functions, then the migrator is invoked once (through the local Lambda runtime, as
the program's ``aws.lambda_.Invocation`` does) before traffic is let in. The worker is fed by an
event source mapping on the orders queue; the dead-letter queue has none: the DLQ analyzer runs on
a schedule, as the program's EventBridge rule runs it, and only peeks at the dead letters.
``stop`` undoes it all in reverse and leaves no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from aiohttp import web

from contract.naming import resource_name
from local import settings as settings_module
from local.aws import MotoServer, SeededResources, client_environment, seed
from local.database import DatabaseEndpoint, DatabaseStep
from local.event_source import EventSourceMapping, MappingSpec
from local.functions import function_specs
from local.gateway import ApiGateway
from local.runtime import FunctionPool, InvocationResult
from local.scheduler import Schedule, ScheduleSpec

LOG = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DLQ_ANALYZER_RATE_S = 300.0  # the program's schedule rule for the analyzer: rate(5 minutes)


class StackStartError(RuntimeError):
    """The stack could not start; everything it had started is stopped again."""


@dataclass
class StackOptions:
    """How to run the stack. Defaults: the dev stack's configuration, ``function/`` code, port 8000."""

    project_root: Path = PROJECT_ROOT
    stack: str = "dev"
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    overrides: Mapping[str, str | int] = field(default_factory=dict)
    database: DatabaseStep | None = None  # None: no database (the data routes fail, health does not)
    code_paths: tuple[Path, ...] | None = None  # default: function/ then the repository root
    handlers: Mapping[str, str] | None = None  # workload key -> handler, to run other code
    state_dir: Path | None = None  # default: <project_root>/.local
    api_key: str | None = None
    migrate: bool = True
    integration_timeout_s: float = 29.0


class LocalStack:
    """Start with :meth:`start`, stop with :meth:`stop` (or use ``async with``)."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.settings = settings_module.load(options.project_root, options.stack, options.overrides)
        self.state_dir = options.state_dir or options.project_root / ".local"
        self.api_key = options.api_key or secrets.token_urlsafe(30)
        self.moto: MotoServer | None = None
        self.resources: SeededResources | None = None
        self.database: DatabaseEndpoint | None = None
        self.pools: dict[str, FunctionPool] = {}
        self.mappings: dict[str, EventSourceMapping] = {}
        self.schedules: dict[str, Schedule] = {}
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._logs: list[IO[bytes]] = []

    async def __aenter__(self) -> LocalStack:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

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
        options, settings = self.options, self.settings
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
        self.resources = await asyncio.to_thread(seed, self.moto, settings, self.database)
        LOG.info(
            "seeded the %s parameter hierarchy, KMS keys, queue and dead-letter queue",
            f"/{settings.parameter_prefix}/{settings.environment}/",
        )
        code_paths = options.code_paths or (options.project_root / "function", options.project_root)
        platform = client_environment(self.moto, settings.region)
        if self.database is not None:
            platform.update(self.database.function_environment())
        specs = function_specs(
            settings,
            code_paths=code_paths,
            queue_url=self.resources.queue.url,
            master_secret_arn=self.resources.master_secret_arn,
            platform_environment=platform,
            dead_letter_queue_url=self.resources.dead_letter_queue.url,
            log_dir=logs,
            handlers=options.handlers,
        )
        self.pools = {key: FunctionPool(spec) for key, spec in specs.items()}
        if options.migrate and self.database is not None:
            LOG.info("invoking the migrator")
            result = await self.migrate()
            LOG.info("migrations applied: %s", result.payload.decode(errors="replace"))
        self._start_mappings()
        self._start_schedules()
        LOG.info(
            "the worker's event source mapping polls the queue; the DLQ analyzer runs every %.0f s",
            DLQ_ANALYZER_RATE_S,
        )
        await self._serve_api()
        LOG.info("API front ready at %s (logs in %s)", self.url, logs)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.endpoint_file.write_text(json.dumps({"url": self.url, "api_key": self.api_key}, indent=2) + "\n")

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
        settings, resources, moto = self.settings, self.resources, self.moto
        if resources is None or moto is None:
            raise StackStartError("AWS resources are not seeded")
        sqs = moto.client("sqs", settings.region)
        sources = {
            "worker": MappingSpec(
                resources.queue.url,
                resources.queue.arn,
                settings.worker_batch_size,
                settings.worker_batching_window_s,
                settings.worker_max_concurrency,
                settings.region,
            ),
        }
        for key, spec in sources.items():
            self.mappings[key] = EventSourceMapping(spec, self.pools[key], sqs)
            self.mappings[key].start()

    def _start_schedules(self) -> None:
        settings = self.settings
        rule = ScheduleSpec(
            resource_name(settings.environment, "rule", "dlq-analyzer"), DLQ_ANALYZER_RATE_S, settings.region
        )
        self.schedules["dlq-analyzer"] = Schedule(rule, self.pools["dlq-analyzer"])
        self.schedules["dlq-analyzer"].start()

    async def _serve_api(self) -> None:
        api_pool = self.pools["api"]

        async def invoke(event: bytes) -> InvocationResult:
            return await api_pool.invoke(event)

        gateway = ApiGateway(invoke, self.api_key, integration_timeout_s=self.options.integration_timeout_s)
        self._runner = web.AppRunner(gateway.application(), access_log=None)
        await self._runner.setup()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.options.host, self.options.port))
        await web.SockSite(self._runner, listener).start()
        host, port = listener.getsockname()[:2]
        self.url = f"http://{host}:{port}/{gateway.stage}"

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
        await asyncio.gather(*(pool.close() for pool in self.pools.values()))
        self.pools.clear()
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
