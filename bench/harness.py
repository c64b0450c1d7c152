"""Statistics, figures and reporting for the benchmark; standard library only.

Kept dependency-free so its unit test runs in the plain unit session, and so the numbers it
computes (percentiles with linear interpolation, ratios to a baseline) can be checked by hand.
A figure always carries its baseline: on a shared 2-core machine absolute times drift with the
neighbours' load, so a figure is best read against something measured minutes apart on the same
machine under the same load.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


# --- statistics -------------------------------------------------------------------------------------
def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks.

    The same definition as numpy's default and ``statistics.quantiles(method="inclusive")``, so
    p50 is the median and p0/p100 are the extremes; a single sample is every percentile.
    """
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0-100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Order statistics of one series of samples (in the figure's unit)."""

    count: int
    minimum: float
    p50: float
    p95: float
    p99: float
    maximum: float
    mean: float
    stdev: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        if not samples:
            raise ValueError("no samples")
        return cls(
            count=len(samples),
            minimum=min(samples),
            p50=percentile(samples, 50),
            p95=percentile(samples, 95),
            p99=percentile(samples, 99),
            maximum=max(samples),
            mean=statistics.fmean(samples),
            stdev=statistics.stdev(samples) if len(samples) > 1 else 0.0,
        )


def ratio(value: float | None, baseline: float | None) -> float | None:
    """``value / baseline``; None when either is missing or the baseline is zero (no ratio exists)."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


# --- figures ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A number the user set, in the figure's unit: ``limit`` is an upper bound unless ``at_least``."""

    limit: float
    unit: str
    at_least: bool = False
    label: str = ""  # how the user said it, e.g. "10,000 requests per minute"
    statistic: str = "value"  # what is judged: the figure's value, or a percentile of its summary ("p99")

    def met(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value < self.limit

    def text(self) -> str:
        if self.label:
            return self.label
        bound = "≥" if self.at_least else "<"
        judged = "" if self.statistic == "value" else f"{self.statistic} "
        return f"{judged}{bound} {format_value(self.limit, self.unit)} {self.unit}"


@dataclass
class Figure:
    """One reported number: its headline value, spread, baseline and the target it is judged by.

    ``value`` is the median for latencies and the rate for throughputs; ``summary`` holds the
    spread when there were repeated samples. ``details`` keeps what explains the number (parts
    of a cold start, status codes under load) for the JSON file; the table shows the headline.
    """

    group: str
    name: str
    unit: str
    value: float
    summary: Summary | None = None
    baseline_name: str | None = None
    baseline_value: float | None = None
    target: Target | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return ratio(self.value, self.baseline_value)

    @property
    def judged_value(self) -> float | None:
        """The number the target is judged on: the value, or the named statistic of the summary."""
        if self.target is None or self.target.statistic == "value":
            return self.value
        return getattr(self.summary, self.target.statistic) if self.summary else None

    @property
    def target_met(self) -> bool | None:
        judged = self.judged_value
        return None if self.target is None or judged is None else self.target.met(judged)

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "unit": self.unit,
            "value": self.value,
            "summary": asdict(self.summary) if self.summary else None,
            "baseline": {"name": self.baseline_name, "value": self.baseline_value} if self.baseline_name else None,
            "ratio": self.ratio,
            "target": (
                {
                    "text": self.target.text(),
                    "limit": self.target.limit,
                    "at_least": self.target.at_least,
                    "statistic": self.target.statistic,
                }
                if self.target
                else None
            ),
            "target_met": self.target_met,
            "details": self.details,
        }


def latency_figure(
    group: str,
    name: str,
    samples_ms: Sequence[float],
    *,
    baseline: tuple[str, Sequence[float] | float] | None = None,
    target: Target | None = None,
    unit: str = "ms",
    details: dict[str, Any] | None = None,
) -> Figure:
    """A latency figure from samples in ms (or µs with ``unit="µs"``): value is the median.

    A baseline given as samples is compared by its median, so both sides of the ratio are the
    same statistic.
    """
    summary = Summary.of(samples_ms)
    baseline_name, baseline_value = None, None
    if baseline is not None:
        baseline_name, raw = baseline
        baseline_value = raw if isinstance(raw, float | int) else Summary.of(raw).p50
    return Figure(
        group=group,
        name=name,
        unit=unit,
        value=summary.p50,
        summary=summary,
        baseline_name=baseline_name,
        baseline_value=float(baseline_value) if baseline_value is not None else None,
        target=target,
        details=details or {},
    )


def rate_figure(
    group: str,
    name: str,
    items: int,
    durations_ms: Sequence[float],
    *,
    baseline: tuple[str, float] | None = None,
    target: Target | None = None,
    unit: str = "rec/s",
    details: dict[str, Any] | None = None,
) -> Figure:
    """A throughput figure: ``items`` per second at the median duration of repeated runs.

    The durations' spread is kept in the details; percentiles of a rate read backwards (a p99
    rate is the slow tail's *lowest* rate), so the table shows the rate alone.
    """
    durations = Summary.of(durations_ms)
    return Figure(
        group=group,
        name=name,
        unit=unit,
        value=items / (durations.p50 / 1000),
        baseline_name=baseline[0] if baseline else None,
        baseline_value=baseline[1] if baseline else None,
        target=target,
        details={"items_per_run": items, "duration_ms": asdict(durations), **(details or {})},
    )


def items_per_second(items: int, durations_ms: Sequence[float]) -> float:
    """The rate at the median duration, as :func:`rate_figure` reports it."""
    return items / (Summary.of(durations_ms).p50 / 1000)


# --- bounded loops ----------------------------------------------------------------------------------
class Deadline:
    """A wall-clock budget: every benchmark loop stops at its round count or its deadline, first wins."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds

    @property
    def expired(self) -> bool:
        return self._clock() >= self._end

    @property
    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())


def bounded(rounds: int, max_s: float, *, minimum: int = 1) -> Iterator[int]:
    """Round numbers ``0..rounds-1``, stopping early once ``max_s`` has passed (after ``minimum``)."""
    deadline = Deadline(max_s)
    for index in range(rounds):
        if index >= minimum and deadline.expired:
            return
        yield index


def sample_ms(work: Callable[[], object], *, rounds: int, max_s: float, warmup: int = 0) -> list[float]:
    """Call ``work`` ``warmup`` times unmeasured, then time up to ``rounds`` calls (in ms) within ``max_s``."""
    for _ in range(warmup):
        work()
    samples: list[float] = []
    for _ in bounded(rounds, max_s):
        started = time.perf_counter_ns()
        work()
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


# --- the machine and the report ---------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_info() -> dict[str, Any]:
    """What the figures came from; the load average says how busy the (shared) machine was."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_average_at_start": [round(value, 2) for value in load] if load else None,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def format_value(value: float | None, unit: str = "") -> str:
    """A number with as many digits as a noisy measurement deserves."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit in ("req/s", "rec/s", "req/min") or abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def format_ratio(value: float | None) -> str:
    """``1.23x``; three significant digits also for tiny ratios (a cache hit against a round trip)."""
    if value is None:
        return ""
    return f"{value:,.0f}x" if value >= 1000 else f"{value:.3g}x"


def render_table(figures: Sequence[Figure]) -> str:
    """A plain-text table: one line per figure with its median/rate, spread, baseline and ratio."""
    header = ("group", "figure", "value", "p95", "p99", "n", "baseline", "ratio", "target")
    rows: list[tuple[str, ...]] = []
    for figure in figures:
        summary = figure.summary
        verdict = ""
        if figure.target is not None:
            verdict = f"{figure.target.text()} {'ok' if figure.target_met else 'MISSED'}"
        baseline = (
            f"{figure.baseline_name} {format_value(figure.baseline_value, figure.unit)}" if figure.baseline_name else ""
        )
        rows.append(
            (
                figure.group,
                figure.name,
                f"{format_value(figure.value, figure.unit)} {figure.unit}",
                format_value(summary.p95, figure.unit) if summary else "",
                format_value(summary.p99, figure.unit) if summary else "",
                str(summary.count) if summary else "",
                baseline,
                format_ratio(figure.ratio),
                verdict,
            )
        )
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    title = "  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()
    return "\n".join([title, "-" * len(title), *lines])


@dataclass
class Report:
    """Everything one run produced, as written to ``bench/results.json``."""

    machine: dict[str, Any]
    options: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"seconds", "error"}
    started: float = field(default_factory=time.monotonic)

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "options": self.options,
            "duration_s": round(time.monotonic() - self.started, 1),
            "groups": self.groups,
            "figures": [figure.to_json() for figure in self.figures],
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")


def progress(message: str) -> None:
    """One line on stderr per step, so a long run shows where it is without mixing into the table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
