"""An import-linter contract type: packages that may import only the standard library.

``contract/`` ships inside the Lambda artifact and is imported by the policy pack inside the
Pulumi CLI's plugin environment; ``costmodel/`` is imported by the pack and by the offline CLI.
Neither can count on any third-party package being installed, so each may import the standard
library (``sys.stdlib_module_names``) and the first-party packages listed as allowed, nothing else.
import-linter's own ``forbidden`` contract needs every forbidden package named, which would let a
new dependency through unnoticed; this contract forbids everything that is not allowed instead.

Registered in ``.importlinter`` (``contract_types``) and run by ``lint-imports`` (``nox -s lint``).
"""

from __future__ import annotations

import sys
from typing import Any

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class StandardLibraryOnlyContract(Contract):
    """Every module of ``source_modules`` imports only the standard library and ``allowed_modules``.

    Options: ``source_modules`` (packages, checked with their subpackages) and ``allowed_modules``
    (first-party packages, themselves held to the standard library by a contract of their own).
    Each package may always import its own modules.
    """

    type_name = "standard_library_only"

    source_modules = fields.ListField(subfield=fields.StringField())
    allowed_modules = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        allowed = set(sys.stdlib_module_names) | set(self._allowed_modules())
        illegal: list[dict[str, Any]] = []
        for package in self._source_modules():
            allowed_here = allowed | {package}
            for module in sorted(graph.find_descendants(package) | {package}):
                for imported in sorted(graph.find_modules_directly_imported_by(module)):
                    if imported.split(".", 1)[0] in allowed_here:
                        continue
                    details = graph.get_import_details(importer=module, imported=imported)
                    lines = sorted(detail["line_number"] for detail in details)
                    illegal.append({"importer": module, "imported": imported, "lines": lines})
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for entry in check.metadata["illegal"]:
            lines = ", ".join(f"l.{line}" for line in entry["lines"])
            output.print_error(
                f"{entry['importer']} imports {entry['imported']} ({lines}), which is not in the standard library",
                bold=False,
            )
            output.new_line()

    def _source_modules(self) -> list[str]:
        return [str(module) for module in self.source_modules]  # type: ignore[attr-defined]

    def _allowed_modules(self) -> list[str]:
        return [str(module) for module in self.allowed_modules]  # type: ignore[attr-defined]
