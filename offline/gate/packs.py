"""The packs this project gates its own stacks on, as gate arguments (no imports: noxfile.py reads it too).

The main pack with no config, and the Checkov pack with each stack's mandatory checks and suppressions
(``{stack}`` is replaced per stack), paired as ``pulumi preview --policy-pack A --policy-pack-config FA
--policy-pack B --policy-pack-config FB`` pairs them (docs/policies.md, "Running the pack").
"""

from __future__ import annotations

PROJECT_PACKS: tuple[str, ...] = (
    *("--policy-pack", "policies", "--policy-pack-config", ""),
    *("--policy-pack", "policies-checkov", "--policy-pack-config", "policies-checkov/policy-config.{stack}.json"),
)
PACK_CHOICE_OPTIONS = frozenset({"--policy-pack", "--pack", "--policy-pack-config", "--policy-config", "--project"})
"""Options with which a caller chooses the packs (or gates another project, whose stacks have no Checkov config)."""
