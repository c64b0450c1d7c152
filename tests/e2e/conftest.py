"""The e2e suite's target: E2E_BASE_URL + E2E_API_KEY, else a local stack this session starts and stops."""

from __future__ import annotations

import os

import httpx
import pytest

from local.stack import StackOptions
from tests.e2e.stack.iam_report import IamReport
from tests.e2e.target import StackThread, Target, database_step

IAM_REPORT = IamReport()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "outage: takes the database away; runs after every other test")
    config.pluginmanager.register(IAM_REPORT, "iam-report")  # unused grants and denied calls, after the results


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Outage tests last (a stable sort keeps every other order), so no other test can meet the outage."""
    items.sort(key=lambda item: item.get_closest_marker("outage") is not None)


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory):
    base_url = os.environ.get("E2E_BASE_URL")
    if base_url:
        api_key = os.environ.get("E2E_API_KEY")
        if not api_key:
            pytest.fail("E2E_BASE_URL is set but E2E_API_KEY is not (pulumi stack output apiKey --show-secrets)")
        yield Target(base_url.rstrip("/"), api_key, has_database=True)
        return
    database = database_step()
    runner = StackThread(StackOptions(port=0, database=database, state_dir=tmp_path_factory.mktemp("local-stack")))
    stack = runner.start()
    if stack.iam is not None:
        IAM_REPORT.watch(stack.iam)
    try:
        yield Target(stack.url, stack.api_key, has_database=database is not None, stack=stack)
    finally:
        runner.stop()


@pytest.fixture
def api(target: Target):
    with httpx.Client(base_url=target.base_url, headers={"x-api-key": target.api_key}, timeout=35) as client:
        yield client


@pytest.fixture
def anonymous(target: Target):
    with httpx.Client(base_url=target.base_url, timeout=35) as client:
        yield client


@pytest.fixture
def database(target: Target) -> None:
    """Flows that need PostgreSQL; locally without one they are skipped, saying why."""
    if not target.has_database:
        pytest.skip("no database for the local stack: set DATABASE_URL (or add local.postgres)")
