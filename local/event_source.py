"""Lambda's SQS event source mapping, as a polling loop against the (moto) queue.

Like the Lambda service it receives messages (up to 10 per call) until the batch is full or the
batching window has passed, invokes the function with the ``{"Records": [...]}`` event, and with
``ReportBatchItemFailures`` deletes only the records the function did not list in
``batchItemFailures``. A function error, or a response naming an id that is not in the batch,
fails the whole batch. Failed records are left alone: they come back after the visibility timeout
and, after ``maxReceiveCount`` receives, the queue's redrive policy moves them to the DLQ. The DLQ
has no mapping (a mapping deletes what it delivers): the analyzer peeks at it on a schedule.
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
from typing import Any

from local.runtime import FunctionPool, InvocationResult

LOG = logging.getLogger(__name__)
RECEIVE_MAX = 10  # SQS's limit per ReceiveMessage


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


def failed_ids(result: InvocationResult, batch_ids: Sequence[str]) -> set[str]:
    """The message ids to leave on the queue after an invocation, as Lambda decides them."""
    everything = set(batch_ids)
    if result.function_error is not None:
        return everything
    try:
        response = json.loads(result.payload) if result.payload else None
    except ValueError:
        return set()  # not a partial batch response: the invocation succeeded
    if not isinstance(response, dict) or response.get("batchItemFailures") is None:
        return set()
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return everything
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything  # an invalid identifier fails the whole batch
        failed.add(identifier)
    return failed


@dataclass
class MappingStats:
    """What the mapping has done, for tests and the stack's log."""

    invocations: int = 0
    deleted: int = 0
    failed: int = 0
    batch_sizes: list[int] = field(default_factory=list)


class EventSourceMapping:
    """Polls one queue and drives one function's pool with batches."""

    def __init__(self, spec: MappingSpec, pool: FunctionPool, sqs: Any) -> None:
        self.spec = spec
        self.pool = pool
        self.stats = MappingStats()
        self._sqs = sqs  # a boto3 SQS client; its calls run in threads
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(spec.max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None

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
            await self._slots.acquire()
            try:
                batch = await self._collect()
            except Exception:
                LOG.exception("receiving from %s failed", self.spec.queue_url)
                self._slots.release()
                await asyncio.sleep(1)
                continue
            if not batch:
                self._slots.release()
                continue
            task = asyncio.create_task(self._process(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _collect(self) -> list[dict[str, Any]]:
        spec = self.spec
        batch = await self._receive(min(RECEIVE_MAX, spec.batch_size), spec.poll_wait_s)
        window_ends = time.monotonic() + spec.batching_window_s
        while batch and len(batch) < spec.batch_size and not self._stopping.is_set():
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            more = await self._receive(min(RECEIVE_MAX, spec.batch_size - len(batch)), min(1, int(remaining)))
            batch += more
            if not more and remaining < 1:
                await asyncio.sleep(remaining)
        return batch

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
        try:
            event = {"Records": [to_record(message, self.spec.queue_arn, self.spec.region) for message in batch]}
            result = await self.pool.invoke(event, wait=True)
            failed = failed_ids(result, [message["MessageId"] for message in batch])
            done = [message for message in batch if message["MessageId"] not in failed]
            for start in range(0, len(done), RECEIVE_MAX):
                chunk = done[start : start + RECEIVE_MAX]
                await asyncio.to_thread(
                    self._sqs.delete_message_batch,
                    QueueUrl=self.spec.queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(chunk)
                    ],
                )
            self.stats.invocations += 1
            self.stats.batch_sizes.append(len(batch))
            self.stats.deleted += len(done)
            self.stats.failed += len(failed)
        except Exception:
            LOG.exception("processing a batch from %s failed", self.spec.queue_url)
        finally:
            self._slots.release()
