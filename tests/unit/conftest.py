"""Fixtures: the real program run under the Pulumi mocks for each stack.

Every run starts from a fresh Pulumi runtime state (new settings, mocks, root stack and program
modules) and reads the real Pulumi.<stack>.yaml files. The shipped stacks' runs are made once per
test worker and shared read-only; tests that change configuration make their own runs. AWS
credentials and config files are hidden so nothing can reach a real account.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from contract.settings import Settings, parse_settings
from offline.harness import ProgramRun, run_program
from offline.project import PulumiProject, StackConfig, load_stack_config
from tests.unit.support import CA_BUNDLE_IN_LAYER, PROJECT_ROOT, STACKS


@pytest.fixture(scope="session")
def archive_overrides(archive_overrides: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The shared archives, with a layer that carries the RDS CA bundle as a deployable layer does.

    The program runs as ``pulumi up`` here (not a preview), which refuses a layer without the bundle;
    tests of that refusal build their own layer.
    """
    layer = tmp_path_factory.mktemp("archives-with-ca") / "layer.zip"
    with zipfile.ZipFile(layer, "w") as archive:
        archive.writestr("python/README.txt", "third-party libraries are installed here by the packaging step\n")
        archive.writestr(CA_BUNDLE_IN_LAYER, "-----BEGIN CERTIFICATE-----\noffline\n-----END CERTIFICATE-----\n")
    return {**archive_overrides, "serverless-infra:layerArchive": str(layer)}


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


@pytest.fixture(scope="session")
def shipped_configs() -> dict[str, StackConfig]:
    """Each shipped stack's configuration as the CLI hands it over (Pulumi.yaml's defaults applied)."""
    project = PulumiProject.load(PROJECT_ROOT)
    return {stack: load_stack_config(project, stack) for stack in STACKS}


@pytest.fixture
def parse_stack(shipped_configs: dict[str, StackConfig]) -> Callable[..., Settings]:
    """Parse a shipped stack's configuration changed as ``pulumi config set``/``rm`` would (None removes).

    The parser alone (contract.settings), no program run: for what configuration is valid.
    """

    def parse(stack: str = "dev", **overrides: Any) -> Settings:
        keyed = {key if ":" in key else f"serverless-infra:{key}": value for key, value in overrides.items()}
        return parse_settings(shipped_configs[stack].with_overrides(keyed).values)

    return parse
