"""The required tags cannot be changed or dropped by a component: the tagging transformation has the last word.

The program tags every resource with one SDK-side stack transformation
(:func:`serverless_infra.naming.tagging_transformation`). These tests run a small program under the
same mocks whose components try every way the SDK offers to change the tags: their own ``tags``
(plain or an Output), ``transformations`` of their own, and engine-side ``transforms``, which would
run after the stack's transformation and are therefore refused.
https://www.pulumi.com/docs/iac/concepts/options/transformations/
https://www.pulumi.com/docs/iac/concepts/options/transforms/
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.naming import REQUIRED_TAG_KEYS
from offline.harness import ProgramError, ProgramRun, run_program

PROJECT = Path(__file__).parent / "fixtures" / "tagging_project"
# What the fixture program's stack transformation sets; Backup is the one tag a resource may change.
ENFORCED = {key: f"required-{key}" for key in REQUIRED_TAG_KEYS if key != "Backup"}


def _run(case: str) -> ProgramRun:
    return run_program(PROJECT, "test", config_overrides={"tagging:case": case})


@pytest.mark.parametrize("case", ["own-tags", "own-tags-output", "dropping-transformation", "rewriting-transformation"])
def test_given_a_component_that_sets_drops_or_rewrites_tags_then_the_required_tags_stand(case):
    (queue,) = _run(case).of_type("aws:sqs/queue:Queue")

    assert {key: queue.inputs["tags"].get(key) for key in ENFORCED} == ENFORCED


def test_given_a_component_that_rewrites_tags_then_only_its_backup_tag_is_kept():
    """Backup states a stateful resource's regime, so a resource's own value wins for it alone."""
    (queue,) = _run("own-tags").of_type("aws:sqs/queue:Queue")

    assert queue.inputs["tags"]["Backup"] == "changed"


@pytest.mark.parametrize("case", ["engine-transform-on-component", "engine-transform-on-resource"])
def test_given_engine_side_transforms_which_would_run_after_the_tagging_then_the_program_is_refused(case):
    with pytest.raises(ProgramError, match="declares engine-side transforms"):
        _run(case)
