"""Print or write the IAM policies of a stack's deployer or operator role: ``python -m offline.deployer``.

Prints the role's managed policies as JSON (``--part N``: only the Nth document, ready for
``aws iam create-policy --policy-document``; ``--output FILE`` writes it to FILE), or with
``--write`` writes docs/iam/<role>-<stack>.json. Exit codes: 0 done, 2 bad input or the program cannot run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from offline.deployer import ACCOUNT_VARIABLE, path_of, policies_for, render
from offline.harness import ProgramError, run_program
from offline.package import placeholder_archives
from offline.project import ProjectError, error_line

_ACCOUNT_ID = re.compile(r"^\d{12}$")


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default=".", type=Path, help="Pulumi project directory")
    parser.add_argument("--stack", default="dev", help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--operator", action="store_true", help="the operator (on-call) role instead of the deployer")
    parser.add_argument("--write", action="store_true", help="write docs/iam/<role>-<stack>.json instead of printing")
    parser.add_argument("--part", type=int, metavar="N", help="print only the Nth managed policy's document")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write what would be printed to FILE")
    parser.add_argument(
        "--account-id",
        metavar="ID",
        help=f"write this 12-digit account ID into the ARNs instead of {ACCOUNT_VARIABLE}",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    role = "operator" if options.operator else "deployer"
    if options.account_id is not None and not _ACCOUNT_ID.match(options.account_id):
        print(f"error: --account-id must be 12 digits, got {options.account_id!r}", file=sys.stderr)
        return 2
    if options.write and (options.part is not None or options.account_id is not None or options.output is not None):
        print(
            "error: --write writes the committed files; it takes no --part, --account-id or --output", file=sys.stderr
        )
        return 2
    stack_file = Path(options.project) / f"Pulumi.{options.stack}.yaml"
    if not stack_file.is_file():
        print(f"error: unknown stack {options.stack!r}: {stack_file} does not exist", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="deployer-") as directory:
            # The policy depends on the resource types, not on the archives' bytes: none need be built.
            archives = placeholder_archives(Path(directory))
            run = run_program(options.project, options.stack, config_overrides=archives, preview=True)
        policies = policies_for(role, run, options.account_id or ACCOUNT_VARIABLE)
    except (ProjectError, ProgramError) as error:
        print(error_line(error), file=sys.stderr)
        return 2
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    if options.part is not None:
        if not 1 <= options.part <= len(policies):
            print(
                f"error: --part must be between 1 and {len(policies)} for the {role} of {options.stack}",
                file=sys.stderr,
            )
            return 2
        return _emit(json.dumps(policies[options.part - 1].document, indent=2) + "\n", options.output)
    text = render(role, options.stack, policies)
    if options.write:
        path = path_of(role, options.stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        sizes = ", ".join(f"{p.name} {p.size}" for p in policies)
        print(f"wrote {path} ({len(policies)} managed policies: {sizes} characters)")
        return 0
    return _emit(text, options.output)


def _emit(text: str, output: Path | None) -> int:
    if output is None:
        print(text, end="")
    else:
        output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
