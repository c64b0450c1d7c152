"""The benchmark's statistics: percentiles, summaries, ratios and target verdicts, checked by hand."""

from __future__ import annotations

import json
import statistics

import pytest

from bench.harness import (
    Deadline,
    Figure,
    Report,
    Summary,
    Target,
    bounded,
    format_ratio,
    latency_figure,
    percentile,
    rate_figure,
    ratio,
    render_table,
)


def test_percentiles_interpolate_linearly_between_closest_ranks():
    samples = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert percentile(samples, 0) == 15.0
    assert percentile(samples, 100) == 50.0
    assert percentile(samples, 50) == 35.0
    assert percentile(samples, 40) == pytest.approx(29.0)  # rank 1.6: 20 + 0.6 * (35 - 20)
    assert percentile(samples, 95) == pytest.approx(48.0)  # rank 3.8: 40 + 0.8 * 10


def test_percentiles_agree_with_the_standard_librarys_inclusive_quantiles():
    samples = [3.1, 0.4, 9.9, 2.2, 7.5, 5.0, 1.1, 8.8, 6.6, 4.4, 2.9]
    cut_points = statistics.quantiles(samples, n=100, method="inclusive")
    for q in (1, 25, 50, 75, 95, 99):
        assert percentile(samples, q) == pytest.approx(cut_points[q - 1])


def test_the_order_of_samples_does_not_matter_and_one_sample_is_every_percentile():
    assert percentile([5.0, 1.0, 3.0], 50) == percentile([1.0, 3.0, 5.0], 50) == 3.0
    assert percentile([7.0], 0) == percentile([7.0], 99) == 7.0


@pytest.mark.parametrize(("samples", "q"), [([], 50), ([1.0], -1), ([1.0], 100.5)])
def test_percentiles_refuse_no_samples_and_impossible_ranks(samples, q):
    with pytest.raises(ValueError, match=r"samples|outside"):
        percentile(samples, q)


def test_a_summary_holds_the_order_statistics():
    summary = Summary.of([float(value) for value in range(1, 101)])
    assert (summary.count, summary.minimum, summary.maximum) == (100, 1.0, 100.0)
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p95 == pytest.approx(95.05)
    assert summary.p99 == pytest.approx(99.01)
    assert summary.mean == pytest.approx(50.5)
    assert Summary.of([2.0]).stdev == 0.0


def test_a_ratio_needs_both_numbers_and_a_nonzero_baseline():
    assert ratio(30.0, 10.0) == 3.0
    assert ratio(5.0, 20.0) == 0.25
    assert ratio(5.0, 0.0) is None
    assert ratio(None, 1.0) is None
    assert ratio(1.0, None) is None


def test_a_latency_figure_is_its_median_compared_with_the_baselines_median():
    figure = latency_figure("g", "route", [10.0, 30.0, 20.0], baseline=("health", [4.0, 5.0, 6.0]))
    assert figure.value == 20.0
    assert figure.baseline_value == 5.0
    assert figure.ratio == 4.0


def test_a_rate_figure_counts_items_per_second_at_the_median_duration():
    figure = rate_figure("g", "batch", 500, [250.0, 500.0, 1000.0], baseline=("row by row", 250.0))
    assert figure.value == pytest.approx(1000.0)  # 500 items in 0.5 s
    assert figure.ratio == pytest.approx(4.0)
    assert figure.details["duration_ms"]["p50"] == 500.0


def test_targets_are_judged_on_the_value_or_on_the_named_percentile():
    upper = Target(50, "ms")
    assert upper.met(49.9)
    assert not upper.met(50.0)
    assert Target(167, "req/s", at_least=True).met(167)
    tail = Target(200, "ms", statistic="p99")
    figure = latency_figure("g", "load", [100.0] * 98 + [900.0, 900.0], target=tail)
    assert figure.value == 100.0
    assert figure.target_met is False  # the median is fine, the p99 is not
    assert Figure("g", "no target", "ms", 1.0).target_met is None


def test_the_table_shows_value_baseline_ratio_and_verdict():
    figures = [
        latency_figure("cold", "start", [600.0, 700.0], baseline=("empty", [100.0]), target=Target(500, "ms")),
        latency_figure("warm", "get", [4.0], target=Target(50, "ms")),
    ]
    table = render_table(figures)
    assert "650 ms" in table
    assert "6.5x" in table
    assert "MISSED" in table.splitlines()[2]
    assert table.splitlines()[3].endswith("ok")


def test_tiny_ratios_keep_three_significant_digits():
    assert format_ratio(0.000534) == "0.000534x"
    assert format_ratio(12.345) == "12.3x"
    assert format_ratio(None) == ""


def test_loops_stop_at_their_count_or_their_deadline():
    assert list(bounded(3, max_s=60)) == [0, 1, 2]
    assert list(bounded(1000, max_s=0)) == [0]  # at least one round, then the time is up
    now = [0.0]
    deadline = Deadline(5, clock=lambda: now[0])
    assert not deadline.expired
    now[0] = 5.0
    assert deadline.expired
    assert deadline.remaining == 0.0


def test_the_report_is_json_with_every_figure(tmp_path):
    report = Report(machine={"cpu_model": "test"}, options={"quick": True})
    report.figures.append(latency_figure("g", "f", [1.0, 2.0], baseline=("b", [1.0]), target=Target(5, "ms")))
    report.write(tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["machine"]["cpu_model"] == "test"
    (figure,) = data["figures"]
    assert figure["ratio"] == 1.5
    assert figure["target_met"] is True
    assert figure["summary"]["p50"] == 1.5
