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
import unicodedata
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
    def _normalized_text(cls, value: str) -> str:
        return normalized_text(value)

    def fingerprint(self) -> str:
        """Identifies the request body, to tell a retry from a different request with the same key."""
        canonical = json.dumps(self.model_dump(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class NewOrders(BaseModel):
    """POST /orders/batch."""

    model_config = ConfigDict(extra="forbid")

    orders: list[NewOrder] = Field(min_length=1)

    def fingerprint(self) -> str:
        """Identifies the whole batch (its orders, in order), to tell a replay from another batch under one key."""
        return hashlib.sha256(",".join(order.fingerprint() for order in self.orders).encode()).hexdigest()


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
        order_id = uuid.UUID(data["i"])
        if str(order_id) != data["i"]:
            raise ValueError("not a canonical UUID")
        return Position(datetime.fromisoformat(data["c"]), order_id)
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadRequest(
            "cursor is not valid; pass back the next_cursor of a previous page", [{"field": "cursor"}]
        ) from None


REFUSED_CATEGORIES = frozenset({"Cc", "Cf"})
"""Control (NUL, ESC, ...) and format characters (zero-width space, bidi overrides): invisible, so two ids
that look the same could differ, and a log or a terminal showing one could be spoofed."""


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(character) in REFUSED_CATEGORIES for character in value)


def normalized_text(value: str) -> str:
    """``value`` in NFC, so that 'é' typed precomposed or decomposed is one customer; a ValueError if it
    holds control or format characters or outgrows the column once normalized."""
    normalized = unicodedata.normalize("NFC", value)
    if has_control_characters(normalized):
        raise ValueError("must not contain control or format characters (Unicode categories Cc, Cf)")
    if len(normalized) > MAX_CUSTOMER_ID:
        raise ValueError(f"must have at most {MAX_CUSTOMER_ID} characters")
    return normalized


def parse_customer_id(raw: str) -> str:
    """A customer id to filter by, normalized as stored ones are; one no order can have is a 400, not a query."""
    try:
        return normalized_text(raw)
    except ValueError as error:
        raise BadRequest(f"customer_id {error}", [{"field": "customer_id"}]) from None


CANONICAL_UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
"""What :func:`parse_order_id` accepts, as the OpenAPI document states it for the path parameter."""


def parse_order_id(raw: str) -> uuid.UUID:
    """Only the canonical form (lowercase, hyphenated), so one order has one URL and one cache key."""
    try:
        parsed = uuid.UUID(raw)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != raw:
        raise BadRequest(
            "order_id must be a UUID in canonical form (lowercase, hyphenated)",
            [{"field": "order_id", "value_shape": "uuid"}],
        )
    return parsed
