"""Which Checkov checks the main pack (policies/) already answers with a control of its own.

Each control of the main pack names the Checkov checks it mirrors (``Anchors.checkov``); the
Checkov pack skips those, so one rule is reported once, by the control that states it for this
project. The list is generated from the main pack's controls into ``answered.json`` (the Checkov
pack's environment need not import the main pack and its provider SDK), and
``python -m checkov_pack.answered --check`` fails when the main pack changed since.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Final

from checkov_pack.generated import write_or_check

ANSWERED_FILE: Final = Path(__file__).with_name("answered.json")


def derive() -> dict[str, str]:
    """Checkov id → the main-pack policy that answers it (the first, in the pack's order)."""
    from policies.pack import all_controls

    answered: dict[str, str] = {}
    for control in all_controls():
        for check_id in control.anchors.checkov:
            answered.setdefault(check_id, control.name)
    return dict(sorted(answered.items()))


def render(answered: dict[str, str]) -> str:
    return json.dumps({"generated_by": "python -m checkov_pack.answered", "answered": answered}, indent=2) + "\n"


def load(path: Path = ANSWERED_FILE) -> dict[str, str]:
    return dict(json.loads(path.read_text(encoding="utf-8"))["answered"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checkov_pack.answered", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if answered.json is stale")
    options = parser.parse_args(argv)
    return write_or_check(
        ANSWERED_FILE, render(derive()), check=options.check, command="python -m checkov_pack.answered"
    )


if __name__ == "__main__":
    sys.exit(main())
