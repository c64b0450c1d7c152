"""How the database layer behaves when PostgreSQL, the network or the configuration fails (issue 17).

Against the real TLS PostgreSQL of the ``postgres`` fixture, and a TCP server that accepts
connections and never answers (a hung database, as a stopped instance or a black-holed path looks).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from orders import config
from orders.config import SettingsSource
from orders.database import Database, Role
from orders.errors import DatabaseUnavailable
from orders.failures import AWS_CONNECT_TIMEOUT_S, AWS_MAX_ATTEMPTS, AWS_READ_TIMEOUT_S, DatabaseMisconfigured
from orders.handlers import api

from contract.parameters import Category
from local.context import LambdaContext
from tests.integration.function.conftest import api_event, refuse_the_application_password

REMAINING_MS = 3000


class SilentServer:
    """Accepts TCP connections on a loopback port and never sends a byte."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.closing.set()
        self.listener.close()
        for connection in self.accepted:
            connection.close()
        self.thread.join(timeout=5)


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


class CountdownContext(LambdaContext):
    """Lambda's context as it behaves in Lambda: the time left shrinks as the invocation runs."""

    def __init__(self, remaining_ms: int) -> None:
        super().__init__(remaining_ms=remaining_ms)
        self.ends_at = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.ends_at - time.monotonic()) * 1000))


def call(event, context):
    response = api.handler(event, context)
    return response, json.loads(response["body"])


def metric_values(output: str, name: str) -> list[float]:
    values: list[float] = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line and name in line:
            value = json.loads(line)[name]
            values += value if isinstance(value, list) else [value]
    return values


def new_order():
    return {"customer_id": "outage", "amount_minor": 5, "currency": "EUR"}


def test_given_a_database_that_accepts_and_never_answers_when_an_order_is_posted_then_503_comes_within_the_time_left(
    seed_parameters, silent_server, monkeypatch, postgres
):
    # GIVEN the writer endpoint is a server that never answers (connect_timeout_s is 1 in the test parameters)
    seed_parameters(writer_host="127.0.0.1", reader_host="127.0.0.1", port=str(silent_server.port))
    monkeypatch.setenv("DB_SSLROOTCERT", str(postgres.ca_path))
    monkeypatch.setattr(api, "_service", None)
    context = CountdownContext(REMAINING_MS)
    started = time.monotonic()
    # WHEN an order is posted with 3 s left in the invocation
    response, body = call(api_event("POST", "/orders", body=new_order()), context)
    # THEN the documented 503 comes before the invocation would have timed out (no 502 from Lambda)
    assert time.monotonic() - started < REMAINING_MS / 1000
    assert response["statusCode"] == 503
    assert body["error"]["code"] == "database_unavailable"
    assert response["multiValueHeaders"]["Retry-After"]


def test_given_a_statement_longer_than_the_time_left_when_it_runs_then_it_is_cut_at_the_deadline(migrated):
    # GIVEN statement_timeout_ms is 5000 but the invocation has 2 s left
    database = Database(SettingsSource(categories=(Category.DATABASE, Category.CACHE)))
    started = time.monotonic()
    # WHEN a statement would take 10 s
    with pytest.raises(DatabaseUnavailable):
        database.run(Role.WRITER, lambda cursor: cursor.execute("SELECT pg_sleep(10)"), remaining_ms=lambda: 2000)
    # THEN the caller has its answer within the 2 s
    assert time.monotonic() - started < 2.0
    database.close()


def test_given_a_wrong_password_when_the_api_is_called_then_503_database_misconfigured_is_logged_critical_and_counted(
    migrated, capfd, log_output, context
):
    # GIVEN the roles' password is no longer the one in SSM
    refuse_the_application_password(migrated)
    capfd.readouterr()
    # WHEN an order is posted
    response, body = call(api_event("POST", "/orders", body=new_order()), context)
    # THEN the answer is a 503 with its own code, a CRITICAL line and the alarmable metric
    assert response["statusCode"] == 503
    assert body["error"]["code"] == "database_misconfigured"
    critical = [json.loads(line) for line in log_output.getvalue().splitlines() if '"CRITICAL"' in line]
    assert critical
    assert critical[0]["message"].startswith("database misconfigured")
    assert metric_values(capfd.readouterr().out, "DatabaseConfigurationErrors") == [1.0]


def test_given_a_wrong_password_when_the_database_is_called_then_it_fails_fast_without_backoff(migrated, log_output):
    # GIVEN credentials the server refuses
    refuse_the_application_password(migrated)
    database = Database(SettingsSource(categories=(Category.DATABASE, Category.CACHE)), max_attempts=10)
    # WHEN a call is made with plenty of time left
    with pytest.raises(DatabaseMisconfigured):
        database.run(Role.WRITER, lambda cursor: cursor.execute("SELECT 1"), remaining_ms=lambda: 20_000)
    # THEN only the one fresh-credentials retry was made, not ten backoff attempts
    assert log_output.getvalue().count("database call failed; retrying") == 0


def test_given_the_reader_endpoint_refuses_connections_when_an_order_is_read_then_the_writer_answers(
    migrated, monkeypatch, context, capfd
):
    # GIVEN an order exists and the reader endpoint refuses connections (nothing listens on 127.0.0.2)
    created, order = call(api_event("POST", "/orders", body=new_order()), context)
    assert created["statusCode"] == 201
    from tests.integration.function.conftest import set_setting

    set_setting("reader_host", "127.0.0.2")
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    monkeypatch.setattr(api, "_service", None)
    capfd.readouterr()
    # WHEN the order is read
    response, found = call(api_event("GET", f"/orders/{order['order_id']}"), context)
    # THEN the writer answers it, and the fallback is counted
    assert response["statusCode"] == 200
    assert found["order_id"] == order["order_id"]
    assert metric_values(capfd.readouterr().out, "DatabaseReaderFallbacks") == [1.0]


def test_connections_use_tcp_keepalives_and_a_tcp_user_timeout(migrated):
    # GIVEN the function's database layer
    database = Database(SettingsSource(categories=(Category.DATABASE, Category.CACHE)))
    # WHEN it opens a connection
    parameters = database.run(Role.WRITER, lambda cursor: cursor.connection.get_dsn_parameters(), lambda: 5000)
    database.close()
    # THEN libpq was given keepalives and a TCP user timeout
    assert parameters["keepalives"] == "1"
    assert {"keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"} <= set(parameters)


def test_the_ssm_client_has_short_timeouts_and_bounded_retries(seed_parameters):
    # GIVEN settings were loaded from SSM
    seed_parameters()
    SettingsSource(categories=(Category.DATABASE,)).load()
    # WHEN the client the settings used is inspected
    client_config = config.ssm_provider().client.meta.config
    # THEN its timeouts and retries are the bounded ones, not botocore's 60 s defaults
    assert (client_config.connect_timeout, client_config.read_timeout) == (AWS_CONNECT_TIMEOUT_S, AWS_READ_TIMEOUT_S)
    assert client_config.retries["total_max_attempts"] == AWS_MAX_ATTEMPTS


def test_a_connection_left_by_a_cut_statement_is_not_reused(migrated):
    # GIVEN a statement was cut at the deadline
    database = Database(SettingsSource(categories=(Category.DATABASE, Category.CACHE)))
    with pytest.raises(DatabaseUnavailable):
        database.run(Role.WRITER, lambda cursor: cursor.execute("SELECT pg_sleep(10)"), remaining_ms=lambda: 1500)
    # WHEN the next call comes with time to spare
    answer = database.run(Role.WRITER, lambda cursor: (cursor.execute("SELECT 41 + 1 AS n"), cursor.fetchone())[1])
    database.close()
    # THEN it succeeds on a fresh connection
    assert answer["n"] == 42
