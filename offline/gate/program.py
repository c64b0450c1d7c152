"""Run a project's program for a stack and describe its resources as the engine would.

This repository's program runs in-process (its dependencies are this environment's). Any other
project runs the way the Pulumi CLI would run it: in the project's own virtualenv when Pulumi.yaml
names one that exists, else in a cached virtualenv with the project's requirements.txt (or
pyproject.toml) installed, keyed by a hash of those files. The child process prints the marshalled
resources as JSON, so the analysis side is the same either way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


class ProgramRunError(Exception):
    """The program (or its environment) could not run; the message says why."""


@dataclass
class ProgramResult:
    """What the engine would know after running the program in a preview."""

    project: str
    description: str
    runtime: str
    stack: str
    stack_urn: str
    config: dict[str, str]
    secret_keys: list[str]
    resources: list[dict[str, Any]]
    stack_outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_in_process(
    project_dir: Path, stack: str, overrides: Mapping[str, str], *, unknowns: bool = False
) -> ProgramResult:
    """Run the program with this interpreter's packages, under the offline mocks."""
    from offline.gate.wire import WireResource, engine_properties, python_value
    from offline.harness import ProgramError, run_program
    from offline.project import ProjectError

    try:
        run = run_program(project_dir, stack, config_overrides=overrides, preview=True, unknown_computed=unknowns)
    except (ProjectError, ProgramError) as error:
        cause = error.__cause__
        detail = f": {type(cause).__name__}: {cause}" if cause is not None and str(cause) not in str(error) else ""
        raise ProgramRunError(f"{error}{detail}") from error
    resources = []
    for record in run.resources:
        inputs = engine_properties(record.raw_inputs)
        outputs = dict(inputs)
        for key, value in python_value(record.outputs).items():
            outputs.setdefault(key, value)
        resources.append(
            WireResource(
                type=record.type,
                name=record.name,
                urn=record.urn,
                custom=record.custom,
                parent=record.parent or run.stack_urn,
                inputs=inputs,
                outputs=outputs,
                dependencies=list(record.dependencies),
                property_dependencies={key: list(urns) for key, urns in record.property_dependencies.items() if urns},
                protect=record.protect,
            ).to_json()
        )
    raw_outputs = python_value(dict(run.outputs))
    for name in run.secret_outputs:
        raw_outputs[name] = {
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            "value": "[secret]",
        }
    return ProgramResult(
        project=run.project.name,
        description=str(_project_description(run.project.directory)),
        runtime=run.project.runtime,
        stack=stack,
        stack_urn=run.stack_urn,
        config=dict(run.config.values),
        secret_keys=sorted(run.config.secret_keys),
        resources=resources,
        stack_outputs=raw_outputs,
        warnings=list(run.warnings),
    )


def _project_description(directory: Path) -> str:
    import yaml

    for candidate in ("Pulumi.yaml", "Pulumi.yml"):
        path = directory / candidate
        if path.exists():
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            return str(document.get("description", "")) if isinstance(document, dict) else ""
    return ""


def run_project(
    project_dir: Path,
    stack: str,
    overrides: Mapping[str, str],
    *,
    unknowns: bool = False,
    in_process: bool | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> ProgramResult:
    """Run ``project_dir``'s program: in-process for this repository, else in its own environment."""
    project_dir = project_dir.resolve()
    if in_process is None:
        in_process = project_dir == REPO_ROOT
    if in_process:
        return run_in_process(project_dir, stack, overrides, unknowns=unknowns)
    python = _project_python(project_dir, progress)
    with tempfile.TemporaryDirectory(prefix="gate-program-") as scratch:
        out = Path(scratch) / "program.json"
        command = [str(python), "-m", "offline.gate.program", "--project", str(project_dir), "--stack", stack]
        command += ["--out", str(out)] + (["--unknowns"] if unknowns else [])
        for key, value in overrides.items():
            command += ["--config", f"{key}={value}"]
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)  # noqa: S603
        if completed.returncode != 0:
            raise ProgramRunError(
                completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "program failed"
            )
        return ProgramResult(**json.loads(out.read_text(encoding="utf-8")))


def _requirements_file(project_dir: Path) -> Path:
    for candidate in ("requirements.txt", "pyproject.toml"):
        if (project_dir / candidate).exists():
            return project_dir / candidate
    raise ProgramRunError(
        f"{project_dir}: no requirements.txt or pyproject.toml to install the program's dependencies from"
    )


def _project_python(project_dir: Path, progress: Callable[[str], None]) -> Path:
    """The project's own virtualenv (as named in Pulumi.yaml) if it exists, else a cached one."""
    import yaml

    document = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    runtime = document.get("runtime") if isinstance(document, dict) else None
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    virtualenv = options.get("virtualenv") if isinstance(options, dict) else None
    if isinstance(virtualenv, str):
        own = (project_dir / virtualenv / "bin" / "python").resolve()
        if own.exists():
            return own
    requirements = _requirements_file(project_dir)
    digest = hashlib.sha256(requirements.read_bytes() + sys.version.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "serverless-infra" / "gate-venvs" / digest
    python = cache / "bin" / "python"
    if python.exists():
        return python
    progress(f"creating a virtualenv for {project_dir.name} from {requirements.name} (cached in {cache})")
    uv = shutil.which("uv")
    try:
        if uv:
            subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(cache)], check=True)  # noqa: S603
            install = [uv, "pip", "install", "-q", "--python", str(python)]
        else:
            subprocess.run([sys.executable, "-m", "venv", str(cache)], check=True)  # noqa: S603
            install = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run([*install, "-r", str(requirements), "PyYAML"], check=True, cwd=project_dir)  # noqa: S603
    except (OSError, subprocess.CalledProcessError) as error:
        shutil.rmtree(cache, ignore_errors=True)
        raise ProgramRunError(f"installing {requirements} failed: {error}") from error
    return python


def main(argv: list[str] | None = None) -> int:
    """Child-process entry: run the program here and write its resources as JSON."""
    parser = argparse.ArgumentParser(description="Run a Pulumi program under mocks (gate child process).")
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--unknowns", action="store_true")
    parser.add_argument("--config", action="append", default=[])
    options = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in options.config)
    try:
        result = run_in_process(options.project, options.stack, overrides, unknowns=options.unknowns)
    except ProgramRunError as error:
        print(error, file=sys.stderr)
        return 2
    options.out.write_text(json.dumps(result.to_json()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
