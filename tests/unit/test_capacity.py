"""The capacity model: which limit a load meets first, and the p99 the configuration holds.

Arithmetic specifications on hand-made configurations, then the configuration read from the prod program,
the per-request costs read from benchmark results, and docs/capacity.md kept current.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from contract import limits
from costmodel.capacity import (
    CapacityInputError,
    Configuration,
    PerRequest,
    Requirement,
    assess,
    burst,
    changes_to_hold,
    configuration_of,
    held_concurrency,
    ssm_wait_s,
    sustained,
    warm_environments,
)
from offline import capacity as runner
from offline.cost import resources_of

REQUIREMENT = Requirement(concurrent_requests=1000, requests_per_minute=10_000, p99_ms=200)
MEASURED = PerRequest(warm_p50_ms=30.0, warm_p99_ms=60.0, cold_start_p99_ms=600.0, settings_load_ms=20.0, source="test")
OPEN = Configuration(
    reserved_concurrency=1100,
    other_reserved=30,
    account_quota=1300,
    provisioned_min=0,
    provisioned_max=0,
    provisioned_target_utilization=0.7,
    snap_start=False,
    stage_rate=10_000,
    stage_burst=5000,
    key_rate=None,
    key_burst=None,
    api_keys=1,
    ssm_action="ssm:GetParameters",
    ssm_calls_per_cold_start=1,
    ssm_high_throughput=True,
    db_instance_class="db.r7g.xlarge",
    db_max_connections=2577,
    proxy_pool=2500,
)
"""Nothing in the way of 1,000 concurrent requests but the cold starts themselves."""


def _first(outcome):
    return outcome.first_exceeded.limit if outcome.first_exceeded else None


# -- which limit binds first ----------------------------------------------------------------------
def test_given_a_stage_burst_below_the_concurrent_requests_then_the_gateway_is_the_first_limit_hit():
    config = replace(OPEN, stage_burst=400, ssm_high_throughput=False, ssm_action="ssm:GetParametersByPath")
    outcome = burst(config, REQUIREMENT, MEASURED)
    assert _first(outcome) == "stage throttle burst (GET /orders/{id})"
    assert outcome.first_exceeded.effect == "answered 429 by API Gateway"


def test_given_an_open_gateway_and_default_ssm_throughput_then_parameter_store_is_the_first_limit_hit():
    config = replace(OPEN, ssm_high_throughput=False)
    outcome = burst(config, REQUIREMENT, MEASURED)
    assert _first(outcome).startswith("Parameter Store GetParameters (default throughput")


def test_given_reserved_concurrency_below_the_admitted_burst_then_lambda_throttles_and_the_gateway_answers_500():
    outcome = burst(replace(OPEN, reserved_concurrency=300), REQUIREMENT, MEASURED)
    assert _first(outcome) == "Lambda concurrency (reserved concurrency 300)"
    assert "500" in outcome.first_exceeded.effect


def test_given_no_reservation_then_the_api_gets_what_the_other_functions_leave_of_the_account():
    config = replace(OPEN, reserved_concurrency=None, account_quota=1000, other_reserved=100)
    outcome = burst(config, REQUIREMENT, MEASURED)
    assert _first(outcome) == "Lambda concurrency (unreserved account concurrency (1000 less 100 reserved))"


def test_given_a_direct_database_then_every_environment_holds_a_connection_against_the_budget():
    config = replace(OPEN, proxy_pool=None, db_max_connections=168, db_instance_class="db.t4g.small")
    outcome = burst(config, REQUIREMENT, MEASURED)
    [database] = [c for c in outcome.checks if c.limit.startswith("database connections")]
    assert database.allowed == 168 - limits.RDS_RESERVED_SUPERUSER_CONNECTIONS - limits.RDS_CONNECTION_HEADROOM
    assert database.demand == 1000
    assert not database.holds


def test_given_more_than_1000_new_environments_then_burst_scaling_is_exceeded():
    config = replace(OPEN, reserved_concurrency=2000, account_quota=3000)
    outcome = burst(config, replace(REQUIREMENT, concurrent_requests=1500), MEASURED)
    assert _first(outcome).startswith("Lambda burst scaling")


# -- provisioned concurrency against none ---------------------------------------------------------
def test_given_no_provisioned_concurrency_then_the_peak_keeps_only_the_busy_environments_warm():
    # 10,000/min = 166.7 req/s x 30 ms = 5 busy environments
    assert warm_environments(OPEN, REQUIREMENT.requests_per_second, MEASURED) == 5


def test_given_provisioned_concurrency_then_the_autoscaler_keeps_busy_over_target_utilisation_ready():
    config = replace(OPEN, provisioned_min=2, provisioned_max=100, provisioned_target_utilization=0.5)
    assert warm_environments(config, REQUIREMENT.requests_per_second, MEASURED) == 10


def test_given_a_floor_of_1000_provisioned_environments_then_1000_concurrent_requests_stay_warm():
    config = replace(OPEN, provisioned_min=1000, provisioned_max=1000)
    outcome = burst(config, REQUIREMENT, MEASURED)
    assert outcome.p99_ms == MEASURED.warm_p99_ms
    assert outcome.first_exceeded is None
    assert held_concurrency(config, REQUIREMENT, MEASURED) == 1010  # 1000 warm cover 99% of 1010


def test_given_no_provisioned_concurrency_then_a_burst_of_1000_waits_for_cold_starts():
    outcome = burst(OPEN, REQUIREMENT, MEASURED)
    assert outcome.p99_ms == MEASURED.cold_start_p99_ms  # 995 of 1000 cold; SSM keeps up at 10,000 TPS
    assert held_concurrency(OPEN, REQUIREMENT, MEASURED) == 5  # floor(5 warm / 0.99)


def test_given_the_sustained_peak_then_no_request_waits_and_p99_is_the_warm_p99():
    outcome = sustained(OPEN, REQUIREMENT, MEASURED)
    assert outcome.p99_ms == MEASURED.warm_p99_ms
    assert outcome.first_exceeded is None


def test_given_a_warm_p99_above_the_requirement_then_no_burst_is_held():
    slow = replace(MEASURED, warm_p99_ms=250.0)
    assert held_concurrency(OPEN, REQUIREMENT, slow) == 0


# -- Parameter Store during a wave of cold starts -------------------------------------------------
def test_given_a_wave_of_cold_starts_then_the_p99_environment_waits_for_its_calls_to_drain_at_the_tps_quota():
    config = replace(OPEN, ssm_high_throughput=False, ssm_action="ssm:GetParametersByPath", ssm_calls_per_cold_start=3)
    # 400 environments x 3 calls = 1,200 calls at 40/s; the p99 one is served after 0.99 x 1,200 / 40 - 1 s
    assert ssm_wait_s(config, 400) == pytest.approx(0.99 * 1200 / 40 - 1)


def test_given_higher_throughput_then_get_parameters_drains_a_wave_of_1000_within_the_first_second():
    assert replace(OPEN, ssm_high_throughput=True).ssm_tps == 10_000
    assert ssm_wait_s(OPEN, 1000) == 0.0


def test_given_higher_throughput_then_get_parameters_by_path_is_still_held_to_100_tps():
    config = replace(OPEN, ssm_action="ssm:GetParametersByPath")
    assert config.ssm_tps == 100


def test_given_default_throughput_then_the_burst_p99_adds_the_parameter_store_queue():
    config = replace(OPEN, ssm_high_throughput=False, ssm_calls_per_cold_start=3)
    outcome = burst(config, REQUIREMENT, MEASURED)
    new = 1000 - 5
    assert outcome.p99_ms == pytest.approx(MEASURED.cold_start_p99_ms + 1000 * (0.99 * new * 3 / 40 - 1))
    assert "Parameter Store queue" in outcome.explanation


# -- SnapStart ------------------------------------------------------------------------------------
def test_given_snap_start_without_a_restore_time_then_the_model_refuses_to_guess():
    with pytest.raises(CapacityInputError, match="--snap-start-restore-ms"):
        burst(replace(OPEN, snap_start=True), REQUIREMENT, MEASURED)


def test_given_snap_start_with_a_fast_restore_then_the_cold_path_is_within_the_requirement():
    config = replace(OPEN, snap_start=True, ssm_high_throughput=False)
    fast = replace(MEASURED, snap_start_restore_ms=120.0)
    outcome = burst(config, REQUIREMENT, fast)
    assert outcome.p99_ms == 120.0 + MEASURED.warm_p99_ms  # the settings are in the snapshot: no SSM wave
    # every admitted request is within 200 ms until burst scaling: 5 warm + 1,000 new in the first 10 s
    assert held_concurrency(config, REQUIREMENT, fast) == 5 + limits.LAMBDA_BURST_ENVIRONMENTS


# -- the configuration, read from the prod program ------------------------------------------------
@pytest.fixture(scope="module")
def prod_config(runs):
    return configuration_of(resources_of(runs["prod"]), 1300)


def test_the_prod_program_gives_its_reservation_provisioned_range_and_throttles(prod_config, runs):
    values = runs["prod"].config.values
    assert prod_config.reserved_concurrency == int(values["serverless-infra:reservedConcurrency"])
    assert (prod_config.provisioned_min, prod_config.provisioned_max) == (2, 100)
    assert prod_config.stage_rate == float(values["serverless-infra:apiThrottleRateLimit"])
    assert prod_config.stage_burst == int(values["serverless-infra:apiThrottleBurstLimit"])
    assert prod_config.snap_start is False


def test_the_prod_program_reads_settings_as_its_role_allows_and_goes_through_the_proxy(prod_config):
    assert prod_config.ssm_action in ("ssm:GetParametersByPath", "ssm:GetParameters", "ssm:GetParameter")
    assert prod_config.ssm_calls_per_cold_start >= 1
    assert prod_config.ssm_high_throughput is False  # the program does not turn it on
    assert prod_config.proxy_pool is not None
    assert prod_config.proxy_pool < prod_config.db_max_connections


def test_at_the_requirement_prod_first_meets_its_stage_burst(prod_config):
    assessment = assess(prod_config, REQUIREMENT, MEASURED)
    assert assessment.first_exceeded.limit == "stage throttle burst (GET /orders/{id})"


# -- the per-request costs, from benchmark results ------------------------------------------------
def _figure(group, name, p50, p99, unit="ms", **details):
    return {
        "group": group,
        "name": name,
        "unit": unit,
        "value": p50,
        "summary": {"p50": p50, "p99": p99},
        "details": details,
    }


def test_given_no_results_file_then_the_runner_says_which_command_measures(tmp_path):
    with pytest.raises(CapacityInputError, match="nox -s bench"):
        runner.per_request_from(tmp_path / "results.json")


def test_given_results_without_a_cold_start_then_the_runner_names_what_is_missing(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"options": {"groups": ["load"]}, "figures": []}))
    with pytest.raises(CapacityInputError, match=r"no warm latency .* and no cold start"):
        runner.per_request_from(path)


def test_given_a_load_curve_and_a_cold_start_then_the_unthrottled_lowest_level_gives_the_warm_latency(tmp_path):
    path = tmp_path / "results.json"
    figures = [
        _figure("load", "prod limits, concurrency 1: latency of 2xx", 9.0, 19.0, curve="prod limits", concurrency=1),
        _figure("load", "account limits, concurrency 4: latency", 12.0, 30.0, curve="account limits", concurrency=4),
        _figure("load", "account limits, concurrency 1: latency", 5.0, 11.0, curve="account limits", concurrency=1),
        _figure("cold", "cold start GET /orders/{id}", 700.0, 950.0),
        _figure("cold", "  part: settings load (SSM, first)", 25.0, 40.0),
    ]
    path.write_text(json.dumps({"machine": {"date": "2026-12-02T04:00:00+00:00"}, "figures": figures}))
    measured = runner.per_request_from(path)
    assert (measured.warm_p50_ms, measured.warm_p99_ms) == (5.0, 11.0)
    assert measured.cold_start_p99_ms == 950.0
    assert measured.settings_load_ms == 25.0
    assert "2026-12-02" in measured.source


def test_given_defaults_then_only_what_the_run_did_not_measure_takes_its_labelled_default(tmp_path):
    path = tmp_path / "results.json"
    warm = _figure("load", "account limits, concurrency 1: latency", 5.0, 11.0, curve="account limits", concurrency=1)
    path.write_text(json.dumps({"machine": {"date": "2026-12-02T04:00:00+00:00"}, "figures": [warm]}))
    measured = runner.per_request_from(path, defaults=True)
    assert (measured.warm_p50_ms, measured.warm_p99_ms) == (5.0, 11.0)
    assert measured.cold_start_p99_ms == runner.DEFAULTS.cold_start_p99_ms
    assert "labelled defaults (--defaults), not measured: cold start" in measured.source


# -- docs/capacity.md ----------------------------------------------------------------------------
def test_the_capacity_page_is_current_with_the_inputs_it_records():
    assert runner.CAPACITY_DOC.read_text(encoding="utf-8") == runner.expected_document(), (
        "run: python -m offline.capacity --write"
    )


def test_the_capacity_page_names_the_source_of_every_limit():
    text = runner.CAPACITY_DOC.read_text(encoding="utf-8")
    for source in (
        limits.LAMBDA_SCALING_DOC,
        limits.LAMBDA_CONCURRENCY_DOC,
        limits.SSM_QUOTAS_DOC,
        limits.API_GATEWAY_THROTTLING_DOC,
        limits.RDS_PROXY_DOC,
    ):
        assert source in text


# -- what would hold the requirement ----------------------------------------------------------------
def test_given_prod_like_limits_then_the_changes_name_the_burst_the_warm_environments_and_the_ssm_setting():
    config = replace(
        OPEN, stage_burst=400, provisioned_min=2, provisioned_max=100, proxy_pool=154, ssm_high_throughput=False
    )
    changes = changes_to_hold(config, REQUIREMENT, MEASURED)
    assert changes[0] == "a stage burst of at least 1,000 (apiThrottleBurstLimit, now 400)"
    assert any(change.startswith("990 environments ready before the burst") for change in changes)
    assert any("proxy pool of 1,000" in change for change in changes)
    assert any("higher throughput" in change for change in changes)


def test_given_a_configuration_that_holds_the_requirement_then_no_change_is_asked_for():
    config = replace(OPEN, provisioned_min=1000, provisioned_max=1000)
    assert changes_to_hold(config, REQUIREMENT, MEASURED) == []
