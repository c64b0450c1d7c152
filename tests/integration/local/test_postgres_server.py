"""The test and local-stack PostgreSQL: TLS only, verify-full, restartable, and gone when closed."""

from __future__ import annotations

import os
import signal

import psycopg2
import pytest
import trustme

from local.postgres import PostgresServer
from tests.process_exit import still_running_after


@pytest.fixture(scope="module")
def server():
    with PostgresServer(database="checks") as running:
        yield running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(") ", 1)[1][0] != "Z"


def test_connections_are_tls_verified_against_the_servers_ca(server):
    with psycopg2.connect(server.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert cursor.fetchone() == (True,)


def test_a_plain_connection_is_refused_as_rds_force_ssl_does(server):
    with pytest.raises(psycopg2.OperationalError, match=r"no pg_hba\.conf entry"):
        psycopg2.connect(server.dsn().replace("sslmode=verify-full", "sslmode=disable"))


def test_a_certificate_from_another_ca_is_refused(server, tmp_path):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        psycopg2.connect(server.dsn().replace(str(server.ca_path), str(other)))


def test_the_database_it_was_asked_for_exists(server):
    with psycopg2.connect(server.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone() == ("checks",)


def test_stop_and_start_keep_the_port_and_the_data(server):
    with psycopg2.connect(server.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS kept (value int)")
        cursor.execute("INSERT INTO kept VALUES (7)")
    port = server.port
    server.stop()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(server.dsn())
    server.start()
    assert server.port == port
    with psycopg2.connect(server.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT value FROM kept")
        assert cursor.fetchall() == [(7,)]


def test_the_server_does_not_run_as_root():
    with PostgresServer(database="owner") as running:
        with psycopg2.connect(running.dsn()) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        assert os.stat(f"/proc/{backend}").st_uid != 0


def test_closing_stops_the_server_and_removes_its_files():
    running = PostgresServer(database="closing")
    running.start()
    pid, root = running.pid, running.root
    running.close()
    assert not _alive(pid)
    assert not root.exists()


def test_a_server_that_dies_is_started_again_by_start():
    with PostgresServer(database="revived") as running:
        pid = running.pid
        os.killpg(pid, signal.SIGKILL)
        assert still_running_after([pid], timeout_s=30) == []
        assert not running.running

        running.start()

        assert running.running
        assert running.pid != pid
        psycopg2.connect(running.dsn()).close()
