"""The load curve: latency (p50/p99) and throughput of the local stack against concurrency.

Closed loops of ``c`` clients (each sends its next request when the last is answered) ask
``GET /orders/{id}`` from a separate process over loopback, for each concurrency level up to the largest
this machine holds (:func:`levels`). The API function's reserved concurrency is the largest level, so
Lambda's pool has an environment for every client and never throttles (a throttled invocation is a 500
from API Gateway), and those environments are started before the first level
(:func:`start_environments`), so no level times a cold start; the stage cache is off
(``apiCacheTtlS`` 0) so every request reaches the function.

Three curves, on the same machine one after the other:

- **prod limits**: the stage and usage-plan throttles of Pulumi.prod.yaml (the 10,000 requests a minute
  target is prod's). What exceeds them is answered 429 by the local API front, as API Gateway answers
  it; the 2xx rate is capped by the stage's rate;
- **account limits**: the throttles raised to the account's (10,000 requests per second, burst 5,000):
  what the machine itself serves, and the warm latency the capacity model (``offline.capacity``) takes;
- **stage 50 req/s**: a stage limit (rate and burst 50) below what the machine serves, so the requests
  beyond it show: each is a 429 from the front, never a 500.

Each level reports the 2xx latency (p50, p99 in the table), the 2xx rate, and in ``details`` every status
counted; a summary figure counts the 5xx answers over all levels (expected: none). The stacks' starts,
from ``start()`` to serving, are a figure too (target: serving within 15 s).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from typing import Any

from bench.events import api_event
from bench.groups import ACCOUNT_LIMITS, LOAD_LATENCY, LOCAL_START, PEAK_RATE, Context
from bench.harness import Figure, Target, latency_figure, progress
from bench.processes import run_child
from local.database import ExternalDatabase
from local.postgres import PostgresServer
from local.stack import PROJECT_ROOT, LocalStack, StackOptions
from offline.project import PulumiProject, load_stack_config

GROUP = "load"
ROUTE = "GET /orders/{id}"
API_LIMIT_KEYS = ("apiThrottleRateLimit", "apiThrottleBurstLimit", "apiWriteThrottleRateLimit")
TIGHT_STAGE_RATE = 50
TIGHT_LIMITS = {key: str(TIGHT_STAGE_RATE) for key in API_LIMIT_KEYS}
"""A stage limit below what this machine serves, so what exceeds it shows (as 429s) at every level above 1."""
FULL_LEVELS = (1, 2, 4, 8, 16, 32)
QUICK_LEVELS = (1, 4, 16)
ENVIRONMENT_MEMORY_MB = 150  # an execution environment (runtime client, layer, the handler) with room to spare
COLD_STARTS_AT_ONCE = 2 * (os.cpu_count() or 2)
"""Environments started at once before the levels: about two cold starts per core keep each wave near 2 s."""
NO_SERVER_ERRORS = Target(1, "responses", label="0 (never 5xx)")


def prod_api_limits() -> dict[str, str]:
    """Prod's API throttling settings, as its stack file and the project's defaults give them."""
    project = PulumiProject.load(PROJECT_ROOT)
    values = load_stack_config(project, "prod").values
    return {key: values[f"{project.name}:{key}"] for key in API_LIMIT_KEYS if f"{project.name}:{key}" in values}


def available_memory_mb() -> float:
    """Memory this machine has free for new processes (MemAvailable), or all of it without /proc."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**2


def levels(candidates: tuple[int, ...], memory_mb: float) -> tuple[int, ...]:
    """The concurrency levels whose environments fit in half the free memory (at least the first level)."""
    fitting = tuple(level for level in candidates if level * ENVIRONMENT_MEMORY_MB <= memory_mb / 2)
    return fitting or candidates[:1]


def _slug(curve: str) -> str:
    """A curve's name as a file name (the children's logs and the stacks' state are named after it)."""
    return re.sub(r"[^a-z0-9]+", "-", curve.lower()).strip("-")


def _ok(phase: dict[str, Any]) -> int:
    return sum(count for status, count in phase["statuses"].items() if status.startswith("2"))


def _server_errors(phase: dict[str, Any]) -> int:
    return sum(count for status, count in phase["statuses"].items() if status.startswith("5") or status == "0")


def _details(curve: str, concurrency: int, phase: dict[str, Any], stage: dict[str, str]) -> dict[str, Any]:
    total = sum(phase["statuses"].values())
    return {
        "curve": curve,
        "concurrency": concurrency,
        "stage_limits": stage,
        "requests": total,
        "elapsed_s": round(phase["elapsed_s"], 2),
        "throughput_2xx_req_s": round(_ok(phase) / phase["elapsed_s"], 1),
        "throughput_all_responses_req_s": round(total / phase["elapsed_s"], 1),
        "throttled_429": phase["statuses"].get("429", 0),
        "server_errors_5xx": _server_errors(phase),
        "statuses": phase["statuses"],
    }


def level_figures(
    curve: str,
    concurrency: int,
    phase: dict[str, Any],
    stage: dict[str, str],
    reference: dict[str, Any] | None,
    environments: dict[str, int] | None = None,
) -> list[Figure]:
    """The 2xx latency (against the curve's first level) and the 2xx rate of one concurrency level.

    ``environments`` (how many API environments were started before the levels and how many there were
    at the end) goes into the details: more at the end means some started cold inside the curve.

    The requirement's targets judge only curves whose stage limit admits the peak rate: a curve throttled
    below it on purpose shows the 429s, and its rate and queued latency say nothing about the requirement.
    """
    details = {**_details(curve, concurrency, phase, stage), **({"environments": environments} if environments else {})}
    stage_rate = stage.get("apiThrottleRateLimit")
    judged = stage_rate is None or float(stage_rate) >= PEAK_RATE.limit
    name = f"{curve}, concurrency {concurrency}"
    figures = [
        Figure(
            group=GROUP,
            name=f"{name}: {ROUTE} 2xx/s",
            unit="req/s",
            value=_ok(phase) / phase["elapsed_s"],
            baseline_name="concurrency 1" if reference else None,
            baseline_value=(_ok(reference) / reference["elapsed_s"]) if reference else None,
            target=PEAK_RATE if judged else None,
            details=details,
        )
    ]
    if phase["ok_latencies_ms"]:
        baseline = (
            ("concurrency 1", reference["ok_latencies_ms"]) if reference and reference["ok_latencies_ms"] else None
        )
        figures.append(
            latency_figure(
                GROUP,
                f"{name}: latency of 2xx",
                phase["ok_latencies_ms"],
                baseline=baseline,
                target=LOAD_LATENCY if judged else None,
                details=details,
            )
        )
    return figures


async def _curve(
    context: Context, server: PostgresServer, curve: str, stage: dict[str, str], concurrency: tuple[int, ...]
) -> tuple[list[Figure], int, float]:
    """One stack, every level in turn: (figures, 5xx answers, seconds to start)."""
    stack = LocalStack(
        StackOptions(
            port=0,
            database=ExternalDatabase(server.endpoint().url()),
            state_dir=context.workdir / f"stack-{_slug(curve)}",
            overrides={**stage, "reservedConcurrency": max(concurrency), "apiCacheTtlS": 0},
        )
    )
    duration = context.pick(6.0, 2.5)
    phases: list[dict[str, Any]] = []
    for level in concurrency:
        # Unmeasured first: it starts the environments this level adds (their cold starts are not load).
        phases.append({"name": f"warm-up {level}", "route": ROUTE, "concurrency": level, "duration_s": 1.0})
        phases.append({"name": f"level {level}", "route": ROUTE, "concurrency": level, "duration_s": duration})
    try:
        started = time.perf_counter()
        await stack.start()
        start_s = time.perf_counter() - started
        await start_environments(stack, max(concurrency))
        progress(f"load: {curve}: concurrency {', '.join(map(str, concurrency))}")
        result: dict[str, Any] = await run_child(
            "bench.loadgen",
            {
                "mode": "load",
                "url": stack.url,
                "api_key": stack.api_key,
                "phases": phases,
                "seed_orders": 50,
                "max_requests": 200_000,
                "request_timeout_s": 30,
            },
            workdir=context.workdir,
            name=f"load-{_slug(curve)}",
            timeout_s=sum(phase["duration_s"] for phase in phases) + 180,
        )
        environments = {"started_before_the_levels": max(concurrency), "at_the_end": len(stack.api_pool().environments)}
    finally:
        await stack.stop()
    figures: list[Figure] = []
    errors = 0
    reference = None
    for level in concurrency:
        phase = result["phases"][f"level {level}"]
        figures += level_figures(curve, level, phase, stage, reference, environments)
        reference = reference or phase
        errors += _server_errors(phase)
    return figures, errors, start_s


async def start_environments(stack: LocalStack, count: int) -> None:
    """``count`` API environments started, and so warm, before any level: their cold starts are not load.

    The function's pool is invoked directly with ``GET /health``, not through the front: there the
    stage's throttle would answer most requests 429 (prod's limits, the 50 req/s stage) and leave
    environments to start cold inside a measured level, where on two cores busy with a stream of 429s
    a cold start takes seconds. Lambda starts environments on hosts of their own. The environments
    start a few at a time (:data:`COLD_STARTS_AT_ONCE`): each wave invokes as many at once as the pool
    is to hold after it, so the warm ones answer their share and only the rest start cold, and a wave
    of cold starts stays within the 10 s init limit the local runtime keeps.
    """
    pool = stack.api_pool()
    event = api_event("GET", "/health")
    for size in range(COLD_STARTS_AT_ONCE, count + COLD_STARTS_AT_ONCE, COLD_STARTS_AT_ONCE):
        results = await asyncio.gather(*(pool.invoke(event) for _ in range(min(size, count))))
        failed = [result for result in results if result.function_error is not None]
        if failed:
            raise RuntimeError(f"starting API environments: {failed[0].function_error} {failed[0].payload[:300]!r}")


async def run(context: Context) -> list[Figure]:
    concurrency = levels(context.pick(FULL_LEVELS, QUICK_LEVELS), available_memory_mb())
    server = await asyncio.to_thread(PostgresServer, database="orders")
    figures: list[Figure] = []
    errors: dict[str, int] = {}
    starts: list[float] = []
    try:
        await asyncio.to_thread(server.start)
        curves = (
            ("prod limits", prod_api_limits()),
            ("account limits", ACCOUNT_LIMITS),
            (f"stage {TIGHT_STAGE_RATE} req/s", TIGHT_LIMITS),
        )
        for curve, stage in curves:
            found, errors[curve], start_s = await _curve(context, server, curve, stage, concurrency)
            figures += found
            starts.append(start_s)
    finally:
        await asyncio.to_thread(server.close)
    figures.append(
        Figure(
            group=GROUP,
            name="5xx or unanswered over every level (throttling is 429)",
            unit="responses",
            value=float(sum(errors.values())),
            target=NO_SERVER_ERRORS,
            details={"by_curve": errors, "levels": list(concurrency)},
        )
    )
    figures.append(
        latency_figure(
            GROUP,
            "local stack start, program materialized to serving",
            starts,
            unit="s",
            target=LOCAL_START,
            details={"note": "the first start also lays out the archives for the runtime (cached after)"},
        )
    )
    return figures
