"""``python -m offline.gate [--project DIR] [--stack NAME] [--json FILE] [--sarif FILE]``.

Exit 0 without mandatory violations, 1 with, 2 when the program or the pack cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from offline.gate.analyzer import PackError, load_policy_config
from offline.gate.environment import EnvironmentBuildError
from offline.gate.gate import DEFAULT_PACK, DEFAULT_TIMEOUT_S, GateOptions, run_gate
from offline.gate.program import REPO_ROOT, ProgramRunError
from offline.gate.report import render_sarif, render_table
from offline.harness import ProgramTimeout

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.gate", description=__doc__)
    parser.add_argument("--project", type=Path, default=REPO_ROOT, help="Pulumi project directory (default: this one)")
    parser.add_argument("--stack", default="dev", help="stack name; reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--json", type=Path, help="write the findings as JSON to this file")
    parser.add_argument("--sarif", type=Path, help="write SARIF 2.1.0 to this file")
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK, help="policy pack directory")
    parser.add_argument(
        "--policy-config", type=Path, help="policy config JSON (with suppressions), as pulumi's --policy-pack-config"
    )
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
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
    options = parser.parse_args(argv)
    if options.timeout <= 0:
        parser.error("--timeout takes a positive number of seconds")
    overrides = {}
    for item in options.config:
        key, separator, value = item.partition("=")
        if not separator or not key:
            parser.error(f"--config takes KEY=VALUE, got {item!r}")
        overrides[key] = value
    try:
        result = run_gate(
            GateOptions(
                project=options.project,
                stack=options.stack,
                pack=options.pack,
                config_overrides=overrides,
                policy_config=load_policy_config(options.policy_config),
                unknowns=options.unknowns,
                in_process=True if options.in_process else None,
                timeout=options.timeout,
                pack_python=_pack_python(options.pack_python),
            ),
            progress=_progress,
        )
    except (ProgramRunError, PackError, EnvironmentBuildError) as error:
        _error(str(error))
        if isinstance(error.__cause__, ProgramTimeout):
            global _TIMED_OUT
            _TIMED_OUT = True
        return 2
    except Exception as error:  # bad input must never surface as a traceback
        _error(f"{type(error).__name__}: {error}")
        return 2
    print(render_table(result))
    if options.json:
        options.json.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if options.sarif:
        sarif = render_sarif(result, options.project)
        options.sarif.write_text(json.dumps(sarif, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    timing = result.timings
    _progress(
        f"done in {timing['total_s']:.2f} s (program {timing['program_s']:.2f} s, pack start "
        f"{timing['pack_start_s']:.2f} s, analysis {timing['analysis_s']:.2f} s)"
    )
    return result.exit_code


if __name__ == "__main__":
    code = main()
    if _TIMED_OUT:  # a timed-out program's threads may never finish: do not wait for them at exit
        sys.stdout.flush()
        os._exit(code)
    sys.exit(code)
