"""``python -m offline.gate [--project DIR] [--stack NAME ...] [--json FILE] [--sarif FILE]``.

Exit 0 without mandatory violations, 1 with, 2 when the program or the pack cannot run. Several
``--stack`` options gate each stack in turn in one process (the SDK is imported once); the exit
code is the worst of them, and ``--json``/``--sarif`` paths then hold ``{stack}``. Several
``--policy-pack`` options (each with its ``--policy-pack-config``, as ``pulumi preview`` takes them)
run side by side, in one report: ``--policy-pack policies --policy-pack policies-checkov``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from offline.gate.analyzer import PackError, load_policy_config
from offline.gate.environment import EnvironmentBuildError
from offline.gate.gate import DEFAULT_PACK, DEFAULT_TIMEOUT_S, GateOptions, GateResult, start_gate
from offline.gate.program import REPO_ROOT, ProgramRunError, load_stack_outputs
from offline.gate.report import docs_url, render_sarif, render_table
from offline.harness import ProgramTimeout
from offline.project import add_config_option

_TIMED_OUT = False


def _error(message: str) -> None:
    """One line on stderr: the gate's errors are read in CI logs."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr, flush=True)


def _pack_python(choice: str) -> str | None:
    if choice == "venv":
        return None
    if choice == "current":
        return sys.executable
    return str(Path(choice).expanduser())


def _progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(prog="python -m offline.gate", description=__doc__)
    parser.add_argument("--project", type=Path, default=REPO_ROOT, help="Pulumi project directory (default: this one)")
    parser.add_argument(
        "--stack",
        action="append",
        dest="stacks",
        metavar="NAME",
        help="stack name; reads Pulumi.<stack>.yaml (default: dev); repeat to gate several stacks in one run",
    )
    parser.add_argument("--json", type=Path, help="write the findings as JSON to this file")
    parser.add_argument("--sarif", type=Path, help="write SARIF 2.1.0 to this file")
    parser.add_argument(
        "--docs-url",
        metavar="URL",
        help="absolute address of docs/policies.md for SARIF help links (default: from GitHub Actions' "
        "GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_SHA)",
    )
    parser.add_argument(
        "--policy-pack",
        "--pack",
        type=Path,
        action="append",
        dest="packs",
        metavar="DIR",
        help="policy pack directory (default: policies); repeat to run several packs in one report, as "
        "`pulumi preview --policy-pack A --policy-pack B` does",
    )
    parser.add_argument(
        "--policy-pack-config",
        "--policy-config",
        action="append",
        dest="policy_configs",
        metavar="FILE",
        help="policy config JSON (with suppressions), as pulumi's --policy-pack-config: one per --policy-pack, "
        "in the same order, or none; an empty FILE ('') gives that pack no config; {stack} in FILE is the stack",
    )
    add_config_option(parser, "override a config value")
    parser.add_argument(
        "--stack-outputs",
        type=Path,
        metavar="FILE",
        help='outputs of the stacks the program references, JSON {"org/project/stack": {"name": value}}; '
        "without it a StackReference's outputs are unknown",
    )
    parser.add_argument(
        "--unknowns", action="store_true", help="model a first preview: IDs and computed attributes unknown"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="run the program with this interpreter's packages, not its own venv"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"deadline for the program and the pack (default: {DEFAULT_TIMEOUT_S:g}); says what was awaited",
    )
    parser.add_argument(
        "--pack-python",
        default="venv",
        metavar="venv|current|PATH",
        help="interpreter for the pack: its own virtualenv from PulumiPolicy.yaml, as the CLI (default, built "
        "once and cached), this interpreter (when it has the pack's requirements), or another one",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.timeout <= 0:
        parser.error("--timeout takes a positive number of seconds")
    overrides = dict(options.config)
    stacks = list(dict.fromkeys(options.stacks or ["dev"]))
    for path in (options.json, options.sarif):
        if path is not None and len(stacks) > 1 and "{stack}" not in str(path):
            parser.error(f"with several stacks, {path} must contain {{stack}} (one report per stack)")
    packs = options.packs or [DEFAULT_PACK]
    config_paths = options.policy_configs or []
    if config_paths and len(config_paths) != len(packs):
        parser.error(
            f"{len(packs)} policy pack(s) and {len(config_paths)} --policy-pack-config: give one per pack, "
            "in the same order, or none (as pulumi preview)"
        )
    try:
        stack_outputs = load_stack_outputs(options.stack_outputs)
    except (PackError, ProgramRunError) as error:
        _error(str(error))
        return 2
    global _TIMED_OUT
    _TIMED_OUT = False  # this run's: main() may run more than once in a process (the test suites)
    reports = Reports(options.json, options.sarif, options.project, options.docs_url or docs_url(os.environ))
    started = time.perf_counter()
    worst = 0
    # One stack's remaining analysis (in its pack's process) overlaps the next stack's program.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate-finish") as finisher:
        pending: list[tuple[str, concurrent.futures.Future[GateResult] | None]] = []
        for stack in stacks:
            try:
                policy_configs = [
                    load_policy_config(Path(path.replace("{stack}", stack)) if path else None) for path in config_paths
                ] or [None] * len(packs)
            except PackError as error:
                _error(str(error))
                worst = 2
                continue
            gate_options = GateOptions(
                project=options.project,
                stack=stack,
                pack=packs[0],
                config_overrides=overrides,
                policy_config=policy_configs[0],
                more_packs=tuple(zip(packs[1:], policy_configs[1:], strict=True)),
                unknowns=options.unknowns,
                in_process=True if options.in_process else None,
                timeout=options.timeout,
                pack_python=_pack_python(options.pack_python),
                stack_outputs=stack_outputs,
            )
            done = _guarded(functools.partial(start_gate, gate_options, progress=_progress))
            pending.append((stack, None if done is None else finisher.submit(done.finish)))
            if _TIMED_OUT:
                break
        for stack, future in pending:
            result = None if future is None else _guarded(future.result)
            code = 2 if result is None else _report(result, stack, reports)
            worst = 2 if 2 in (worst, code) else max(worst, code)
    if len(stacks) > 1:
        _progress(f"{len(stacks)} stacks in {time.perf_counter() - started:.2f} s")
    return worst


_T = TypeVar("_T")


def _guarded(step: Callable[[], _T]) -> _T | None:
    """Run one step of the gate; a failure is one line on stderr and ``None`` (exit 2), never a traceback."""
    try:
        return step()
    except (ProgramRunError, PackError, EnvironmentBuildError) as error:
        _error(str(error))
        if isinstance(error.__cause__, ProgramTimeout):
            global _TIMED_OUT
            _TIMED_OUT = True
        return None
    except Exception as error:  # bad input must never surface as a traceback
        _error(f"{type(error).__name__}: {error}")
        return None


@dataclass(frozen=True)
class Reports:
    """Where each stack's reports go (paths may hold ``{stack}``) and what SARIF links to."""

    json_path: Path | None
    sarif_path: Path | None
    project: Path
    docs: str | None


def _report(result: GateResult, stack: str, reports: Reports) -> int:
    """Print one stack's table and timing, write its reports; its exit code (0 or 1)."""
    print(render_table(result), flush=True)
    if reports.json_path:
        path = Path(str(reports.json_path).replace("{stack}", stack))
        path.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if reports.sarif_path:
        path = Path(str(reports.sarif_path).replace("{stack}", stack))
        sarif = render_sarif(result, reports.project, reports.docs)
        path.write_text(json.dumps(sarif, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    timing = result.timings
    _progress(
        f"done in {timing['total_s']:.2f} s (program {timing['program_s']:.2f} s, pack start "
        f"{timing['pack_start_s']:.2f} s, analysis {timing['analysis_s']:.2f} s)"
    )
    return result.exit_code


if __name__ == "__main__":
    code = main()
    # The program's objects are garbage now; without this, the collection at interpreter exit spends
    # most of a second walking them (gc.freeze moves them out of the collector's sight).
    gc.freeze()
    if _TIMED_OUT:  # a timed-out program's threads may never finish: do not wait for them at exit
        sys.stdout.flush()
        os._exit(code)
    sys.exit(code)
