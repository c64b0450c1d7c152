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


UNASSIGNED_CALLER = "(unassigned)"
"""The caller of orders whose caller is not known: rows written before migration 0002 (migration 0003
gives them this value) and queued orders whose message carries no ``caller_id`` attribute. No API key
id can equal it (key ids are alphanumeric; the API refuses this one besides), so no caller sees them
until an operator hands them to their key (docs/operations.md, "Orders from before callers")."""

VISIBLE_TO = "caller_id = %s"
"""The orders a caller may see: its own. Every row has a caller (NOT NULL since migration 0003)."""


def insert_order(cursor: Any, order: NewOrder, key: str, caller_id: str) -> tuple[Order, str, bool]:
    """Insert unless ``key`` exists. Returns (order, stored fingerprint, created)."""
    cursor.execute(
        f"""
        INSERT INTO orders
            (order_id, customer_id, amount_minor, currency, idempotency_key, request_fingerprint, caller_id)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING {COLUMNS}, request_fingerprint
        """,  # noqa: S608 - COLUMNS is a constant
        (uuid.uuid4(), order.customer_id, order.amount_minor, order.currency, key, order.fingerprint(), caller_id),
    )
    row = cursor.fetchone()
    created = row is not None
    if row is None:
        cursor.execute(f"SELECT {COLUMNS}, request_fingerprint FROM orders WHERE idempotency_key = %s", (key,))  # noqa: S608
        row = cursor.fetchone()
    return to_order(row), str(row["request_fingerprint"]), created


def insert_batch(
    cursor: Any,
    orders: Sequence[NewOrder],
    keys: Sequence[str],
    caller_id: str,
    fingerprints: Sequence[str] | None = None,
) -> list[Order]:
    """All orders in one statement (unnest of column arrays), in the order given; returns those created
    (an order whose key exists is left as it is). ``fingerprints`` default to each order's own."""
    cursor.execute(
        f"""
        INSERT INTO orders
            (order_id, customer_id, amount_minor, currency, idempotency_key, request_fingerprint, caller_id)
        SELECT *, %s FROM unnest(%s::uuid[], %s::varchar[], %s::bigint[], %s::char(3)[], %s::text[], %s::char(64)[])
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING {COLUMNS}
        """,  # noqa: S608
        (
            caller_id,
            [uuid.uuid4() for _ in orders],
            [o.customer_id for o in orders],
            [o.amount_minor for o in orders],
            [o.currency for o in orders],
            list(keys),
            list(fingerprints) if fingerprints is not None else [o.fingerprint() for o in orders],
        ),
    )
    return [to_order(row) for row in cursor.fetchall()]


def orders_by_keys(
    cursor: Any, keys: Sequence[str], younger_than_s: int | None = None
) -> tuple[list[Order], list[str]]:
    """The orders stored under ``keys`` (created less than ``younger_than_s`` ago, if given), in the
    order of ``keys``, and their stored fingerprints.

    What a replayed batch answers with: the orders its first attempt created, not an empty list.
    """
    cursor.execute(
        f"""
        SELECT {", ".join(f"orders.{column}" for column in COLUMNS.split(", "))}, request_fingerprint FROM orders
        JOIN unnest(%s::text[]) WITH ORDINALITY AS wanted(key, position) ON idempotency_key = wanted.key
        WHERE %s::integer IS NULL OR created_at > clock_timestamp() - make_interval(secs => %s::integer)
        ORDER BY wanted.position
        """,  # noqa: S608
        (list(keys), younger_than_s, younger_than_s),
    )
    rows = cursor.fetchall()
    return [to_order(row) for row in rows], [str(row["request_fingerprint"]) for row in rows]


def get_order(cursor: Any, order_id: uuid.UUID, caller_id: str) -> Order | None:
    """The caller's order with this id, or the one created from the async event with this id."""
    cursor.execute(
        f"""
        SELECT {COLUMNS} FROM orders
        WHERE (order_id = %s OR idempotency_key = %s) AND {VISIBLE_TO}
        """,  # noqa: S608
        (order_id, f"event:{order_id}", caller_id),
    )
    row = cursor.fetchone()
    return to_order(row) if row else None


def list_orders(
    cursor: Any, caller_id: str, customer_id: str | None, after: Position | None, limit: int
) -> list[Order]:
    """The caller's orders, newest first; ``after`` continues from the previous page's last. Fetches limit + 1."""
    conditions: list[str] = [VISIBLE_TO]
    values: list[object] = [caller_id]
    if customer_id is not None:
        conditions.append("customer_id = %s")
        values.append(customer_id)
    if after is not None:
        conditions.append("(created_at, order_id) < (%s, %s)")
        values += [after.created_at, after.order_id]
    cursor.execute(
        f"SELECT {COLUMNS} FROM orders WHERE {' AND '.join(conditions)} "  # noqa: S608
        "ORDER BY created_at DESC, order_id DESC LIMIT %s",
        (*values, limit + 1),
    )
    return [to_order(row) for row in cursor.fetchall()]
