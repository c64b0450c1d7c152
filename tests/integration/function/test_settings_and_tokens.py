"""Settings come from SSM with caching and a stale fallback; IAM tokens are cached and, with IAM
authentication on, are the only way to log in; secrets stay out of logs."""

from __future__ import annotations

import json

import psycopg2
import pytest
from orders.config import SettingsSource
from orders.database import Database, Role, Target, TokenCache
from orders.errors import DatabaseUnavailable

from contract.parameters import DOCUMENT_NAME, Category, encode_document
from tests.integration.function.conftest import APP_PASSWORD, CURSOR_KEY


def test_settings_load_by_category_path_with_decryption(seed_parameters):
    seed_parameters()
    settings = SettingsSource(categories=(Category.DATABASE, Category.API)).load()
    assert settings.text(Category.DATABASE, "app_password") == APP_PASSWORD
    assert settings.integer(Category.API, "max_page_size") == 50


def test_a_workload_loads_only_its_own_categories(seed_parameters):
    seed_parameters()
    settings = SettingsSource(categories=(Category.CACHE,)).load()
    with pytest.raises(KeyError, match="database/app_password"):
        settings.text(Category.DATABASE, "app_password")


def _count_get_parameters() -> list[dict]:
    """The GetParameters requests the SSM client sends (counted on the client, not on a wrapper)."""
    from orders.config import ssm_provider

    sent: list[dict] = []
    ssm_provider().client.meta.events.register("before-call.ssm.GetParameters", lambda params, **_: sent.append(params))
    return sent


def test_given_a_loaded_category_when_loaded_again_within_max_age_then_ssm_is_not_called_again(seed_parameters):
    seed_parameters()
    sent = _count_get_parameters()
    source = SettingsSource(categories=(Category.API,))

    source.load()
    source.load()

    assert len(sent) == 1


def test_given_a_loaded_category_when_a_load_is_forced_then_ssm_is_called_again(seed_parameters):
    seed_parameters()
    sent = _count_get_parameters()
    source = SettingsSource(categories=(Category.API,))

    source.load()
    source.load(force=True)

    assert len(sent) == 2


def test_ssm_down_after_a_successful_load_keeps_the_last_values(log_output):
    answers = [{f"/myapp/dev/api/{DOCUMENT_NAME}": encode_document({"max_page_size": "50"})}]

    def flaky_fetch(path, max_age, force):
        if not answers:
            raise ConnectionError("ssm unreachable")
        return answers.pop()

    source = SettingsSource(categories=(Category.API,), fetch=flaky_fetch)
    assert source.load().integer(Category.API, "max_page_size") == 50
    assert source.load().integer(Category.API, "max_page_size") == 50
    assert "parameter store unreachable" in log_output.getvalue()


def test_ssm_down_before_any_load_is_an_error():
    def failing_fetch(path, max_age, force):
        raise ConnectionError("ssm unreachable")

    with pytest.raises(ConnectionError):
        SettingsSource(categories=(Category.API,), fetch=failing_fetch).load()


def target(margin=120):
    return Target("db.example", 5432, "orders", "orders_writer", True, APP_PASSWORD, 5000, 1, margin)


class FakeRdsClient:
    def __init__(self):
        self.calls = 0

    def generate_db_auth_token(self, **_):
        self.calls += 1
        return f"token-{self.calls}"


def test_iam_tokens_are_reused_until_shortly_before_expiry():
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0])
    cache._client = FakeRdsClient()
    assert cache.token(target()) == "token-1"
    now[0] += 900 - 121
    assert cache.token(target()) == "token-1"
    now[0] += 2
    assert cache.token(target()) == "token-2"


def test_no_secret_reaches_the_logs_when_the_database_is_down(seed_parameters, log_output):
    seed_parameters(port="1")
    database = Database(SettingsSource(categories=(Category.DATABASE, Category.CACHE)), max_attempts=2)
    with pytest.raises(DatabaseUnavailable):
        database.run(Role.WRITER, lambda cursor: cursor.execute("SELECT 1"), remaining_ms=lambda: 2000)
    output = log_output.getvalue()
    assert "database unavailable" in output
    assert APP_PASSWORD not in output
    assert CURSOR_KEY not in output
    assert all(json.loads(line) for line in output.splitlines() if line.startswith("{"))


class RecordingOpen:
    """Stands in for the connect call: records each password tried and fails like PostgreSQL."""

    def __init__(self, error):
        self.secrets = []
        self.error = error

    def __call__(self, target, secret):
        self.secrets.append(secret)
        raise psycopg2.OperationalError(self.error)


def database_with(monkeypatch, error, tokens):
    opened = RecordingOpen(error)
    monkeypatch.setattr(Database, "_open", staticmethod(opened))
    database = Database(SettingsSource(categories=(Category.DATABASE, Category.CACHE)), tokens=tokens, max_attempts=2)
    return database, opened


class SigningTokens(TokenCache):
    def __init__(self):
        super().__init__()
        self._client = FakeRdsClient()


class UnsignableTokens(TokenCache):
    def token(self, target):
        raise RuntimeError("Unable to locate credentials")


def test_with_iam_auth_a_refused_token_is_an_error_and_no_password_is_tried(seed_parameters, monkeypatch, log_output):
    seed_parameters(iam_auth="true")
    refusal = 'FATAL:  PAM authentication failed for user "orders_writer"'  # RDS refusing a token
    database, opened = database_with(monkeypatch, refusal, SigningTokens())
    with pytest.raises(DatabaseUnavailable):
        database.run(Role.WRITER, lambda cursor: None, remaining_ms=lambda: 2000)
    assert opened.secrets == ["token-1", "token-2"]  # a fresh token for the retry, never the password
    assert "IAM authentication refused" in log_output.getvalue()


def test_with_iam_auth_a_token_that_cannot_be_signed_is_an_error_and_no_password_is_tried(
    seed_parameters, monkeypatch, log_output
):
    seed_parameters(iam_auth="true")
    database, opened = database_with(monkeypatch, "unused", UnsignableTokens())
    with pytest.raises(DatabaseUnavailable):
        database.run(Role.WRITER, lambda cursor: None, remaining_ms=lambda: 2000)
    assert opened.secrets == []
    assert "cannot sign an IAM database auth token" in log_output.getvalue()


def test_without_iam_auth_the_password_is_used_and_no_token_is_signed(seed_parameters, monkeypatch, log_output):
    seed_parameters(iam_auth="false")
    database, opened = database_with(monkeypatch, "connection refused", UnsignableTokens())
    with pytest.raises(DatabaseUnavailable):
        database.run(Role.WRITER, lambda cursor: None, remaining_ms=lambda: 2000)
    assert opened.secrets == [APP_PASSWORD, APP_PASSWORD]


def test_with_iam_auth_the_application_password_is_not_needed(seed_parameters):
    seed_parameters(iam_auth="true")
    settings = SettingsSource(categories=(Category.DATABASE, Category.CACHE)).load()
    assert Target.of(settings, Role.WRITER).password is None
