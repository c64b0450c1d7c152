"""The events the benchmark feeds the handlers, built by the local stack's own code.

API events come from ``local.gateway.build_event`` (the local API Gateway) and SQS records from
``local.event_source.to_record`` (the local event source mapping), so an in-process call sees
exactly what a call through the local stack sees, and nothing here can drift from it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from local.blueprint import ApiBlueprint, MethodBlueprint
from local.event_source import to_record
from local.gateway import IncomingRequest, build_event
from local.materialize import materialize
from local.routing import match

API_ID = "benchapi01"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def dev_api() -> ApiBlueprint:
    """The dev stack's API as the program declares it (materialized once per process)."""
    return materialize(PROJECT_ROOT, "dev").api


def api_methods() -> tuple[MethodBlueprint, ...]:
    return dev_api().methods


QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:serverless-infra-dev-queue-orders"
CURRENCIES = ("EUR", "USD", "JPY", "GBP")


def new_order(index: int, customer: str = "bench") -> dict[str, Any]:
    """A valid order body; ``index`` varies the amount and spreads orders over a few customers."""
    return {
        "customer_id": f"{customer}-{index % 16}",
        "amount_minor": 100 + index,
        "currency": CURRENCIES[index % len(CURRENCIES)],
    }


def api_event(
    method: str,
    path: str,
    *,
    body: object = None,
    query: dict[str, str] | None = None,
    api_key: str = "bench-api-key",
) -> dict[str, Any]:
    """The REST proxy event API Gateway sends for ``method path`` (path without the stage)."""
    matched = match(path, method, api_methods())
    if matched is None:
        raise ValueError(f"no API resource for {method} {path}")
    headers = [("Host", "127.0.0.1"), ("User-Agent", "bench"), ("x-api-key", api_key)]
    data = b""
    if body is not None:
        headers.append(("Content-Type", "application/json"))
        data = json.dumps(body).encode()
    request = IncomingRequest(
        method=method,
        path=path,
        query=list((query or {}).items()),
        headers=headers,
        body=data,
        source_ip="127.0.0.1",
        host="127.0.0.1",
    )
    return build_event(
        request, matched, request_id=str(uuid.uuid4()), api_id=API_ID, stage=dev_api().stage_name, api_key=api_key
    )


def sqs_event(bodies: list[str], correlation_id: str = "bench") -> dict[str, Any]:
    """An SQS batch as the event source mapping delivers it, one record per body."""
    records = []
    for index, body in enumerate(bodies):
        message = {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": f"bench-handle-{index}",
            "Body": body,
            "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1700000000000",
                "SenderId": "AIDABENCH",
                "ApproximateFirstReceiveTimestamp": "1700000000001",
            },
            "MessageAttributes": {"correlation_id": {"StringValue": correlation_id, "DataType": "String"}},
        }
        records.append(to_record(message, QUEUE_ARN, "us-east-1"))
    return {"Records": records}


def order_message(index: int) -> str:
    """A queue message body as ``POST /orders/async`` sends it: a fresh event id and the order."""
    return json.dumps({"event_id": str(uuid.uuid4()), "order": new_order(index, customer="queued")})
