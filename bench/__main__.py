"""``python -m bench [--quick] [--only GROUP ...] [--output FILE] [--function-python PYTHON]``.

Runs the groups one after another (each starts and stops what it needs), writes every figure to
``bench/results.json`` and prints them as a table. Exit 1 when a group could not run; a figure
that misses its target is reported, never a failure: on a shared machine the numbers are
evidence, not a gate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.groups import GROUP_NAMES, Context, Group, registry
from bench.harness import Figure, Report, machine_info, progress, render_table

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    names = list(GROUP_NAMES)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and shorter loads (about a minute)")
    parser.add_argument(
        "--only", action="append", choices=names, metavar="GROUP", help=f"run only this group: {', '.join(names)}"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    parser.add_argument(
        "--function-python",
        default=os.environ.get("BENCH_FUNCTION_PYTHON", sys.executable),
        help="interpreter the function processes run (the nox session passes a virtualenv holding only the layer)",
    )
    return parser


async def guarded(run: Group, context: Context) -> list[Figure]:
    """Run a group so that SIGTERM, like Ctrl-C (asyncio.run's SIGINT), cancels it and its cleanup runs."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await run(context)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    groups = registry()
    selected = options.only or list(groups)
    # Absolute, not resolved: the function processes start elsewhere, and a venv's python is a symlink.
    options.function_python = os.path.abspath(options.function_python)
    report = Report(
        machine=machine_info(),
        options={"quick": options.quick, "groups": selected, "function_python": options.function_python},
    )
    for name in selected:
        description, run = groups[name]
        progress(f"group {name}: {description}")
        scratch = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        context = Context(quick=options.quick, workdir=scratch, function_python=options.function_python)
        load_at_start = [round(value, 2) for value in os.getloadavg()] if hasattr(os, "getloadavg") else None
        started = time.monotonic()
        try:
            figures = asyncio.run(guarded(run, context))
        except (KeyboardInterrupt, asyncio.CancelledError):
            report.groups[name] = {"seconds": round(time.monotonic() - started, 1), "error": "interrupted"}
            report.write(options.output)
            shutil.rmtree(scratch, ignore_errors=True)
            progress(f"interrupted in group {name}: what it started is stopped; partial results in {options.output}")
            return 130
        except Exception as error:  # one group failing must not lose the others' figures
            seconds = round(time.monotonic() - started, 1)
            report.groups[name] = {"seconds": seconds, "error": f"{type(error).__name__}: {error}"[:2000]}
            progress(f"group {name} FAILED after {seconds} s: {type(error).__name__}: {error}"[:2000])
            progress(f"group {name}: its logs are kept in {scratch}")
            continue
        report.figures += figures
        report.groups[name] = {
            "seconds": round(time.monotonic() - started, 1),
            "error": None,
            "load_average_at_start": load_at_start,
        }
        progress(f"group {name}: done in {report.groups[name]['seconds']} s")
        shutil.rmtree(scratch, ignore_errors=True)
    report.write(options.output)
    machine = report.machine
    print(render_table(report.figures))
    print(
        f"\n{machine['cpu_model']}, {machine['usable_cores']} cores, Python {machine['python']}, {machine['date']}"
        f" (load average at start {machine['load_average_at_start']}); took {time.monotonic() - report.started:.0f} s"
    )
    print(f"written to {options.output}")
    failed = [name for name, outcome in report.groups.items() if outcome["error"]]
    if failed:
        print(f"groups that could not run: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
