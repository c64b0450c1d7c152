"""The load curve's levels and figures: what a level reports from the statuses and latencies it counted."""

from __future__ import annotations

import asyncio

import pytest

from bench.groups import load


def _phase(statuses: dict[str, int], ok_latencies: list[float], elapsed_s: float = 2.0) -> dict[str, object]:
    return {"statuses": statuses, "ok_latencies_ms": ok_latencies, "latencies_ms": ok_latencies, "elapsed_s": elapsed_s}


def test_given_ample_memory_then_every_level_runs():
    assert load.levels((1, 2, 4, 8, 16, 32), 64_000) == (1, 2, 4, 8, 16, 32)


def test_given_little_memory_then_the_levels_stop_where_half_of_it_holds_their_environments():
    # 4 environments x 150 MB = 600 MB fit in half of 1,300 MB; 8 do not
    assert load.levels((1, 2, 4, 8, 16), 1_300) == (1, 2, 4)


def test_given_no_memory_to_spare_then_the_first_level_still_runs():
    assert load.levels((1, 2), 10) == (1,)


def test_given_a_level_then_its_rate_counts_2xx_only_and_its_details_count_429_and_5xx_apart():
    phase = _phase({"200": 100, "429": 40, "500": 2, "0": 1}, [5.0] * 100)
    rate, latency = load.level_figures("prod limits", 4, phase, {"apiThrottleRateLimit": "200"}, None)
    assert rate.value == pytest.approx(50.0)
    assert rate.details["throttled_429"] == 40
    assert rate.details["server_errors_5xx"] == 3  # a 500 and a request with no answer at all
    assert rate.details["throughput_all_responses_req_s"] == pytest.approx(71.5)
    assert latency.summary.count == 100
    assert latency.details["concurrency"] == 4


def test_given_a_reference_level_then_each_level_is_compared_with_it():
    reference = _phase({"200": 50}, [2.0] * 50)
    phase = _phase({"200": 100}, [4.0] * 100)
    rate, latency = load.level_figures("account limits", 8, phase, {}, reference)
    assert rate.ratio == pytest.approx(2.0)
    assert latency.ratio == pytest.approx(2.0)


def test_given_a_level_where_nothing_succeeded_then_it_reports_its_rate_but_no_latency():
    figures = load.level_figures("stage 50 req/s", 16, _phase({"429": 10}, []), {}, None)
    assert [figure.unit for figure in figures] == ["req/s"]


def test_given_a_curve_throttled_below_the_peak_rate_then_the_requirements_targets_do_not_judge_it():
    phase = _phase({"200": 300, "429": 900}, [4.0] * 300)
    rate, latency = load.level_figures("stage 50 req/s", 8, phase, {"apiThrottleRateLimit": "50"}, None)
    assert rate.target is None
    assert latency.target is None


def test_given_a_curve_whose_stage_admits_the_peak_rate_then_the_targets_judge_it():
    phase = _phase({"200": 300}, [4.0] * 300)
    rate, latency = load.level_figures("prod limits", 8, phase, {"apiThrottleRateLimit": "200"}, None)
    assert rate.target is not None
    assert latency.target is not None


class _Result:
    def __init__(self, function_error: str | None = None) -> None:
        self.function_error = function_error
        self.payload = b'{"statusCode": 200}'


class _Pool:
    """A pool that counts the environments a wave of invocations needs (those not idle when it comes)."""

    def __init__(self, failing: bool = False) -> None:
        self.environments = 0
        self.waves: list[int] = []
        self._busy = 0
        self._cold = 0
        self._failing = failing

    async def invoke(self, _event: object) -> _Result:
        self._busy += 1
        if self._busy > self.environments:  # no idle environment: a new one starts cold
            self.environments = self._busy
            self._cold += 1
        await asyncio.sleep(0)  # every invocation of the wave is in flight before any answers
        self._busy -= 1
        if self._busy == 0:
            self.waves.append(self._cold)
            self._cold = 0
        return _Result("Unhandled" if self._failing else None)


class _Stack:
    def __init__(self, pool: _Pool) -> None:
        self.pool = pool

    def api_pool(self) -> _Pool:
        return self.pool


def test_given_a_curve_when_environments_start_then_the_pool_holds_the_largest_level_before_any_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(load, "COLD_STARTS_AT_ONCE", 4)
    monkeypatch.setattr(load, "api_event", lambda method, path: {"httpMethod": method, "path": path})
    pool = _Pool()

    asyncio.run(load.start_environments(_Stack(pool), 10))  # type: ignore[arg-type]

    assert pool.environments == 10
    assert pool.waves == [4, 4, 2]  # cold starts a few at a time, within the runtime's init limit


def test_given_an_environment_that_fails_to_start_then_the_curve_stops_with_its_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(load, "api_event", lambda method, path: {"httpMethod": method, "path": path})
    with pytest.raises(RuntimeError, match="starting API environments: Unhandled"):
        asyncio.run(load.start_environments(_Stack(_Pool(failing=True)), 3))  # type: ignore[arg-type]
