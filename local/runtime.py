"""A local Lambda service: the Runtime API, execution environments and a pool of them per function.

Each execution environment is one ``python -m awslambdaric <handler>`` process (AWS's own runtime
interface client, so handler loading, context, error shapes and logging are Lambda's) talking to
its own Runtime API endpoint (``/2018-06-01/runtime/...``) served here. Giving each environment its
own endpoint is how Lambda does it too, and it lets an invocation be tied to the process that runs
it: the process is killed at the function timeout, a crash fails the invocation, and the next
invocation on that environment is a cold start.

A pool holds at most ``concurrency`` environments and prefers the most recently used idle one, so
sequential invocations are warm and concurrent ones spread over separate processes, as on Lambda.
Past the limit a synchronous invocation is throttled (:class:`ThrottledError`); an event source
mapping waits instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Final

from aiohttp import web

from local.functions import FunctionSpec
from local.processes import stop_process

LOG = logging.getLogger(__name__)

RUNTIME_PREFIX: Final = "/2018-06-01/runtime"
INIT_TIMEOUT_S: Final = 10.0  # Lambda's limit on the init phase of an on-demand environment


@dataclass(frozen=True)
class InvocationResult:
    """The outcome of one invocation, as Lambda's Invoke API reports it."""

    request_id: str
    payload: bytes
    function_error: str | None  # None on success; "Unhandled" like Lambda's X-Amz-Function-Error
    cold_start: bool
    environment_id: int
    duration_ms: float

    def json(self) -> object:
        return json.loads(self.payload)


class ThrottledError(Exception):
    """Every execution environment of the function is busy (Lambda's TooManyRequestsException)."""


def error_payload(message: str, error_type: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


@dataclass
class _Pending:
    request_id: str
    payload: bytes
    trace_id: str
    delivered: asyncio.Future[None]
    result: asyncio.Future[tuple[bytes, str | None]]


class ExecutionEnvironment:
    """One runtime process and the Runtime API endpoint it polls."""

    def __init__(self, spec: FunctionSpec, environment_id: int) -> None:
        self.spec = spec
        self.id = environment_id
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._inbox: asyncio.Queue[_Pending] = asyncio.Queue()
        self._current: _Pending | None = None
        self._runner: web.AppRunner | None = None
        self._socket: socket.socket | None = None
        self._log: IO[bytes] | None = None
        self._watcher: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        if self._socket is None:
            raise RuntimeError("the environment's Runtime API is not open")
        host, port = self._socket.getsockname()[:2]
        return f"{host}:{port}"

    async def open(self) -> None:
        """Serve this environment's Runtime API on a loopback port of its own."""
        app = web.Application()
        app.router.add_get(f"{RUNTIME_PREFIX}/invocation/next", self._next)
        app.router.add_post(f"{RUNTIME_PREFIX}/invocation/{{request_id}}/response", self._response)
        app.router.add_post(f"{RUNTIME_PREFIX}/invocation/{{request_id}}/error", self._error)
        app.router.add_post(f"{RUNTIME_PREFIX}/init/error", self._init_error)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, self._socket).start()

    async def close(self) -> None:
        await self._stop_process()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    # -- invocation -----------------------------------------------------------------------------
    async def invoke(self, payload: bytes) -> InvocationResult:
        """Run one invocation to its end: a response, an error, a crash or the timeout."""
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        cold = self.process is None or self.process.returncode is not None
        if cold:
            await self._start_process()
        pending = _Pending(str(uuid.uuid4()), payload, _trace_id(), loop.create_future(), loop.create_future())
        self._current = pending
        self._inbox.put_nowait(pending)
        try:
            body, function_error = await self._run(pending, cold)
        finally:
            self._current = None
            with contextlib.suppress(asyncio.QueueEmpty):
                self._inbox.get_nowait()  # never delivered: do not hand it to the next process
        return InvocationResult(
            request_id=pending.request_id,
            payload=body,
            function_error=function_error,
            cold_start=cold,
            environment_id=self.id,
            duration_ms=(time.monotonic() - started) * 1000,
        )

    async def _run(self, pending: _Pending, cold: bool) -> tuple[bytes, str | None]:
        wait_for_delivery = self.spec.init_timeout_s if cold else INIT_TIMEOUT_S
        waiting: list[asyncio.Future[Any]] = [pending.delivered, pending.result]
        done, _ = await asyncio.wait(waiting, timeout=wait_for_delivery, return_when=asyncio.FIRST_COMPLETED)
        if pending.result.done():
            return pending.result.result()
        if not done:
            await self._stop_process()
            message = f"INIT_REPORT Init Duration: {wait_for_delivery * 1000:.2f} ms Phase: init Status: timeout"
            return error_payload(message, "Runtime.InitTimeout"), "Unhandled"
        try:
            return await asyncio.wait_for(asyncio.shield(pending.result), self.spec.timeout_s)
        except TimeoutError:
            await self._stop_process()
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            message = f"{stamp} {pending.request_id} Task timed out after {self.spec.timeout_s:.2f} seconds"
            return error_payload(message, "Sandbox.Timedout"), "Unhandled"

    # -- the process ----------------------------------------------------------------------------
    def _process_environment(self) -> dict[str, str]:
        spec = self.spec
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}"
        variables = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": self.address,
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(spec.code_paths[0]),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_LOG_LEVEL": "INFO",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "PYTHONPATH": os.pathsep.join(str(path) for path in spec.code_paths),
        }
        variables.update(spec.environment)
        return variables

    async def _start_process(self) -> None:
        spec = self.spec
        self._inbox = asyncio.Queue()  # a fresh inbox: a dead process's pending poll must not take work
        if spec.log_path is not None and self._log is None:
            spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = spec.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            spec.python,
            "-m",
            "awslambdaric",
            spec.handler,
            cwd=spec.code_paths[0],
            env=self._process_environment(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,  # its own process group, so a kill takes its children too
        )
        self.starts += 1
        self._watcher = asyncio.create_task(self._watch(self.process))

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        pending = self._current
        if pending is not None and self.process is process and not pending.result.done():
            message = f"RequestId: {pending.request_id} Error: Runtime exited with error: exit status {code}"
            pending.result.set_result((error_payload(message, "Runtime.ExitError"), "Unhandled"))

    async def _stop_process(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            await stop_process(process, grace_s=0)  # Lambda does not wait for a timed-out runtime
        if self._watcher is not None:
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        if self.process is None and self._log is not None:
            self._log.close()
            self._log = None

    # -- Runtime API handlers -------------------------------------------------------------------
    async def _next(self, _: web.Request) -> web.Response:
        pending = await self._inbox.get()
        deadline_ms = int((time.time() + self.spec.timeout_s) * 1000)
        if not pending.delivered.done():
            pending.delivered.set_result(None)
        headers = {
            "Lambda-Runtime-Aws-Request-Id": pending.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.spec.arn,
            "Lambda-Runtime-Trace-Id": pending.trace_id,
            "Content-Type": "application/json",
        }
        return web.Response(body=pending.payload, headers=headers)

    def _pending(self, request: web.Request) -> _Pending | None:
        pending = self._current
        if pending is None or pending.request_id != request.match_info["request_id"] or pending.result.done():
            return None
        return pending

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.read()
        pending = self._pending(request)
        if pending is None:
            return _invalid_request_id()
        pending.result.set_result((body, None))
        return web.json_response({"status": "OK"}, status=202)

    async def _error(self, request: web.Request) -> web.Response:
        body = await request.read()
        pending = self._pending(request)
        if pending is None:
            return _invalid_request_id()
        pending.result.set_result((body or error_payload("Unknown error", "Unknown"), "Unhandled"))
        return web.json_response({"status": "OK"}, status=202)

    async def _init_error(self, request: web.Request) -> web.Response:
        body = await request.read()
        pending = self._current
        if pending is not None and not pending.result.done():
            pending.result.set_result((body or error_payload("Init error", "Runtime.Unknown"), "Unhandled"))
        return web.json_response({"status": "OK"}, status=202)


def _invalid_request_id() -> web.Response:
    return web.json_response(
        {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"},
        status=400,
    )


class FunctionPool:
    """Up to ``spec.concurrency`` execution environments of one function, created on demand."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.environments: list[ExecutionEnvironment] = []
        self._idle: list[ExecutionEnvironment] = []
        self._released = asyncio.Condition()

    async def invoke(self, payload: bytes | object, *, wait: bool = False) -> InvocationResult:
        """Invoke the function once; with ``wait`` queue for a free environment instead of throttling."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        environment = await self._acquire(wait)
        try:
            return await environment.invoke(data)
        finally:
            async with self._released:
                self._idle.append(environment)  # most recently used last: taken first, so it stays warm
                self._released.notify()

    async def _acquire(self, wait: bool) -> ExecutionEnvironment:
        async with self._released:
            while True:
                if self._idle:
                    return self._idle.pop()
                if len(self.environments) < self.spec.concurrency:
                    environment = ExecutionEnvironment(self.spec, len(self.environments))
                    self.environments.append(environment)
                    break
                if not wait:
                    raise ThrottledError(f"{self.spec.name}: all {self.spec.concurrency} environments are busy")
                await self._released.wait()
        await environment.open()
        return environment

    async def close(self) -> None:
        """Stop every environment's process and Runtime API."""
        await asyncio.gather(*(environment.close() for environment in self.environments))
        self.environments.clear()
        self._idle.clear()
