"""The order event a queue message carries, and how a message body is read back.

The API queues ``{"event_id": <uuid>, "order": <NewOrder>}``. :func:`parse` is the one reader: the
worker uses it to process a message and the DLQ analyzer to tell why a dead letter could not be
processed, so both always agree on what the worker accepts.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic import ValidationError

from orders.domain import NewOrder


class PoisonMessage(ValueError):
    """A message the worker can never process, however often it is retried."""


class MalformedMessage(PoisonMessage):
    """Not an order event at all: not JSON, not an object, no ``event_id`` UUID or no ``order``."""


class InvalidOrder(PoisonMessage):
    """An order event whose order fails the order schema (the API's own validation)."""


def parse(body: str) -> tuple[uuid.UUID, NewOrder]:
    """The event id and order of a message body; MalformedMessage or InvalidOrder when it is neither."""
    try:
        data: Any = json.loads(body)
    except (json.JSONDecodeError, TypeError):
        raise MalformedMessage("malformed: the body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedMessage(f"malformed: the body is a JSON {type(data).__name__}, not an object")
    if "event_id" not in data or "order" not in data:
        raise MalformedMessage("malformed: the body lacks event_id or order")
    try:
        event_id = uuid.UUID(str(data["event_id"]))
    except ValueError:
        raise MalformedMessage("malformed: event_id is not a UUID") from None
    try:
        return event_id, NewOrder.model_validate(data["order"])
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in detail["loc"]) or "order" for detail in error.errors()})
        raise InvalidOrder(f"invalid: the order fails validation ({', '.join(fields)})") from None


def body_of(event_id: uuid.UUID, order: NewOrder) -> str:
    """The message body for ``order`` under ``event_id`` (what :func:`parse` reads back)."""
    return json.dumps({"event_id": str(event_id), "order": order.model_dump()})
