"""The queue worker: SQS batches (up to 500 records) with partial batch responses.

Each record carries ``{"event_id", "order"}``; the order is inserted with the event id as its
idempotency key, so a replayed message creates nothing. A record that fails validation or
insertion is reported as a batch item failure on its own; the rest of the batch succeeds.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from contract.workloads import workload
from orders import repository
from orders.config import SettingsSource
from orders.database import Database, Role
from orders.domain import NewOrder
from orders.observability import logger, metrics, tracer

# An all-poison batch still returns its failures (each then redrives alone) instead of raising.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_database: Database | None = None


class PoisonMessage(ValueError):
    """A message that will never succeed (malformed or invalid): it fails alone and reaches the DLQ."""


def database() -> Database:
    global _database
    if _database is None:
        _database = Database(SettingsSource(categories=workload("worker").parameter_categories))
    return _database


def parse(body: str) -> tuple[uuid.UUID, NewOrder]:
    """The event id and order of a message body; PoisonMessage when it cannot be one."""
    try:
        data: dict[str, Any] = json.loads(body)
        return uuid.UUID(str(data["event_id"])), NewOrder.model_validate(data["order"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, ValidationError) as error:
        raise PoisonMessage(f"validation: {type(error).__name__}") from None


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    event_id, order = parse(record.body)
    attribute = record.message_attributes["correlation_id"]
    correlation = attribute.string_value if attribute is not None else None
    created = database().run(Role.WRITER, lambda c: repository.insert_order(c, order, f"event:{event_id}")[2])
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
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    metrics.add_metric(
        name="BatchRecordsProcessed", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed
    )
    metrics.add_metric(name="BatchRecordsFailed", unit=MetricUnit.Count, value=failed)
    return dict(response)
