"""Warm latency of the API routes: the handler called in-process, and through the local HTTP front.

In-process, the handler is called directly with API Gateway's event (no runtime, no HTTP) in a
process holding the function's environment, against the real TLS PostgreSQL and moto. Through
HTTP, requests go to the local stack (aiohttp API Gateway -> Runtime API -> awslambdaric ->
handler) from a separate client process, one at a time on a kept-alive connection. Both sides
share the baseline GET /health, which touches no dependency, so the ratio is what the route's own
work (settings from the cache, the query, validation) costs on top of the plumbing.
"""

from __future__ import annotations

from typing import Any

from bench.backend import running_backend
from bench.groups import ACCOUNT_LIMITS, WARM, Context
from bench.harness import Figure, latency_figure, progress
from bench.processes import run_child
from local.database import ExternalDatabase
from local.stack import LocalStack, StackOptions

GROUP = "warm"
ROUTES = ["GET /health", "GET /orders/{id}", "GET /orders", "POST /orders"]
SEED_ORDERS = 200


class WarmError(RuntimeError):
    """A warm request did not succeed, so its latency would mean nothing."""


def _check(statuses: dict[str, dict[str, int]], where: str) -> None:
    for route, counts in statuses.items():
        failed = {status: count for status, count in counts.items() if not status.startswith("2")}
        if failed:
            raise WarmError(f"{where}: {route} answered {failed}")


def _figures(result: dict[str, Any], where: str, page_size: str) -> list[Figure]:
    samples = result["samples_ms"]
    baseline = (f"GET /health {where}", samples["GET /health"])
    names = {"GET /orders": f"GET /orders (page of {page_size})"}
    return [
        latency_figure(GROUP, f"{names.get(route, route)} {where}", samples[route], baseline=baseline, target=WARM)
        for route in ROUTES[1:]
    ]


async def run(context: Context) -> list[Figure]:
    params = {
        "rounds": context.pick(300, 50),
        "max_s": context.pick(30.0, 8.0),
        "warmup": context.pick(20, 5),
        "seed_orders": SEED_ORDERS,
    }
    async with running_backend(context.workdir) as backend:
        page_size = backend.settings.text("apiDefaultPageSize")
        progress("warm: in-process handler calls")
        inproc = await run_child(
            "bench.inproc",
            {"scenario": "warm", **params},
            workdir=context.workdir,
            name="warm-inproc",
            timeout_s=params["max_s"] + 120,
            environment=backend.in_process_environment("api"),
        )
        _check(inproc["statuses"], "in-process")
        progress("warm: starting the local stack for the HTTP front")
        stack = LocalStack(
            StackOptions(
                port=0,
                database=ExternalDatabase(backend.server.endpoint().url()),
                state_dir=context.workdir / "stack",
                overrides=ACCOUNT_LIMITS,
            )
        )
        try:
            await stack.start()
            progress("warm: requests through the local HTTP front")
            http = await run_child(
                "bench.loadgen",
                {"mode": "latency", "url": stack.url, "api_key": stack.api_key, "routes": ROUTES, **params},
                workdir=context.workdir,
                name="warm-http",
                timeout_s=params["max_s"] + 120,
            )
        finally:
            await stack.stop()
    _check(http["statuses"], "via HTTP")
    health_in_process = inproc["samples_ms"]["GET /health"]
    return [
        *_figures(inproc, "in-process", page_size),
        *_figures(http, "via HTTP", page_size),
        latency_figure(
            GROUP,
            "GET /health via HTTP",
            http["samples_ms"]["GET /health"],
            baseline=("in-process", health_in_process),
            details={"why": "the HTTP front and the runtime's share of every request"},
        ),
    ]
