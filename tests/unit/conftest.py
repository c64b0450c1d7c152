"""Fixtures: the real program run under the Pulumi mocks for each stack.

Every run starts from a fresh Pulumi runtime state (new settings, mocks, root stack and program
modules) and reads the real Pulumi.<stack>.yaml files. The shipped stacks' runs are made once per
test worker and shared read-only; tests that change configuration make their own runs. AWS
credentials and config files are hidden so nothing can reach a real account.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from offline.harness import ProgramRun, run_program
from tests.unit.support import PROJECT_ROOT, STACKS

HIDDEN_AWS_ENVIRONMENT = {
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_SESSION_TOKEN": "",
    "AWS_PROFILE": "",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="session", autouse=True)
def _no_real_aws() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in HIDDEN_AWS_ENVIRONMENT.items():
            if value:
                patch.setenv(key, value)
            else:
                patch.delenv(key, raising=False)
        yield


@pytest.fixture(scope="session")
def archive_overrides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Function and layer archives for the program to reference, made here without a network.

    The program only hashes and uploads them, so the unit suite needs real zip files, not the
    packaged function (its build is tested with the function).
    """
    directory = tmp_path_factory.mktemp("archives")
    function_zip, layer_zip = directory / "function.zip", directory / "layer.zip"
    with zipfile.ZipFile(function_zip, "w") as archive:
        for source in sorted((PROJECT_ROOT / "contract").glob("*.py")):
            archive.write(source, f"contract/{source.name}")
    with zipfile.ZipFile(layer_zip, "w") as archive:
        archive.writestr("python/README.txt", "third-party libraries are installed here by the packaging step\n")
    return {"serverless-infra:functionArchive": str(function_zip), "serverless-infra:layerArchive": str(layer_zip)}


@pytest.fixture(scope="session")
def runs(archive_overrides: dict[str, str]) -> dict[str, ProgramRun]:
    """The program for every shipped stack, run once per test worker (tests only read them)."""
    return {stack: run_program(PROJECT_ROOT, stack, config_overrides=archive_overrides) for stack in STACKS}


@pytest.fixture(params=STACKS)
def stack_run(request: pytest.FixtureRequest, runs: dict[str, ProgramRun]) -> ProgramRun:
    """Parametrises a test over dev, staging and prod."""
    return runs[request.param]


@pytest.fixture
def run_stack(archive_overrides: dict[str, str]) -> Callable[..., ProgramRun]:
    """Run a stack with configuration changed as ``pulumi config set``/``rm`` would (None removes)."""

    def run(stack: str, **overrides: Any) -> ProgramRun:
        keyed = {key if ":" in key else f"serverless-infra:{key}": value for key, value in overrides.items()}
        return run_program(PROJECT_ROOT, stack, config_overrides={**archive_overrides, **keyed})

    return run
