"""The DLQ analyzer: peeks at the dead-letter queue on a schedule and reports what it holds.

An EventBridge rule invokes it every 5 minutes (``{"source": "aws.events", ...}``); it can also be
invoked by hand with ``{}``. It never deletes a message: it receives what the queue at
``DEAD_LETTER_QUEUE_URL`` holds (10 per call, hidden only for the rest of this invocation), reads
each body with the worker's own parser (:func:`orders.messages.parse`), then makes every message
it received visible again at once. The dead letters stay on the queue for an operator to inspect
and redrive (``aws sqs start-message-move-task``, docs/operations.md).

Classes, from what the worker would do with the message now:

- ``malformed``: not an order event (not JSON, not an object, no event id): it fails forever.
- ``invalid``: an order event whose order fails the order schema: it fails forever.
- ``processable``: a valid order event; it failed for a reason outside the message (the database
  was unavailable, the invocation timed out): safe to redrive once the cause is fixed.

Per run it publishes ``DlqMessagesByClass`` (one value per class, zeros included) and
``DlqOldestMessageAgeSeconds``: gauges of what the queue holds now, so repeated runs over the same
messages do not add up. One summary line is logged per run.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.messages import InvalidOrder, MalformedMessage, parse
from orders.observability import logger, metrics, tracer

RECEIVE_MAX = 10  # SQS's limit per ReceiveMessage and per ChangeMessageVisibilityBatch
MAX_MESSAGES = 1_000
"""Messages one run looks at, at most; a run that stops here says so (``complete: false``)."""
RELEASE_RESERVE_MS = 10_000
"""Time kept to make the received messages visible again: no receive starts inside it."""
RECEIVE_WAIT_S = 1  # a long poll: an empty answer means the queue has nothing more to show
EXAMPLES_PER_CLASS = 5


class FailureClass(StrEnum):
    MALFORMED = "malformed"
    INVALID = "invalid"
    PROCESSABLE = "processable"


def classify(body: str) -> FailureClass:
    """What the worker would do with this message body now (it uses the same parser)."""
    try:
        parse(body)
    except MalformedMessage:
        return FailureClass.MALFORMED
    except InvalidOrder:
        return FailureClass.INVALID
    return FailureClass.PROCESSABLE


@dataclass
class Analysis:
    """What one run saw."""

    counts: Counter[FailureClass] = field(default_factory=Counter)
    oldest_sent_ms: int | None = None
    examples: dict[FailureClass, list[str]] = field(default_factory=dict)
    complete: bool = True  # False when the run stopped at MAX_MESSAGES or for lack of time

    @property
    def messages(self) -> int:
        return sum(self.counts.values())

    def add(self, message: dict[str, Any]) -> None:
        failure_class = classify(str(message.get("Body", "")))
        self.counts[failure_class] += 1
        examples = self.examples.setdefault(failure_class, [])
        if len(examples) < EXAMPLES_PER_CLASS:
            examples.append(str(message["MessageId"]))
        sent = message.get("Attributes", {}).get("SentTimestamp")
        if sent is not None and (self.oldest_sent_ms is None or int(sent) < self.oldest_sent_ms):
            self.oldest_sent_ms = int(sent)

    def oldest_age_s(self, now_ms: int) -> int:
        return 0 if self.oldest_sent_ms is None else max(0, (now_ms - self.oldest_sent_ms) // 1000)


def _client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("sqs", config=Config(retries={"mode": "standard"}))


def _receive(sqs: Any, queue_url: str, context: LambdaContext, count: int) -> list[dict[str, Any]]:
    """Up to ``count`` (at most 10) messages, hidden until about when this invocation ends."""
    response = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=min(RECEIVE_MAX, count),
        WaitTimeSeconds=RECEIVE_WAIT_S,
        # Long enough for this run; if it dies, the messages reappear when it would have ended.
        VisibilityTimeout=max(1, math.ceil(context.get_remaining_time_in_millis() / 1000)),
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def _release(sqs: Any, queue_url: str, handles: list[str]) -> int:
    """Make every received message visible again; returns how many SQS refused (they reappear later)."""
    refused = 0
    for start in range(0, len(handles), RECEIVE_MAX):
        chunk = handles[start : start + RECEIVE_MAX]
        response = sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for index, handle in enumerate(chunk)
            ],
        )
        refused += len(response.get("Failed", []))
    return refused


def analyse(sqs: Any, queue_url: str, context: LambdaContext) -> tuple[Analysis, int]:
    """Peek at every message the queue shows in this run; returns the analysis and the release failures.

    Receiving stops when the queue shows nothing more (the run is complete), after MAX_MESSAGES,
    or when only RELEASE_RESERVE_MS is left; whatever was received is released in any case.
    """
    analysis = Analysis(complete=False)
    handles: list[str] = []
    try:
        while len(handles) < MAX_MESSAGES and context.get_remaining_time_in_millis() > RELEASE_RESERVE_MS:
            batch = _receive(sqs, queue_url, context, MAX_MESSAGES - len(handles))
            if not batch:
                analysis.complete = True
                break
            handles += [str(message["ReceiptHandle"]) for message in batch]
            for message in batch:
                analysis.add(message)
    finally:
        refused = _release(sqs, queue_url, handles)
    return analysis, refused


def publish(analysis: Analysis, oldest_age_s: int) -> None:
    """One gauge per class (zeros too, so a class that emptied shows 0) and the oldest message's age."""
    for failure_class in FailureClass:
        # One dimension value per class: each needs its own EMF document.
        with single_metric(
            name="DlqMessagesByClass", unit=MetricUnit.Count, value=analysis.counts[failure_class]
        ) as metric:
            metric.add_dimension(name="FailureClass", value=failure_class.value)
    metrics.add_metric(name="DlqOldestMessageAgeSeconds", unit=MetricUnit.Seconds, value=oldest_age_s)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and "Records" in event:
        # Fed by an event source mapping, returning would delete every record: fail the batch instead.
        raise ValueError(
            "the DLQ analyzer peeks at the dead-letter queue on a schedule; remove the event source mapping"
        )
    queue_url = os.environ.get("DEAD_LETTER_QUEUE_URL")
    if not queue_url:
        raise RuntimeError("DEAD_LETTER_QUEUE_URL is not set")
    sqs = _client()
    depth = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    analysis, refused = analyse(sqs, queue_url, context)
    oldest_age_s = analysis.oldest_age_s(int(time.time() * 1000))
    publish(analysis, oldest_age_s)
    by_class = {failure_class.value: analysis.counts[failure_class] for failure_class in FailureClass}
    summary = {
        "messages": analysis.messages,
        "by_class": by_class,
        "oldest_age_s": oldest_age_s,
        "complete": analysis.complete,
        "approximate_depth": int(depth.get("Attributes", {}).get("ApproximateNumberOfMessages", 0)),
    }
    logger.info(
        "dead-letter queue analysed",
        extra={
            **summary,
            "examples": {k.value: v for k, v in analysis.examples.items()},
            "release_refused": refused,
            "trigger": str(event.get("source", "manual")) if isinstance(event, dict) else "manual",
        },
    )
    return summary
