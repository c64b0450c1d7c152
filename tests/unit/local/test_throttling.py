"""Throttling and quotas as API Gateway applies them, from the stage's method settings and usage plans.

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from local.throttling import (
    ACCOUNT_BURST_LIMIT,
    ACCOUNT_RATE_LIMIT,
    Limits,
    MethodKey,
    Outcome,
    Throttle,
    method_limits,
    normalize_method_path,
    period_start,
)

HEALTH = MethodKey("/health", "GET")
ORDERS = MethodKey("/orders", "GET")
ORDER = MethodKey("/orders/{order_id}", "GET")


def _throttle(blueprints, clock, **api_changes) -> Throttle:
    return Throttle(blueprints.api(**api_changes), clock, clock.utc)


def _admit_many(throttle: Throttle, method: MethodKey, count: int, key: str | None = None) -> list[Outcome]:
    return [throttle.admit(method, key) for _ in range(count)]


def test_given_a_stage_burst_when_one_more_request_than_the_burst_arrives_at_once_then_only_it_is_throttled(
    blueprints, clock
):
    throttle = _throttle(blueprints, clock, method_settings=[blueprints.settings("*/*", rate=50, burst=100)])

    outcomes = _admit_many(throttle, HEALTH, 101)

    assert outcomes[:100] == [Outcome.PASSED] * 100
    assert outcomes[100] is Outcome.THROTTLED


def test_given_an_empty_bucket_when_one_rate_interval_passes_then_exactly_one_more_request_passes(blueprints, clock):
    throttle = _throttle(blueprints, clock, method_settings=[blueprints.settings("*/*", rate=50, burst=100)])
    _admit_many(throttle, HEALTH, 100)

    clock.advance(1 / 50)

    assert _admit_many(throttle, HEALTH, 2) == [Outcome.PASSED, Outcome.THROTTLED]


def test_given_stage_wide_settings_when_one_method_is_drained_then_another_method_keeps_its_own_bucket(
    blueprints, clock
):
    throttle = _throttle(blueprints, clock, method_settings=[blueprints.settings("*/*", rate=1, burst=3)])
    _admit_many(throttle, HEALTH, 3)

    assert throttle.admit(HEALTH, None) is Outcome.THROTTLED
    assert throttle.admit(ORDERS, blueprints.key_name) is Outcome.PASSED


@pytest.mark.parametrize("method_path", ["~1orders~1{order_id}/GET", "orders/{order_id}/GET"])
def test_given_a_method_override_when_its_method_is_called_then_its_burst_replaces_the_stages(
    blueprints, clock, method_path
):
    throttle = _throttle(
        blueprints,
        clock,
        method_settings=[
            blueprints.settings("*/*", rate=50, burst=100),
            blueprints.settings(method_path, rate=1, burst=2),
        ],
    )

    assert _admit_many(throttle, ORDER, 3, blueprints.key_name) == [Outcome.PASSED, Outcome.PASSED, Outcome.THROTTLED]
    assert _admit_many(throttle, ORDERS, 3, blueprints.key_name) == [Outcome.PASSED] * 3


def test_given_an_override_that_sets_only_the_rate_when_limits_resolve_then_the_stage_burst_still_applies(blueprints):
    resolved = method_limits(
        ORDER, [blueprints.settings("*/*", rate=50, burst=100), blueprints.settings("~1orders~1{order_id}/GET", rate=5)]
    )

    assert resolved == Limits(rate=5, burst=100)


def test_given_no_method_settings_when_limits_resolve_then_the_account_defaults_apply():
    assert method_limits(HEALTH, []) == Limits(ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT)


def test_given_a_usage_plan_throttle_below_the_stages_when_a_key_bursts_then_the_plan_limit_throttles_it(
    blueprints, clock
):
    throttle = _throttle(
        blueprints,
        clock,
        method_settings=[blueprints.settings("*/*", rate=50, burst=100)],
        usage_plans=[blueprints.plan(rate=1, burst=2)],
    )

    outcomes = _admit_many(throttle, ORDERS, 3, blueprints.key_name)

    assert outcomes == [Outcome.PASSED, Outcome.PASSED, Outcome.THROTTLED]


def test_given_two_keys_on_separate_plans_when_one_is_throttled_then_the_other_still_passes(blueprints, clock):
    throttle = _throttle(
        blueprints,
        clock,
        method_settings=[blueprints.settings("*/*", rate=50, burst=100)],
        usage_plans=[
            blueprints.plan(["first"], name="small", rate=1, burst=1),
            blueprints.plan(["second"], name="large", rate=10, burst=10),
        ],
        api_keys=["first", "second"],
    )
    throttle.admit(ORDERS, "first")

    assert throttle.admit(ORDERS, "first") is Outcome.THROTTLED
    assert throttle.admit(ORDERS, "second") is Outcome.PASSED


def test_given_a_method_limit_below_the_plans_when_a_key_bursts_then_the_method_limit_wins(blueprints, clock):
    throttle = _throttle(
        blueprints,
        clock,
        method_settings=[blueprints.settings("*/*", rate=1, burst=2)],
        usage_plans=[blueprints.plan(rate=100, burst=200)],
    )

    assert _admit_many(throttle, ORDERS, 3, blueprints.key_name) == [Outcome.PASSED, Outcome.PASSED, Outcome.THROTTLED]


def test_given_a_request_refused_by_the_plan_when_another_key_calls_the_method_then_the_method_lost_no_token(
    blueprints, clock
):
    throttle = _throttle(
        blueprints,
        clock,
        method_settings=[blueprints.settings("*/*", rate=0, burst=2)],
        usage_plans=[
            blueprints.plan(["first"], name="small", rate=0, burst=1),
            blueprints.plan(["second"], name="large", rate=10, burst=10),
        ],
        api_keys=["first", "second"],
    )
    outcomes_first = _admit_many(throttle, ORDERS, 3, "first")

    assert outcomes_first == [Outcome.PASSED, Outcome.THROTTLED, Outcome.THROTTLED]
    assert throttle.admit(ORDERS, "second") is Outcome.PASSED


def test_given_a_daily_quota_when_it_is_used_up_then_the_next_request_exceeds_it_and_takes_no_token(blueprints, clock):
    throttle = _throttle(blueprints, clock, usage_plans=[blueprints.plan(quota=3, period="DAY")])

    outcomes = _admit_many(throttle, ORDERS, 4, blueprints.key_name)

    assert outcomes == [Outcome.PASSED] * 3 + [Outcome.QUOTA_EXCEEDED]


def test_given_an_exhausted_daily_quota_when_the_utc_day_turns_then_requests_pass_again(blueprints, clock):
    throttle = _throttle(blueprints, clock, usage_plans=[blueprints.plan(quota=1, period="DAY")])
    throttle.admit(ORDERS, blueprints.key_name)
    assert throttle.admit(ORDERS, blueprints.key_name) is Outcome.QUOTA_EXCEEDED

    clock.advance(12 * 3600)  # the clock starts at 12:00 UTC

    assert throttle.admit(ORDERS, blueprints.key_name) is Outcome.PASSED


def test_given_a_quota_offset_when_the_first_period_runs_then_the_offset_is_subtracted_only_there(blueprints, clock):
    throttle = _throttle(blueprints, clock, usage_plans=[blueprints.plan(quota=3, period="DAY", offset=2)])

    first_day = _admit_many(throttle, ORDERS, 2, blueprints.key_name)
    clock.advance(24 * 3600)
    second_day = _admit_many(throttle, ORDERS, 4, blueprints.key_name)

    assert first_day == [Outcome.PASSED, Outcome.QUOTA_EXCEEDED]
    assert second_day == [Outcome.PASSED] * 3 + [Outcome.QUOTA_EXCEEDED]


def test_given_requests_throttled_by_the_stage_when_the_quota_is_counted_then_they_do_not_use_it(blueprints, clock):
    throttle = _throttle(
        blueprints,
        clock,
        method_settings=[blueprints.settings("*/*", rate=1, burst=1)],
        usage_plans=[blueprints.plan(quota=2, period="DAY")],
    )
    assert _admit_many(throttle, ORDERS, 3, blueprints.key_name) == [
        Outcome.PASSED,
        Outcome.THROTTLED,
        Outcome.THROTTLED,
    ]

    clock.advance(1)

    assert throttle.admit(ORDERS, blueprints.key_name) is Outcome.PASSED


def test_given_a_method_without_an_api_key_when_called_often_then_no_quota_applies(blueprints, clock):
    throttle = _throttle(blueprints, clock, usage_plans=[blueprints.plan(quota=1, period="DAY")])

    assert _admit_many(throttle, HEALTH, 3) == [Outcome.PASSED] * 3


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("DAY", datetime(2026, 3, 4, tzinfo=UTC)),
        ("WEEK", datetime(2026, 3, 2, tzinfo=UTC)),  # the Monday of that ISO week
        ("MONTH", datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_quota_periods_start_at_utc_calendar_boundaries(period, expected):
    assert period_start(datetime(2026, 3, 4, 17, 30, tzinfo=UTC), period) == expected


@pytest.mark.parametrize(
    ("declared", "normalized"),
    [
        ("*/*", "*/*"),
        ("~1orders~1{order_id}/GET", "orders/{order_id}/GET"),
        ("orders/{order_id}/get", "orders/{order_id}/GET"),
        ("~1health/GET", "health/GET"),
    ],
)
def test_method_paths_escaped_or_not_name_the_same_method(declared, normalized):
    assert normalize_method_path(declared) == normalized
