"""Print the resources a stack's program plans, grouped by component: ``python -m offline.plan``.

This is what ``pulumi preview`` would list, computed offline under the mocks. Secret outputs are
shown as ``[secret]``; property values are never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from offline.harness import ProgramError, ProgramRun, run_program
from offline.project import ProjectError, add_config_option, error_line


def render(run: ProgramRun) -> str:
    """A tree of resources by parent, like ``pulumi preview``, then the stack outputs."""
    children: dict[str, list[int]] = {}
    for index, record in enumerate(run.resources):
        children.setdefault(record.parent, []).append(index)
    lines = [f"Plan for {run.project.name} / {run.stack}: {len(run.resources)} resources", ""]

    def walk(parent: str, depth: int) -> None:
        for index in children.get(parent, []):
            record = run.resources[index]
            lines.append(f"{'  ' * depth}+ {record.type:<52} {record.name}")
            walk(record.urn, depth + 1)

    lines.append(f"+ pulumi:pulumi:Stack{' ' * 33}{run.project.name}-{run.stack}")
    walk(run.stack_urn, 1)
    walk("", 1)
    lines += ["", "Outputs:"]
    for name in sorted(run.outputs):
        value = "[secret]" if name in run.secret_outputs else run.outputs[name]
        lines.append(f"  {name}: {value}")
    for warning in run.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", default=".", type=Path, help="Pulumi project directory")
    parser.add_argument("--stack", default="dev", help="stack name (reads Pulumi.<stack>.yaml)")
    add_config_option(parser, "override a config value for this run, like `pulumi config set` (repeatable)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    overrides = dict(options.config)
    try:
        run = run_program(options.project, options.stack, config_overrides=overrides, preview=True)
    except (ProjectError, ProgramError) as error:
        print(error_line(error), file=sys.stderr)
        return 2
    print(render(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
