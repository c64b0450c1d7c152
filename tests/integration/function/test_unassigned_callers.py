"""Orders from before callers (migration 0003), against the real TLS PostgreSQL.

Each test gets a database of its own, migrated to 0002 as a stack deployed before 0003 is, with an
order written then (``caller_id`` NULL); the migrator handler then runs as at deploy time.
"""

from __future__ import annotations

import contextlib
import uuid

import psycopg2
import pytest
from orders import repository
from orders.handlers import api, migrator, worker
from yoyo import get_backend, read_migrations

from tests.integration.function.conftest import api_event, sqs_event
from tests.integration.function.test_api_contract import assert_error, call
from tests.integration.function.test_callers_and_idempotency import as_caller

BEFORE_0003 = ("0001.create-orders", "0002.orders-caller")
LEGACY_ORDER = uuid.UUID("00000000-0000-4000-8000-000000000017")


def master(postgres, database: str):
    return contextlib.closing(psycopg2.connect(postgres.dsn(database)))


def apply(postgres, database: str, *, only: tuple[str, ...] | None = None, rollback: str | None = None) -> None:
    backend = get_backend(postgres.yoyo_uri(database))
    try:
        migrations = read_migrations(str(migrator.MIGRATIONS))
        with backend.lock():
            if rollback is not None:
                backend.rollback_migrations(backend.to_rollback(migrations.filter(lambda m: m.id == rollback)))
            else:
                chosen = migrations.filter(lambda m: only is None or m.id in only)
                backend.apply_migrations(backend.to_apply(chosen))
    finally:
        backend.connection.close()


def callers(postgres, database: str) -> dict[str, str | None]:
    with master(postgres, database) as connection, connection, connection.cursor() as cursor:
        cursor.execute("SELECT order_id::text, caller_id FROM orders")
        return dict(cursor.fetchall())


@pytest.fixture
def before_0003(postgres, seed_parameters, monkeypatch, context):
    """A database at 0002 holding one order without a caller; parameters and the migrator point at it."""
    name = f"orders_{uuid.uuid4().hex[:12]}"
    with master(postgres, postgres.database) as connection:
        connection.autocommit = True
        connection.cursor().execute(f'CREATE DATABASE "{name}"')
    apply(postgres, name, only=BEFORE_0003)
    with master(postgres, name) as connection, connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders (order_id, customer_id, amount_minor, currency, idempotency_key, request_fingerprint)"
            " VALUES (%s, 'written-before-callers', 1999, 'EUR', 'key:legacy', repeat('0', 64))",
            (LEGACY_ORDER,),
        )
    seed_parameters(writer_host=postgres.host, reader_host=postgres.host, port=str(postgres.port), name=name)
    monkeypatch.setenv("DB_SSLROOTCERT", str(postgres.ca_path))
    monkeypatch.setenv("DB_MASTER_DSN", postgres.yoyo_uri(name))
    monkeypatch.setattr(api, "_service", None)
    monkeypatch.setattr(worker, "_database", None)
    yield name
    for module, attribute in ((api, "_service"), (worker, "_database")):
        held = getattr(module, attribute)
        if held is not None:
            (held.database if module is api else held).close()
    with master(postgres, postgres.database) as connection:
        connection.autocommit = True
        connection.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_given_an_order_without_a_caller_when_0003_is_applied_then_it_belongs_to_the_reserved_caller(
    before_0003, postgres, context
):
    assert migrator.handler({"action": "migrate"}, context)["applied"] == ["0003.orders-caller-required"]
    assert callers(postgres, before_0003) == {str(LEGACY_ORDER): repository.UNASSIGNED_CALLER}


def test_given_0003_applied_then_no_caller_reads_or_lists_the_order_from_before_callers(before_0003, postgres, context):
    migrator.handler({"action": "migrate"}, context)
    response, body = call(api_event("GET", f"/orders/{LEGACY_ORDER}"), context)
    assert_error(response, body, 404, "not_found")
    _, page = call(api_event("GET", "/orders", query={"customer_id": ["written-before-callers"]}), context)
    assert page["orders"] == []


def test_given_0003_applied_then_the_column_refuses_an_order_without_a_caller(before_0003, postgres, context):
    migrator.handler({"action": "migrate"}, context)
    with (
        pytest.raises(psycopg2.errors.NotNullViolation),
        master(postgres, before_0003) as connection,
        connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO orders (order_id, customer_id, amount_minor, currency, idempotency_key, request_fingerprint)"
            " VALUES (gen_random_uuid(), 'c', 1, 'EUR', 'key:no-caller', repeat('0', 64))"
        )


def test_given_0003_rolled_back_then_the_order_has_no_caller_again_and_null_is_allowed(before_0003, postgres, context):
    migrator.handler({"action": "migrate"}, context)
    apply(postgres, before_0003, rollback="0003.orders-caller-required")
    assert callers(postgres, before_0003) == {str(LEGACY_ORDER): None}
    assert migrator.handler({"action": "migrate"}, context)["applied"] == ["0003.orders-caller-required"]


def test_given_a_key_whose_id_is_the_reserved_caller_then_it_is_refused_with_403(before_0003, context):
    migrator.handler({"action": "migrate"}, context)
    response, body = call(as_caller(repository.UNASSIGNED_CALLER, "GET", f"/orders/{LEGACY_ORDER}"), context)
    assert_error(response, body, 403, "forbidden")


def test_given_a_queued_order_without_a_caller_then_the_worker_gives_it_the_reserved_caller(
    before_0003, postgres, context
):
    migrator.handler({"action": "migrate"}, context)
    event_id = uuid.uuid4()
    message = f'{{"event_id": "{event_id}", "order": {{"customer_id": "c", "amount_minor": 1, "currency": "EUR"}}}}'
    assert worker.handler(sqs_event([message]), context) == {"batchItemFailures": []}
    assert sorted(callers(postgres, before_0003).values()) == [repository.UNASSIGNED_CALLER] * 2
