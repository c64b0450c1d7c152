"""EventBridge's schedule rule: invokes a function with a "Scheduled Event" at a fixed rate.

Each of the program's schedule rules (:class:`local.blueprint.ScheduleBlueprint`, e.g. the DLQ
analyzer's ``rate(5 minutes)`` targeting the function's alias) runs here as a loop.
:meth:`Schedule.run_now` starts one run at once and returns its result, so a test awaits a run
instead of sleeping. Runs never overlap: a tick that comes during a run waits for it.
Like EventBridge's asynchronous invocation, a failed run is logged and the schedule goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from local.blueprint import ScheduleBlueprint
from local.runtime import ACCOUNT_ID, FunctionPool, InvocationResult

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule rule: its name, its rate and where it runs."""

    rule_name: str
    interval_s: float
    region: str


RATE_UNITS_S: Final = {"minute": 60, "minutes": 60, "hour": 3_600, "hours": 3_600, "day": 86_400, "days": 86_400}
_RATE = re.compile(r"rate\((\d+) (\w+)\)")


class ScheduleExpressionError(ValueError):
    """A schedule expression the local scheduler cannot run; the message names it."""


def interval_of(expression: str) -> float:
    """Seconds between runs of an EventBridge ``rate(value unit)`` expression.

    The value is a positive whole number and the unit minute(s), hour(s) or day(s), singular for 1:
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html#eb-rate-expressions
    Cron expressions are not run locally: the error says so rather than guessing a rate.
    """
    found = _RATE.fullmatch(expression.strip())
    if found is None:
        raise ScheduleExpressionError(
            f"schedule expression {expression!r} is not a rate(value unit) expression; "
            "the local scheduler runs rates only"
        )
    value, unit = int(found.group(1)), found.group(2)
    if value < 1 or unit not in RATE_UNITS_S or (value == 1) != (not unit.endswith("s")):
        raise ScheduleExpressionError(
            f"schedule expression {expression!r}: EventBridge takes a positive value with minute(s), hour(s) or "
            "day(s), singular exactly when the value is 1"
        )
    return float(value * RATE_UNITS_S[unit])


def schedule_spec(schedule: ScheduleBlueprint, region: str) -> ScheduleSpec:
    """The loop's spec for one of the program's schedule rules."""
    return ScheduleSpec(schedule.rule_name, interval_of(schedule.schedule_expression), region)


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
