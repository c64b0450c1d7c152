"""Lambda's SQS event source mapping, as a polling loop against the (moto) queue.

What it does, as "Using Lambda with Amazon SQS" (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html),
its parameters (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html) and its
error handling (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html) say:

- Batching: messages are received (up to 10 per ReceiveMessage) until the batch has ``BatchSize``
  records, the ``MaximumBatchingWindowInSeconds`` window has passed, or the payload would pass the
  6 MB synchronous invocation limit ("up to the payload limit for synchronous invocation (6 MB)",
  https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html#lambda-CreateEventSourceMapping-request-BatchSize).
  A message that would carry the event over 6 MB is not added: it starts the next batch.
- Outcome (:func:`failed_ids`): without ``ReportBatchItemFailures`` in ``FunctionResponseTypes`` a
  function error fails the whole batch and any successful response deletes it all (the function's
  ``batchItemFailures`` are ignored). With it, the response is read: an empty or null response or
  ``batchItemFailures`` list is a complete success; "an invalid JSON response", an empty-string or
  null ``itemIdentifier``, an ``itemIdentifier`` with a bad key name, or one naming a message that is
  not in the batch is a complete batch failure; a response of another shape (not an object, a
  ``batchItemFailures`` that is not a list) fails the batch too.
- Failed records are left alone: they come back after the visibility timeout and, after
  ``maxReceiveCount`` receives, the queue's redrive policy moves them to the DLQ. The DLQ has no
  mapping (a mapping deletes what it delivers): the analyzer peeks at it on a schedule.
- Backoff: when a batch fails, "Lambda gradually backs off, reducing the amount of concurrency
  allocated to your Amazon SQS event source mapping", but "when ReportBatchItemFailures is
  activated, Lambda doesn't scale down message polling when function invocations fail". Lambda
  publishes no schedule; here each consecutive failed batch halves the concurrency the mapping
  uses (never below 1) and delays the next poll exponentially, ``backoff_initial_s`` doubling up to
  ``backoff_max_s``; a successful batch ends the backoff.
- Concurrency: never more than ``max_concurrency`` batches in flight (``ScalingConfig`` maximum
  concurrency, https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from local.runtime import FunctionPool, InvocationResult

LOG = logging.getLogger(__name__)
RECEIVE_MAX: Final = 10  # SQS's limit per ReceiveMessage
PAYLOAD_LIMIT_BYTES: Final = 6 * 1024 * 1024  # the synchronous invocation payload limit (local.runtime's)
REPORT_BATCH_ITEM_FAILURES: Final = "ReportBatchItemFailures"
_EMPTY_EVENT_BYTES: Final = len(json.dumps({"Records": []}))
_SEPARATOR_BYTES: Final = len(", ")


@dataclass(frozen=True)
class MappingSpec:
    """One event source mapping, as the program configures it."""

    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window_s: float
    max_concurrency: int
    region: str
    poll_wait_s: int = 1  # short long-polls so the loop stops promptly
    # The program's setting for the worker; Lambda's own default, when a mapping declares none, is ().
    function_response_types: tuple[str, ...] = (REPORT_BATCH_ITEM_FAILURES,)
    max_batch_bytes: int = PAYLOAD_LIMIT_BYTES  # the event's size cap: Lambda's 6 MB invocation payload
    backoff_initial_s: float = 1.0  # the delay after the first failed batch (without partial responses)
    backoff_max_s: float = 30.0  # the cap of the doubling delay

    @property
    def reports_batch_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types


def to_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as a Lambda event record."""
    attributes = {key: str(value) for key, value in message.get("Attributes", {}).items()}
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": _b64(value.get("BinaryValue")),
            "stringListValues": list(value.get("StringListValues", [])),
            "binaryListValues": [_b64(item) for item in value.get("BinaryListValues", [])],
            "dataType": value["DataType"],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _b64(value: bytes | None) -> str | None:
    return base64.b64encode(value).decode() if value is not None else None


def record_bytes(record: dict[str, Any]) -> int:
    """What one record adds to the ``{"Records": [...]}`` event as the pool serialises it (ASCII JSON)."""
    return len(json.dumps(record))


def event_bytes(record_sizes: Sequence[int]) -> int:
    """The size of the event holding records of these sizes, separators included."""
    return _EMPTY_EVENT_BYTES + sum(record_sizes) + _SEPARATOR_BYTES * max(0, len(record_sizes) - 1)


def failed_ids(result: InvocationResult, batch_ids: Sequence[str], *, report_batch_item_failures: bool) -> set[str]:
    """The message ids to leave on the queue after an invocation, as Lambda decides them."""
    everything = set(batch_ids)
    if result.function_error is not None:
        return everything
    if not report_batch_item_failures:
        return set()  # the response is not read: a successful invocation deletes the whole batch
    if not result.payload.strip():
        return set()  # an empty response
    try:
        response = json.loads(result.payload)
    except ValueError:
        return everything  # "an invalid JSON response"
    if response is None:
        return set()  # a null response
    if not isinstance(response, dict):
        return everything
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()  # an empty response, or a null batchItemFailures list
    if not isinstance(failures, list):
        return everything
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything  # empty, null, a bad key name, or not a message of this batch
        failed.add(identifier)
    return failed


@dataclass
class MappingStats:
    """What the mapping has done, for tests and the stack's log."""

    invocations: int = 0
    deleted: int = 0
    failed: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    batch_bytes: list[int] = field(default_factory=list)
    failed_batches: int = 0
    backoff_delays: list[float] = field(default_factory=list)
    max_in_flight: int = 0


class EventSourceMapping:
    """Polls one queue and drives one function's pool with batches."""

    def __init__(self, spec: MappingSpec, pool: FunctionPool, sqs: Any) -> None:
        self.spec = spec
        self.pool = pool
        self.stats = MappingStats()
        self._sqs = sqs  # a boto3 SQS client; its calls run in threads
        self._stopping = asyncio.Event()
        self._capacity = asyncio.Condition()
        self._in_flight = 0
        self._consecutive_failures = 0
        self._carried: list[dict[str, Any]] = []  # received, but over the last batch's size cap
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None

    @property
    def allowed_concurrency(self) -> int:
        """``max_concurrency``, halved for each consecutive failed batch while backing off (at least 1)."""
        return max(1, self.spec.max_concurrency >> self._consecutive_failures)

    def backoff_delay(self) -> float:
        """The wait before the next poll: 0, or the initial delay doubled per further failure, capped."""
        if self._consecutive_failures == 0:
            return 0.0
        delay = self.spec.backoff_initial_s * 2 ** (self._consecutive_failures - 1)
        return float(min(self.spec.backoff_max_s, delay))

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        """Stop polling and wait for the batches in flight."""
        self._stopping.set()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _poll(self) -> None:
        while not self._stopping.is_set():
            delay = self.backoff_delay()
            if delay and await self._stopped_within(delay):
                return
            await self._take_slot()
            try:
                batch = await self._collect()
            except Exception:
                LOG.exception("receiving from %s failed", self.spec.queue_url)
                await self._release_slot()
                if await self._stopped_within(1.0):
                    return
                continue
            if not batch:
                await self._release_slot()
                continue
            task = asyncio.create_task(self._process(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def _take_slot(self) -> None:
        async with self._capacity:
            await self._capacity.wait_for(lambda: self._in_flight < self.allowed_concurrency)
            self._in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)

    async def _release_slot(self) -> None:
        async with self._capacity:
            self._in_flight -= 1
            self._capacity.notify_all()

    async def _collect(self) -> list[dict[str, Any]]:
        """One batch: carried-over messages first, then receives until size, window or 6 MB ends it."""
        spec = self.spec
        batch: list[dict[str, Any]] = []
        sizes: list[int] = []
        waiting, self._carried = self._carried, []
        if not waiting:
            waiting = await self._receive(min(RECEIVE_MAX, spec.batch_size), spec.poll_wait_s)
        window_ends = time.monotonic() + spec.batching_window_s
        while True:
            for position, message in enumerate(waiting):
                size = record_bytes(to_record(message, spec.queue_arn, spec.region))
                if len(batch) >= spec.batch_size or (batch and event_bytes([*sizes, size]) > spec.max_batch_bytes):
                    self._carried = waiting[position:]  # the batch is full: these start the next one
                    return batch
                batch.append(message)
                sizes.append(size)
            if not batch or len(batch) >= spec.batch_size or self._stopping.is_set():
                return batch
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                return batch
            waiting = await self._receive(min(RECEIVE_MAX, spec.batch_size - len(batch)), min(1, int(remaining)))
            if not waiting and remaining < 1:
                await asyncio.sleep(remaining)

    async def _receive(self, count: int, wait_s: int) -> list[dict[str, Any]]:
        response = await asyncio.to_thread(
            self._sqs.receive_message,
            QueueUrl=self.spec.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    async def _process(self, batch: list[dict[str, Any]]) -> None:
        spec = self.spec
        try:
            records = [to_record(message, spec.queue_arn, spec.region) for message in batch]
            event = json.dumps({"Records": records}).encode()
            result = await self.pool.invoke(event, wait=True)
            ids = [message["MessageId"] for message in batch]
            failed = failed_ids(result, ids, report_batch_item_failures=spec.reports_batch_item_failures)
            done = [message for message in batch if message["MessageId"] not in failed]
            await self._delete(done)
            self.stats.invocations += 1
            self.stats.batch_sizes.append(len(batch))
            self.stats.batch_bytes.append(len(event))
            self.stats.deleted += len(done)
            self.stats.failed += len(failed)
            self._record_outcome(complete_failure=bool(failed) and len(failed) == len(batch))
        except Exception:
            LOG.exception("processing a batch from %s failed", spec.queue_url)
        finally:
            await self._release_slot()

    def _record_outcome(self, *, complete_failure: bool) -> None:
        if complete_failure:
            self.stats.failed_batches += 1
        if complete_failure and not self.spec.reports_batch_item_failures:
            self._consecutive_failures += 1
            self.stats.backoff_delays.append(self.backoff_delay())
        elif not complete_failure:
            self._consecutive_failures = 0

    async def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), RECEIVE_MAX):
            chunk = messages[start : start + RECEIVE_MAX]
            await asyncio.to_thread(
                self._sqs.delete_message_batch,
                QueueUrl=self.spec.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(chunk)
                ],
            )
