"""The HTTP client child: ``python -m bench.loadgen --params JSON --result FILE``.

Two modes against a running local stack (loopback only):

- ``latency``: one client, keep-alive, the routes interleaved round by round (warm latency
  through the HTTP front);
- ``load``: phases, each a closed loop of ``concurrency`` clients sending their next request as
  soon as the previous one is answered, for ``duration_s`` (and at most ``max_requests``); the
  first phase is usually an unmeasured warm-up that starts every execution environment.

aiohttp's client is used because it is the lighter one per request, and on 2 cores every cycle
the client spends is taken from the stack it measures. Refuses any URL that is not loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bench.events import new_order

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Client:
    """The API with its key; ``request`` returns (status, ms) and never raises for HTTP errors."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, api_key: str) -> None:
        self.session = session
        self.base_url = base_url
        self.headers = {"x-api-key": api_key}
        self.order_id = ""
        self.counter = 0

    async def prepare(self, seed_orders: int) -> None:
        """Orders for the reads and pages to find, through the API itself."""
        body = {"orders": [new_order(i) for i in range(seed_orders)]}
        async with self.session.post(f"{self.base_url}/orders/batch", json=body, headers=self.headers) as response:
            text = await response.text()
            if response.status != 201:
                raise RuntimeError(f"seeding orders answered {response.status}: {text[:300]}")
            self.order_id = json.loads(text)[0]["order_id"]

    def route(self, name: str) -> tuple[str, str, Any]:
        if name == "GET /health":
            return "GET", "/health", None
        if name == "GET /orders/{id}":
            return "GET", f"/orders/{self.order_id}", None
        if name == "GET /orders":
            return "GET", "/orders", None
        if name == "POST /orders":
            self.counter += 1
            return "POST", "/orders", new_order(self.counter, customer="http")
        raise ValueError(f"unknown route {name!r}")

    async def request(self, name: str) -> tuple[int, float]:
        method, path, body = self.route(name)
        started = time.perf_counter_ns()
        try:
            async with self.session.request(
                method, f"{self.base_url}{path}", json=body, headers=self.headers
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0  # no HTTP answer at all (connection error or client timeout)
        return status, (time.perf_counter_ns() - started) / 1e6


def _count(statuses: dict[str, int], status: int) -> None:
    statuses[str(status)] = statuses.get(str(status), 0) + 1


async def latency(client: Client, params: dict[str, Any]) -> dict[str, Any]:
    routes: list[str] = params["routes"]
    for _ in range(params["warmup"]):
        for name in routes:
            await client.request(name)
    samples: dict[str, list[float]] = {name: [] for name in routes}
    statuses: dict[str, dict[str, int]] = {name: {} for name in routes}
    deadline = time.monotonic() + params["max_s"]
    for index in range(params["rounds"]):
        if index and time.monotonic() > deadline:
            break
        for name in routes:
            status, ms = await client.request(name)
            samples[name].append(ms)
            _count(statuses[name], status)
    return {"samples_ms": samples, "statuses": statuses}


async def _closed_loop(client: Client, route: str, concurrency: int, seconds: float, cap: int) -> dict[str, Any]:
    """``concurrency`` clients until the time is up or ``cap`` requests were sent."""
    latencies: list[float] = []
    ok_latencies: list[float] = []
    statuses: dict[str, int] = {}
    sent = 0
    stop_at = time.monotonic() + seconds

    async def one_client() -> None:
        nonlocal sent
        while time.monotonic() < stop_at and sent < cap:
            sent += 1
            status, ms = await client.request(route)
            latencies.append(ms)
            if 200 <= status < 300:
                ok_latencies.append(ms)
            _count(statuses, status)

    started = time.monotonic()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return {
        "elapsed_s": time.monotonic() - started,
        "latencies_ms": latencies,
        "ok_latencies_ms": ok_latencies,
        "statuses": statuses,
    }


async def load(client: Client, params: dict[str, Any]) -> dict[str, Any]:
    """The phases in order (a warm-up is just a phase whose results the parent ignores)."""
    phases: dict[str, Any] = {}
    for phase in params["phases"]:
        phases[phase["name"]] = await _closed_loop(
            client, phase["route"], phase["concurrency"], phase["duration_s"], params["max_requests"]
        )
    return {"phases": phases}


async def run(params: dict[str, Any]) -> dict[str, Any]:
    host = urlsplit(params["url"]).hostname
    if host not in LOOPBACK:
        raise ValueError(f"the load generator only talks to loopback, not {host!r}")
    concurrency = max([phase["concurrency"] for phase in params.get("phases", [])] or [1])
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=params.get("request_timeout_s", 35))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        client = Client(session, params["url"], params["api_key"])
        await client.prepare(params["seed_orders"])
        return await (latency(client, params) if params["mode"] == "latency" else load(client, params))


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("--params", required=True, help="JSON: {'mode': 'latency'|'load', 'url', 'api_key', ...}")
    parser.add_argument("--result", required=True, type=Path)
    return parser


def main() -> None:
    parser = build_parser()
    options = parser.parse_args()
    result = asyncio.run(run(json.loads(options.params)))
    options.result.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
