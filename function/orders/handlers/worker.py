"""The queue worker: SQS batches (up to 500 records) with partial batch responses.

Each record carries ``{"event_id", "order"}`` (read by :func:`orders.messages.parse`); the order is
inserted with the event id as its idempotency key, so a replayed message creates nothing. Records
are inserted one per transaction, so a record that fails validation or insertion is reported as a
batch item failure on its own and the rest of the batch succeeds; the response names exactly the
records that were not processed.

A batch never runs into the function's timeout (which would fail every record, processed or not):
database retries stop before the time the invocation has left, records are no longer started once
less than :data:`RESERVE_MS` is left, and once the database was unavailable for one record the
remaining records of the batch fail at once instead of waiting out the same outage one by one.
Failed records come back after the queue's visibility timeout and, after ``queueMaxReceiveCount``
receives, move to the dead-letter queue.
"""

from __future__ import annotations

import uuid
from typing import Any

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


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    global _database_down
    event_id, order = parse(record.body)  # PoisonMessage: fails alone, on every receive
    if _database_down:
        raise NotAttempted("the database was unavailable earlier in this batch")
    if lambda_context.get_remaining_time_in_millis() < RESERVE_MS:
        raise NotAttempted("too little time left in this invocation")
    attribute = record.message_attributes["correlation_id"]
    correlation = attribute.string_value if attribute is not None else None
    try:
        created = database().run(
            Role.WRITER,
            lambda c: repository.insert_order(c, order, f"event:{event_id}")[2],
            remaining_ms=lambda: lambda_context.get_remaining_time_in_millis() - RESERVE_MS,
        )
    except DatabaseUnavailable:
        _database_down = True
        raise
    logger.info(
        "order event processed",
        extra={"event_id": str(event_id), "order_created": created, "correlation_id": correlation},
    )
    if created:
        metrics.add_metric(name="OrdersCreated", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _database_down
    _database_down = False
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    if failed:
        logger.warning(
            "records failed; they come back after the visibility timeout",
            extra={"failed": failed, "records": len(event.get("Records", [])), "database_down": _database_down},
        )
    metrics.add_metric(
        name="BatchRecordsProcessed", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed
    )
    metrics.add_metric(name="BatchRecordsFailed", unit=MetricUnit.Count, value=failed)
    return dict(response)


__all__ = ["PoisonMessage", "handler", "parse"]
