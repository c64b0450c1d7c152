"""``python -m offline.gate [--project DIR] [--stack NAME] [--json FILE] [--sarif FILE]``.

Exit 0 without mandatory violations, 1 with, 2 when the program or the pack cannot run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from offline.gate.analyzer import PackError, load_policy_config
from offline.gate.gate import DEFAULT_PACK, GateOptions, run_gate
from offline.gate.program import REPO_ROOT, ProgramRunError
from offline.gate.report import render_sarif, render_table
from offline.gate.suppressions import SuppressionError


def _progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.gate", description=__doc__)
    parser.add_argument("--project", type=Path, default=REPO_ROOT, help="Pulumi project directory (default: this one)")
    parser.add_argument("--stack", default="dev", help="stack name; reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--json", type=Path, help="write the findings as JSON to this file")
    parser.add_argument("--sarif", type=Path, help="write SARIF 2.1.0 to this file")
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK, help="policy pack directory")
    parser.add_argument("--policy-config", type=Path, help="policy config JSON, as pulumi's --policy-pack-config")
    parser.add_argument("--suppressions", type=Path, help="suppressions file (default: policy-suppressions.yaml)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    parser.add_argument(
        "--unknowns", action="store_true", help="model a first preview: IDs and computed attributes unknown"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="run the program with this interpreter's packages, not its own venv"
    )
    options = parser.parse_args(argv)
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
                suppressions=options.suppressions,
                unknowns=options.unknowns,
                in_process=True if options.in_process else None,
            ),
            progress=_progress,
        )
    except (ProgramRunError, PackError, SuppressionError) as error:
        print(f"error: {error}", file=sys.stderr)
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
    sys.exit(main())
