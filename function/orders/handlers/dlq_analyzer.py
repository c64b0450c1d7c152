"""The DLQ analyzer: classifies each dead-lettered message, one metric per class, one summary log.

Classes: validation (the message can never be processed), database (the database refused or was
unreachable), timeout (the worker ran out of time), unknown. The class comes from the message body
and its attributes; the analyzer never retries anything itself (redrive is an operator's decision).
"""

from __future__ import annotations

import json
from collections import Counter
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent, SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from orders.domain import NewOrder
from orders.observability import logger, metrics, tracer


class FailureClass(StrEnum):
    VALIDATION = "validation"
    DATABASE = "database"
    TIMEOUT = "timeout"
    UNKNOWN = "unknown"


def classify(body: str, failure_reason: str | None) -> FailureClass:
    """Decide why a message died: its own content first, then the reason recorded with it."""
    reason = (failure_reason or "").lower()
    try:
        data = json.loads(body)
        NewOrder.model_validate(data["order"])
        str(data["event_id"])
    except (json.JSONDecodeError, KeyError, TypeError, ValidationError):
        return FailureClass.VALIDATION
    if "timeout" in reason or "timed out" in reason:
        return FailureClass.TIMEOUT
    if any(word in reason for word in ("database", "psycopg", "connection", "postgres")):
        return FailureClass.DATABASE
    return FailureClass.UNKNOWN


def summarise(records: list[SQSRecord]) -> Counter[FailureClass]:
    def reason(record: SQSRecord) -> str | None:
        attribute = record.message_attributes["failure_reason"]
        return attribute.string_value if attribute is not None else None

    return Counter(classify(record.body, reason(record)) for record in records)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = list(SQSEvent(event).records)
    counts = summarise(records)
    for failure_class, count in sorted(counts.items()):
        # One metric, one dimension per class: each needs its own EMF document.
        with single_metric(name="DlqMessagesByClass", unit=MetricUnit.Count, value=count) as metric:
            metric.add_dimension(name="FailureClass", value=failure_class.value)
    logger.info(
        "dead-letter batch classified",
        extra={
            "messages": len(records),
            "by_class": {k.value: v for k, v in counts.items()},
            "message_ids": [r.message_id for r in records],
        },
    )
    return {"batchItemFailures": []}
