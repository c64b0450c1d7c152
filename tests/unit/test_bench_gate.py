"""The gate group's SDK floor: which provider classes a stack's resource types load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.groups.gate import registered_types, sdk_floor_code


def test_given_provider_types_when_building_the_floor_then_each_class_is_loaded_from_its_sdk_module() -> None:
    code = sdk_floor_code(
        ["aws:ec2/vpc:Vpc", "aws:lambda/function:Function", "random:index/randomPassword:RandomPassword"]
    )

    assert "getattr(importlib.import_module('pulumi_aws.ec2'), 'Vpc')" in code
    assert "getattr(importlib.import_module('pulumi_aws.lambda_'), 'Function')" in code  # a keyword's module
    assert "getattr(importlib.import_module('pulumi_random'), 'RandomPassword')" in code  # index: the package


def test_given_stack_and_component_types_when_building_the_floor_then_they_load_nothing() -> None:
    code = sdk_floor_code(["pulumi:pulumi:Stack", "serverless-infra:index:Api", "pulumi:providers:aws"])

    assert "import_module" not in code


def test_given_a_gate_report_when_reading_types_then_each_type_is_listed_once(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    resources = [
        {"type": "aws:s3/bucketV2:BucketV2"},
        {"type": "aws:s3/bucketV2:BucketV2"},
        {"type": "aws:ec2/vpc:Vpc"},
    ]
    report.write_text(json.dumps({"resources": resources}))

    assert registered_types(report) == ["aws:ec2/vpc:Vpc", "aws:s3/bucketV2:BucketV2"]


def test_given_the_floor_code_when_run_then_the_sdk_classes_load() -> None:
    code = (
        sdk_floor_code(["aws:s3/bucketV2:BucketV2"])
        + "\nprint(importlib.import_module('pulumi_aws.s3').BucketV2.__name__)"
    )

    completed = subprocess.run(  # noqa: S603 - this interpreter, code built here
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )

    assert completed.returncode == 0, completed.stderr[-600:]
    assert completed.stdout.strip() == "BucketV2"
