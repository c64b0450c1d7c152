"""The queue worker: SQS batches (up to 500 records) with partial batch responses.

Each record carries ``{"event_id", "order"}`` (read by :func:`orders.messages.parse`); the order is
inserted with the event id as its idempotency key, so a replayed message creates nothing. The
records of a batch are inserted set-based, in one statement and one transaction
(:func:`orders.repository.insert_batch`): one round trip for 500 orders instead of 500. A record
that cannot be an order (:class:`~orders.messages.PoisonMessage`) never reaches the statement and
fails alone. If the statement itself is refused for a data reason (a row the table's constraints
reject), nothing was written, and the records are inserted one per transaction so that exactly the
refused ones fail. The response names exactly the records that were not processed
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html, "Implementing
partial batch responses"); each failure is logged at WARNING with its class.

A batch never runs into the function's timeout (which would fail every record, processed or not):
the time budget is the Lambda context's ``get_remaining_time_in_millis()`` minus
:data:`RESERVE_MS`; database waits end at that deadline (see :mod:`orders.database`); no record is
started once the budget is spent; and on a database outage (a connection-level failure) the
remaining records fail at once instead of waiting out the same outage one by one. Failed records
come back after the queue's visibility timeout and, after ``queueMaxReceiveCount`` receives, move
to the dead-letter queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.workloads import workload
from orders import repository
from orders.config import SettingsSource
from orders.database import Database, Role
from orders.domain import NewOrder
from orders.errors import DatabaseUnavailable
from orders.messages import PoisonMessage
from orders.messages import parse as parse_message
from orders.observability import logger, metrics, tracer

RESERVE_MS = 1_000
"""Time kept back at the end of an invocation: no record starts, and no retry runs, inside it."""

# An all-poison batch still returns its failures (each then redrives alone) instead of raising.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_database: Database | None = None
_database_down = False  # set when the database was unavailable earlier in the current batch
_failures: dict[str, BaseException] = {}  # message id -> why it failed, for the current batch


class NotAttempted(RuntimeError):
    """A record the worker did not try: it fails now and comes back after the visibility timeout."""


def database() -> Database:
    global _database
    if _database is None:
        _database = Database(SettingsSource(categories=workload("worker").parameter_categories))
    return _database


def parse(body: str) -> tuple[uuid.UUID, NewOrder]:
    """The event id and order of a message body; PoisonMessage when it cannot be one."""
    return parse_message(body)


@dataclass(frozen=True)
class Event:
    message_id: str
    event_id: uuid.UUID
    order: NewOrder
    caller_id: str  # the ``caller_id`` message attribute; repository.UNASSIGNED_CALLER when it has none

    @property
    def key(self) -> str:
        return f"event:{self.event_id}"


def insert_events(events: Sequence[Event], budget_ms: Callable[[], int]) -> dict[str, BaseException]:
    """Insert ``events``; the message ids that failed and why (empty when all were processed)."""
    global _database_down
    if not events:
        return {}
    if budget_ms() <= 0:
        return {event.message_id: NotAttempted("too little time left in this invocation") for event in events}
    try:
        created = database().run(Role.WRITER, lambda c: insert_set_based(c, events), remaining_ms=budget_ms)
    except DatabaseUnavailable as error:  # connection-level (or misconfigured): every record meets it
        _database_down = True
        return {event.message_id: error for event in events}
    except psycopg2.Error:  # a row was refused and the statement wrote nothing: find exactly which
        logger.warning("the set-based insert was refused; inserting the batch one record at a time")
        return insert_one_by_one(events, budget_ms)
    if created:
        metrics.add_metric(name="OrdersCreated", unit=MetricUnit.Count, value=created)
    return {}


def insert_set_based(cursor: Any, events: Sequence[Event]) -> int:
    """One INSERT per caller in the batch (usually one), all in the caller's transaction; how many were new."""
    created = 0
    for caller in dict.fromkeys(event.caller_id for event in events):
        group = [event for event in events if event.caller_id == caller]
        orders, keys = [e.order for e in group], [e.key for e in group]
        created += len(repository.insert_batch(cursor, orders, keys, caller_id=caller))
    return created


def insert_one_by_one(events: Sequence[Event], budget_ms: Callable[[], int]) -> dict[str, BaseException]:
    """Each event in its own transaction: only the refused ones fail; an outage fails the rest at once."""
    global _database_down
    failures: dict[str, BaseException] = {}
    created = 0
    for event in events:
        if _database_down:
            failures[event.message_id] = NotAttempted("the database was unavailable earlier in this batch")
            continue
        if budget_ms() <= 0:
            failures[event.message_id] = NotAttempted("too little time left in this invocation")
            continue
        try:
            created += database().run(
                Role.WRITER,
                lambda c, e=event: repository.insert_order(c, e.order, e.key, e.caller_id)[2],  # type: ignore[misc]
                remaining_ms=budget_ms,
            )
        except DatabaseUnavailable as error:
            _database_down = True
            failures[event.message_id] = error
        except psycopg2.Error as error:
            failures[event.message_id] = error
    if created:
        metrics.add_metric(name="OrdersCreated", unit=MetricUnit.Count, value=created)
    return failures


def prepare(records: Sequence[SQSRecord], context: LambdaContext) -> dict[str, BaseException]:
    """Parse every record, insert the valid ones set-based; the failures by message id."""
    failures: dict[str, BaseException] = {}
    events: list[Event] = []
    for record in records:
        try:
            event_id, order = parse(record.body)
        except PoisonMessage as error:  # fails alone, on every receive
            failures[record.message_id] = error
            continue
        attribute = record.message_attributes["caller_id"]
        # A message queued without the attribute (by an API from before callers) has no known caller: its
        # order goes to the reserved caller nobody is, as migration 0003 did with older rows.
        caller = attribute.string_value if attribute is not None and attribute.string_value else None
        events.append(Event(record.message_id, event_id, order, caller or repository.UNASSIGNED_CALLER))
    failures.update(insert_events(events, lambda: context.get_remaining_time_in_millis() - RESERVE_MS))
    return failures


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    """Report one record's outcome from the batch insert (the processor builds batchItemFailures)."""
    error = _failures.get(record.message_id)
    attribute = record.message_attributes["correlation_id"]
    correlation = attribute.string_value if attribute is not None else None
    if error is not None:
        logger.warning(
            "record failed",
            extra={
                "message_id": record.message_id,
                "error": type(error).__name__,
                "reason": str(error).splitlines()[0][:200] if str(error) else "",
                "correlation_id": correlation,
            },
        )
        # One exception may stand for many records (an outage): drop the traceback of its previous raise,
        # which would otherwise grow with every record and be logged whole each time.
        raise error.with_traceback(None)
    logger.info("order event processed", extra={"message_id": record.message_id, "correlation_id": correlation})


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _database_down, _failures
    _database_down = False
    records = [SQSRecord(raw) for raw in event.get("Records", [])]
    _failures = prepare(records, context)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    if failed:
        logger.warning(
            "records failed; they come back after the visibility timeout",
            extra={"failed": failed, "records": len(records), "database_down": _database_down},
        )
    metrics.add_metric(name="BatchRecordsProcessed", unit=MetricUnit.Count, value=len(records) - failed)
    metrics.add_metric(name="BatchRecordsFailed", unit=MetricUnit.Count, value=failed)
    return dict(response)


__all__ = ["PoisonMessage", "handler", "parse"]
