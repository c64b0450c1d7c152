"""docs/policies.md is generated from the pack; it must match the pack."""

from policies.docs import DOC_PATH, render


def test_committed_policy_docs_are_current():
    assert DOC_PATH.read_text(encoding="utf-8") == render(), "run `python -m policies.docs`"
