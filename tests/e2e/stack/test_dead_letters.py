"""The dead-letter path on the local stack, with the real functions: nothing is lost.

A message the worker cannot process reaches the dead-letter queue after ``queueMaxReceiveCount``
receives; the DLQ analyzer, run as its schedule runs it, classifies it and leaves it there; a
redrive moves it back to the orders queue, where the worker meets it again. The stack runs without
a database, so a valid order fails too (its database settings are missing), as it would during a
database outage: that is the ``processable`` class.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from local.stack import LocalStack, StackOptions
from tests.e2e.stack.support import move_messages

FAST_REDRIVE = {
    # The program keeps the visibility timeout at 6 x the worker's timeout or more (AWS's advice for
    # event source mappings), so a fast redelivery needs a short worker timeout too.
    "workerTimeoutS": 1,
    "queueVisibilityTimeoutS": 6,
    "queueMaxReceiveCount": 2,
    "workerBatchSize": 10,
    "workerBatchingWindowS": 0,
}
BODIES = {
    "malformed": "not json at all",
    "invalid": json.dumps(
        {"event_id": str(uuid.uuid4()), "order": {"customer_id": "dlq", "amount_minor": 1, "currency": "XXX"}}
    ),
    "processable": json.dumps(
        {"event_id": str(uuid.uuid4()), "order": {"customer_id": "dlq", "amount_minor": 1, "currency": "EUR"}}
    ),
}


async def depth(sqs, url: str) -> tuple[int, int]:
    attributes = (await asyncio.to_thread(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["All"]))["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


async def until_dead_letters(sqs, url: str, count: int, timeout_s: float = 60) -> None:
    """Poll the dead-letter queue (SQS offers no event for an arrival) until it holds ``count`` messages."""
    deadline = time.monotonic() + timeout_s
    while await depth(sqs, url) != (count, 0):
        if time.monotonic() > deadline:
            raise AssertionError(f"the dead-letter queue did not reach {count} messages in {timeout_s:.0f} s")
        await asyncio.sleep(0.2)


def test_a_poison_message_stays_in_the_dlq_after_analysis_with_its_class_and_a_redrive_moves_it_back(tmp_path):
    async def main():
        stack = LocalStack(StackOptions(database=None, overrides=FAST_REDRIVE, state_dir=tmp_path))
        await stack.start()
        try:
            assert stack.resources is not None
            assert stack.moto is not None
            queue, dlq = stack.resources.queue, stack.resources.dead_letter_queue
            sqs = stack.moto.client("sqs", stack.settings.region)
            assert set(stack.mappings) == {"worker"}  # no event source mapping drains the dead-letter queue
            for body in BODIES.values():
                await asyncio.to_thread(sqs.send_message, QueueUrl=queue.url, MessageBody=body)
            await until_dead_letters(sqs, dlq.url, 3)

            runs = [await stack.analyze_dead_letters() for _ in range(2)]
            after_analysis = await depth(sqs, dlq.url)

            moved = await asyncio.to_thread(move_messages, sqs, dlq.url, queue.url)
            after_redrive = await depth(sqs, dlq.url)
            await until_dead_letters(sqs, dlq.url, 3)  # the worker met them again and failed them again
            return runs, after_analysis, moved, after_redrive
        finally:
            await stack.stop()

    runs, after_analysis, moved, after_redrive = asyncio.run(main())
    for run in runs:
        assert run.function_error is None, run.payload
        summary = run.json()
        assert summary["by_class"] == {"malformed": 1, "invalid": 1, "processable": 1}
        assert summary["complete"] is True
    assert after_analysis == (3, 0)  # still there, and visible again: nothing was deleted
    assert moved == 3
    assert after_redrive == (0, 0)
