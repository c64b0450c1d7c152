"""The GitHub Actions workflow is valid and runs what the project's own CI runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.unit.support import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci.yml"


def check_jsonschema() -> str:
    found = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert found, "check-jsonschema is installed with requirements-dev.txt"
    return found


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


def test_the_workflow_runs_every_default_nox_session():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    sessions = workflow["jobs"]["test"]["strategy"]["matrix"]["session"]
    noxfile = (PROJECT_ROOT / "noxfile.py").read_text(encoding="utf-8")
    declared = noxfile.split("nox.options.sessions = ", 1)[1].split("\n", 1)[0]
    assert sessions == yaml.safe_load(declared)


def test_the_gate_job_covers_every_stack_and_uploads_sarif():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    gate = workflow["jobs"]["policy-gate"]
    assert gate["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif") for step in gate["steps"])
    assert gate["permissions"]["security-events"] == "write"


def test_the_gate_job_builds_the_archives_the_program_references_before_gating():
    """Without build/function.zip the program stops (exit 2), so the gate would never judge anything."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    commands = [step.get("run", "") for step in workflow["jobs"]["policy-gate"]["steps"]]
    package = next(i for i, command in enumerate(commands) if "nox -s package" in command)
    gate = next(i for i, command in enumerate(commands) if "nox -s preview" in command)
    assert package < gate
