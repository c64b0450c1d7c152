"""The capacity model of a stack at "1,000 concurrent requests under 200 ms, 10,000 a minute":
``python -m offline.capacity --stack prod``.

Runs the program under the mocks (as ``offline.cost`` does), reads the limits it configures
(:func:`costmodel.capacity.configuration_of`), takes the per-request costs from the benchmark's last run
(``bench/results.json``, written by ``nox -s bench``: the load curve's warm latency, the cold start, the
settings load) and prints, per load, every limit met with its source, the p99 and the first limit hit.
Without a measurement it refuses, unless ``--defaults`` asks for the labelled defaults.

``--write`` puts the prod report into docs/capacity.md together with the inputs it used; ``--check``
recomputes it from those recorded inputs and the current program and exits 1 when the page is stale.
Exit 2 when the program cannot run or an input is missing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from contract.settings import parse_settings
from costmodel.capacity import (
    Assessment,
    CapacityInputError,
    PerRequest,
    Requirement,
    assess,
    configuration_of,
    render,
)
from offline.cost import resources_of
from offline.harness import ProgramError, run_program
from offline.package import placeholder_archives
from offline.project import ProjectError, add_config_option, error_line

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
CAPACITY_DOC = ROOT / "docs" / "capacity.md"
BEGIN, END = "<!-- generated:begin -->", "<!-- generated:end -->"
INPUTS = re.compile(r"<!-- capacity-inputs: (\{.*?\}) -->")
DEFAULTS = PerRequest(
    warm_p50_ms=40.0,
    warm_p99_ms=80.0,
    cold_start_p99_ms=900.0,
    settings_load_ms=None,
    source="labelled defaults (--defaults), not measured",
)
"""Used only when asked: a 40 ms warm request (the cost model's costApiDurationMs), twice that at p99, and
the 800-900 ms cold start measured as packaged before archives carried bytecode."""


# -- the per-request costs, from the benchmark's results ------------------------------------------
def _figures(results: dict[str, Any], group: str) -> list[dict[str, Any]]:
    return [f for f in results.get("figures", []) if f.get("group") == group]


def _ms(figure: dict[str, Any], statistic: str) -> float:
    summary = figure.get("summary") or {}
    value = summary.get(statistic, figure["value"]) if statistic != "value" else figure["value"]
    return float(value) * (1000.0 if figure.get("unit") == "s" else 1.0)


def _warm(results: dict[str, Any]) -> dict[str, Any] | None:
    """The load curve's lowest concurrency (one request at a time through the HTTP front), else the warm group's
    GET /orders/{id} over HTTP."""
    curve = [f for f in _figures(results, "load") if "concurrency" in (f.get("details") or {}) and f.get("summary")]
    curve = [f for f in curve if f.get("unit") == "ms"]
    if curve:  # unthrottled first: at the account's limits every request reaches the function
        return min(curve, key=lambda f: (f["details"].get("curve") != "account limits", f["details"]["concurrency"]))
    return next(
        (
            f
            for f in _figures(results, "warm")
            if f["name"].startswith("GET /orders/{id}") and "http" in f["name"].lower() and f.get("summary")
        ),
        None,
    )


def _cold(results: dict[str, Any]) -> dict[str, Any] | None:
    cold = _figures(results, "cold")
    for prefix in ("cold start, as packaged", "cold start GET /orders/{id}"):
        found = next((f for f in cold if f["name"].startswith(prefix)), None)
        if found is not None:
            return found
    return None


def _settings_load(results: dict[str, Any]) -> float | None:
    for figure in _figures(results, "cold") + _figures(results, "ssm"):
        name = figure["name"].lower()
        if ("settings load" in name and "packaged" not in name) or (
            name.startswith("api settings") and "uncached" in name
        ):
            return _ms(figure, "value")
    return None


def per_request_from(
    results_path: Path, snap_start_restore_ms: float | None = None, *, defaults: bool = False
) -> PerRequest:
    """The per-request costs of the benchmark run in ``results_path``.

    What the run did not measure raises CapacityInputError naming it, unless ``defaults``: then that input
    takes its labelled default (:data:`DEFAULTS`) and the source says which inputs are defaults.
    """
    results: dict[str, Any] = {}
    if results_path.is_file():
        results = json.loads(results_path.read_text(encoding="utf-8"))
    elif not defaults:
        raise CapacityInputError(
            f"{results_path} does not exist: run `python3 -m nox -s bench` (or pass --defaults for labelled defaults)"
        )
    warm, cold = _warm(results), _cold(results)
    missing = [
        name for name, figure in (("warm latency (load or warm group)", warm), ("cold start", cold)) if not figure
    ]
    if missing and not defaults:
        groups = ", ".join(results.get("options", {}).get("groups", [])) or "none"
        raise CapacityInputError(
            f"{results_path} has no {' and no '.join(missing)} (its run measured: {groups}); run "
            "`python3 -m nox -s bench -- --only cold --only load` (or pass --defaults for labelled defaults)"
        )
    date = str(results.get("machine", {}).get("date", ""))[:10]
    quick = " --quick" if results.get("options", {}).get("quick") else ""
    measured = [f["name"] for f in (warm, cold) if f is not None]
    source = f"measured: bench/results.json of {date} (nox -s bench{quick}; {'; '.join(measured)})" if measured else ""
    if missing:
        source += ("; " if source else "") + f"labelled defaults (--defaults), not measured: {', '.join(missing)}"
    load = _settings_load(results)
    return PerRequest(
        warm_p50_ms=round(_ms(warm, "p50"), 3) if warm else DEFAULTS.warm_p50_ms,
        warm_p99_ms=round(_ms(warm, "p99"), 3) if warm else DEFAULTS.warm_p99_ms,
        cold_start_p99_ms=round(_ms(cold, "p99"), 1) if cold else DEFAULTS.cold_start_p99_ms,
        settings_load_ms=None if load is None else round(load, 2),
        source=source,
        snap_start_restore_ms=snap_start_restore_ms,
    )


# -- the model for one stack ------------------------------------------------------------------------
def assess_stack(
    stack: str,
    per_request: PerRequest,
    *,
    project: Path = ROOT,
    overrides: dict[str, str] | None = None,
    ssm_high_throughput: bool = False,
) -> Assessment:
    with tempfile.TemporaryDirectory(prefix="capacity-") as directory:
        config = {**placeholder_archives(Path(directory)), **(overrides or {})}
        run = run_program(project, stack, config_overrides=config, preview=True)
    quota = parse_settings(run.config.values).compute.concurrency_quota  # the stack's declared quota
    configuration = configuration_of(resources_of(run), quota, ssm_high_throughput=ssm_high_throughput)
    return assess(configuration, Requirement(), per_request)


def report(stack: str, assessment: Assessment) -> str:
    return render(assessment, f"{stack}: at the requirement")


# -- docs/capacity.md ---------------------------------------------------------------------------------
def document(text: str, per_request: PerRequest, generated: str) -> str:
    inputs = json.dumps(asdict(per_request), sort_keys=True)
    block = f"{BEGIN}\n<!-- capacity-inputs: {inputs} -->\n\n{generated}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{CAPACITY_DOC}: markers {BEGIN} ... {END} not found")
    return pattern.sub(lambda _: block, text)


def recorded_inputs(text: str) -> PerRequest:
    found = INPUTS.search(text)
    if found is None:
        raise CapacityInputError(f"{CAPACITY_DOC} records no inputs: regenerate it with --write")
    return PerRequest(**json.loads(found.group(1)))


def expected_document(per_request: PerRequest | None = None) -> str:
    """docs/capacity.md as the prod model gives it now (from the inputs the page records, unless given)."""
    text = CAPACITY_DOC.read_text(encoding="utf-8")
    inputs = per_request or recorded_inputs(text)
    return document(text, inputs, report("prod", assess_stack("prod", inputs)))


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the benchmark results to take costs from")
    parser.add_argument(
        "--defaults", action="store_true", help="use labelled defaults for what the benchmark run did not measure"
    )
    parser.add_argument(
        "--snap-start-restore-ms", type=float, help="SnapStart restore time (needed when the API has SnapStart)"
    )
    parser.add_argument(
        "--ssm-high-throughput", action="store_true", help="the account has Parameter Store higher throughput on"
    )
    add_config_option(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the prod report into docs/capacity.md")
    mode.add_argument("--check", action="store_true", help="exit 1 if docs/capacity.md is stale")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    overrides = dict(options.config)
    try:
        if options.check:
            if CAPACITY_DOC.read_text(encoding="utf-8") != expected_document():
                print("stale: docs/capacity.md (run python -m offline.capacity --write)", file=sys.stderr)
                return 1
            return 0
        per_request = per_request_from(options.results, options.snap_start_restore_ms, defaults=options.defaults)
        assessment = assess_stack(
            options.stack, per_request, overrides=overrides, ssm_high_throughput=options.ssm_high_throughput
        )
        print(report(options.stack, assessment))
        if options.write:
            if options.stack != "prod" or overrides or options.ssm_high_throughput:
                parser.error("--write records prod as configured: no --stack other than prod, --config or flags")
            CAPACITY_DOC.write_text(expected_document(per_request), encoding="utf-8")
            print(f"updated {CAPACITY_DOC.relative_to(ROOT)}")
    except (ProjectError, ProgramError, CapacityInputError) as error:
        print(error_line(error), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
