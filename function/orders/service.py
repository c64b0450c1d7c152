"""The orders use cases, over a Database and settings; no HTTP or Lambda types here."""

from __future__ import annotations

import time
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
EVENT_NAMESPACE = uuid.UUID("5b0c6f0e-3f7a-4d43-9a55-0d1c2e6f1a17")
"""Names the event ids derived from (caller, Idempotency-Key) for async orders."""


@dataclass
class OrdersService:
    settings: SettingsSource
    database: Database
    queue_url: str | None = None
    _sqs: Any = None

    def create(
        self, order: NewOrder, caller_id: str, idempotency_key: str | None, remaining: Remaining
    ) -> tuple[Order, bool]:
        """Create one order; the same key and body again returns the same order, a different body is 409.

        Keys are the caller's own: another caller using the same key creates its own order. A key is
        remembered for the ``cache/idempotency_ttl_s`` parameter; after that it creates a new order.
        """
        ttl_s = self.settings.load().integer(Category.CACHE, "idempotency_ttl_s")
        if idempotency_key:
            key, previous = _keys_in_ttl_window(_scoped_key("key", caller_id, idempotency_key), ttl_s)
        else:
            key, previous = f"auto:{uuid.uuid4()}", None

        def insert(cursor: Any) -> tuple[Order, str, bool]:
            if previous is not None:
                earlier, fingerprints = repository.orders_by_keys(cursor, [previous], younger_than_s=ttl_s)
                if earlier:
                    return earlier[0], fingerprints[0], False
            return repository.insert_order(cursor, order, key, caller_id)

        stored, fingerprint, created = self.database.run(Role.WRITER, insert, remaining)
        if fingerprint != order.fingerprint():
            raise Conflict("this Idempotency-Key was used with a different request body")
        return stored, created

    def create_batch(
        self, batch: NewOrders, caller_id: str, idempotency_key: str | None, remaining: Remaining
    ) -> tuple[list[Order], bool]:
        """Create all orders or none. With a key, a replay returns the orders created the first time
        (and True: replayed); the same key with another batch is 409 and writes nothing."""
        settings = self.settings.load()
        limit = settings.integer(Category.API, "max_batch_orders")
        ttl_s = settings.integer(Category.CACHE, "idempotency_ttl_s")
        if len(batch.orders) > limit:
            raise PayloadTooLarge(f"a batch holds at most {limit} orders; got {len(batch.orders)}")
        previous: list[str] = []
        if idempotency_key:
            prefix, earlier_prefix = _keys_in_ttl_window(_scoped_key("batch", caller_id, idempotency_key), ttl_s)
            keys = [f"{prefix}:{index}" for index in range(len(batch.orders))]
            previous = [f"{earlier_prefix}:{index}" for index in range(len(batch.orders))]
            fingerprints = [batch.fingerprint()] * len(batch.orders)
        else:
            keys = [f"batch:{uuid.uuid4()}" for _ in batch.orders]
            fingerprints = [order.fingerprint() for order in batch.orders]

        def insert(cursor: Any) -> tuple[list[Order], bool]:
            if previous:
                earlier, stored = repository.orders_by_keys(cursor, previous, younger_than_s=ttl_s)
                if earlier:
                    if stored != fingerprints:
                        raise Conflict("this Idempotency-Key was used with a different batch")
                    return earlier, True
            created = repository.insert_batch(cursor, batch.orders, keys, caller_id, fingerprints)
            if len(created) == len(keys):
                return created, False
            orders, stored = repository.orders_by_keys(cursor, keys)
            if stored != fingerprints:  # raised inside the transaction: what this call inserted is rolled back
                raise Conflict("this Idempotency-Key was used with a different batch")
            return orders, not created

        return self.database.run(Role.WRITER, insert, remaining)

    def get(self, order_id: uuid.UUID, caller_id: str, remaining: Remaining) -> Order:
        """The caller's order by its id, or by the event id an async create answered with.

        Another caller's order is "does not exist" (404), not 403: its existence is not disclosed.
        A miss on the reader is asked of the writer before it is a 404: a read replica may not yet have
        the write that created the order, and a GET right after its POST must see it (read your writes).
        """

        def lookup(cursor: Any) -> Order | None:
            return repository.get_order(cursor, order_id, caller_id)

        found = self.database.run(Role.READER, lookup, remaining)
        if found is None:
            found = self.database.run(Role.WRITER, lookup, remaining)
        if found is None:
            raise NotFound(f"order {order_id} does not exist")
        return found

    def page(
        self, caller_id: str, customer_id: str | None, limit: int | None, cursor: str | None, remaining: Remaining
    ) -> OrderPage:
        settings = self.settings.load()
        maximum = settings.integer(Category.API, "max_page_size")
        size = limit if limit is not None else settings.integer(Category.API, "default_page_size")
        if not 1 <= size <= maximum:
            raise BadRequest(f"limit must be between 1 and {maximum}", [{"field": "limit"}])
        key = settings.text(Category.API, "cursor_signing_key").encode()
        after = decode_cursor(cursor, key) if cursor else None
        rows = self.database.run(
            Role.READER, lambda c: repository.list_orders(c, caller_id, customer_id, after, size), remaining
        )
        next_cursor = None
        if len(rows) > size:
            rows = rows[:size]
            next_cursor = encode_cursor(Position(rows[-1].created_at, rows[-1].order_id), key)
        return OrderPage(orders=rows, next_cursor=next_cursor)

    def enqueue(
        self, order: NewOrder, caller_id: str, correlation_id: str, idempotency_key: str | None = None
    ) -> Accepted:
        """Send the order to the queue; the worker creates it under the returned event id.

        With an Idempotency-Key the event id is derived from the caller and the key, so a retry sends
        the same event again and the worker, which creates one order per event id, creates none.
        """
        if not self.queue_url:
            raise RuntimeError("ORDERS_QUEUE_URL is not set")
        from botocore.exceptions import BotoCoreError, ClientError

        if idempotency_key:
            event_id = uuid.uuid5(EVENT_NAMESPACE, _scoped_key("async", caller_id, idempotency_key))
        else:
            event_id = uuid.uuid4()
        try:
            self._client().send_message(
                QueueUrl=self.queue_url,
                MessageBody=body_of(event_id, order),
                MessageAttributes={
                    "correlation_id": {"DataType": "String", "StringValue": correlation_id},
                    "caller_id": {"DataType": "String", "StringValue": caller_id},
                },
            )
        except (BotoCoreError, ClientError) as error:  # retried by the SDK's standard mode first
            logger.warning("the queue refused the order", extra={"error": type(error).__name__})
            raise QueueUnavailable("the order queue is unavailable; retry later") from error
        return Accepted(event_id=event_id)

    def _client(self) -> Any:
        if self._sqs is None:
            import boto3

            from orders.failures import aws_client_config

            self._sqs = boto3.client("sqs", config=aws_client_config())  # short timeouts, bounded retries
        return self._sqs


def _keys_in_ttl_window(scoped: str, ttl_s: int) -> tuple[str, str]:
    """The key to store now and the one an earlier use within the TTL may be stored under.

    Time is cut into windows of ``ttl_s``; a key is stored with its window's number. A use less than
    ``ttl_s`` ago is in this window or the one before (which is looked up with its age checked), and a
    use in this window is always younger than ``ttl_s``: so a key is honoured for exactly its TTL,
    and expired uses never block a new one, without rewriting or deleting old rows.
    """
    window = int(time.time()) // max(ttl_s, 1)
    return f"{scoped}@{window}", f"{scoped}@{window - 1}"


def _scoped_key(kind: str, caller_id: str, key: str) -> str:
    """The stored key: the route's kind, the caller and the caller's key, so callers cannot collide."""
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise BadRequest(
            f"Idempotency-Key must be 1-{IDEMPOTENCY_KEY_MAX} printable characters", [{"field": "Idempotency-Key"}]
        )
    return f"{kind}:{caller_id}:{key}"
