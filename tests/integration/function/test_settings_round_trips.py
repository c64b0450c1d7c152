"""Settings load in as few SSM round trips as GetParameters allows, at once, and a missing one is named."""

from __future__ import annotations

import threading

import pytest
from orders import config
from orders.config import MAX_NAMES_PER_CALL, SettingsSource, batches

from contract.parameters import Category, parameters_in
from contract.workloads import workload


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


def test_given_the_apis_categories_then_their_17_parameters_are_two_calls_of_whole_categories():
    source = SettingsSource(categories=workload("api").parameter_categories)
    calls = batches([source.names(category) for category in source.categories])
    assert sorted(len(call) for call in calls) == [7, 10]
    assert max(len(call) for call in calls) <= MAX_NAMES_PER_CALL
    assert sorted(name for call in calls for name in call) == sorted(
        source.names(Category.DATABASE) + source.names(Category.API) + source.names(Category.CACHE)
    )


def test_given_a_category_larger_than_one_call_then_it_is_split_and_the_pieces_packed():
    groups = [tuple(f"a{i}" for i in range(13)), ("b0", "b1", "b2"), ("c0",)]
    calls = batches(groups, limit=10)
    assert [len(call) for call in calls] == [10, 7]


def test_given_an_uncached_load_of_the_apis_settings_then_ssm_is_called_twice_at_once(recorded):
    settings = SettingsSource(categories=workload("api").parameter_categories).load(force=True)
    threads = [thread for _, thread in recorded.calls]
    assert len(threads) == 2
    here, pool = sorted(threads, key=lambda name: name.startswith("settings"))
    assert here == threading.current_thread().name  # one call here, the other side by side on the pool
    assert pool.startswith("settings")
    assert settings.integer(Category.API, "max_page_size") == 50
    assert len(settings.as_dict()) == sum(len(parameters_in(c)) for c in workload("api").parameter_categories)


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
    provider.client.client.delete_parameter(Name="/myapp/dev/api/max_batch_orders")
    source = SettingsSource(categories=(Category.API,))
    with pytest.raises(KeyError, match="parameter api/max_batch_orders is not set"):
        source.load().integer(Category.API, "max_batch_orders")
    recorded.calls.clear()
    assert source.load().integer(Category.API, "max_page_size") == 50
    assert recorded.calls == []


def test_given_one_call_failing_before_any_load_then_the_load_fails_with_that_error():
    def fetch(names, max_age, force):
        if any("/database/" in name for name in names):
            raise ConnectionError("ssm unreachable")
        return dict.fromkeys(names, "1")

    source = SettingsSource(categories=workload("api").parameter_categories, fetch=fetch, fresh=lambda _: False)
    with pytest.raises(ConnectionError, match="ssm unreachable"):
        source.load()


def test_given_one_call_failing_after_a_load_then_only_its_categories_keep_their_last_values(log_output):
    failing = []

    def fetch(names, max_age, force):
        if failing and any("/database/" in name for name in names):
            raise ConnectionError("ssm unreachable")
        return {name: str(len(failing)) for name in names}

    source = SettingsSource(categories=workload("api").parameter_categories, fetch=fetch, fresh=lambda _: False)
    source.load()
    failing.append(True)
    settings = source.load()
    assert settings.text(Category.DATABASE, "port") == "0"  # the last values
    assert settings.text(Category.API, "max_page_size") == "1"  # fetched afresh
    assert "parameter store unreachable" in log_output.getvalue()
    assert "/myapp/dev/database/" in log_output.getvalue()
