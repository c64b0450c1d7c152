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

Lambda's limits, as its documentation states them:

- Payloads: 6 MB (6,291,456 bytes) each for a synchronous request and its response
  (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, "Invocation payload
  (request and response)"; https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). A larger
  request is refused before any environment is touched (:class:`RequestTooLargeError`, Lambda's
  ``RequestEntityTooLargeException``, HTTP 413); a larger response posted to the Runtime API's
  ``/runtime/invocation/{id}/response`` (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
  is refused with 413 and the invocation fails with ``Function.ResponseSizeTooLarge``, whose message
  is the one Lambda returns ("Response payload size (N bytes) exceeded maximum allowed payload
  size (...)"; Lambda prints 6291556 there, we print the documented 6,291,456).
- Init: an on-demand environment's init phase is limited to 10 seconds; when it does not finish in
  time, "Lambda retries the Init phase at the time of the first function invocation with the
  configured function timeout" (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html,
  "Init phase"). So a slow init is not an error by itself: the process is restarted and the
  retried init plus the handler get the function's timeout, after which the invocation times out.
- Runtime: a function with ``runtime="python3.12"`` runs under Python 3.12 with awslambdaric and the
  AWS SDK from a runtime directory built for it (``local.interpreters``), as Lambda's managed
  runtime provides them; without one it runs on the tooling's Python, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import secrets
import socket
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from local import interpreters
from local.processes import stop_process

if TYPE_CHECKING:
    from aiohttp import web

LOG = logging.getLogger(__name__)

ACCOUNT_ID: Final = "123456789012"
RUNTIME_PREFIX: Final = "/2018-06-01/runtime"
INIT_TIMEOUT_S: Final = 10.0  # Lambda's limit on the init phase of an on-demand environment
PAYLOAD_LIMIT_BYTES: Final = 6 * 1024 * 1024  # synchronous invocation request and response: 6 MB each


@dataclass(frozen=True)
class FunctionSpec:
    """What Lambda knows about a function: its code, handler, runtime, limits and environment variables."""

    name: str
    handler: str
    timeout_s: float
    memory_mb: int
    concurrency: int
    code_paths: tuple[Path, ...]  # the import path, task root first (see local.interpreters.PackagedCode)
    environment: Mapping[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    python: str = sys.executable  # the interpreter when ``runtime`` is None
    init_timeout_s: float = INIT_TIMEOUT_S  # Lambda's limit on an on-demand environment's init phase
    log_path: Path | None = None  # where the environments' stdout/stderr go; None inherits ours
    runtime: str | None = None  # "python3.12": run on that Python (never a fallback); None: ``python``
    alias: str | None = None  # the alias invocations go through, as the program declares it

    @property
    def arn(self) -> str:
        """The ARN Lambda hands the runtime: qualified by the alias when invoked through one."""
        base = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}"
        return f"{base}:{self.alias}" if self.alias else base


@functools.cache
def interpreter_for(runtime: str) -> str:
    """The Python that runs ``runtime``, looked up once per process; raises when it is not installed."""
    return interpreters.resolve_interpreter(runtime)


@dataclass(frozen=True)
class InvocationResult:
    """The outcome of one invocation, as Lambda's Invoke API reports it."""

    request_id: str
    payload: bytes
    function_error: str | None  # None on success; "Unhandled" like Lambda's X-Amz-Function-Error
    cold_start: bool
    environment_id: int
    duration_ms: float
    init_retried: bool = False  # the init overran its 10 s and was run again within the invocation

    def json(self) -> object:
        return json.loads(self.payload)


class ThrottledError(Exception):
    """Every execution environment of the function is busy (Lambda's TooManyRequestsException)."""


class RequestTooLargeError(Exception):
    """The invocation's request payload is over 6 MB: Lambda's RequestEntityTooLargeException (HTTP 413)."""

    error_type: Final = "RequestEntityTooLargeException"
    status: Final = 413


def check_request_size(payload: bytes) -> None:
    """Refuse a synchronous invocation whose payload Lambda would refuse, with Lambda's message."""
    if len(payload) > PAYLOAD_LIMIT_BYTES:
        raise RequestTooLargeError(
            f"Request must be smaller than {PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation"
        )


def response_too_large(size: int) -> bytes:
    """The error an invocation ends with when the function's response is over 6 MB."""
    message = (
        f"Response payload size ({size} bytes) exceeded maximum allowed payload size ({PAYLOAD_LIMIT_BYTES} bytes)."
    )
    return error_payload(message, "Function.ResponseSizeTooLarge")


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
    """One runtime process and the Runtime API endpoint it polls.

    The Runtime API's rules live in :meth:`next_invocation`, :meth:`accept_response`,
    :meth:`accept_error` and :meth:`accept_init_error`; :meth:`open` only binds them to HTTP.
    """

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
        self._reset = False  # the last invocation left the runtime unusable: the next one starts afresh

    @property
    def address(self) -> str:
        if self._socket is None:
            raise RuntimeError("the environment's Runtime API is not open")
        host, port = self._socket.getsockname()[:2]
        return f"{host}:{port}"

    async def open(self) -> None:
        """Serve this environment's Runtime API on a loopback port of its own."""
        from aiohttp import web  # only serving needs it: the rules are importable without it (unit tests)

        async def next_invocation(_: web.Request) -> web.Response:
            headers, body = await self.next_invocation()
            return web.Response(body=body, headers=headers)

        async def response(request: web.Request) -> web.Response:
            body, size = await _read_capped(request, PAYLOAD_LIMIT_BYTES)
            status, answer = self.accept_response(request.match_info["request_id"], body, size)
            return web.json_response(answer, status=status)

        async def error(request: web.Request) -> web.Response:
            body, _ = await _read_capped(request, PAYLOAD_LIMIT_BYTES)
            status, answer = self.accept_error(request.match_info["request_id"], body or b"")
            return web.json_response(answer, status=status)

        async def init_error(request: web.Request) -> web.Response:
            body, _ = await _read_capped(request, PAYLOAD_LIMIT_BYTES)
            status, answer = self.accept_init_error(body or b"")
            return web.json_response(answer, status=status)

        app = web.Application()
        app.router.add_get(f"{RUNTIME_PREFIX}/invocation/next", next_invocation)
        app.router.add_post(f"{RUNTIME_PREFIX}/invocation/{{request_id}}/response", response)
        app.router.add_post(f"{RUNTIME_PREFIX}/invocation/{{request_id}}/error", error)
        app.router.add_post(f"{RUNTIME_PREFIX}/init/error", init_error)
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
        cold = self._reset or self.process is None or self.process.returncode is not None
        if cold:
            await self._stop_process()
            self._reset = False
            await self._start_process()
        pending = _Pending(str(uuid.uuid4()), payload, _trace_id(), loop.create_future(), loop.create_future())
        self._current = pending
        self._inbox.put_nowait(pending)
        try:
            body, function_error, init_retried = await self._run(pending, cold)
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
            init_retried=init_retried,
        )

    async def _run(self, pending: _Pending, cold: bool) -> tuple[bytes, str | None, bool]:
        """Wait for the runtime to take the invocation, then for its outcome, as Lambda bounds each.

        A cold environment's init gets ``init_timeout_s``. When it overruns, the runtime is started
        again and its retried init and the handler together get the function's timeout.
        """
        if await self._delivered(pending, self.spec.init_timeout_s if cold else INIT_TIMEOUT_S):
            return (*await self._outcome(pending, self.spec.timeout_s), False)
        if pending.result.done():  # an init error or a crash before the runtime asked for work
            return (*pending.result.result(), False)
        await self._stop_process()
        if not cold:
            message = f"RequestId: {pending.request_id} Error: the runtime did not ask for the invocation"
            return error_payload(message, "Runtime.Unknown"), "Unhandled", False
        LOG.info(
            "%s: init exceeded %.1f s; retrying it within the invocation", self.spec.name, self.spec.init_timeout_s
        )
        deadline = time.monotonic() + self.spec.timeout_s
        await self._start_process()
        self._inbox.put_nowait(pending)
        if not await self._delivered(pending, self.spec.timeout_s) and not pending.result.done():
            await self._stop_process()
            return (*self._timed_out(pending), True)
        return (*await self._outcome(pending, max(0.0, deadline - time.monotonic())), True)

    async def _delivered(self, pending: _Pending, timeout_s: float) -> bool:
        """Whether the runtime took ``pending`` within ``timeout_s`` (False also when it failed first)."""
        waiting: list[asyncio.Future[Any]] = [pending.delivered, pending.result]
        await asyncio.wait(waiting, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        return pending.delivered.done()

    async def _outcome(self, pending: _Pending, timeout_s: float) -> tuple[bytes, str | None]:
        try:
            return await asyncio.wait_for(asyncio.shield(pending.result), timeout_s)
        except TimeoutError:
            await self._stop_process()
            return self._timed_out(pending)

    def _timed_out(self, pending: _Pending) -> tuple[bytes, str | None]:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        message = f"{stamp} {pending.request_id} Task timed out after {self.spec.timeout_s:.2f} seconds"
        return error_payload(message, "Sandbox.Timedout"), "Unhandled"

    # -- the process ----------------------------------------------------------------------------
    def _process_environment(self, runtime_dir: Path | None) -> dict[str, str]:
        spec = self.spec
        if spec.runtime is not None:
            major, minor = interpreters.runtime_version(spec.runtime)
        else:
            major, minor = sys.version_info.major, sys.version_info.minor
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}"
        import_path = [str(path) for path in spec.code_paths]
        if runtime_dir is not None:
            import_path.append(str(runtime_dir))  # /var/runtime: after the task root and the layers
        variables = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": self.address,
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(spec.code_paths[0]),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{major}.{minor}",
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
            "PYTHONPATH": os.pathsep.join(import_path),
        }
        if runtime_dir is not None:
            variables["LAMBDA_RUNTIME_DIR"] = str(runtime_dir)
        variables.update(spec.environment)
        return variables

    async def _start_process(self) -> None:
        spec = self.spec
        self._inbox = asyncio.Queue()  # a fresh inbox: a dead process's pending poll must not take work
        if spec.runtime is not None:
            python = interpreter_for(spec.runtime)
            runtime_dir: Path | None = await interpreters.prepared_runtime_dir(spec.runtime)
        else:
            python, runtime_dir = spec.python, None
        if spec.log_path is not None and self._log is None:
            spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = spec.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            python,
            "-m",
            "awslambdaric",
            spec.handler,
            cwd=spec.code_paths[0],
            env=self._process_environment(runtime_dir),
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

    # -- the Runtime API's rules ----------------------------------------------------------------
    async def next_invocation(self) -> tuple[dict[str, str], bytes]:
        """``GET /runtime/invocation/next``: wait for work; the headers carry its context."""
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
        return headers, pending.payload

    def _pending(self, request_id: str) -> _Pending | None:
        pending = self._current
        if pending is None or pending.request_id != request_id or pending.result.done():
            return None
        return pending

    def accept_response(self, request_id: str, body: bytes | None, size: int) -> tuple[int, dict[str, str]]:
        """``POST /runtime/invocation/{id}/response``; ``body`` None when its ``size`` is over the limit.

        An oversize response fails the invocation with ``Function.ResponseSizeTooLarge`` and the
        runtime is told 413, as Lambda does; awslambdaric exits on that answer, so the environment
        is started afresh for the next invocation rather than handed a dying process.
        """
        pending = self._pending(request_id)
        if pending is None:
            return _INVALID_REQUEST_ID
        if body is None or size > PAYLOAD_LIMIT_BYTES:
            self._reset = True
            pending.result.set_result((response_too_large(size), "Unhandled"))
            return 413, json.loads(response_too_large(size))
        pending.result.set_result((body, None))
        return _ACCEPTED

    def accept_error(self, request_id: str, body: bytes) -> tuple[int, dict[str, str]]:
        """``POST /runtime/invocation/{id}/error``: the handler failed; its error is the result."""
        pending = self._pending(request_id)
        if pending is None:
            return _INVALID_REQUEST_ID
        pending.result.set_result((body or error_payload("Unknown error", "Unknown"), "Unhandled"))
        return _ACCEPTED

    def accept_init_error(self, body: bytes) -> tuple[int, dict[str, str]]:
        """``POST /runtime/init/error``: the init failed; the invocation waiting for it fails with it."""
        pending = self._current
        if pending is not None and not pending.result.done():
            pending.result.set_result((body or error_payload("Init error", "Runtime.Unknown"), "Unhandled"))
        return _ACCEPTED


_ACCEPTED: Final = (202, {"status": "OK"})
_INVALID_REQUEST_ID: Final = (400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})


async def _read_capped(request: web.Request, limit: int) -> tuple[bytes | None, int]:
    """The body and its size; None for the body once it is over ``limit`` (the rest is read and dropped)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        else:
            chunks.clear()
    return (b"".join(chunks) if size <= limit else None), size


class FunctionPool:
    """Up to ``spec.concurrency`` execution environments of one function, created on demand."""

    def __init__(self, spec: FunctionSpec) -> None:
        if spec.runtime is not None:
            interpreter_for(spec.runtime)  # a missing interpreter is an error now, not at the first invoke
        self.spec = spec
        self.environments: list[ExecutionEnvironment] = []
        self._idle: list[ExecutionEnvironment] = []
        self._released = asyncio.Condition()

    async def prepare(self) -> None:
        """Build the runtime directory now (the first cold start would otherwise wait for it)."""
        if self.spec.runtime is not None:
            await interpreters.prepared_runtime_dir(self.spec.runtime)

    async def invoke(self, payload: bytes | object, *, wait: bool = False) -> InvocationResult:
        """Invoke the function once; with ``wait`` queue for a free environment instead of throttling.

        Raises :class:`RequestTooLargeError` for a payload over 6 MB, as Lambda's Invoke does.
        """
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        check_request_size(data)
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
