"""The gate runs any Pulumi Python program: the corpus, each toolchain, and bad input or a hang.

Every run ends with exit 0, or 1 with findings; exit 2 only for what cannot run, with one line
naming the cause. Toolchain projects are written to a temporary directory from the corpus program
and constraints.txt's versions, so their environments (built once, cached by content) are shared
between runs; those tests are marked slow and stay in the integration session.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from offline.gate import environment

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "tests" / "integration" / "gate_corpus"
PINS = dict(
    line.split("==", 1)
    for line in (ROOT / "constraints.txt").read_text().splitlines()
    if "==" in line and not line.startswith("#")
)


def _ran(run) -> None:
    assert run.code in (0, 1), run.err
    assert "Traceback" not in run.err
    assert run.report["resources"], run.out


def test_a_program_using_every_kind_of_input_and_invoke_is_gated(gate):
    run = gate("--project", str(CORPUS / "features"), "--stack", "test", "--in-process")
    _ran(run)
    types = {resource["type"] for resource in run.report["resources"]}
    assert {
        "corpus:web:StaticSite",
        "awsx:ec2:Vpc",
        "pulumi-python:dynamic:Resource",
        "aws:lambda/permission:Permission",
        "aws:s3/bucketObjectv2:BucketObjectv2",
    } <= types


def test_a_program_that_never_finishes_is_stopped_at_the_deadline_naming_what_it_awaits(gate, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: hang\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(
        "import asyncio\nimport pulumi\n"
        "never = pulumi.Output.from_input(asyncio.get_event_loop().create_future())\n"
        "pulumi.CustomResource('aws:s3/bucket:Bucket', 'stuck', {'bucket': never})\n"
    )
    run = gate("--project", str(tmp_path), "--stack", "dev", "--in-process", "--timeout", "1")
    assert run.code == 2
    assert "within 1 s; waiting for: resource aws:s3/bucket:Bucket 'stuck' (its inputs never resolved)" in run.err


def _error_line(run) -> str:
    lines = [line for line in run.err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, run.err
    assert "Traceback" not in run.err
    return lines[0]


def test_a_stack_without_its_stack_file_is_refused_as_the_cli_does(gate, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    run = gate("--project", str(tmp_path), "--stack", "qa", "--in-process")
    assert run.code == 2
    assert "no stack named 'qa' found" in _error_line(run)


@pytest.mark.parametrize(
    ("file_name", "text", "where"),
    [
        ("Pulumi.yaml", "name: p\nruntime: {name: python\n", "Pulumi.yaml:3:1"),
        ("Pulumi.dev.yaml", "config:\n  p:size: 3\n   bad: indent\n", "Pulumi.dev.yaml:3:"),
    ],
)
def test_malformed_yaml_is_refused_naming_file_line_and_column(gate, tmp_path, file_name, text, where):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / file_name).write_text(text)
    run = gate("--project", str(tmp_path), "--stack", "dev", "--in-process")
    assert run.code == 2
    assert re.search(rf"{re.escape(where)}\d*: invalid YAML", _error_line(run))


def test_a_missing_project_directory_is_one_line(gate, tmp_path):
    run = gate("--project", str(tmp_path / "nowhere"))
    assert run.code == 2
    assert "no Pulumi.yaml" in _error_line(run)


# -- toolchains --------------------------------------------------------------------------------
def _toolchain_project(tmp_path: Path, toolchain: str, virtualenv: str | None = None) -> Path:
    project = tmp_path / f"corpus-{toolchain}"
    project.mkdir()
    shutil.copy(CORPUS / "toolchain" / "__main__.py", project / "__main__.py")
    options = f"      toolchain: {toolchain}\n" + (f"      virtualenv: {virtualenv}\n" if virtualenv else "")
    (project / "Pulumi.yaml").write_text(f"name: corpus-{toolchain}\nruntime:\n  name: python\n  options:\n{options}")
    (project / "Pulumi.test.yaml").write_text("config: {}\n")
    pulumi = f"pulumi=={PINS['pulumi']}"
    if toolchain == "pip":
        (project / "requirements.txt").write_text(f"{pulumi}\n")
    elif toolchain == "poetry":
        (project / "pyproject.toml").write_text(
            "[tool.poetry]\npackage-mode = false\n\n"
            f'[tool.poetry.dependencies]\npython = ">=3.11,<3.12"\npulumi = "{PINS["pulumi"]}"\n'
        )
    else:
        (project / "pyproject.toml").write_text(
            f'[project]\nname = "corpus-uv"\nversion = "0"\nrequires-python = ">=3.11"\ndependencies = ["{pulumi}"]\n'
            "\n[tool.uv]\npackage = false\n"
        )
    return project


@pytest.mark.slow
@pytest.mark.parametrize("toolchain", ["pip", "poetry", "uv"])
def test_each_toolchain_runs_the_program_in_its_own_environment(gate, tmp_path, toolchain):
    project = _toolchain_project(tmp_path, toolchain)
    run = gate("--project", str(project), "--stack", "test")
    _ran(run)
    assert {r["type"] for r in run.report["resources"]} == {"corpus:messaging:Queue", "aws:sqs/queue:Queue"}
    assert not list(project.glob("*.lock")), "the toolchain must not write into the project"


@pytest.mark.slow
def test_a_virtualenv_named_in_pulumi_yaml_is_the_one_used(gate, tmp_path):
    project = _toolchain_project(tmp_path, "pip", virtualenv="venv")
    uv = shutil.which("uv")
    assert uv, "the integration session installs uv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(project / "venv")], check=True)  # noqa: S603
    install = [uv, "pip", "install", "-q", "--python", str(project / "venv" / "bin" / "python")]
    subprocess.run([*install, "-r", str(project / "requirements.txt")], check=True)  # noqa: S603
    run = gate("--project", str(project), "--stack", "test")
    _ran(run)
    assert environment.existing_python(project, "pip", "venv") == project / "venv" / "bin" / "python"


@pytest.mark.slow
def test_the_pack_runs_in_its_own_cached_virtualenv_as_the_cli_runs_it(gate):
    python = environment.pack_python(ROOT / "policies")
    assert python.is_relative_to(environment.cache_root())
    assert environment.pack_python(ROOT / "policies") == python  # cached: the same one, not rebuilt
    run = gate("--project", str(CORPUS / "toolchain"), "--stack", "test", "--in-process", "--pack-python", "venv")
    _ran(run)


def test_a_pack_that_never_answers_is_stopped_at_the_deadline_naming_the_call(gate):
    run = gate(
        "--project",
        str(CORPUS / "toolchain"),
        "--stack",
        "test",
        "--in-process",
        "--pack",
        str(ROOT / "tests/integration/policies/fixtures/hanging_pack"),
        "--timeout",
        "5",
    )
    assert run.code == 2
    assert "deadline passed waiting for the policy pack's Analyze of urn:pulumi:test::" in _error_line(run)


# -- several stacks, stack references ---------------------------------------------------------
def _two_stack_project(directory: Path) -> Path:
    """Stack ``a`` declares nothing; stack ``b`` a queue open to anyone (mandatory violations)."""
    (directory / "Pulumi.yaml").write_text("name: two\nruntime: python\n")
    (directory / "Pulumi.a.yaml").write_text("config: {}\n")
    (directory / "Pulumi.b.yaml").write_text("config:\n  two:broken: true\n")
    (directory / "__main__.py").write_text(
        "import pulumi\nimport pulumi_aws as aws\n"
        "if pulumi.Config().get_bool('broken'):\n"
        '    aws.sqs.Queue(\'open\', policy=\'{"Statement":[{"Effect":"Allow","Principal":"*",'
        '"Action":"sqs:*","Resource":"*"}]}\')\n'
    )
    return directory


def test_given_several_stacks_when_one_fails_then_the_run_fails_and_each_stack_has_its_report(tmp_path, capsys):
    from offline.gate.__main__ import main as gate_main

    project = _two_stack_project(tmp_path)
    reports = tmp_path / "report-{stack}.json"
    common = ["--project", str(project), "--in-process", "--pack-python", "current", "--json", str(reports)]
    code = gate_main([*common, "--stack", "a", "--stack", "b"])
    captured = capsys.readouterr()
    assert code == 1, captured.out[-3000:] + captured.err[-3000:]
    passed = {stack: json.loads((tmp_path / f"report-{stack}.json").read_text())["summary"]["passed"] for stack in "ab"}
    assert passed == {"a": True, "b": False}


def test_given_several_stacks_a_single_report_path_is_refused_before_anything_runs(tmp_path, capsys):
    from offline.gate.__main__ import main as gate_main

    project = _two_stack_project(tmp_path)
    with pytest.raises(SystemExit) as exited:
        gate_main(["--project", str(project), "--stack", "a", "--stack", "b", "--json", str(tmp_path / "one.json")])
    assert exited.value.code == 2
    assert "must contain {stack}" in capsys.readouterr().err


def test_a_stack_reference_reads_the_outputs_given_and_is_reported_unknown_without_them(gate, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"organization/network/test": {"vpcId": "vpc-0a1b2c"}}))
    common = ("--project", str(CORPUS / "features"), "--stack", "test", "--in-process")
    given, missing = gate(*common, "--stack-outputs", str(outputs)), gate(*common)
    _ran(given)
    _ran(missing)
    unknown = "stack reference 'organization/network/test': its outputs are unknown offline"
    assert not [warning for warning in given.report["warnings"] if unknown in warning]
    assert [warning for warning in missing.report["warnings"] if unknown in warning]


@pytest.mark.parametrize(
    "text",
    ["[1, 2]", '{"acme/network/prod": "vpc-1"}', '{"a/b": {}}', "{not json"],
    ids=["not-an-object", "outputs-not-an-object", "not-a-stack-name", "not-json"],
)
def test_a_malformed_stack_outputs_file_is_one_line_and_exit_2(gate, tmp_path, text):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(text)
    features = ("--project", str(CORPUS / "features"), "--stack", "test", "--in-process")
    run = gate(*features, "--stack-outputs", str(outputs))
    assert run.code == 2
    assert str(outputs) in _error_line(run)


def test_given_an_earlier_run_timed_out_in_this_process_when_several_stacks_are_gated_then_each_runs(tmp_path, capsys):
    from offline.gate.__main__ import main as gate_main

    hang = tmp_path / "hang"
    hang.mkdir()
    (hang / "Pulumi.yaml").write_text("name: hang\nruntime: python\n")
    (hang / "Pulumi.dev.yaml").write_text("config: {}\n")
    (hang / "__main__.py").write_text(
        "import asyncio\nimport pulumi\n"
        "pulumi.CustomResource('aws:s3/bucket:Bucket', 'stuck', "
        "{'bucket': pulumi.Output.from_input(asyncio.get_event_loop().create_future())})\n"
    )
    assert gate_main(["--project", str(hang), "--stack", "dev", "--in-process", "--timeout", "1"]) == 2
    project = _two_stack_project(tmp_path)
    reports = tmp_path / "report-{stack}.json"
    common = ["--project", str(project), "--in-process", "--pack-python", "current", "--json", str(reports)]
    assert gate_main([*common, "--stack", "a", "--stack", "b"]) == 1
    capsys.readouterr()
    assert sorted(path.name for path in tmp_path.glob("report-*.json")) == ["report-a.json", "report-b.json"]
