"""Settings load in as few SSM round trips as GetParameters allows (the API's in one), and a missing or
malformed one is named."""

from __future__ import annotations

import threading

import pytest
from orders import config
from orders.config import MAX_NAMES_PER_CALL, SettingsSource, batches

from contract.parameters import DOCUMENT_NAME, Category, encode_document, parameters_in
from contract.workloads import workload
from tests.integration.function.conftest import ENVIRONMENT, PREFIX, REGION


class RecordingClient:
    """The provider's real SSM client, recording each GetParameters call and the thread it ran on."""

    def __init__(self, client):
        self.client = client
        self.calls: list[tuple[tuple[str, ...], str]] = []

    def get_parameters(self, **arguments):
        self.calls.append((tuple(arguments["Names"]), threading.current_thread().name))
        return self.client.get_parameters(**arguments)


@pytest.fixture
def recorded(seed_parameters, monkeypatch):
    seed_parameters()
    provider = config.ssm_provider()
    recording = RecordingClient(provider.client)
    monkeypatch.setattr(provider, "client", recording)
    return recording


def test_given_the_apis_categories_then_their_stored_parameters_are_one_call():
    source = SettingsSource(categories=workload("api").parameter_categories)
    (call,) = batches([source.names(category) for category in source.categories])
    assert len(call) <= MAX_NAMES_PER_CALL
    assert sorted(call) == sorted(
        source.names(Category.DATABASE) + source.names(Category.API) + source.names(Category.CACHE)
    )


def test_given_a_category_larger_than_one_call_then_it_is_split_and_the_pieces_packed():
    groups = [tuple(f"a{i}" for i in range(13)), ("b0", "b1", "b2"), ("c0",)]
    calls = batches(groups, limit=10)
    assert [len(call) for call in calls] == [10, 7]


def test_given_an_uncached_load_of_the_apis_settings_then_ssm_is_called_once_on_the_callers_thread(recorded):
    """GIVEN the API's categories  WHEN loaded uncached  THEN one GetParameters call answers every setting."""
    settings = SettingsSource(categories=workload("api").parameter_categories).load(force=True)
    assert [thread for _, thread in recorded.calls] == [threading.current_thread().name]
    assert settings.integer(Category.API, "max_page_size") == 50
    assert settings.text(Category.API, "cursor_signing_key")
    assert len(settings.as_dict()) == sum(len(parameters_in(c)) for c in workload("api").parameter_categories)


def test_given_a_load_of_more_names_than_one_call_takes_then_the_calls_go_out_at_once(recorded):
    """GIVEN calls of at most 3 names (the API's 5 parameters: two calls)  WHEN loaded uncached  THEN one call
    runs on the caller's thread and the other side by side on the pool."""
    source = SettingsSource(categories=workload("api").parameter_categories, names_per_call=3)
    settings = source.load(force=True)
    threads = [thread for _, thread in recorded.calls]
    assert len(threads) == 2
    here, pool = sorted(threads, key=lambda name: name.startswith("settings"))
    assert here == threading.current_thread().name
    assert pool.startswith("settings")
    assert settings.integer(Category.API, "max_page_size") == 50


def test_given_settings_loaded_when_loaded_again_then_the_cache_answers_on_the_callers_thread(recorded):
    source = SettingsSource(categories=workload("api").parameter_categories)
    source.load()
    recorded.calls.clear()
    assert source.load().integer(Category.API, "max_page_size") == 50
    assert recorded.calls == []


def test_given_a_single_call_then_it_runs_on_the_callers_thread(recorded):
    SettingsSource(categories=(Category.API,)).load(force=True)
    assert [thread for _, thread in recorded.calls] == [threading.current_thread().name]


def test_given_a_parameter_ssm_does_not_have_then_reading_it_names_it_and_ssm_is_not_asked_again(recorded, monkeypatch):
    provider = config.ssm_provider()
    provider.client.client.delete_parameter(Name=f"/{PREFIX}/{ENVIRONMENT}/api/cursor_signing_key")
    source = SettingsSource(categories=(Category.API,))
    with pytest.raises(KeyError, match="parameter api/cursor_signing_key is not set"):
        source.load().text(Category.API, "cursor_signing_key")
    recorded.calls.clear()
    assert source.load().integer(Category.API, "max_page_size") == 50
    assert recorded.calls == []


def put_api_document(text: str) -> None:
    import boto3

    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"/{PREFIX}/{ENVIRONMENT}/api/{DOCUMENT_NAME}", Value=text, Type="SecureString", Overwrite=True
    )


def test_given_a_document_without_a_setting_then_reading_that_setting_names_it(recorded):
    put_api_document(encode_document({"default_page_size": "2", "max_page_size": "50"}))
    settings = SettingsSource(categories=(Category.API,)).load(force=True)
    with pytest.raises(KeyError, match="parameter api/max_batch_orders is not set"):
        settings.integer(Category.API, "max_batch_orders")
    assert settings.integer(Category.API, "max_page_size") == 50


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("max_page_size=50", "parameter api/settings is not JSON"),
        ('["50"]', "parameter api/settings must be a JSON object, got list"),
        ('{"default_page_size": "2", "max_page_size": 50}', "parameter api/settings: the value of max_page_size"),
    ],
)
def test_given_a_document_that_is_not_a_json_object_of_strings_then_its_settings_name_the_document(
    recorded, text, complaint
):
    """GIVEN the api settings document malformed  WHEN a setting it holds is read  THEN a ValueError names the
    document; the secret stored alone still reads."""
    put_api_document(text)
    settings = SettingsSource(categories=(Category.API,)).load(force=True)
    with pytest.raises(ValueError, match=complaint):
        settings.integer(Category.API, "default_page_size")
    assert settings.text(Category.API, "cursor_signing_key")


def test_given_a_document_fixed_after_a_malformed_one_then_a_fresh_load_reads_the_fix(recorded):
    source = SettingsSource(categories=(Category.API,))
    put_api_document("{")
    with pytest.raises(ValueError, match="api/settings"):
        source.load(force=True).integer(Category.API, "max_page_size")
    put_api_document(encode_document({"default_page_size": "2", "max_page_size": "40", "max_batch_orders": "9"}))
    assert source.load(force=True).integer(Category.API, "max_page_size") == 40


def stored(names, value):
    """SSM's answer for ``names`` with every setting set to ``value``: documents as JSON, secrets as text."""
    by_leaf = {name: [spec.name for spec in parameters_in(Category(name.split("/")[-2]))] for name in names}
    return {
        name: encode_document(dict.fromkeys(settings, value)) if name.endswith(f"/{DOCUMENT_NAME}") else value
        for name, settings in by_leaf.items()
    }


def test_given_one_call_failing_before_any_load_then_the_load_fails_with_that_error():
    def fetch(names, max_age, force):
        if any("/database/" in name for name in names):
            raise ConnectionError("ssm unreachable")
        return stored(names, "1")

    source = SettingsSource(categories=workload("api").parameter_categories, fetch=fetch, fresh=lambda _: False)
    with pytest.raises(ConnectionError, match="ssm unreachable"):
        source.load()


def test_given_one_call_failing_after_a_load_then_only_its_categories_keep_their_last_values(log_output):
    failing = []

    def fetch(names, max_age, force):
        if failing and any("/database/" in name for name in names):
            raise ConnectionError("ssm unreachable")
        return stored(names, str(len(failing)))

    source = SettingsSource(
        categories=workload("api").parameter_categories, fetch=fetch, fresh=lambda _: False, names_per_call=3
    )
    source.load()
    failing.append(True)
    settings = source.load()
    assert settings.text(Category.DATABASE, "port") == "0"  # the last values
    assert settings.text(Category.API, "max_page_size") == "1"  # fetched afresh
    assert "parameter store unreachable" in log_output.getvalue()
    assert "/myapp/dev/database/" in log_output.getvalue()
