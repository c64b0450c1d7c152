"""The orders use cases, over a Database and settings; no HTTP or Lambda types here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract.parameters import Category
from orders import repository
from orders.config import SettingsSource
from orders.database import Database, Role
from orders.domain import Accepted, NewOrder, NewOrders, Order, OrderPage, Position, decode_cursor, encode_cursor
from orders.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, QueueUnavailable
from orders.messages import body_of
from orders.observability import logger

Remaining = Callable[[], int]
IDEMPOTENCY_KEY_MAX = 128


@dataclass
class OrdersService:
    settings: SettingsSource
    database: Database
    queue_url: str | None = None
    _sqs: Any = None

    def create(self, order: NewOrder, idempotency_key: str | None, remaining: Remaining) -> tuple[Order, bool]:
        """Create one order; the same key and body again returns the same order, a different body is 409."""
        key = _checked_key(idempotency_key) if idempotency_key else f"auto:{uuid.uuid4()}"
        stored, fingerprint, created = self.database.run(
            Role.WRITER, lambda c: repository.insert_order(c, order, key), remaining
        )
        if fingerprint != order.fingerprint():
            raise Conflict("this Idempotency-Key was used with a different request body")
        return stored, created

    def create_batch(self, batch: NewOrders, remaining: Remaining) -> list[Order]:
        limit = self.settings.load().integer(Category.API, "max_batch_orders")
        if len(batch.orders) > limit:
            raise PayloadTooLarge(f"a batch holds at most {limit} orders; got {len(batch.orders)}")
        keys = [f"batch:{uuid.uuid4()}" for _ in batch.orders]
        return self.database.run(Role.WRITER, lambda c: repository.insert_batch(c, batch.orders, keys), remaining)

    def get(self, order_id: uuid.UUID, remaining: Remaining) -> Order:
        found = self.database.run(Role.READER, lambda c: repository.get_order(c, order_id), remaining)
        if found is None:
            raise NotFound(f"order {order_id} does not exist")
        return found

    def page(self, customer_id: str | None, limit: int | None, cursor: str | None, remaining: Remaining) -> OrderPage:
        settings = self.settings.load()
        maximum = settings.integer(Category.API, "max_page_size")
        size = limit if limit is not None else settings.integer(Category.API, "default_page_size")
        if not 1 <= size <= maximum:
            raise BadRequest(f"limit must be between 1 and {maximum}", [{"field": "limit"}])
        key = settings.text(Category.API, "cursor_signing_key").encode()
        after = decode_cursor(cursor, key) if cursor else None
        rows = self.database.run(Role.READER, lambda c: repository.list_orders(c, customer_id, after, size), remaining)
        next_cursor = None
        if len(rows) > size:
            rows = rows[:size]
            next_cursor = encode_cursor(Position(rows[-1].created_at, rows[-1].order_id), key)
        return OrderPage(orders=rows, next_cursor=next_cursor)

    def enqueue(self, order: NewOrder, correlation_id: str) -> Accepted:
        """Send the order to the queue; the worker creates it under the returned event id."""
        if not self.queue_url:
            raise RuntimeError("ORDERS_QUEUE_URL is not set")
        from botocore.exceptions import BotoCoreError, ClientError

        event_id = uuid.uuid4()
        try:
            self._client().send_message(
                QueueUrl=self.queue_url,
                MessageBody=body_of(event_id, order),
                MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": correlation_id}},
            )
        except (BotoCoreError, ClientError) as error:  # retried by the SDK's standard mode first
            logger.warning("the queue refused the order", extra={"error": type(error).__name__})
            raise QueueUnavailable("the order queue is unavailable; retry later") from error
        return Accepted(event_id=event_id)

    def _client(self) -> Any:
        if self._sqs is None:
            import boto3
            from botocore.config import Config

            self._sqs = boto3.client("sqs", config=Config(retries={"mode": "standard"}))
        return self._sqs


def _checked_key(key: str) -> str:
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise BadRequest(
            f"Idempotency-Key must be 1-{IDEMPOTENCY_KEY_MAX} printable characters", [{"field": "Idempotency-Key"}]
        )
    return f"key:{key}"
