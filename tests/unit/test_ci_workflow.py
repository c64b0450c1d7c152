"""The GitHub Actions workflow is valid, runs what the project's own CI runs, and deploys safely.

Safely means: pull requests only preview, with a read-only role; a push to main promotes the archives
built once, byte for byte, dev -> staging -> prod, each with its own role and environment; no later
push cancels a deploy; the gate's verdict alone decides its check; docs/ci.md names the checks and
the session length the workflow relies on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.support import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci.yml"
CI_GUIDE = PROJECT_ROOT / "docs" / "ci.md"
STACKS = ("dev", "staging", "prod")
DEPLOY_JOBS = {stack: f"deploy-{stack}" for stack in STACKS}
RDS_CA_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
PUSH_TO_MAIN = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"


def check_jsonschema() -> str:
    found = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert found, "check-jsonschema is installed with requirements-dev.txt"
    return found


def load() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def jobs() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load()["jobs"]
    return found


def steps(job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = jobs()[job]["steps"]
    return found


def action(step: dict[str, Any]) -> str:
    """The action a step uses, without its ref: ``actions/checkout@<sha>`` -> ``actions/checkout``."""
    return str(step.get("uses", "")).split("@", 1)[0]


def index_of(job: str, predicate: Any) -> int:
    return next(i for i, step in enumerate(steps(job)) if predicate(step))


def runs(text: str) -> Any:
    return lambda step: text in str(step.get("run", ""))


def uses(name: str) -> Any:
    return lambda step: action(step) == name


def expression(value: Any) -> str:
    """An ``if:`` or ``${{ }}`` value with its braces and extra whitespace removed, for comparison."""
    text = str(value).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return " ".join(text.split())


def check_names() -> set[str]:
    """Every check name GitHub shows for the workflow: job names with the matrix expanded."""
    names: set[str] = set()
    for job_id, job in jobs().items():
        name = str(job.get("name", job_id))
        matrix = job.get("strategy", {}).get("matrix", {})
        if not matrix:
            names.add(name)
            continue
        ((key, values),) = matrix.items()
        names.update(name.replace(f"${{{{ matrix.{key} }}}}", str(value)) for value in values)
    return names


def pulumi_jobs() -> Iterator[str]:
    return (job for job in jobs() if any(re.search(r"^\s*pulumi ", s.get("run", ""), re.M) for s in steps(job)))


# --- the workflow is one GitHub accepts ----------------------------------------------------------


def test_the_workflow_validates_against_the_github_workflow_schema():
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [check_jsonschema(), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  test:\n    steps: run tests\n", encoding="utf-8")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [check_jsonschema(), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        check=False,
    )
    assert result.returncode != 0


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_release_in_a_comment():
    lines = [line for line in WORKFLOW.read_text(encoding="utf-8").splitlines() if re.match(r"\s*-?\s*uses:", line)]
    assert lines
    for line in lines:
        assert re.search(r"uses: [\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$", line), line


def test_every_action_the_guide_lists_is_the_release_the_workflow_pins():
    guide = CI_GUIDE.read_text(encoding="utf-8")
    pinned = set(re.findall(r"uses: ([\w./-]+)@[0-9a-f]{40} # (v[\d.]+)", WORKFLOW.read_text(encoding="utf-8")))
    listed = set(re.findall(r"^\| `([\w./-]+)` \| (v[\d.]+) \|$", guide, re.M))
    assert pinned == listed


# --- the tests and the gate ----------------------------------------------------------------------


def test_the_workflow_runs_every_default_nox_session():
    sessions = jobs()["test"]["strategy"]["matrix"]["session"]
    noxfile = (PROJECT_ROOT / "noxfile.py").read_text(encoding="utf-8")
    declared = noxfile.split("nox.options.sessions = ", 1)[1].split("\n", 1)[0]
    assert sessions == yaml.safe_load(declared)


def test_the_gate_job_covers_every_stack_and_uploads_sarif():
    gate = jobs()["policy-gate"]
    assert gate["strategy"]["matrix"]["stack"] == list(STACKS)
    assert any(action(step) == "github/codeql-action/upload-sarif" for step in gate["steps"])
    assert gate["permissions"]["security-events"] == "write"


def test_the_gate_judges_the_build_jobs_archives_after_checking_their_sha256():
    """Without build/function.zip the program stops (exit 2), so the gate would never judge anything;
    with archives of its own it would judge other bytes than the ones deployed."""
    assert "build" in jobs()["policy-gate"]["needs"]
    download = index_of("policy-gate", uses("actions/download-artifact"))
    check = index_of("policy-gate", runs("sha256sum --check"))
    gate = index_of("policy-gate", runs("nox -s preview"))
    assert download < check < gate
    assert not any("nox -s package" in step.get("run", "") for step in steps("policy-gate"))


def test_the_gate_steps_exit_code_alone_decides_the_gate_job():
    gate = steps("policy-gate")[index_of("policy-gate", runs("nox -s preview"))]
    assert "continue-on-error" not in gate
    assert "if" not in gate
    assert "continue-on-error" not in jobs()["policy-gate"]


def test_the_sarif_upload_never_fails_the_gate_and_skips_forks_where_code_scanning_refuses_it():
    upload = steps("policy-gate")[index_of("policy-gate", uses("github/codeql-action/upload-sarif"))]
    assert upload["continue-on-error"] is True
    condition = expression(upload["if"])
    assert condition.startswith("always() &&")
    assert SAME_REPOSITORY in condition
    assert "github.event_name == 'push'" in condition
    major = re.search(r"codeql-action/upload-sarif@[0-9a-f]{40} # v(\d+)", WORKFLOW.read_text(encoding="utf-8"))
    assert major
    assert int(major.group(1)) >= 4, "v3 is deprecated; v4 is the current major"


def test_only_the_gate_job_may_write_security_events():
    writers = [job for job, spec in jobs().items() if spec.get("permissions", {}).get("security-events")]
    assert writers == ["policy-gate"]
    assert load()["permissions"] == {"contents": "read"}


# --- built once, the same bytes promoted ---------------------------------------------------------


def test_the_archives_are_built_once_by_the_build_job_and_uploaded_as_an_artifact():
    build = jobs()["build"]
    assert "strategy" not in build
    assert "if" not in build
    builders = [job for job in jobs() if any("nox -s package" in s.get("run", "") for s in steps(job))]
    assert builders == ["build"]
    upload = steps("build")[index_of("build", uses("actions/upload-artifact"))]
    assert upload["with"]["name"] == "archives"
    assert upload["with"]["path"].split() == ["build/function.zip", "build/layer.zip"]
    assert set(build["outputs"]) == {"function-sha256", "layer-sha256"}


def test_the_ca_bundle_is_fetched_from_aws_and_refused_unless_it_matches_the_pinned_checksum():
    step = steps("build")[index_of("build", runs("--fetch-rds-ca"))]
    assert load()["env"]["RDS_CA_URL"] == RDS_CA_URL
    assert '--fetch-rds-ca "$RDS_CA_URL" --rds-ca-sha256 "$RDS_CA_SHA256"' in step["run"]
    assert expression(step["env"]["RDS_CA_SHA256"]) == "vars.RDS_CA_SHA256"
    package = (PROJECT_ROOT / "offline" / "package.py").read_text(encoding="utf-8")
    assert '"--fetch-rds-ca"' in package
    assert '"--rds-ca-sha256"' in package


def test_without_the_checksum_only_a_forks_pull_request_builds_a_layer_without_the_bundle():
    step = steps("build")[index_of("build", runs("--fetch-rds-ca"))]
    assert expression(step["env"]["FORK_PULL_REQUEST"]) == (
        "github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name != github.repository"
    )
    script = step["run"]
    assert script.index('if [ -n "$RDS_CA_SHA256" ]') < script.index('elif [ "$FORK_PULL_REQUEST" = "true" ]')
    assert script.rstrip().endswith("exit 1\nfi")


@pytest.mark.parametrize("job", ["policy-gate", "preview", *DEPLOY_JOBS.values()])
def test_every_job_using_the_archives_downloads_them_and_checks_the_build_jobs_sha256_first(job):
    assert "build" in jobs()[job]["needs"], "the needs context holds only direct dependencies"
    download = steps(job)[index_of(job, uses("actions/download-artifact"))]
    assert download["with"] == {"name": "archives", "path": "build"}
    check_at = index_of(job, runs("sha256sum --check"))
    check = steps(job)[check_at]
    assert expression(check["env"]["FUNCTION_SHA256"]) == "needs.build.outputs.function-sha256"
    assert expression(check["env"]["LAYER_SHA256"]) == "needs.build.outputs.layer-sha256"
    assert "build/function.zip" in check["run"]
    assert "build/layer.zip" in check["run"]
    assert "--strict" in check["run"]
    first_use = index_of(job, lambda step: re.search(r"pulumi (up|preview)|nox -s preview", step.get("run", "")))
    assert index_of(job, uses("actions/download-artifact")) < check_at < first_use


# --- deploys: order, environments, roles, never cancelled ---------------------------------------


def test_each_deploy_job_runs_in_its_own_environment_after_the_previous_one():
    assert [job for job in jobs() if job.startswith("deploy")] == list(DEPLOY_JOBS.values())
    assert set(jobs()["deploy-dev"]["needs"]) == {"build", "test", "policy-gate"}
    assert set(jobs()["deploy-staging"]["needs"]) == {"build", "deploy-dev"}
    assert set(jobs()["deploy-prod"]["needs"]) == {"build", "deploy-staging"}
    for stack, job in DEPLOY_JOBS.items():
        assert jobs()[job]["environment"] == stack
        assert jobs()[job]["env"]["STACK"] == stack
        assert jobs()[job]["name"] == f"deploy ({stack})"


@pytest.mark.parametrize("job", DEPLOY_JOBS.values())
def test_deploy_jobs_run_only_on_a_push_to_main(job):
    assert expression(jobs()[job]["if"]) == PUSH_TO_MAIN
    assert load()[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the key `on` as True


@pytest.mark.parametrize("stack", STACKS)
def test_a_deploy_is_never_cancelled_by_a_later_push(stack):
    concurrency = jobs()[DEPLOY_JOBS[stack]]["concurrency"]
    assert concurrency == {"group": f"deploy-{stack}", "cancel-in-progress": False}


def test_the_workflow_wide_group_cancels_only_pull_request_runs_and_gives_each_push_its_own_group():
    concurrency = load()["concurrency"]
    assert expression(concurrency["cancel-in-progress"]) == "github.event_name == 'pull_request'"
    assert concurrency["group"].endswith("|| github.sha }}"), "a push to main is a group of its own commit"


@pytest.mark.parametrize("stack", STACKS)
def test_each_deploy_job_assumes_its_environments_deploy_role_for_long_enough_for_a_first_prod_up(stack):
    job = DEPLOY_JOBS[stack]
    credentials = steps(job)[index_of(job, uses("aws-actions/configure-aws-credentials"))]["with"]
    assert expression(credentials["role-to-assume"]) == "vars.AWS_DEPLOY_ROLE_ARN"
    assert credentials["role-duration-seconds"] >= 3 * 3600
    assert jobs()[job]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs()[job]["timeout-minutes"] * 60 <= credentials["role-duration-seconds"]
    up = index_of(job, runs("pulumi up"))
    assert index_of(job, uses("aws-actions/configure-aws-credentials")) < up
    assert '--stack "$STACK" --policy-pack policies --yes' in steps(job)[up]["run"]


def test_the_guide_asks_for_the_maximum_session_duration_the_deploy_jobs_request():
    durations = {
        step["with"]["role-duration-seconds"]
        for job in DEPLOY_JOBS.values()
        for step in steps(job)
        if action(step) == "aws-actions/configure-aws-credentials"
    }
    assert len(durations) == 1
    guide = CI_GUIDE.read_text(encoding="utf-8")
    assert f"Maximum session duration: {durations.pop()} seconds" in guide


# --- pull requests: preview only, read-only -------------------------------------------------------


def test_the_pull_request_preview_uses_the_read_only_role_and_never_deploys():
    preview = jobs()["preview"]
    assert expression(preview["if"]) == f"github.event_name == 'pull_request' && {SAME_REPOSITORY}"
    assert preview["strategy"]["matrix"]["stack"] == list(STACKS)
    credentials = [step["with"] for step in preview["steps"] if action(step) == "aws-actions/configure-aws-credentials"]
    assert [expression(c["role-to-assume"]) for c in credentials] == ["vars.AWS_PREVIEW_ROLE_ARN"]
    text = yaml.safe_dump(preview)
    assert "AWS_DEPLOY_ROLE_ARN" not in text
    assert "environment" not in preview
    commands = [step.get("run", "") for step in preview["steps"]]
    assert any("pulumi preview --stack ${{ matrix.stack }} --policy-pack policies" in c for c in commands)
    assert not any(re.search(r"pulumi (up|destroy|refresh|import|state)", c) for c in commands)


def test_no_job_outside_the_deploy_jobs_can_reach_a_deploy_role_or_an_environment():
    for job, spec in jobs().items():
        if job in DEPLOY_JOBS.values():
            continue
        assert "AWS_DEPLOY_ROLE_ARN" not in yaml.safe_dump(spec), job
        assert "environment" not in spec, job


def test_only_the_jobs_that_assume_a_role_may_ask_for_an_oidc_token():
    askers = {job for job, spec in jobs().items() if spec.get("permissions", {}).get("id-token") == "write"}
    assert askers == {"preview", *DEPLOY_JOBS.values()}


# --- the merge gate and the required checks -------------------------------------------------------


def test_the_merge_gate_always_reports_and_depends_on_every_pull_request_check():
    gate = jobs()["merge-gate"]
    assert expression(gate["if"]) == "always()"
    assert set(gate["needs"]) == {"test", "build", "policy-gate", "preview"}
    step = gate["steps"][0]
    assert expression(step["env"]["NEEDS"]) == "toJSON(needs)"
    assert expression(step["env"]["PREVIEW_EXPECTED"]) == f"github.event_name == 'pull_request' && {SAME_REPOSITORY}"


def test_the_checks_the_guide_says_to_require_are_names_the_workflow_reports():
    guide = CI_GUIDE.read_text(encoding="utf-8")
    section = guide.split("## Checks to require in branch protection", 1)[1].split("\n## ", 1)[0]
    required = re.findall(r"^\| `([^`]+)` \| yes \|", section, re.M)
    assert required == ["merge gate", "policy gate (dev)", "policy gate (staging)", "policy gate (prod)"]
    assert set(required) <= check_names()
    for names in re.findall(r"^\| (`[^|]+`) \|", section, re.M):
        assert set(re.findall(r"`([^`]+)`", names)) <= check_names(), names


# --- tools: the CLI, the policy pack, caches ------------------------------------------------------


def test_the_pulumi_cli_is_pinned_to_the_sdk_version_in_constraints():
    constraints = (PROJECT_ROOT / "constraints.txt").read_text(encoding="utf-8")
    sdk = re.search(r"^pulumi==([\d.]+)$", constraints, re.M)
    assert sdk
    assert load()["env"]["PULUMI_VERSION"] == sdk.group(1)
    for job in pulumi_jobs():
        installs = [step for step in steps(job) if action(step) == "pulumi/actions"]
        assert len(installs) == 1, job
        assert expression(installs[0]["with"]["pulumi-version"]) == "env.PULUMI_VERSION"
        assert "command" not in installs[0]["with"], "the CLI is installed only; the run steps call it"


def test_every_job_running_pulumi_installs_the_program_and_the_policy_pack_as_their_runtime_options_say():
    for project in (PROJECT_ROOT / "Pulumi.yaml", PROJECT_ROOT / "policies" / "PulumiPolicy.yaml"):
        assert yaml.safe_load(project.read_text(encoding="utf-8"))["runtime"]["options"]["virtualenv"] == "venv"
    assert set(pulumi_jobs()) == {"preview", *DEPLOY_JOBS.values()}
    for job in pulumi_jobs():
        script = "\n".join(step.get("run", "") for step in steps(job))
        assert "python -m venv venv && venv/bin/pip install -c constraints.txt -r infra/requirements.txt" in script
        assert (
            "python -m venv policies/venv && policies/venv/bin/pip install -c constraints.txt"
            " -r policies/requirements.txt" in script
        )


def test_every_python_setup_caches_pip_keyed_on_the_pins_and_the_nox_jobs_cache_their_virtualenvs():
    for job in jobs():
        for step in steps(job):
            if action(step) == "actions/setup-python":
                assert step["with"]["cache"] == "pip", job
                assert "constraints.txt" in step["with"]["cache-dependency-path"].split(), job
    for job in ("test", "build", "policy-gate"):
        cache = steps(job)[index_of(job, uses("actions/cache"))]["with"]
        assert cache["path"] == ".nox"
        assert "hashFiles('constraints.txt', 'requirements*.txt', '*/requirements.txt'" in cache["key"]


# --- the guide ------------------------------------------------------------------------------------


def test_the_guide_gives_each_role_the_exact_oidc_subject_its_job_presents():
    guide = CI_GUIDE.read_text(encoding="utf-8")
    assert '"token.actions.githubusercontent.com:sub": "repo:OWNER/REPO:pull_request"' in guide
    assert '"token.actions.githubusercontent.com:sub": "repo:OWNER/REPO:environment:dev"' in guide
    for stack in STACKS:
        assert f"| `repo:OWNER/REPO:environment:{stack}` |" in guide
        assert jobs()[DEPLOY_JOBS[stack]]["environment"] == stack
    assert "StringLike" not in guide, "each role trusts one exact subject"
