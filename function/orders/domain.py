"""Orders as data: validated input, the stored order, idempotency fingerprints, signed cursors.

Pure functions only; no I/O. The pydantic models are the single definition of a valid order,
used by the HTTP API (and so by its OpenAPI document), the queue worker and the batch endpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from orders.currencies import ISO_4217
from orders.errors import BadRequest

MAX_CUSTOMER_ID = 64


MAX_AMOUNT_MINOR = 2**53 - 1
"""The largest amount accepted: every JSON client (JavaScript's numbers included) reads it exactly."""


class NewOrder(BaseModel):
    """What a caller sends to create an order."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    customer_id: Annotated[
        str, Field(min_length=1, max_length=MAX_CUSTOMER_ID, description="Any Unicode, 1-64 characters")
    ]
    amount_minor: Annotated[
        StrictInt, Field(ge=0, le=MAX_AMOUNT_MINOR, description="Amount in the currency's minor unit")
    ]
    currency: Annotated[str, Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. EUR")]

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in ISO_4217:
            raise ValueError(f"{value!r} is not an active ISO 4217 currency code")
        return value

    @field_validator("customer_id")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        if has_control_characters(value):
            raise ValueError("must not contain control characters")
        return value

    def fingerprint(self) -> str:
        """Identifies the request body, to tell a retry from a different request with the same key."""
        canonical = json.dumps(self.model_dump(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class NewOrders(BaseModel):
    """POST /orders/batch."""

    model_config = ConfigDict(extra="forbid")

    orders: list[NewOrder] = Field(min_length=1)


class Order(BaseModel):
    """An order as the API returns it."""

    order_id: uuid.UUID
    customer_id: str
    amount_minor: int
    currency: str
    status: str
    created_at: datetime


class OrderPage(BaseModel):
    orders: list[Order]
    next_cursor: str | None = None


class Accepted(BaseModel):
    """POST /orders/async: the event id under which the order will be created."""

    event_id: uuid.UUID
    status: str = "accepted"


@dataclass(frozen=True)
class Position:
    """Where a keyset page ends: the last order's creation time and id."""

    created_at: datetime
    order_id: uuid.UUID


def encode_cursor(position: Position, key: bytes) -> str:
    """An opaque, signed cursor: callers can pass it back but not forge or alter it."""
    payload = json.dumps(
        {"c": position.created_at.isoformat(), "i": str(position.order_id)}, separators=(",", ":")
    ).encode()
    signature = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(payload + signature).decode().rstrip("=")


def decode_cursor(cursor: str, key: bytes) -> Position:
    """The position a cursor encodes; a malformed or tampered cursor is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload, signature = raw[:-16], raw[-16:]
        if not hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest()[:16], signature):
            raise ValueError("signature")
        data: dict[str, Any] = json.loads(payload)
        return Position(datetime.fromisoformat(data["c"]), uuid.UUID(data["i"]))
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadRequest(
            "cursor is not valid; pass back the next_cursor of a previous page", [{"field": "cursor"}]
        ) from None


def has_control_characters(value: str) -> bool:
    return any(ord(character) < 32 or ord(character) == 127 for character in value)


def parse_customer_id(raw: str) -> str:
    """A customer id to filter by; one no order can have (control characters, NUL) is a 400, not a query."""
    if has_control_characters(raw):
        raise BadRequest("customer_id must not contain control characters", [{"field": "customer_id"}])
    return raw


def parse_order_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadRequest("order_id must be a UUID", [{"field": "order_id", "value_shape": "uuid"}]) from None
