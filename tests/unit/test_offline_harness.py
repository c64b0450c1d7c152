"""The offline harness hands a program what the Pulumi CLI would, and nothing more."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

import pulumi
import pytest

from offline.harness import ProgramError, ProgramTimeout, run_program
from offline.plan import main as plan_main
from offline.project import ProjectError, config_override, placeholder_secret

SAMPLE = Path(__file__).parent / "fixtures" / "sample_project"


@pytest.fixture(scope="module")
def sample_run():
    return run_program(SAMPLE, "test")


def test_stack_values_override_schema_defaults(sample_run):
    assert sample_run.outputs["greeting"] == "hi"


def test_schema_defaults_fill_keys_the_stack_does_not_set(sample_run):
    assert sample_run.outputs["size"] == 3


def test_secure_values_become_marked_placeholder_secrets(sample_run):
    assert sample_run.outputs["token"] == placeholder_secret("sample:token")
    assert "token" in sample_run.secret_outputs
    assert "greeting" not in sample_run.secret_outputs


def test_structured_values_reach_the_program_as_json(sample_run):
    assert sample_run.outputs["zones"] == ["a", "b"]


def test_a_missing_stack_file_means_defaults_only():
    run = run_program(SAMPLE, "brand-new", config_overrides={"sample:token": "t", "sample:layout": {"zones": []}})
    assert run.outputs["greeting"] == "hello"


def test_the_program_runs_from_the_project_root_with_its_main_directory_first(sample_run):
    assert Path(sample_run.outputs["cwd"]) == SAMPLE.resolve()
    assert Path(sample_run.outputs["pathHead"]) == (SAMPLE / "src").resolve()


def test_a_sibling_package_is_not_importable_as_under_the_cli():
    with pytest.raises(ProgramError) as failure:
        run_program(SAMPLE, "test", config_overrides={"sample:importSibling": True})
    assert isinstance(failure.value.__cause__, ModuleNotFoundError)


def test_invokes_get_plausible_answers(sample_run):
    assert sample_run.outputs["account"] == "123456789012"
    assert sample_run.outputs["bucketArn"].startswith("arn:aws:s3:::")


def test_an_invoke_is_answered_with_every_field_of_its_sdk_result_type(sample_run):
    assert sample_run.outputs["vpcId"].startswith("vpc-")
    assert sample_run.outputs["vpcCidr"] == "10.0.0.0/16"
    assert not any("getVpc" in warning for warning in sample_run.warnings)


def test_an_invoke_of_a_package_without_an_sdk_is_reported(sample_run):
    assert any("offline-unknown:index:getThing" in warning for warning in sample_run.warnings)


def test_a_program_that_never_finishes_stops_at_its_deadline_naming_what_it_awaits(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: hang\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "import asyncio\nimport pulumi\n"
        "never = pulumi.Output.from_input(asyncio.get_event_loop().create_future())\n"
        "pulumi.CustomResource('aws:s3/bucket:Bucket', 'stuck', {'bucket': never})\n"
    )
    with pytest.raises(ProgramTimeout, match=r"within 0\.5 s; waiting for: resource aws:s3/bucket:Bucket 'stuck'"):
        run_program(tmp_path, "dev", timeout=0.5)


def test_registrations_record_parent_and_inputs(sample_run):
    (bucket,) = sample_run.of_type("aws:s3/bucket:Bucket")
    assert bucket.parent == sample_run.stack_urn
    assert bucket.inputs["tags"] == {"Greeting": "hi"}


def test_process_state_is_restored_after_a_failed_run():
    cwd, path, environment = os.getcwd(), list(sys.path), dict(os.environ)
    with pytest.raises(ProgramError):
        run_program(SAMPLE, "test", config_overrides={"sample:importSibling": True})
    assert (os.getcwd(), sys.path, dict(os.environ)) == (cwd, path, environment)


def test_a_directory_without_pulumi_yaml_is_refused(tmp_path):
    with pytest.raises(ProjectError, match=r"no Pulumi\.yaml"):
        run_program(tmp_path, "dev")


def test_the_plan_command_lists_resources_by_component(capsys, archive_overrides):
    assert plan_main(["--stack", "dev", *(f"--config={key}={value}" for key, value in archive_overrides.items())]) == 0
    printed = capsys.readouterr().out
    assert "serverless-infra:index:Network" in printed
    assert "    + aws:ec2/vpc:Vpc" in printed


def test_the_plan_command_exits_2_with_the_reason_on_bad_config(capsys):
    assert plan_main(["--stack", "no-such-stack"]) == 2
    assert "aws:region: is required; set it to us-east-1" in capsys.readouterr().err


def test_the_plan_command_names_the_build_step_when_an_archive_is_missing(capsys, tmp_path):
    missing = tmp_path / "nothing.zip"
    assert plan_main(["--stack", "dev", f"--config=serverless-infra:functionArchive={missing}"]) == 2
    assert "nox -s package" in capsys.readouterr().err


def _referencing_program(directory: Path) -> Path:
    (directory / "Pulumi.yaml").write_text("name: consumer\nruntime: python\n")
    (directory / "__main__.py").write_text(
        "import pulumi\n"
        "network = pulumi.StackReference('acme/network/prod')\n"
        "pulumi.export('vpcId', network.get_output('vpcId'))\n"
    )
    return directory


def test_given_another_stacks_outputs_when_a_program_references_it_then_it_reads_them(tmp_path):
    run = run_program(
        _referencing_program(tmp_path), "dev", preview=True, stack_outputs={"acme/network/prod": {"vpcId": "vpc-0a1"}}
    )
    assert run.outputs["vpcId"] == "vpc-0a1"
    assert not [warning for warning in run.warnings if "stack reference" in warning]


def test_given_no_outputs_for_a_referenced_stack_then_they_are_unknown_and_a_warning_says_so(tmp_path):
    run = run_program(_referencing_program(tmp_path), "dev", preview=True)
    assert isinstance(run.outputs["vpcId"], pulumi.output.Unknown)
    assert any("stack reference 'acme/network/prod'" in warning for warning in run.warnings)


@pytest.mark.parametrize("text", ["environment", "=prod", " =prod"])
def test_given_a_config_override_without_a_key_and_value_then_it_is_refused_by_name(text):
    with pytest.raises(argparse.ArgumentTypeError, match="takes KEY=VALUE"):
        config_override(text)


def test_given_a_config_override_then_only_the_first_equals_sign_splits_it():
    assert config_override("serverless-infra:tag=a=b") == ("serverless-infra:tag", "a=b")


@pytest.mark.parametrize("module", ["offline.cost", "offline.capacity", "offline.plan", "offline.gate.__main__"])
def test_given_a_malformed_config_override_then_each_command_line_refuses_it(module, capsys):
    parser = importlib.import_module(module).build_parser()
    with pytest.raises(SystemExit) as refused:
        parser.parse_args(["--config", "environment"])
    assert refused.value.code == 2
    assert "argument --config: takes KEY=VALUE, got 'environment'" in capsys.readouterr().err
