"""SQL for orders. Every statement is parameterised; batches use one set-based INSERT."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from orders.domain import NewOrder, Order, Position

COLUMNS = "order_id, customer_id, amount_minor, currency, status, created_at"


def to_order(row: dict[str, Any]) -> Order:
    return Order(
        **{key: row[key] for key in ("order_id", "customer_id", "amount_minor", "currency", "status", "created_at")}
    )


def insert_order(cursor: Any, order: NewOrder, key: str) -> tuple[Order, str, bool]:
    """Insert unless ``key`` exists. Returns (order, stored fingerprint, created)."""
    cursor.execute(
        f"""
        INSERT INTO orders (order_id, customer_id, amount_minor, currency, idempotency_key, request_fingerprint)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING {COLUMNS}, request_fingerprint
        """,  # noqa: S608 - COLUMNS is a constant
        (uuid.uuid4(), order.customer_id, order.amount_minor, order.currency, key, order.fingerprint()),
    )
    row = cursor.fetchone()
    created = row is not None
    if row is None:
        cursor.execute(f"SELECT {COLUMNS}, request_fingerprint FROM orders WHERE idempotency_key = %s", (key,))  # noqa: S608
        row = cursor.fetchone()
    return to_order(row), str(row["request_fingerprint"]), created


def insert_batch(cursor: Any, orders: Sequence[NewOrder], keys: Sequence[str]) -> list[Order]:
    """All orders in one statement (unnest of column arrays), in the order given."""
    cursor.execute(
        f"""
        INSERT INTO orders (order_id, customer_id, amount_minor, currency, idempotency_key, request_fingerprint)
        SELECT * FROM unnest(%s::uuid[], %s::varchar[], %s::bigint[], %s::char(3)[], %s::text[], %s::char(64)[])
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING {COLUMNS}
        """,  # noqa: S608
        (
            [uuid.uuid4() for _ in orders],
            [o.customer_id for o in orders],
            [o.amount_minor for o in orders],
            [o.currency for o in orders],
            list(keys),
            [o.fingerprint() for o in orders],
        ),
    )
    return [to_order(row) for row in cursor.fetchall()]


def get_order(cursor: Any, order_id: uuid.UUID) -> Order | None:
    cursor.execute(f"SELECT {COLUMNS} FROM orders WHERE order_id = %s", (order_id,))  # noqa: S608
    row = cursor.fetchone()
    return to_order(row) if row else None


def list_orders(cursor: Any, customer_id: str | None, after: Position | None, limit: int) -> list[Order]:
    """Newest first; ``after`` continues from the previous page's last order. Fetches limit + 1."""
    conditions: list[str] = []
    values: list[object] = []
    if customer_id is not None:
        conditions.append("customer_id = %s")
        values.append(customer_id)
    if after is not None:
        conditions.append("(created_at, order_id) < (%s, %s)")
        values += [after.created_at, after.order_id]
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    cursor.execute(
        f"SELECT {COLUMNS} FROM orders {where} ORDER BY created_at DESC, order_id DESC LIMIT %s",  # noqa: S608
        (*values, limit + 1),
    )
    return [to_order(row) for row in cursor.fetchall()]
