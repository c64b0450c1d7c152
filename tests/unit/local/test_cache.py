"""The stage cache as API Gateway keeps it: which methods, how long, keyed by what, invalidated by whom.

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html
The last tests drive it through the gateway (they need aiohttp; see conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from local.cache import (
    MAX_CACHED_BYTES,
    CachePolicy,
    CacheRequest,
    Invalidation,
    StageCache,
    invalidation,
    policy_for,
)
from local.throttling import MethodKey

ORDERS = MethodKey("/orders", "GET")
ORDER = MethodKey("/orders/{order_id}", "GET")
CREATE = MethodKey("/orders", "POST")
REQUIRE_AND_WARN = CachePolicy(300, True, "SUCCEED_WITH_RESPONSE_HEADER")


def _request(query=(), headers=(), path_parameters=None, http_method="GET") -> CacheRequest:
    return CacheRequest(http_method, list(query), list(headers), path_parameters or {})


# -- which methods are cached, for how long ---------------------------------------------------------
def test_given_no_cache_cluster_when_a_method_enables_caching_then_nothing_is_cached(blueprints):
    settings = [blueprints.settings("~1orders/GET", caching=True, ttl=30)]

    assert policy_for(ORDERS, settings, cluster_enabled=False) is None


def test_given_stage_wide_caching_when_policies_resolve_then_only_get_methods_are_cached(blueprints):
    settings = [blueprints.settings("*/*", caching=True, ttl=60)]

    assert policy_for(ORDERS, settings, cluster_enabled=True) is not None
    assert policy_for(CREATE, settings, cluster_enabled=True) is None


def test_given_a_method_override_when_policies_resolve_then_it_enables_or_disables_caching_for_that_method(
    blueprints,
):
    settings = [
        blueprints.settings("*/*", caching=True, ttl=60),
        blueprints.settings("~1orders/GET", caching=False),
        blueprints.settings("~1orders/POST", caching=True),
    ]

    assert policy_for(ORDERS, settings, cluster_enabled=True) is None
    assert policy_for(CREATE, settings, cluster_enabled=True) == CachePolicy(60, True, "SUCCEED_WITH_RESPONSE_HEADER")


@pytest.mark.parametrize(("ttl", "expected"), [(None, 300), (30, 30), (7200, 3600)])
def test_the_ttl_is_the_settings_value_300_s_when_unset_and_at_most_3600_s(blueprints, ttl, expected):
    policy = policy_for(ORDERS, [blueprints.settings("~1orders/GET", caching=True, ttl=ttl)], cluster_enabled=True)

    assert policy is not None
    assert policy.ttl_s == expected


def test_given_a_ttl_of_zero_when_the_policy_resolves_then_caching_is_disabled(blueprints):
    assert policy_for(ORDERS, [blueprints.settings("~1orders/GET", caching=True, ttl=0)], cluster_enabled=True) is None


# -- the cache key ---------------------------------------------------------------------------------------
def test_given_declared_query_keys_when_their_values_differ_then_the_entries_differ(blueprints, clock):
    cache = StageCache(blueprints.api(cache_cluster=True), clock)

    first = cache.key(ORDERS, _request(query=[("customer_id", "c-1")]))
    second = cache.key(ORDERS, _request(query=[("customer_id", "c-2")]))

    assert first != second


def test_given_an_undeclared_query_parameter_when_only_it_differs_then_the_entry_is_shared(blueprints, clock):
    cache = StageCache(blueprints.api(cache_cluster=True), clock)

    first = cache.key(ORDERS, _request(query=[("customer_id", "c-1"), ("trace", "a")]))
    second = cache.key(ORDERS, _request(query=[("customer_id", "c-1"), ("trace", "b")]))

    assert first == second


def test_given_a_path_parameter_declared_as_cache_key_when_ids_differ_then_the_entries_differ(blueprints, clock):
    cache = StageCache(blueprints.api(cache_cluster=True), clock)

    assert cache.key(ORDER, _request(path_parameters={"order_id": "1"})) != cache.key(
        ORDER, _request(path_parameters={"order_id": "2"})
    )


def test_given_a_path_parameter_not_declared_as_cache_key_when_ids_differ_then_they_share_one_entry(blueprints, clock):
    api = blueprints.api(cache_cluster=True)
    bare = replace(api, methods=(blueprints.method("/orders/{order_id}", "GET"),))
    cache = StageCache(bare, clock)

    assert cache.key(ORDER, _request(path_parameters={"order_id": "1"})) == cache.key(
        ORDER, _request(path_parameters={"order_id": "2"})
    )


def test_header_cache_keys_match_header_names_case_insensitively(blueprints, clock):
    api = blueprints.api(cache_cluster=True)
    keyed = replace(api, methods=(blueprints.method("/orders", "GET", cache_keys=["method.request.header.Accept"]),))
    cache = StageCache(keyed, clock)

    assert cache.key(ORDERS, _request(headers=[("accept", "text/csv")])) == cache.key(
        ORDERS, _request(headers=[("ACCEPT", "text/csv")])
    )
    assert cache.key(ORDERS, _request(headers=[("accept", "text/csv")])) != cache.key(
        ORDERS, _request(headers=[("Accept", "application/json")])
    )


# -- entries, by the clock ---------------------------------------------------------------------------------
def test_given_a_stored_entry_when_read_within_the_ttl_then_it_is_returned_and_after_it_is_gone(blueprints, clock):
    cache = StageCache(blueprints.api(cache_cluster=True), clock)
    policy = CachePolicy(30, True, "FAIL_WITH_403")
    key = cache.key(ORDERS, _request())
    cache.store(key, 200, [("Content-Type", "application/json")], b"[]")

    clock.advance(29.9)
    within = cache.lookup(key, policy)
    clock.advance(0.1)
    after = cache.lookup(key, policy)

    assert within is not None
    assert within.body == b"[]"
    assert after is None


@pytest.mark.parametrize(("status", "size"), [(404, 2), (500, 2), (200, MAX_CACHED_BYTES + 1)])
def test_errors_and_responses_over_1_mib_are_not_cached(blueprints, clock, status, size):
    cache = StageCache(blueprints.api(cache_cluster=True), clock)
    key = cache.key(ORDERS, _request())

    stored = cache.store(key, status, [], b"x" * size)

    assert stored is False
    assert cache.lookup(key, REQUIRE_AND_WARN) is None


# -- invalidation with Cache-Control: max-age=0 -----------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "headers", "expected"),
    [
        (REQUIRE_AND_WARN, [], Invalidation.NONE),
        (REQUIRE_AND_WARN, [("Cache-Control", "max-age=60")], Invalidation.NONE),
        (CachePolicy(300, False, "FAIL_WITH_403"), [("Cache-Control", "max-age=0")], Invalidation.ALLOWED),
        (CachePolicy(300, True, "FAIL_WITH_403"), [("cache-control", "no-store, max-age=0")], Invalidation.REFUSED),
        (REQUIRE_AND_WARN, [("Cache-Control", "max-age=0")], Invalidation.IGNORED_WITH_WARNING),
        (
            CachePolicy(300, True, "SUCCEED_WITHOUT_RESPONSE_HEADER"),
            [("Cache-Control", "max-age=0")],
            Invalidation.IGNORED,
        ),
        (
            CachePolicy(300, True, "FAIL_WITH_403"),
            [("Cache-Control", "max-age=0"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/...")],
            Invalidation.ALLOWED,
        ),
    ],
    ids=[
        "no-header",
        "other-max-age",
        "authorization-not-required",
        "unsigned-fail-with-403",
        "unsigned-succeed-with-header",
        "unsigned-succeed-without-header",
        "signed",
    ],
)
def test_cache_control_max_age_0_invalidates_only_as_the_settings_allow(policy, headers, expected):
    assert invalidation(policy, headers) is expected


def test_given_unset_invalidation_settings_when_the_policy_resolves_then_authorization_is_required_with_a_warning(
    blueprints,
):
    policy = policy_for(ORDERS, [blueprints.settings("~1orders/GET", caching=True)], cluster_enabled=True)

    assert policy == CachePolicy(300, True, "SUCCEED_WITH_RESPONSE_HEADER")


# -- through the gateway -------------------------------------------------------------------------------------
def _cached_dev_api(blueprints, **settings_changes):
    options = {"caching": True, "ttl": 30, "require_authorization": True, "strategy": "FAIL_WITH_403"}
    options.update(settings_changes)
    return blueprints.api(
        cache_cluster=True,
        method_settings=[
            blueprints.settings("*/*", rate=50, burst=100),
            blueprints.settings("~1orders/GET", rate=50, burst=100, **options),
        ],
    )


def test_given_a_cached_method_when_read_again_within_the_ttl_then_the_stale_response_is_served(
    blueprints, gateway, call, clock, function
):
    stage = gateway(_cached_dev_api(blueprints))
    key = [("x-api-key", blueprints.key_value)]

    first = call(stage, "GET", "/v1/orders", headers=key)
    clock.advance(29)
    second = call(stage, "GET", "/v1/orders", headers=key)

    assert first.body == second.body == {"call": 1}
    assert len(function.calls) == 1


def test_given_a_cached_method_when_read_after_the_ttl_then_the_function_answers_afresh(
    blueprints, gateway, call, clock, function
):
    stage = gateway(_cached_dev_api(blueprints))
    key = [("x-api-key", blueprints.key_value)]
    call(stage, "GET", "/v1/orders", headers=key)

    clock.advance(30)
    fresh = call(stage, "GET", "/v1/orders", headers=key)

    assert fresh.body == {"call": 2}


def test_given_fail_with_403_when_an_unsigned_client_sends_max_age_0_then_api_gateway_refuses_it(
    blueprints, gateway, call, function
):
    stage = gateway(_cached_dev_api(blueprints))

    refused = call(
        stage, "GET", "/v1/orders", headers=[("x-api-key", blueprints.key_value), ("Cache-Control", "max-age=0")]
    )

    assert refused.status == 403
    assert refused.body["message"].startswith(
        "User: anonymous is not authorized to perform: execute-api:InvalidateCache"
    )
    assert function.calls == []


def test_given_succeed_with_response_header_when_an_unsigned_client_sends_max_age_0_then_the_entry_stays(
    blueprints, gateway, call
):
    stage = gateway(_cached_dev_api(blueprints, strategy="SUCCEED_WITH_RESPONSE_HEADER"))
    key = ("x-api-key", blueprints.key_value)
    call(stage, "GET", "/v1/orders", headers=[key])

    ignored = call(stage, "GET", "/v1/orders", headers=[key, ("Cache-Control", "max-age=0")])

    assert ignored.body == {"call": 1}
    assert ignored.header("Warning") is not None


def test_given_no_authorization_required_when_a_client_sends_max_age_0_then_the_entry_is_refreshed(
    blueprints, gateway, call
):
    stage = gateway(_cached_dev_api(blueprints, require_authorization=False))
    key = ("x-api-key", blueprints.key_value)
    call(stage, "GET", "/v1/orders", headers=[key])

    refreshed = call(stage, "GET", "/v1/orders", headers=[key, ("Cache-Control", "max-age=0")])
    afterwards = call(stage, "GET", "/v1/orders", headers=[key])

    assert refreshed.body == {"call": 2}
    assert afterwards.body == {"call": 2}


def test_given_no_blueprint_when_a_method_is_read_twice_then_the_gateway_does_not_cache(blueprints, gateway, call):
    stage = gateway(None, methods=blueprints.api().methods)

    first = call(stage, "GET", "/v1/health")
    second = call(stage, "GET", "/v1/health")

    assert (first.body, second.body) == ({"call": 1}, {"call": 2})
