"""EventBridge's schedule rule: invokes a function with a "Scheduled Event" at a fixed rate.

The program's rule for the DLQ analyzer (``rate(5 minutes)``, targeting the function's alias) runs
here as a loop. :meth:`Schedule.run_now` starts one run at once and returns its result, so a test
awaits a run instead of sleeping. Runs never overlap: a tick that comes during a run waits for it.
Like EventBridge's asynchronous invocation, a failed run is logged and the schedule goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.functions import ACCOUNT_ID
from local.runtime import FunctionPool, InvocationResult

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule rule: its name, its rate and where it runs."""

    rule_name: str
    interval_s: float
    region: str


def scheduled_event(spec: ScheduleSpec, now: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge sends a schedule rule's target."""
    at = (now or datetime.now(UTC)).replace(microsecond=0)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": spec.region,
        "resources": [f"arn:aws:events:{spec.region}:{ACCOUNT_ID}:rule/{spec.rule_name}"],
        "detail": {},
    }


@dataclass
class ScheduleStats:
    """What the schedule has done, for tests and the stack's log."""

    runs: int = 0
    failed: int = 0
    results: list[InvocationResult] = field(default_factory=list)


class Schedule:
    """Invokes one function's pool every ``interval_s`` until stopped."""

    def __init__(self, spec: ScheduleSpec, pool: FunctionPool) -> None:
        self.spec = spec
        self.pool = pool
        self.stats = ScheduleStats()
        self._running = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._tick())

    async def run_now(self) -> InvocationResult:
        """One run, after any run in progress; returns the invocation's result."""
        async with self._running:
            result = await self.pool.invoke(scheduled_event(self.spec), wait=True)
            self.stats.runs += 1
            self.stats.results.append(result)
            if result.function_error is not None:
                self.stats.failed += 1
                LOG.warning(
                    "scheduled run of %s failed: %s", self.spec.rule_name, result.payload.decode(errors="replace")
                )
            return result

    async def stop(self) -> None:
        """Stop ticking and wait for a run in progress."""
        self._stopping.set()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        async with self._running:
            pass

    async def _tick(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.spec.interval_s)
                return
            try:
                await self.run_now()
            except Exception:
                LOG.exception("scheduled run of %s could not be invoked", self.spec.rule_name)
