"""Documents generated from the code are committed up to date."""

from __future__ import annotations

import pytest

from offline.reference import expected_documents


@pytest.fixture(scope="module")
def expected(runs):
    return expected_documents(runs["prod"])


def test_generated_documents_are_current(expected):
    stale = [path.name for path, text in expected.items() if path.read_text(encoding="utf-8") != text]
    assert stale == [], "run: python -m offline.reference --write"


def test_the_configuration_reference_lists_every_schema_key(expected, runs):
    text = next(t for p, t in expected.items() if p.name == "configuration.md")
    for key in runs["dev"].project.config_schema:
        assert f"| `{key.split(':', 1)[1]}` |" in text


def test_the_architecture_diagram_shows_every_component(expected, runs):
    text = next(t for p, t in expected.items() if p.name == "architecture.md")
    components = {r.type.rsplit(":", 1)[1] for r in runs["prod"].resources if not r.custom}
    for component in components:
        assert f'["{component}"]' in text
