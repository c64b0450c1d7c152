"""The local stack under concurrent load, with 1, 2 and 4 execution environments for the API.

The number of environments is the API function's reserved concurrency, set through
``StackOptions.overrides`` (``reservedConcurrency``), which the program turns into Lambda's limit and
the local stack, reading the program (``local.materialize``), into the pool's. Closed loops of clients (each sends its
next request when the last is answered) ask ``GET /orders/{id}`` from a separate process over
loopback, in phases on the same warm environments:

- capacity: as many clients as environments, so nothing is throttled: what n environments serve,
  compared with one environment (the scaling);
- overload: 200 clients (a full run). Requests beyond the free environments are throttled, as
  Lambda throttles them, and API Gateway answers 500: they count as errors. Its baseline is
  GET /health (no dependency) under the same overload right after.

The local API front throttles as API Gateway does, with the program's stage and usage-plan limits;
the 10,000 requests a minute target is prod's, so the stacks here take prod's API limits (read from
Pulumi.prod.yaml) on dev's otherwise. Each stack's start, from ``start()`` to serving, is a figure
too (target: serving within 15 s).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.groups import LOAD_LATENCY, LOCAL_START, PEAK_RATE, Context
from bench.harness import Figure, latency_figure, progress
from bench.processes import run_child
from local.database import ExternalDatabase
from local.postgres import PostgresServer
from local.stack import PROJECT_ROOT, LocalStack, StackOptions
from offline.project import PulumiProject, load_stack_config

API_LIMIT_KEYS = ("apiThrottleRateLimit", "apiThrottleBurstLimit", "apiWriteThrottleRateLimit")


def prod_api_limits() -> dict[str, str]:
    """Prod's API throttling settings, as its stack file and the project's defaults give them."""
    project = PulumiProject.load(PROJECT_ROOT)
    values = load_stack_config(project, "prod").values
    return {key: values[f"{project.name}:{key}"] for key in API_LIMIT_KEYS if f"{project.name}:{key}" in values}


GROUP = "load"
ROUTE = "GET /orders/{id}"
BASELINE_ROUTE = "GET /health"


def _ok(phase: dict[str, Any]) -> int:
    return sum(count for status, count in phase["statuses"].items() if status.startswith("2"))


def _goodput(phase: dict[str, Any]) -> float:
    return _ok(phase) / float(phase["elapsed_s"])


def _error_rate(phase: dict[str, Any]) -> float:
    total = sum(phase["statuses"].values())
    return 100 * (total - _ok(phase)) / total if total else 0.0


def _details(phase: dict[str, Any], environments: int, clients: int) -> dict[str, Any]:
    total = sum(phase["statuses"].values())
    return {
        "environments": environments,
        "clients": clients,
        "requests": total,
        "elapsed_s": round(phase["elapsed_s"], 2),
        "throughput_all_responses_req_s": round(total / phase["elapsed_s"], 1),
        "statuses": phase["statuses"],
    }


def _latency(name: str, phase: dict[str, Any], baseline: tuple[str, dict[str, Any]], **extra: Any) -> list[Figure]:
    """The latency of the answered (2xx) requests; nothing when none or none of the baseline's succeeded."""
    if not phase["ok_latencies_ms"] or not baseline[1]["ok_latencies_ms"]:
        return []
    return [
        latency_figure(
            GROUP, name, phase["ok_latencies_ms"], baseline=(baseline[0], baseline[1]["ok_latencies_ms"]), **extra
        )
    ]


def _figures(environments: int, clients: int, phases: dict[str, Any], reference: dict[str, Any]) -> list[Figure]:
    """Capacity (as many clients as environments) against the 1-environment run; overload against /health."""
    capacity, overload, health = phases["capacity"], phases["overload"], phases["baseline"]
    at_capacity = f"{environments} env, {environments} client{'s' if environments > 1 else ''}"
    overloaded = f"{environments} env, {clients} clients"
    return [
        Figure(
            group=GROUP,
            name=f"{at_capacity}: {ROUTE} 2xx/s",
            unit="req/s",
            value=_goodput(capacity),
            baseline_name="1 env",
            baseline_value=_goodput(reference),
            target=PEAK_RATE,
            details=_details(capacity, environments, environments),
        ),
        *_latency(f"{at_capacity}: latency", capacity, ("1 env", reference), target=LOAD_LATENCY),
        Figure(
            group=GROUP,
            name=f"{overloaded}: {ROUTE} 2xx/s",
            unit="req/s",
            value=_goodput(overload),
            baseline_name=BASELINE_ROUTE,
            baseline_value=_goodput(health),
            target=PEAK_RATE,
            details={**_details(overload, environments, clients), "baseline": _details(health, environments, clients)},
        ),
        *_latency(f"{overloaded}: latency of 2xx", overload, (BASELINE_ROUTE, health), target=LOAD_LATENCY),
        Figure(
            group=GROUP,
            name=f"{overloaded}: error rate (throttled)",
            unit="%",
            value=_error_rate(overload),
            baseline_name=BASELINE_ROUTE,
            baseline_value=_error_rate(health),
        ),
    ]


async def _measure(context: Context, server: PostgresServer, environments: int) -> dict[str, Any]:
    clients = context.pick(200, 100)
    duration = context.pick(8.0, 3.0)
    stack = LocalStack(
        StackOptions(
            port=0,
            database=ExternalDatabase(server.endpoint().url()),
            state_dir=context.workdir / f"stack-{environments}",
            overrides={**prod_api_limits(), "reservedConcurrency": environments},
        )
    )
    try:
        started = time.perf_counter()
        await stack.start()
        start_s = time.perf_counter() - started
        progress(f"load: {environments} environment(s): {environments} then {clients} clients")
        phases: list[dict[str, Any]] = [
            {"name": "warm-up", "route": ROUTE, "concurrency": environments, "duration_s": context.pick(2.0, 1.0)},
            {"name": "capacity", "route": ROUTE, "concurrency": environments, "duration_s": duration / 2},
            {"name": "overload", "route": ROUTE, "concurrency": clients, "duration_s": duration},
            {"name": "baseline", "route": BASELINE_ROUTE, "concurrency": clients, "duration_s": duration / 2},
        ]
        result: dict[str, Any] = await run_child(
            "bench.loadgen",
            {
                "mode": "load",
                "url": stack.url,
                "api_key": stack.api_key,
                "phases": phases,
                "seed_orders": 50,
                "max_requests": 150_000,
                "request_timeout_s": 30,
            },
            workdir=context.workdir,
            name=f"load-{environments}",
            timeout_s=sum(phase["duration_s"] for phase in phases) + 120,
        )
    finally:
        await stack.stop()
    return {"clients": clients, "start_s": start_s, **result["phases"]}


async def run(context: Context) -> list[Figure]:
    server = await asyncio.to_thread(PostgresServer, database="orders")
    figures: list[Figure] = []
    try:
        await asyncio.to_thread(server.start)
        reference: dict[str, Any] | None = None
        starts: list[float] = []
        for environments in (1, 2, 4):
            phases = await _measure(context, server, environments)
            starts.append(phases["start_s"])
            reference = reference or phases["capacity"]
            figures += _figures(environments, phases["clients"], phases, reference)
    finally:
        await asyncio.to_thread(server.close)
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
