"""Cold start: a fresh execution environment to the first response, through the local Lambda runtime.

Each round creates a new environment (``python -m awslambdaric <handler>`` talking to its own
Runtime API, see ``local.runtime``) and invokes it once with ``GET /orders/{id}`` for an order
that exists, so the first invocation loads the settings from SSM (moto), opens the TLS database
connection and runs the query: everything a first request pays. Every environment runs on the
Lambda runtime's Python (``contract.runtime.LAMBDA_RUNTIME``, from pyenv) with the layer and the
runtime directory the local stack uses (``bench.layout``). The handlers take turns:

- ``orders.handlers.api.handler`` "as packaged": ``function.zip`` as Lambda extracts it, with the
  archive's bytecode and no way to write more (Lambda's code directories are read-only): the
  headline number;
- the same handler "with bytecode": the repository's sources with bytecode cached by an unmeasured
  first run; equal to "as packaged" when the archive's bytecode is used;
- ``bench.handlers.timed_api.handler``: the same import and the same steps, timed one by one, in
  both layouts;
- ``bench.handlers.empty.handler``: the baseline, the runtime alone (as packaged);
- ``bench.handlers.sdk_floor.handler``: the API's required pieces and nothing else (boto3 with the
  SSM client made at init, one GetParameter of a parameter the API reads, psycopg2 and one TLS
  ``verify-full`` connection): the floor any code of the API's sits on, so the target's 250 ms can
  be set against what those pieces alone take in the same run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

from bench.backend import insert_order, running_backend
from bench.events import api_event
from bench.groups import COLD_START, Context
from bench.harness import Figure, Summary, Target, bounded, latency_figure, progress
from bench.layout import lambda_layout
from contract.parameters import Category, parameters_in
from contract.runtime import LAMBDA_RUNTIME
from local.runtime import FunctionPool, FunctionSpec

GROUP = "cold"
TIMED_HANDLER = "bench.handlers.timed_api.handler"
FLOOR_HANDLER = "bench.handlers.sdk_floor.handler"
ABOVE_EMPTY = Target(250, "ms", label="≤ 250 ms above the empty handler")
"""Issue 18's target for the packaged cold start: what the function's own code adds to the runtime's."""
PARTS = {
    "process start + runtime client": ("spawned", "module_start"),
    "import orders.handlers.api": ("module_start", "module_imported"),
    "settings load (SSM, first)": ("invoked", "settings_loaded"),
    "DB connect (TLS, first)": ("settings_loaded", "connected"),
    "first request (route + query)": ("connected", "returned"),
}


class ColdStartError(RuntimeError):
    """A cold invocation did not answer as expected."""


async def cold_invoke(spec: FunctionSpec, event: dict[str, Any]) -> tuple[float, dict[str, float], Any]:
    """One invocation on a brand-new environment: (ms, wall-clock stamps, payload); the process is stopped."""
    pool = FunctionPool(spec)
    try:
        spawned = time.time()
        started = time.perf_counter()
        result = await pool.invoke(event)
        elapsed_ms = (time.perf_counter() - started) * 1000
        answered = time.time()
    finally:
        await pool.close()
    if result.function_error is not None or not result.cold_start:
        raise ColdStartError(f"{spec.handler}: {result.function_error} {result.payload[:600]!r}")
    return elapsed_ms, {"spawned": spawned, "answered": answered}, result.json()


def on_runtime(spec: FunctionSpec, code_paths: tuple[Path, ...], *, read_only: bool) -> FunctionSpec:
    """``spec`` on the Lambda runtime's Python from ``code_paths``; ``read_only``: never writing bytecode."""
    environment = {**spec.environment, "PYTHONDONTWRITEBYTECODE": "1"} if read_only else dict(spec.environment)
    return dataclasses.replace(spec, code_paths=code_paths, runtime=LAMBDA_RUNTIME, environment=environment)


def _floor_spec(api: FunctionSpec, dsn: str) -> FunctionSpec:
    """The API's spec running the floor handler: the API's cursor signing key (a SecureString) and ``dsn``."""
    environment = api.environment
    secret = next(spec for spec in parameters_in(Category.API) if spec.sensitive)
    name = secret.path(environment["PARAMETER_PREFIX"], environment["ENVIRONMENT"])
    floor_environment = {**environment, "FLOOR_PARAMETER": name, "FLOOR_DSN": dsn}
    return dataclasses.replace(api, handler=FLOOR_HANDLER, environment=floor_environment)


def _status(payload: Any) -> int:
    status: int = payload["statusCode"]
    return status


def _split(payload: dict[str, Any], stamps: dict[str, float], into: dict[str, list[float]]) -> None:
    if _status(payload["response"]) != 200:
        raise ColdStartError(f"the timed handler answered {payload['response']}")
    at = {**payload["timings"], **stamps}
    for part, (begin, end) in PARTS.items():
        into.setdefault(part, []).append((at[end] - at[begin]) * 1000)
    handoffs = (at["invoked"] - at["module_imported"]) + (at["answered"] - at["returned"])
    into.setdefault("runtime hand-offs", []).append(handoffs * 1000)


async def run(context: Context) -> list[Figure]:
    rounds = context.pick(5, 2)
    progress(f"cold: laying out function.zip and the layer for {LAMBDA_RUNTIME}")
    layout = await lambda_layout(context.workdir)
    if layout is None:
        raise ColdStartError("build/layer.zip is missing: build it with `nox -s package` (the cold start runs it)")
    async with running_backend(context.workdir) as backend:
        caller = api_event("GET", "/health")["requestContext"]["identity"]["apiKeyId"]  # the bench key's id
        order_id = await asyncio.to_thread(insert_order, backend.master_dsn(), caller)
        handlers = {
            "empty": on_runtime(
                backend.spec("api", handler="bench.handlers.empty.handler"), layout.packaged, read_only=True
            ),
            "api packaged": on_runtime(backend.spec("api"), layout.packaged, read_only=True),
            "api": on_runtime(backend.spec("api"), layout.with_bytecode, read_only=False),
            "floor": on_runtime(
                _floor_spec(backend.spec("api"), backend.master_dsn()), layout.packaged, read_only=True
            ),
            "timed packaged": on_runtime(backend.spec("api", handler=TIMED_HANDLER), layout.packaged, read_only=True),
            "timed": on_runtime(backend.spec("api", handler=TIMED_HANDLER), layout.with_bytecode, read_only=False),
        }
        for name in ("api", "timed"):  # unmeasured: caches the repository sources' bytecode
            await cold_invoke(handlers[name], api_event("GET", f"/orders/{order_id}"))
        totals: dict[str, list[float]] = {name: [] for name in handlers}
        parts: dict[str, list[float]] = {}
        packaged_parts: dict[str, list[float]] = {}
        empty_runtime: list[float] = []
        for index in bounded(rounds, context.pick(150.0, 60.0)):
            progress(f"cold: round {index + 1}/{rounds}")
            for name, spec in handlers.items():
                elapsed, stamps, payload = await cold_invoke(spec, api_event("GET", f"/orders/{order_id}"))
                totals[name].append(elapsed)
                if name.startswith("api") and _status(payload) != 200:
                    raise ColdStartError(f"{name}: GET /orders/{{id}} answered {_status(payload)}: {payload}")
                if name == "empty":
                    empty_runtime.append((payload["timings"]["module_start"] - stamps["spawned"]) * 1000)
                if name.startswith("timed"):
                    _split(payload, stamps, packaged_parts if name.endswith("packaged") else parts)
    floor_above_empty = [floor - empty for floor, empty in zip(totals["floor"], totals["empty"], strict=True)]
    above_empty = [packaged - empty for packaged, empty in zip(totals["api packaged"], totals["empty"], strict=True)]
    medians = {part: Summary.of(samples).p50 for part, samples in packaged_parts.items()}
    figures = [
        latency_figure(
            GROUP,
            "cold start GET /orders/{id}, as packaged",
            totals["api packaged"],
            baseline=("empty handler", totals["empty"]),
            target=COLD_START,
            details={
                "interpreter": layout.python,
                "part_medians_ms": medians,
                "instrumented_total_ms": totals["timed packaged"],
                "empty_handler_process_and_runtime_ms": empty_runtime,
            },
        ),
        latency_figure(GROUP, "  above the empty handler (round by round)", above_empty, target=ABOVE_EMPTY),
        latency_figure(
            GROUP,
            "  floor: SDK + SSM client + GetParameter + psycopg2 + one TLS connect, above the empty handler",
            floor_above_empty,
            target=ABOVE_EMPTY,
            details={"cold_start_ms": totals["floor"]},
        ),
        latency_figure(
            GROUP,
            "cold start, with bytecode (the sources, compiled and cached)",
            totals["api"],
            baseline=("as packaged", totals["api packaged"]),
            details={"instrumented_total_ms": totals["timed"]},
        ),
    ]
    instrumented = ("instrumented total", totals["timed packaged"])
    figures += [
        latency_figure(GROUP, f"  part: {part}", samples, baseline=instrumented)
        for part, samples in packaged_parts.items()
    ]
    figures.append(
        latency_figure(
            GROUP,
            "  part: import orders.handlers.api, with bytecode",
            parts["import orders.handlers.api"],
            baseline=("as packaged", packaged_parts["import orders.handlers.api"]),
        )
    )
    return figures
