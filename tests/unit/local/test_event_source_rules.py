"""The SQS event source mapping's rules, against a fake queue and a fake function: what Lambda deletes,
how big a batch gets, when it backs off and how many batches run at once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import uuid
from typing import Any

import pytest

from local.event_source import (
    PAYLOAD_LIMIT_BYTES,
    EventSourceMapping,
    MappingSpec,
    event_bytes,
    failed_ids,
    record_bytes,
    to_record,
)
from local.runtime import InvocationResult

IDS = ["id-1", "id-2", "id-3"]
REPORTING = ("ReportBatchItemFailures",)


def result(payload: bytes | object, function_error: str | None = None) -> InvocationResult:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return InvocationResult("request", body, function_error, cold_start=False, environment_id=0, duration_ms=1.0)


def failures(*identifiers: object) -> dict[str, object]:
    return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in identifiers]}


# -- what is left on the queue ----------------------------------------------------------------------
def test_a_function_error_fails_the_whole_batch_with_or_without_partial_responses():
    errored = result({"errorType": "ValueError"}, "Unhandled")

    assert failed_ids(errored, IDS, report_batch_item_failures=True) == set(IDS)
    assert failed_ids(errored, IDS, report_batch_item_failures=False) == set(IDS)


def test_without_report_batch_item_failures_a_successful_response_deletes_everything_it_lists():
    assert failed_ids(result(failures("id-1")), IDS, report_batch_item_failures=False) == set()


def test_without_report_batch_item_failures_even_a_response_that_is_not_json_deletes_the_batch():
    assert failed_ids(result(b"not json"), IDS, report_batch_item_failures=False) == set()


def test_with_report_batch_item_failures_only_the_listed_messages_stay():
    assert failed_ids(result(failures("id-2")), IDS, report_batch_item_failures=True) == {"id-2"}


def test_a_response_that_is_not_valid_json_is_a_complete_batch_failure():
    assert failed_ids(result(b"not json at all"), IDS, report_batch_item_failures=True) == set(IDS)


@pytest.mark.parametrize(
    "response",
    [
        failures(""),
        failures(None),
        {"batchItemFailures": [{"itemIdentifer": "id-1"}]},  # a bad key name
        failures("id-1", "not-in-this-batch"),
        {"batchItemFailures": ["id-1"]},
        {"batchItemFailures": "id-1"},
        "a string, not a batch response",
        ["id-1"],
    ],
    ids=["empty-id", "null-id", "bad-key", "unknown-id", "not-an-object", "not-a-list", "string", "list"],
)
def test_an_invalid_item_identifier_or_an_unexpected_shape_is_a_complete_batch_failure(response):
    assert failed_ids(result(response), IDS, report_batch_item_failures=True) == set(IDS)


@pytest.mark.parametrize(
    "payload",
    [json.dumps(failures()).encode(), b'{"batchItemFailures": null}', b"{}", b"null", b""],
    ids=["empty-list", "null-list", "empty-response", "null-response", "no-body"],
)
def test_an_empty_or_null_response_or_list_is_a_complete_success(payload):
    assert failed_ids(result(payload), IDS, report_batch_item_failures=True) == set()


# -- fakes --------------------------------------------------------------------------------------------
class FakeQueue:
    """A boto3 SQS client's receive/delete, over messages kept in memory; receives long-poll briefly."""

    def __init__(self, bodies: list[str]) -> None:
        self.visible = [_message(body) for body in bodies]
        self.deleted: list[str] = []
        self.receives: list[int] = []
        self._changed = threading.Condition()

    def receive_message(self, **request: Any) -> dict[str, object]:
        count = request["MaxNumberOfMessages"]
        with self._changed:
            self._changed.wait_for(lambda: bool(self.visible), timeout=min(request["WaitTimeSeconds"], 0.05))
            taken, self.visible = self.visible[:count], self.visible[count:]
        self.receives.append(len(taken))
        return {"Messages": taken} if taken else {}

    def delete_message_batch(self, **request: Any) -> dict[str, object]:
        entries = request["Entries"]
        self.deleted += [entry["ReceiptHandle"] for entry in entries]
        return {"Successful": [{"Id": entry["Id"]} for entry in entries]}


def _message(body: str) -> dict[str, object]:
    identifier = str(uuid.uuid4())
    return {
        "MessageId": identifier,
        "ReceiptHandle": f"handle-{identifier}",
        "Body": body,
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "Attributes": {"ApproximateReceiveCount": "1"},
    }


class FakeFunction:
    """A pool whose function answers every event with ``answer(event)``; counts what runs at once."""

    def __init__(self, answer, expected: int, hold: asyncio.Event | None = None) -> None:
        self.answer = answer
        self.events: list[dict[str, object]] = []
        self.sizes: list[int] = []
        self.running = 0
        self.most_running = 0
        self.hold = hold
        self.expected = expected
        self.reached = asyncio.Event()
        self.two_running = asyncio.Event()

    async def invoke(self, event: bytes, *, wait: bool = False) -> InvocationResult:
        assert wait, "a mapping queues for an environment, it is never throttled"
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        if self.running >= 2:
            self.two_running.set()
        try:
            if self.hold is not None:
                await self.hold.wait()
            self.events.append(json.loads(event))
            self.sizes.append(len(event))
            return self.answer(json.loads(event))
        finally:
            self.running -= 1
            if len(self.events) >= self.expected:
                self.reached.set()


def mapping_spec(**changes) -> MappingSpec:
    values: dict[str, object] = {
        "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
        "queue_arn": "arn:aws:sqs:us-east-1:123456789012:orders",
        "batch_size": 10,
        "batching_window_s": 0,
        "max_concurrency": 1,
        "region": "us-east-1",
    }
    values.update(changes)
    return MappingSpec(**values)


async def run_until(spec: MappingSpec, queue: FakeQueue, function: FakeFunction) -> EventSourceMapping:
    mapping = EventSourceMapping(spec, function, queue)
    mapping.start()
    try:
        await asyncio.wait_for(function.reached.wait(), 10)
    finally:
        await mapping.stop()
    return mapping


def succeed(event: dict[str, object]) -> InvocationResult:
    return result(failures())


def crash(event: dict[str, object]) -> InvocationResult:
    return result({"errorType": "Runtime.ExitError"}, "Unhandled")


# -- batch size in bytes --------------------------------------------------------------------------------
def test_the_event_size_is_counted_exactly_as_the_pool_serialises_the_event():
    records = [to_record(_message(body), "arn:aws:sqs:us-east-1:1:q", "us-east-1") for body in ("a", "ü" * 10, "")]

    assert event_bytes([record_bytes(record) for record in records]) == len(json.dumps({"Records": records}))


def test_a_batch_stops_before_the_record_that_would_carry_it_over_the_byte_cap_and_that_record_starts_the_next():
    queue = FakeQueue([f"{index}:" + "x" * 3000 for index in range(5)])
    function = FakeFunction(succeed, expected=3)

    asyncio.run(run_until(mapping_spec(max_batch_bytes=8000), queue, function))

    bodies = [[record["body"].split(":")[0] for record in event["Records"]] for event in function.events]
    assert bodies == [["0", "1"], ["2", "3"], ["4"]]
    assert max(function.sizes) <= 8000
    assert queue.receives[0] == 5  # one receive took all five: the last three were carried, not received again


def test_the_default_cap_is_lambdas_6_mb_invocation_payload():
    queue = FakeQueue(["x" * 1_000_000 for _ in range(7)])
    function = FakeFunction(succeed, expected=2)

    asyncio.run(run_until(mapping_spec(), queue, function))

    assert [len(event["Records"]) for event in function.events] == [6, 1]
    assert PAYLOAD_LIMIT_BYTES == 6_291_456
    assert 6_000_000 < function.sizes[0] <= PAYLOAD_LIMIT_BYTES


# -- deletes -------------------------------------------------------------------------------------------
def test_without_report_batch_item_failures_a_successful_invocation_deletes_the_batch_it_called_failed():
    queue = FakeQueue(["a", "b"])
    function = FakeFunction(lambda event: result(failures(event["Records"][0]["messageId"])), expected=1)

    mapping = asyncio.run(run_until(mapping_spec(function_response_types=()), queue, function))

    assert len(queue.deleted) == 2
    assert mapping.stats.failed == 0


def test_with_report_batch_item_failures_the_listed_record_is_not_deleted():
    queue = FakeQueue(["a", "b"])
    function = FakeFunction(lambda event: result(failures(event["Records"][0]["messageId"])), expected=1)

    mapping = asyncio.run(run_until(mapping_spec(function_response_types=REPORTING), queue, function))

    assert len(queue.deleted) == 1
    assert mapping.stats.failed == 1


# -- backoff ---------------------------------------------------------------------------------------------
def test_consecutive_failed_batches_back_off_exponentially_up_to_the_cap():
    queue = FakeQueue([str(index) for index in range(5)])
    function = FakeFunction(crash, expected=5)
    spec = mapping_spec(batch_size=1, function_response_types=(), backoff_initial_s=0.01, backoff_max_s=0.04)

    mapping = asyncio.run(run_until(spec, queue, function))

    assert mapping.stats.backoff_delays == [0.01, 0.02, 0.04, 0.04, 0.04]
    assert mapping.stats.failed_batches == 5


def test_a_successful_batch_ends_the_backoff():
    answers = iter([crash, crash, succeed])
    queue = FakeQueue(["a", "b", "c"])
    function = FakeFunction(lambda event: next(answers)(event), expected=3)
    spec = mapping_spec(batch_size=1, function_response_types=(), backoff_initial_s=0.01, backoff_max_s=1)

    mapping = asyncio.run(run_until(spec, queue, function))

    assert mapping.stats.backoff_delays == [0.01, 0.02]
    assert mapping.backoff_delay() == 0.0
    assert mapping.allowed_concurrency == 1


def test_with_report_batch_item_failures_failed_invocations_do_not_scale_polling_down():
    queue = FakeQueue(["a", "b", "c"])
    function = FakeFunction(crash, expected=3)
    spec = mapping_spec(batch_size=1, max_concurrency=4, function_response_types=REPORTING, backoff_initial_s=5)

    mapping = asyncio.run(run_until(spec, queue, function))

    assert mapping.stats.failed_batches == 3
    assert mapping.stats.backoff_delays == []
    assert mapping.allowed_concurrency == 4


def test_backing_off_halves_the_concurrency_the_mapping_uses():
    queue = FakeQueue(["a", "b"])
    function = FakeFunction(crash, expected=2)
    spec = mapping_spec(batch_size=1, max_concurrency=8, function_response_types=(), backoff_initial_s=0.01)

    mapping = asyncio.run(run_until(spec, queue, function))

    assert mapping.allowed_concurrency == 2  # 8, halved for each of two consecutive failed batches


# -- concurrency -------------------------------------------------------------------------------------------
def test_no_more_batches_run_at_once_than_the_maximum_concurrency():
    async def main():
        hold = asyncio.Event()
        queue = FakeQueue([str(index) for index in range(6)])
        function = FakeFunction(succeed, expected=6, hold=hold)
        mapping = EventSourceMapping(mapping_spec(batch_size=1, max_concurrency=2), function, queue)
        mapping.start()
        try:
            await asyncio.wait_for(function.two_running.wait(), 10)
            for _ in range(50):  # let the poller try for a third while both are held
                await asyncio.sleep(0)
            held = function.running
            hold.set()
            await asyncio.wait_for(function.reached.wait(), 10)
        finally:
            await mapping.stop()
        return held, function.most_running, mapping.stats

    held, most_running, stats = asyncio.run(main())
    assert held == 2
    assert most_running == 2
    assert stats.max_in_flight == 2
    assert stats.deleted == 6
