"""The benchmark groups, in the order a full run takes them, and what they share.

Each group is an async function taking a :class:`Context` and returning its figures; it starts
what it needs and stops it again in ``finally`` blocks, so a failing group leaves nothing running
and the next group still runs. ``Context.pick`` gives a group's round counts and durations for a
full or a ``--quick`` run from one place.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.harness import Figure, Target
from contract import limits

T = TypeVar("T")

ACCOUNT_LIMITS = {
    "apiThrottleRateLimit": str(limits.API_GATEWAY_ACCOUNT_RATE),
    "apiThrottleBurstLimit": str(limits.API_GATEWAY_ACCOUNT_BURST),
    "apiWriteThrottleRateLimit": str(limits.API_GATEWAY_ACCOUNT_RATE),
}
"""Stage throttles raised to the account's: for figures of latency and throughput, not of throttling
(the dev stack's own 50 requests a second would answer a warm loop 429)."""


@dataclass(frozen=True)
class Context:
    """How this run was asked for: quick or full, where to put scratch files, which interpreters."""

    quick: bool
    workdir: Path  # a private scratch directory for this group, removed afterwards
    function_python: str  # the interpreter the function processes run (the layer's virtualenv)
    bench_python: str = sys.executable  # this interpreter (the test tools are installed here)

    def pick(self, full: T, quick: T) -> T:
        return quick if self.quick else full


Group = Callable[[Context], Coroutine[Any, Any, list[Figure]]]

# The numbers the user set, each in the unit of the figures it judges.
COLD_START = Target(500, "ms")
WARM = Target(50, "ms")
SSM_UNCACHED = Target(10, "ms")
SSM_CACHED = Target(1000, "µs", label="µs (< 1,000 µs)")
LOAD_LATENCY = Target(200, "ms", statistic="p99")
PEAK_RATE = Target(10_000 / 60, "req/s", at_least=True, label="≥ 10,000 req/min (167 req/s)")
GATE_ONE_STACK = Target(3.0, "s", label="≤ 3 s")
GATE_ALL_STACKS = Target(6.0, "s")
GATE_BOTH_PACKS = Target(10.0, "s", label="≤ 10 s")
LOCAL_START = Target(15.0, "s")


# The group names, known without importing the groups (they need the function's libraries and
# the servers' clients), so ``--help`` and argument errors work anywhere. In run order: the groups that
# time one process at a time come before ``load``, which fills both cores with dozens of processes
# for minutes; the machine stays slower for a while after they stop (the load average at each
# group's start is in the results).
GROUP_NAMES = ("imports", "cold", "ssm", "warm", "batch", "gate", "load")


def registry() -> dict[str, tuple[str, Group]]:
    """Group name -> (what it measures, the coroutine function), in run order."""
    from bench.groups import batch, cold, gate, imports, load, ssm, warm

    groups: dict[str, tuple[str, Group]] = {
        "imports": ("import time of orders.handlers.api", imports.run),
        "cold": ("cold start through the local Lambda runtime", cold.run),
        "ssm": ("SSM parameter reads, cached and uncached", ssm.run),
        "warm": ("warm latency in-process and through the HTTP front", warm.run),
        "batch": ("500-order batch insert and 500-record worker batch", batch.run),
        "gate": ("wall time of the offline policy gate", gate.run),
        "load": ("the local stack under concurrent load", load.run),
    }
    if tuple(groups) != GROUP_NAMES:
        raise RuntimeError(f"GROUP_NAMES {GROUP_NAMES} does not list the groups {tuple(groups)}")
    return groups
