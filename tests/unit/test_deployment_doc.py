"""docs/deployment.md states what this repository does: versions, outputs, names and destroy behaviour.

The guide is what an engineer follows with a real account, so the facts it repeats from the code are
checked against the code here: the CLI minimum against the pinned SDK, the outputs table against the
program's exports, the bootstrap's backend URL and secrets provider against a run of the bootstrap,
the destroy section against what the dev and prod programs register. tests/unit/test_docs_commands.py
checks its commands, paths and links along with every other document's.
"""

from __future__ import annotations

import json
import re

from offline.harness import ProgramRun, run_program
from offline.project import PulumiProject
from policies.pack import all_controls
from tests.unit.support import PROJECT_ROOT
from tests.unit.test_docs_commands import Block, anchors, aws_provider_keys, exported_outputs, segments

GUIDE_PATH = PROJECT_ROOT / "docs" / "deployment.md"
GUIDE = GUIDE_PATH.read_text(encoding="utf-8")
MOCK_ACCOUNT_ID = "123456789012"  # the account id the Pulumi mocks answer with (offline/mocks.py)
ENFORCEMENT_LEVELS = frozenset({"advisory", "mandatory", "disabled", "remediate"})


def pinned(package: str) -> str:
    """The version constraints.txt pins for a package."""
    text = (PROJECT_ROOT / "constraints.txt").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(package)}==(\S+)", text, re.MULTILINE)
    assert match, f"constraints.txt pins no {package}"
    return match.group(1)


def table_rows(header: str) -> dict[str, str]:
    """First cell (backticks removed) -> second cell of the guide's table whose header row is ``header``."""
    lines = GUIDE.splitlines()
    start = lines.index(header) + 2  # skip the header and the separator row
    rows: dict[str, str] = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1]
    return rows


def fenced(language: str) -> list[str]:
    """The text of every fenced block of one language in the guide."""
    return [
        "\n".join(line for _, line in segment.lines)
        for segment in segments(GUIDE)
        if isinstance(segment, Block) and segment.language == language
    ]


def test_the_cli_minimum_is_the_pinned_pulumi_sdk() -> None:
    """A CLI older than the SDK it drives may lack what the SDK asks of it; the pin is the floor."""
    version = pinned("pulumi")
    assert f"Pulumi CLI {version} or newer" in GUIDE
    assert f"`pulumi=={version}`" in GUIDE


def test_the_outputs_table_lists_exactly_what_the_program_exports() -> None:
    documented = set(table_rows("| output | what |"))
    assert documented == set(exported_outputs("."))


def test_the_bootstrap_outputs_shown_are_what_the_bootstrap_exports() -> None:
    """The guide's backend URL and secrets provider are what a dev bootstrap really exports, account aside."""
    run = run_program(
        PROJECT_ROOT / "bootstrap",
        "dev",
        config_overrides={
            "aws:region": "us-east-1",
            "serverless-infra-bootstrap:environment": "dev",
            "serverless-infra-bootstrap:costCenter": "cc-test",
            "serverless-infra-bootstrap:owner": "team@example.com",
        },
    )
    shown = table_rows("| output | value |")
    for name, value in run.outputs.items():
        expected = f"`{str(value).replace(MOCK_ACCOUNT_ID, '<account-id>')}`"
        assert shown[name] == expected, name
    assert f"pulumi login {run.outputs['backendUrl'].replace(MOCK_ACCOUNT_ID, '<account-id>')}" in GUIDE
    assert f'--secrets-provider "{run.outputs["secretsProvider"]}"' in GUIDE


def test_the_guide_explains_every_required_config_key() -> None:
    """Keys without a default stop the program when missing; the guide says what each one is for."""
    project = PulumiProject.load(PROJECT_ROOT)
    required = ["aws:region"] + [key.split(":", 1)[1] for key, e in project.config_schema.items() if not e.has_default]
    assert required[1:], "the schema has required keys"
    for key in required:
        assert re.search(rf"^- `{re.escape(key)}`|^- `[^`]+` and `{re.escape(key)}`", GUIDE, re.MULTILINE), key


def test_the_guide_links_the_generated_reference_rather_than_copying_it() -> None:
    """A hand-copied table goes stale; docs/configuration.md is generated and checked for staleness.
    (``parameterPrefix`` is also an output name, so the outputs table may list it.)"""
    assert "](configuration.md)" in GUIDE
    project = PulumiProject.load(PROJECT_ROOT)
    rows = set(re.findall(r"^\| `([^`]+)` \|", GUIDE, re.MULTILINE)) - exported_outputs(".")
    assert not rows & {key.split(":", 1)[1] for key in project.config_schema}


def test_the_assume_role_key_is_the_pinned_providers() -> None:
    """pulumi-aws 7 replaced the ``assumeRole`` object with the ``assumeRoles`` list."""
    assert pinned("pulumi-aws").split(".")[0] == "7"
    assert "assumeRoles" in aws_provider_keys()
    assert "assumeRole" not in aws_provider_keys()
    assert "aws:assumeRoles:" in fenced("yaml")[0]


def test_the_decommission_policy_config_downgrades_every_policy_guarding_what_it_turns_off() -> None:
    """Prod's decommission turns protections off; each mandatory policy whose fix names one of those keys
    would block the ``pulumi up`` and must be downgraded by the policy config the guide shows."""
    (script,) = [block for block in fenced("sh") if "--policy-pack-config" in block]
    turned_off = re.findall(r"pulumi config set (\w+) \S+ --stack prod", script)
    assert turned_off, "the decommission script changes prod's configuration"
    (policy_config,) = [
        document
        for document in map(json.loads, fenced("json"))
        if isinstance(document, dict)
        and all(isinstance(value, str) and value in ENFORCEMENT_LEVELS for value in document.values())
    ]
    controls = {control.name: control for control in all_controls()}
    assert set(policy_config) <= set(controls)
    blocking = {
        name
        for name, control in controls.items()
        if control.enforcement.value == "mandatory" and any(key in control.remediation for key in turned_off)
    }
    assert blocking, "a prod protection is guarded by a mandatory policy"
    assert blocking <= {name for name, level in policy_config.items() if level in ("advisory", "disabled")}


def _keys_deletion_windows(run: ProgramRun) -> set[int]:
    return {key.inputs["deletionWindowInDays"] for key in run.of_type("aws:kms/key:Key")}


def _artifact_bucket(run: ProgramRun) -> dict[str, object]:
    (bucket,) = run.of_type("aws:s3/bucket:Bucket")
    return bucket.inputs


def test_prod_refuses_destruction_as_the_guide_says(runs: dict[str, ProgramRun]) -> None:
    prod = runs["prod"]
    primary = prod.named("aws:rds/instance:Instance", "serverless-infra-prod-db-primary")
    assert primary.inputs["deletionProtection"] is True
    assert primary.inputs["skipFinalSnapshot"] is False
    assert primary.inputs["deleteAutomatedBackups"] is False
    assert f"`{primary.inputs['finalSnapshotIdentifier']}`" in GUIDE
    assert _artifact_bucket(prod)["forceDestroy"] is False
    assert _keys_deletion_windows(prod) == {30}
    assert "deletion in 30 days (`keyDeletionWindowDays`)" in GUIDE


def test_dev_is_destroyed_in_one_run_as_the_guide_says(runs: dict[str, ProgramRun]) -> None:
    dev = runs["dev"]
    primary = dev.named("aws:rds/instance:Instance", "serverless-infra-dev-db-primary")
    assert primary.inputs.get("deletionProtection") is False
    assert primary.inputs["skipFinalSnapshot"] is True
    assert primary.inputs["deleteAutomatedBackups"] is True
    assert _artifact_bucket(dev)["forceDestroy"] is True
    assert _keys_deletion_windows(dev) == {7}
    assert "after `keyDeletionWindowDays` (7 days)" in GUIDE
    functions = dev.of_type("aws:lambda/function:Function")
    assert functions
    assert all(function.inputs["replaceSecurityGroupsOnDestroy"] is True for function in functions)


def test_the_e2e_variables_are_the_ones_the_suite_reads() -> None:
    conftest = (PROJECT_ROOT / "tests" / "e2e" / "conftest.py").read_text(encoding="utf-8")
    for variable in ("E2E_BASE_URL", "E2E_API_KEY"):
        assert f'os.environ.get("{variable}")' in conftest
        assert f"export {variable}=" in GUIDE


def test_the_workflow_points_to_sections_that_exist() -> None:
    """ci.yml sends readers to the guide by section title; a renamed heading would strand them."""
    workflow = (PROJECT_ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    titles = re.findall(r'docs/deployment\.md, "([^"]+)"', workflow)
    assert titles, "the workflow refers to the guide"
    for title in titles:
        assert re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") in anchors(GUIDE_PATH), title


def test_the_concurrency_quota_table_sums_each_stacks_reservations(runs: dict[str, ProgramRun]) -> None:
    """Lambda refuses a reservation that leaves fewer than 100 executions unreserved, so the quota the
    guide asks for is what each stack's functions reserve, plus 100."""
    rows = {
        cells[0]: (cells[1], cells[2])
        for cells in (
            [cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in GUIDE.splitlines()
            if re.match(r"\s*\| (dev|staging|prod) \|", line)
        )
    }
    for stack, run in runs.items():
        functions = run.of_type("aws:lambda/function:Function")
        reserved = int(sum(function.inputs["reservedConcurrentExecutions"] for function in functions))
        assert rows[stack] == (f"{reserved:,}", f"{reserved + 100:,}"), stack
