"""The local EventBridge schedule: a Scheduled Event at a fixed rate, a run on demand, no overlap."""

from __future__ import annotations

import asyncio
import time

from local.runtime import FunctionPool
from local.scheduler import Schedule, ScheduleSpec
from tests.e2e.stack.support import spec

RULE = "serverless-infra-dev-rule-dlq-analyzer"


def test_a_run_on_demand_invokes_the_function_with_eventbridges_scheduled_event():
    async def main():
        pool = FunctionPool(spec("probe.echo", concurrency=1))
        schedule = Schedule(ScheduleSpec(RULE, 3600, "us-east-1"), pool)
        schedule.start()
        try:
            return await schedule.run_now()
        finally:
            await schedule.stop()
            await pool.close()

    result = asyncio.run(main())
    assert result.function_error is None
    event = result.json()
    assert event["source"] == "aws.events"
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [f"arn:aws:events:us-east-1:123456789012:rule/{RULE}"]
    assert event["detail"] == {}


def test_the_schedule_runs_the_function_at_its_rate_until_stopped():
    async def main():
        pool = FunctionPool(spec("probe.echo", concurrency=1))
        schedule = Schedule(ScheduleSpec(RULE, 0.2, "us-east-1"), pool)
        schedule.start()
        try:
            deadline = time.monotonic() + 20
            while schedule.stats.runs < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)  # the runs are the events: polled with a deadline
        finally:
            await schedule.stop()
            runs_at_stop = schedule.stats.runs
            await pool.close()
        return schedule.stats, runs_at_stop

    stats, runs_at_stop = asyncio.run(main())
    assert stats.runs >= 2
    assert stats.failed == 0
    assert stats.runs == runs_at_stop  # nothing ran after stop
