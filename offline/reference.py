"""Generated documentation: the configuration reference and the architecture diagram.

Both are derived from the project itself (Pulumi.yaml's config schema and stack files; the
resource graph the program registers under the mocks), written between markers in docs/, and
checked by tests, so the docs cannot drift from the code. ``python -m offline.reference --write``
regenerates them; ``--check`` exits 1 when a committed file is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from offline.harness import ProgramRun, run_program
from offline.package import placeholder_archives
from offline.project import PulumiProject, load_stack_config

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "staging", "prod")
CONFIG_DOC = ROOT / "docs" / "configuration.md"
ARCHITECTURE_DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- generated:begin -->", "<!-- generated:end -->"


def configuration_table(project: PulumiProject, stacks: Iterable[str] = STACKS) -> str:
    """Markdown table: every key with its type, default, value per stack and meaning."""
    stacks = tuple(stacks)
    per_stack = {stack: dict(load_stack_config(project, stack).values) for stack in stacks}
    header = "| key | type | default | " + " | ".join(stacks) + " | meaning |"
    lines = [header, "|" + " --- |" * (len(stacks) + 4)]
    region_values = " | ".join(_cell(per_stack[s].get("aws:region")) for s in stacks)
    lines.append(
        f"| `aws:region` | string | (required) | {region_values} | AWS region; this blueprint accepts us-east-1 only. |"
    )
    for key, entry in project.config_schema.items():
        short = key.split(":", 1)[1] if key.startswith(f"{project.name}:") else key
        default = _cell(entry.default) if entry.has_default else "(required)"
        values = " | ".join(
            _cell(per_stack[s].get(key), emphasise=per_stack[s].get(key) != _text(entry.default)) for s in stacks
        )
        lines.append(f"| `{short}` | {entry.type or ''} | {default} | {values} | {entry.description} |")
    return "\n".join(lines)


def architecture_diagram(run: ProgramRun) -> str:
    """A Mermaid flowchart of the components, their main resources and how they depend on each other."""
    components = sorted((r for r in run.resources if not r.custom and r.parent == run.stack_urn), key=lambda r: r.name)
    owner: dict[str, str] = {}
    for component in components:
        for record in run.resources:
            if _descends_from(run, record, component.urn):
                owner[record.urn] = component.urn
    lines = ["```mermaid", "flowchart LR"]
    ids = {component.urn: _node_id(component.name, run.stack) for component in components}
    for component in components:
        kinds: dict[str, int] = {}
        for record in run.resources:
            if record.custom and owner.get(record.urn) == component.urn:
                kind = record.type.rsplit(":", 1)[-1]
                kinds[kind] = kinds.get(kind, 0) + 1
        title = component.type.rsplit(":", 1)[-1]
        lines.append(f'  subgraph {ids[component.urn]}["{title}"]')
        for kind, count in sorted(kinds.items()):
            label = f"{kind} x{count}" if count > 1 else kind
            lines.append(f'    {ids[component.urn]}_{_slug(kind)}["{label}"]')
        lines.append("  end")
    edges: set[tuple[str, str]] = set()
    for record in run.resources:
        source = owner.get(record.urn)
        for dependency in (*record.dependencies, *(u for urns in record.property_dependencies.values() for u in urns)):
            target = owner.get(dependency)
            if source and target and source != target:
                edges.add((ids[target], ids[source]))
    lines += [f"  {a} --> {b}" for a, b in sorted(edges)]
    lines.append("```")
    return "\n".join(lines)


def render(document: Path, generated: str) -> str:
    """The document's text with the generated block replaced."""
    text = document.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{document}: markers {BEGIN} ... {END} not found")
    return pattern.sub(lambda _: f"{BEGIN}\n{generated}\n{END}", text)


def expected_documents(run: ProgramRun | None = None) -> dict[Path, str]:
    """What docs/configuration.md and docs/architecture.md must contain, computed now."""
    project = PulumiProject.load(ROOT)
    if run is None:
        with tempfile.TemporaryDirectory(prefix="reference-") as directory:
            run = run_program(ROOT, "prod", config_overrides=placeholder_archives(Path(directory)), preview=True)
    return {
        CONFIG_DOC: render(CONFIG_DOC, configuration_table(project)),
        ARCHITECTURE_DOC: render(ARCHITECTURE_DOC, architecture_diagram(run)),
    }


def _descends_from(run: ProgramRun, record: object, ancestor: str) -> bool:
    parent = getattr(record, "parent", "")
    while parent:
        if parent == ancestor:
            return True
        try:
            parent = run.by_urn(parent).parent
        except KeyError:
            return False
    return False


def _node_id(name: str, stack: str) -> str:
    return _slug(name.replace(f"serverless-infra-{stack}-", ""))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _cell(value: object, *, emphasise: bool = False) -> str:
    text = _text(value)
    if text == "":
        return ""
    text = text.replace("|", "\\|")
    return f"**`{text}`**" if emphasise else f"`{text}`"


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the documents")
    mode.add_argument("--check", action="store_true", help="exit 1 if a document is stale")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    stale = []
    for path, text in expected_documents().items():
        if path.read_text(encoding="utf-8") != text:
            if options.write:
                path.write_text(text, encoding="utf-8")
                print(f"updated {path.relative_to(ROOT)}")
            else:
                stale.append(path)
    for path in stale:
        print(f"stale: {path.relative_to(ROOT)} (run python -m offline.reference --write)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
