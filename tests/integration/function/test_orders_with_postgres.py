"""The function against a real PostgreSQL over TLS (verify-full with a test CA) and moto.

The server comes from the ``postgres`` fixture (local.postgres, or the one DATABASE_URL names); the
schema and the application roles are created by the migrator handler itself, as at deploy time.
"""

from __future__ import annotations

import json
import time
import uuid

import boto3
import psycopg2
import pytest
from orders.handlers import api, migrator, worker

from local.context import LambdaContext
from local.materialize import materialize
from tests.integration.function.conftest import APP_PASSWORD, REGION, api_event, set_setting, sqs_event
from tests.unit.support import PROJECT_ROOT


def call(event, context):
    response = api.handler(event, context)
    return response, json.loads(response["body"])


def new_order(customer="kunde-東京-ü", amount=1999, currency="EUR"):
    return {"customer_id": customer, "amount_minor": amount, "currency": currency}


def count_orders(postgres):
    with psycopg2.connect(postgres.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders")
        return cursor.fetchone()[0]


def test_an_order_is_created_and_read_back(migrated, context):
    response, created = call(api_event("POST", "/orders", body=new_order()), context)
    assert response["statusCode"] == 201
    assert {k: created[k] for k in ("customer_id", "amount_minor", "currency", "status")} == {
        **new_order(),
        "status": "created",
    }
    response, read = call(api_event("GET", f"/orders/{created['order_id']}"), context)
    assert response["statusCode"] == 200
    assert read == created


def test_an_unknown_order_is_404(migrated, context):
    response, body = call(api_event("GET", f"/orders/{uuid.uuid4()}"), context)
    assert response["statusCode"] == 404
    assert body["error"]["code"] == "not_found"


def test_a_retry_with_the_same_key_and_body_returns_the_same_order_without_a_second_row(migrated, context):
    event = api_event("POST", "/orders", body=new_order(), headers={"Idempotency-Key": "retry-1"})
    _, first = call(event, context)
    response, second = call(event, context)
    assert response["statusCode"] == 201
    assert second == first
    assert count_orders(migrated) == 1


def test_the_same_key_with_a_different_body_is_409(migrated, context):
    call(api_event("POST", "/orders", body=new_order(), headers={"Idempotency-Key": "retry-2"}), context)
    retry = api_event("POST", "/orders", body=new_order(amount=1), headers={"Idempotency-Key": "retry-2"})
    response, body = call(retry, context)
    assert response["statusCode"] == 409
    assert body["error"]["code"] == "conflict"
    assert count_orders(migrated) == 1


def test_keyset_pages_cover_every_order_once_newest_first(migrated, context):
    created = [
        call(api_event("POST", "/orders", body=new_order(customer="pager", amount=i)), context)[1] for i in range(5)
    ]
    seen, cursor = [], None
    for _ in range(4):
        query = {"customer_id": ["pager"], "limit": ["2"], **({"cursor": [cursor]} if cursor else {})}
        _, page = call(api_event("GET", "/orders", query=query), context)
        seen += page["orders"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [o["order_id"] for o in seen] == [o["order_id"] for o in reversed(created)]
    assert cursor is None


def test_a_page_filters_by_customer(migrated, context):
    call(api_event("POST", "/orders", body=new_order(customer="a")), context)
    call(api_event("POST", "/orders", body=new_order(customer="b")), context)
    _, page = call(api_event("GET", "/orders", query={"customer_id": ["a"]}), context)
    assert [o["customer_id"] for o in page["orders"]] == ["a"]


def test_a_batch_of_500_is_created_in_one_statement(migrated, context):
    orders = [new_order(customer=f"batch-{i}", amount=i) for i in range(500)]
    response, body = call(api_event("POST", "/orders/batch", body={"orders": orders}), context)
    assert response["statusCode"] == 201
    assert len(body) == 500
    assert count_orders(migrated) == 500


def test_a_batch_of_501_is_refused_and_writes_nothing(migrated, context):
    orders = [new_order(amount=i) for i in range(501)]
    response, body = call(api_event("POST", "/orders/batch", body={"orders": orders}), context)
    assert response["statusCode"] == 413
    assert "500" in body["error"]["message"]
    assert count_orders(migrated) == 0


def test_a_batch_with_one_invalid_order_writes_nothing(migrated, context):
    orders = [new_order(), {**new_order(), "currency": "XXX"}]
    response, _ = call(api_event("POST", "/orders/batch", body={"orders": orders}), context)
    assert response["statusCode"] == 400
    assert count_orders(migrated) == 0


def message(order, event_id=None):
    return json.dumps({"event_id": str(event_id or uuid.uuid4()), "order": order})


def test_the_worker_inserts_queued_orders_and_a_replay_creates_nothing(migrated, context):
    body = message(new_order())
    assert worker.handler(sqs_event([body]), context) == {"batchItemFailures": []}
    assert worker.handler(sqs_event([body]), context) == {"batchItemFailures": []}
    assert count_orders(migrated) == 1


def test_a_poison_message_fails_alone_in_a_batch(migrated, context):
    event = sqs_event([message(new_order(amount=1)), "poison", message(new_order(amount=2))])
    response = worker.handler(event, context)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [event["Records"][1]["messageId"]]
    assert count_orders(migrated) == 2


def test_the_function_reconnects_after_the_database_restarts(migrated, context):
    assert call(api_event("POST", "/orders", body=new_order()), context)[0]["statusCode"] == 201
    migrated.restart()
    response, _ = call(api_event("POST", "/orders", body=new_order(amount=2)), context)
    assert response["statusCode"] == 201


def test_rotated_credentials_are_picked_up(migrated, context):
    assert call(api_event("GET", "/health/ready"), context)[0]["statusCode"] == 200
    rotated = "rotated-password-0123456789abcdef"
    with psycopg2.connect(migrated.dsn()) as connection, connection.cursor() as cursor:
        for role in ("orders_writer", "orders_reader"):
            cursor.execute(f"ALTER ROLE {role} PASSWORD %s", (rotated,))
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
    set_setting("app_password", rotated)
    response, _ = call(api_event("POST", "/orders", body=new_order()), context)
    assert response["statusCode"] == 201


def test_the_migrator_is_safe_to_run_twice(migrated, context):
    assert migrator.handler({"action": "migrate"}, context)["applied"] == []


def test_connections_verify_the_server_certificate(migrated, context, monkeypatch, tmp_path):
    import trustme

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    monkeypatch.setenv("DB_SSLROOTCERT", str(other_ca))
    response, body = call(api_event("GET", "/health/ready"), context)
    assert response["statusCode"] == 503
    assert body["error"]["code"] == "database_misconfigured"  # no retry fixes an untrusted certificate


def test_the_application_password_is_what_the_roles_use_locally(migrated):
    dsn = migrated.dsn(user="orders_writer", password=APP_PASSWORD)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert cursor.fetchone()[0] is True


def test_a_batch_of_500_with_poison_reports_exactly_the_poison_and_inserts_the_rest_within_the_timeout(migrated):
    bodies = [message(new_order(customer=f"queued-{i}", amount=i)) for i in range(500)]
    for poison in (0, 250, 499):
        bodies[poison] = "poison"
    event = sqs_event(bodies)
    timeout_s = materialize(PROJECT_ROOT, "dev").function("worker").timeout_s
    started = time.monotonic()
    response = worker.handler(event, LambdaContext(remaining_ms=timeout_s * 1000))
    assert time.monotonic() - started < timeout_s
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {event["Records"][i]["messageId"] for i in (0, 250, 499)}
    assert count_orders(migrated) == 497


def roles_state(postgres):
    """writer/reader role -> (member of rds_iam, has a password)."""
    with psycopg2.connect(postgres.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.rolname,
                   EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
                           WHERE m.member = a.oid AND r.rolname = 'rds_iam'),
                   a.rolpassword IS NOT NULL
            FROM pg_authid a WHERE a.rolname IN ('orders_writer', 'orders_reader')
            """
        )
        return {name: (member, has_password) for name, member, has_password in cursor.fetchall()}


@pytest.fixture
def rds_iam(migrated):
    """The server made to look like RDS: it has the rds_iam role."""
    with psycopg2.connect(migrated.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE ROLE rds_iam NOLOGIN")
    yield migrated
    with psycopg2.connect(migrated.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS rds_iam")


def test_with_iam_auth_off_the_roles_log_in_with_the_password_and_are_not_rds_iam_members(rds_iam, context):
    assert migrator.handler({"action": "migrate"}, context)["status"] == "ok"
    assert roles_state(rds_iam) == {"orders_writer": (False, True), "orders_reader": (False, True)}


def test_with_iam_auth_on_the_roles_are_rds_iam_members_without_a_password(rds_iam, context):
    set_setting("iam_auth", "true")
    assert migrator.handler({"action": "migrate"}, context)["status"] == "ok"
    assert roles_state(rds_iam) == {"orders_writer": (True, False), "orders_reader": (True, False)}


def test_turning_iam_auth_off_again_revokes_rds_iam_before_setting_the_password(rds_iam, context):
    set_setting("iam_auth", "true")
    migrator.handler({"action": "migrate"}, context)
    set_setting("iam_auth", "false")
    migrator.handler({"action": "migrate"}, context)
    assert roles_state(rds_iam) == {"orders_writer": (False, True), "orders_reader": (False, True)}


def test_iam_auth_on_a_server_without_rds_iam_is_a_clear_error(migrated, context):
    set_setting("iam_auth", "true")
    with pytest.raises(RuntimeError, match="iam_auth is true but the server has no rds_iam role"):
        migrator.handler({"action": "migrate"}, context)


MASTER_PASSWORD = "p%ss:w?rd#&=+[]!ü~"  # what a generated password may hold, URL-special characters included


@pytest.fixture
def master_secret(migrated, monkeypatch):
    """A master user and its Secrets Manager secret, shaped as the program stores it: JSON username/password."""
    with psycopg2.connect(migrated.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE ROLE orders_master LOGIN SUPERUSER PASSWORD %s", (MASTER_PASSWORD,))
    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="serverless-infra-dev-secret-db-master",
        SecretString=json.dumps({"username": "orders_master", "password": MASTER_PASSWORD}),
    )
    monkeypatch.delenv("DB_MASTER_DSN")
    monkeypatch.setenv("DB_MASTER_SECRET_ARN", secret["ARN"])
    yield secret["ARN"]
    with psycopg2.connect(migrated.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS orders_master")


def test_the_migrator_logs_in_with_the_master_secret_at_the_writer_host(master_secret, context):
    result = migrator.handler({"action": "migrate"}, context)
    assert result == {"applied": [], "status": "ok"}
    settings = migrator.SettingsSource(categories=(migrator.Category.DATABASE,)).load()
    dsn = migrator.master_dsn(settings)
    assert dsn.startswith("postgresql://orders_master:")
    assert f"@{settings.text(migrator.Category.DATABASE, 'writer_host')}:" in dsn


def test_given_a_proxy_as_writer_host_when_the_secret_names_the_instance_then_the_migrator_logs_in_there(
    master_secret, migrated, context
):
    """RDS Proxy (IAM auth only) refuses the master password: the secret's host is the primary itself."""
    set_setting("writer_host", "proxy.invalid")
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=master_secret,
        SecretString=json.dumps(
            {"username": "orders_master", "password": MASTER_PASSWORD, "host": migrated.host, "port": migrated.port}
        ),
    )
    assert migrator.handler({"action": "migrate"}, context) == {"applied": [], "status": "ok"}
    dsn = migrator.master_dsn(migrator.SettingsSource(categories=(migrator.Category.DATABASE,)).load())
    assert f"@{migrated.host}:{migrated.port}/" in dsn


def test_a_master_secret_without_a_password_is_a_clear_error(master_secret, context):
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=master_secret, SecretString=json.dumps({"username": "orders_master"})
    )
    with pytest.raises(ValueError, match="must be JSON"):
        migrator.handler({"action": "migrate"}, context)
