"""Cold start: a fresh execution environment to the first response, through the local Lambda runtime.

Each round creates a new environment (``python -m awslambdaric <handler>`` talking to its own
Runtime API, see ``local.runtime``) and invokes it once with ``GET /orders/{id}`` for an order
that exists, so the first invocation loads the settings from SSM (moto), opens the TLS database
connection and runs the query: everything a first request pays. The handlers take turns:

- ``orders.handlers.api.handler``: the shipped handler, the headline number;
- ``bench.handlers.timed_api.handler``: the same import and the same steps, timed one by one;
- ``bench.handlers.empty.handler``: the baseline, the runtime alone;
- the first two again "as packaged": the function code and the layer's libraries laid out as
  ``offline.package`` ships them, as sources without bytecode (``.pyc``), in read-only places
  Python cannot cache bytecode in (``/var/task``, ``/opt`` on Lambda): every cold start compiles
  them. The runtime's own libraries (boto3, botocore) keep their bytecode, as Lambda's do.

The function processes run the layer's interpreter (see ``Context.function_python``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.backend import insert_order, running_backend
from bench.events import api_event
from bench.groups import COLD_START, Context
from bench.harness import Figure, Summary, bounded, latency_figure, progress
from bench.processes import PROJECT_ROOT, run_timed
from local.runtime import FunctionPool, FunctionSpec
from offline.package import REQUIREMENTS, RUNTIME_PROVIDED

GROUP = "cold"
TIMED_HANDLER = "bench.handlers.timed_api.handler"
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


async def packaged_code_paths(workdir: Path, python: str) -> tuple[Path, Path] | None:
    """``/var/task`` and ``/opt/python`` as the archives lay them out: sources only, no bytecode.

    The layer's libraries are installed for this interpreter (Lambda's are for arm64 Python 3.12,
    which cannot run here) with the runtime-provided ones removed, as ``offline.package`` does.
    None when uv is not available to install them.
    """
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        return None
    task, layer = workdir / "task", workdir / "opt-python"
    no_bytecode = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PROJECT_ROOT / "contract", task / "contract", ignore=no_bytecode)
    shutil.copytree(PROJECT_ROOT / "function" / "orders", task / "orders", ignore=no_bytecode)
    shutil.copytree(PROJECT_ROOT / "bench" / "handlers", task / "bench" / "handlers", ignore=no_bytecode)
    shutil.copyfile(PROJECT_ROOT / "bench" / "__init__.py", task / "bench" / "__init__.py")
    command = [
        uv, "pip", "install", "--quiet", "--no-compile-bytecode", "--python", python, "--target", str(layer),
        "-c", str(PROJECT_ROOT / "constraints.txt"), "-r", str(PROJECT_ROOT / REQUIREMENTS),
    ]  # fmt: skip
    # The caller's environment: registry and certificate settings apply to the install, as in the nox session.
    code, _, err = await run_timed(command, environment=dict(os.environ), timeout_s=300)
    if code != 0:
        raise ColdStartError(f"installing the layer's libraries failed: {err[-800:]}")
    for name in RUNTIME_PROVIDED:
        for path in layer.glob(f"{name}*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return task, layer


def as_packaged(spec: FunctionSpec, code_paths: tuple[Path, Path]) -> FunctionSpec:
    """``spec`` running from the packaged layout, never writing bytecode (Lambda's code is read-only)."""
    return dataclasses.replace(
        spec, code_paths=code_paths, environment={**spec.environment, "PYTHONDONTWRITEBYTECODE": "1"}
    )


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
    python = context.function_python
    progress("cold: laying out the function and layer as packaged (sources only)")
    packaged = await packaged_code_paths(context.workdir, python)
    async with running_backend(context.workdir) as backend:
        order_id = await asyncio.to_thread(insert_order, backend.master_dsn())
        handlers = {
            "empty": backend.spec("api", handler="bench.handlers.empty.handler", python=python),
            "api": backend.spec("api", python=python),
            "timed": backend.spec("api", handler=TIMED_HANDLER, python=python),
        }
        if packaged is not None:
            handlers["api packaged"] = as_packaged(handlers["api"], packaged)
            handlers["timed packaged"] = as_packaged(handlers["timed"], packaged)
        await cold_invoke(handlers["api"], api_event("GET", f"/orders/{order_id}"))  # unmeasured: caches bytecode
        totals: dict[str, list[float]] = {name: [] for name in handlers}
        parts: dict[str, list[float]] = {}
        packaged_parts: dict[str, list[float]] = {}
        empty_runtime: list[float] = []
        for index in bounded(rounds, context.pick(150.0, 50.0)):
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
    figures = [
        latency_figure(
            GROUP,
            "cold start GET /orders/{id}",
            totals["api"],
            baseline=("empty handler", totals["empty"]),
            target=COLD_START,
            details={
                "interpreter": python,
                "instrumented_total_ms": totals["timed"],
                "empty_handler_process_and_runtime_ms": empty_runtime,
            },
        )
    ]
    instrumented = ("instrumented total", totals["timed"])
    figures += [
        latency_figure(GROUP, f"  part: {part}", samples, baseline=instrumented) for part, samples in parts.items()
    ]
    if packaged is not None:
        medians = {part: Summary.of(samples).p50 for part, samples in packaged_parts.items()}
        figures += [
            latency_figure(
                GROUP,
                "cold start, as packaged (no bytecode)",
                totals["api packaged"],
                baseline=("with bytecode", totals["api"]),
                target=COLD_START,
                details={"part_medians_ms": medians, "instrumented_total_ms": totals["timed packaged"]},
            ),
            latency_figure(
                GROUP,
                "  part: import orders.handlers.api, as packaged",
                packaged_parts["import orders.handlers.api"],
                baseline=("with bytecode", parts["import orders.handlers.api"]),
            ),
            latency_figure(
                GROUP,
                "  part: settings load (SSM, first), as packaged",
                packaged_parts["settings load (SSM, first)"],
                baseline=("with bytecode", parts["settings load (SSM, first)"]),
            ),
        ]
    return figures
