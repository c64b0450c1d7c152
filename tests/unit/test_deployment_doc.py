"""docs/deployment.md states what this repository does: versions, outputs, names and destroy behaviour.

The guide is what an engineer follows with a real account, so the facts it repeats from the code are
checked against the code here: the CLI minimum against the pinned SDK, the outputs table against the
program's exports, the bootstrap's backend URL and secrets provider against a run of the bootstrap,
the destroy section against what the dev and prod programs register. tests/unit/test_docs_commands.py
checks its commands, paths and links along with every other document's.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contract.workloads import ALIAS
from offline.harness import ProgramRun, run_program
from offline.project import PulumiProject, load_stack_config
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


# --- the guide's recovery, rotation and decommissioning steps name what the program really has -----


def _commands_of(language: str, starting: str) -> list[str]:
    """The fenced lines of one language that start with ``starting``."""
    return [
        line.strip() for block in fenced(language) for line in block.splitlines() if line.strip().startswith(starting)
    ]


def test_the_rotation_steps_name_the_generated_secrets_and_their_urns(runs: dict[str, ProgramRun]) -> None:
    """``pulumi up --replace`` takes a URN exactly; the names the guide greps for are the generated secrets'."""
    passwords = runs["dev"].of_type("random:index/randomPassword:RandomPassword")
    by_name = {password.urn.rsplit("::", 1)[1]: password.urn for password in passwords}
    master = by_name["serverless-infra-dev-secret-db-master-password"]
    assert f"--replace '{master}'" in GUIDE
    for suffix in ("secret-db-master-password", "secret-database-app-password", "secret-api-cursor-signing-key"):
        assert f"`{suffix}`" in GUIDE
        assert any(name.endswith(suffix) for name in by_name), suffix
    assert "serverless-infra-dev-secret-database-app-password" in GUIDE
    secret = runs["dev"].named("aws:secretsmanager/secret:Secret", "serverless-infra-dev-secret-db-master")
    assert secret.inputs["name"] == "serverless-infra-dev-secret-db-master"
    assert "`serverless-infra-<env>-secret-db-master`" in GUIDE


def test_the_migrator_invocation_the_guide_shows_is_what_the_deployment_sends() -> None:
    """Rotation and recovery rerun the migrator by hand: same function, alias and event as the deploy's."""
    (invoke, *others) = _commands_of("sh", "aws lambda invoke")
    assert all(other == invoke for other in others)
    assert "--function-name serverless-infra-dev-function-migrator" in invoke
    assert f"--qualifier {ALIAS}" in invoke
    payload = json.loads(re.search(r"--payload '([^']+)'", invoke).group(1))  # type: ignore[union-attr]
    source = (PROJECT_ROOT / "infra" / "serverless_infra" / "components" / "functions.py").read_text(encoding="utf-8")
    assert f"input=json.dumps({payload!r})" in source.replace('"', "'")


def test_the_lock_path_is_the_diy_backends_for_this_project() -> None:
    """The S3 backend keeps a stack's locks under .pulumi/locks/organization/<project>/<stack>/."""
    project = PulumiProject.load(PROJECT_ROOT)
    prefix = f"/.pulumi/locks/organization/{project.name}/dev/"
    commands = _commands_of("sh", "aws s3 ")
    assert commands
    assert all(prefix in command for command in commands)


def test_the_decommission_table_matches_what_prod_registers(runs: dict[str, ProgramRun]) -> None:
    """Every prod log group has the retention the guide says the destroy throws away with it."""
    prod = runs["prod"]
    retention = load_stack_config(PulumiProject.load(PROJECT_ROOT), "prod").values["serverless-infra:logRetentionDays"]
    groups = prod.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert groups
    assert {group.inputs["retentionInDays"] for group in groups} == {int(retention)}
    assert f"`logRetentionDays` ({retention} in prod)" in GUIDE
    assert "`keyDeletionWindowDays` (30 in prod)" in GUIDE


# --- documented commands run offline, as written ----------------------------------------------------

ROOTS_PEM = PROJECT_ROOT / "offline" / "certs" / "amazon-root-cas.pem"


@pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("sha256sum") is None, reason="needs openssl")
def test_the_ca_bundle_checks_run_as_written_on_a_local_bundle(tmp_path: Path) -> None:
    """The guide's verify step, run as the reader runs it from the repository root, on a local PEM of
    four certificates (the Amazon roots the build appends) where the downloaded bundle would be."""
    (tmp_path / "build").mkdir()
    bundle = tmp_path / "build" / "rds-global-bundle.pem"
    shutil.copyfile(ROOTS_PEM, bundle)
    checks = [line for line in _commands_of("sh", "") if "build/rds-global-bundle.pem" in line]
    checksum = next(line for line in checks if line.startswith("sha256sum "))
    count = next(line for line in checks if line.startswith("grep -c "))
    listing = next(line for line in checks if line.startswith("openssl storeutl "))

    def run(command: str) -> str:
        done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, check=True)  # noqa: S602
        return done.stdout

    assert run(checksum).split()[0] == hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert run(count).strip() == "4"
    shown = run(listing)
    assert shown.count("Not After") == 4
    assert {f"CN=Amazon Root CA {n}" in shown for n in range(1, 5)} == {True}
    # The same listing on the roots file itself, as the guide shows it.
    roots_listing = next(line for line in _commands_of("sh", "openssl storeutl ") if ROOTS_PEM.name in line)
    roots = subprocess.run(roots_listing, shell=True, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)  # noqa: S602
    assert roots.stdout.count("Not After") == 4


def test_the_layer_the_documented_packaging_builds_carries_the_bundle_and_the_pinned_roots(tmp_path: Path) -> None:
    """What ``nox -s package -- --rds-ca-bundle build/rds-global-bundle.pem`` puts under python/certs/, built
    offline from a local PEM: the bundle as given, then the four roots pinned by fingerprint."""
    from offline import package

    (command,) = _commands_of("sh", "python3 -m nox -s package -- --rds-ca-bundle ")
    assert command.endswith("--rds-ca-bundle build/rds-global-bundle.pem")
    local = tmp_path / "rds-global-bundle.pem"
    local.write_text(
        ROOTS_PEM.read_text(encoding="ascii").split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    )
    shipped = package.trust_bundle(local)
    assert shipped.startswith(local.read_bytes())
    assert shipped.count(b"BEGIN CERTIFICATE") == 5
    assert "`AMAZON_ROOT_CA_SHA256`" in GUIDE
    assert len(package.AMAZON_ROOT_CA_SHA256) == 4


def test_the_policy_pack_check_runs_as_written() -> None:
    """The guide's check that the pack loads, run with this virtualenv's interpreter in place of policies/venv's."""
    from policies.pack import all_policies

    (command,) = _commands_of("sh", "policies/venv/bin/python -c ")
    words = shlex.split(command)
    done = subprocess.run([sys.executable, *words[1:]], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    assert done.stdout.strip() == f"{len(all_policies())} policies"
