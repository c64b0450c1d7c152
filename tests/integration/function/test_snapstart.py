"""SnapStart's after-restore hook: each restored environment gets its own entropy and no inherited connections."""

from __future__ import annotations

import random
import sys
import types
from collections.abc import Callable

import pytest
from orders import snapstart
from orders.config import SettingsSource
from orders.database import Database, Role, TokenCache

from contract.parameters import Category


@pytest.fixture
def restore_hooks(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], object]]:
    """Lambda's ``snapshot_restore_py`` as its runtime provides it: a registry the runtime calls after a restore.

    (The library ships with Lambda's Python runtimes and awslambdaric, not with the test tools.)
    """
    registry: list[Callable[[], object]] = []
    library = types.ModuleType("snapshot_restore_py")
    library.register_after_restore = lambda hook, *args, **kwargs: registry.append(lambda: hook(*args, **kwargs))
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", library)
    return registry


def run_restore_hooks(registry: list[Callable[[], object]]) -> None:
    """What the runtime does after a restore: call each registered hook in registration order."""
    for hook in registry:
        hook()


class OpenConnection:
    closed = 0

    def close(self) -> None:
        self.closed = 1


@pytest.fixture
def database() -> Database:
    return Database(SettingsSource(categories=(Category.DATABASE,)), tokens=TokenCache())


def test_given_the_runtime_library_then_installing_registers_one_after_restore_hook(restore_hooks):
    assert snapstart.install(lambda: None) is True
    assert len(restore_hooks) == 1


def test_given_no_runtime_library_then_installing_registers_nothing_and_does_not_fail(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # what an import finds where it is absent
    assert snapstart.install(lambda: None) is False


def test_given_two_environments_restored_from_one_snapshot_then_their_random_draws_differ(restore_hooks):
    """The snapshot's state is the same for both: without a reseed they would draw the same jitter."""
    snapstart.install(lambda: None)
    snapshot = random.getstate()
    draws = []
    for _ in range(2):
        random.setstate(snapshot)  # a fresh environment from the same memory
        run_restore_hooks(restore_hooks)
        draws.append([random.random() for _ in range(4)])  # noqa: S311 - the jitter's generator
    random.setstate(snapshot)
    inherited = [random.random() for _ in range(4)]  # noqa: S311 - the jitter's generator
    assert draws[0] != draws[1]
    assert inherited not in draws


def test_given_a_restore_then_the_databases_connections_are_closed_and_forgotten(restore_hooks, database):
    connection = OpenConnection()
    database._connections[Role.READER] = connection  # what a snapshot taken after a connect would hold
    snapstart.install(lambda: database)
    run_restore_hooks(restore_hooks)
    assert connection.closed
    assert database._connections == {}


def test_given_a_restore_then_cached_iam_tokens_are_signed_afresh(restore_hooks, database):
    database._tokens._tokens[("db.example", 5432, "orders_writer")] = ("signed-before-the-snapshot", 10**9)
    snapstart.install(lambda: database)
    run_restore_hooks(restore_hooks)
    assert database._tokens._tokens == {}


def test_given_a_restore_then_the_next_run_reads_the_settings_afresh_and_retries_the_reader(restore_hooks, database):
    database._reader_down_until = 10**9  # a back-off timed by the snapshot's monotonic clock
    snapstart.install(lambda: database)
    run_restore_hooks(restore_hooks)
    assert database._reader_down_until == 0.0
    assert database._reload_settings is True


def test_given_a_restore_before_any_database_was_made_then_the_hook_only_reseeds(restore_hooks):
    snapstart.install(lambda: None)
    run_restore_hooks(restore_hooks)  # no error: nothing to forget
