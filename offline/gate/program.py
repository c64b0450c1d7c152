"""Run a project's program for a stack and describe its resources as the engine would.

This repository's program runs in-process (its dependencies are this environment's). Any other
project runs the way the Pulumi CLI would run it: in the project's own virtualenv when Pulumi.yaml
names one that exists, else in a cached virtualenv with the project's requirements.txt (or
pyproject.toml) installed, keyed by a hash of those files. The child process prints the marshalled
resources as JSON, so the analysis side is the same either way.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FALLBACK_PATH_VARIABLE = "GATE_FALLBACK_PATH"
for _entry in os.environ.get(FALLBACK_PATH_VARIABLE, "").split(os.pathsep):
    if _entry and _entry not in sys.path:
        sys.path.append(_entry)  # the gate's child: PyYAML when the program's environment lacks it

from offline.project import PulumiProject, config_override  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
CHILD_GRACE_S = 15.0  # the child stops itself at the deadline; this is how long the parent then waits
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


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
    project_dir: Path,
    stack: str,
    overrides: Mapping[str, str],
    *,
    unknowns: bool = False,
    timeout: float | None = None,
    on_resource: Callable[[dict[str, Any]], None] | None = None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ProgramResult:
    """Run the program with this interpreter's packages, under the offline mocks.

    ``on_resource`` receives each resource, marshalled, as soon as it registers (its inputs are
    final then; a component's outputs are completed later), so the pack can analyse it while the
    program goes on, as the engine's analyzers do during a preview.
    """
    from offline.harness import ProgramError, run_program
    from offline.mocks import ResourceRecord
    from offline.project import ProjectError

    root_urn = stack_urn(PulumiProject.load(project_dir).name, stack)

    def registered(record: ResourceRecord) -> None:
        if on_resource is not None:
            on_resource(_marshalled(record, root_urn))

    try:
        run = run_program(
            project_dir,
            stack,
            config_overrides=overrides,
            preview=True,
            unknown_computed=unknowns,
            timeout=timeout,
            on_register=registered if on_resource is not None else None,
            stack_outputs=stack_outputs,
        )
    except (ProjectError, ProgramError) as error:
        cause = error.__cause__
        detail = f": {type(cause).__name__}: {cause}" if cause is not None and str(cause) not in str(error) else ""
        raise ProgramRunError(f"{error}{detail}") from error
    from offline.gate.wire import python_value

    resources = [_marshalled(record, run.stack_urn) for record in run.resources]
    raw_outputs = python_value(dict(run.outputs))
    for name in run.secret_outputs:
        raw_outputs[name] = {
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            "value": "[secret]",
        }
    return ProgramResult(
        project=run.project.name,
        description=run.project.description,
        runtime=run.project.runtime,
        stack=stack,
        stack_urn=run.stack_urn,
        config=dict(run.config.values),
        secret_keys=sorted(run.config.secret_keys),
        resources=resources,
        stack_outputs=raw_outputs,
        warnings=list(run.warnings),
    )


def stack_urn(project: str, stack: str) -> str:
    """The root stack resource's URN, as the engine forms it (``resource.NewURN``)."""
    return f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"


def _marshalled(record: Any, root_urn: str) -> dict[str, Any]:
    """One registered resource as the engine hands it to analyzers: inputs as sent, outputs over them."""
    from offline.gate.wire import WireResource, engine_properties, python_value

    inputs = engine_properties(record.raw_inputs)
    outputs = dict(inputs)
    for key, value in python_value(record.outputs).items():
        if not key.startswith("__"):  # engine-internal (a dynamic provider's pickled __provider)
            outputs.setdefault(key, value)
    return WireResource(
        type=record.type,
        name=record.name,
        urn=record.urn,
        custom=record.custom,
        parent=record.parent or root_urn,
        inputs=inputs,
        outputs=outputs,
        dependencies=list(record.dependencies),
        property_dependencies={key: list(urns) for key, urns in record.property_dependencies.items() if urns},
        protect=record.protect,
        source_position=record.source_position,
    ).to_json()


@dataclass(frozen=True)
class PreparedStack:
    """A project and stack the CLI would accept, with the configuration the program will run with."""

    project: PulumiProject
    stack: str
    config: dict[str, str]
    secret_keys: list[str]

    @property
    def urn(self) -> str:
        return stack_urn(self.project.name, self.stack)


def check_project(project_dir: Path, stack: str, overrides: Mapping[str, str] | None = None) -> PreparedStack:
    """Refuse, with one line, what ``pulumi preview`` would refuse before running anything.

    A directory without Pulumi.yaml, a malformed Pulumi.yaml or stack file (named with line and
    column), and a stack that does not exist: offline, a stack exists when its Pulumi.<stack>.yaml
    does (the CLI's message for a missing one is ``no stack named '<stack>' found``).
    """
    from offline.project import ProjectError, load_stack_config

    if not STACK_NAME.fullmatch(stack):
        raise ProgramRunError(
            f"invalid stack name {stack!r}: use letters, digits, '-', '_' and '.' (at most 100 characters)"
        )
    try:
        project = PulumiProject.load(project_dir)
        if not project.stack_file(stack).exists():
            raise ProgramRunError(
                f"no stack named '{stack}' found: {project.stack_file(stack)} does not exist "
                f"(create it with `pulumi stack init {stack}`)"
            )
        config = load_stack_config(project, stack)
        if overrides:
            config = config.with_overrides(overrides)
    except ProjectError as error:
        raise ProgramRunError(str(error)) from error
    return PreparedStack(project, stack, dict(config.values), sorted(config.secret_keys))


def run_project(
    project_dir: Path,
    stack: str,
    overrides: Mapping[str, str],
    *,
    unknowns: bool = False,
    in_process: bool | None = None,
    progress: Callable[[str], None] = lambda _: None,
    timeout: float | None = None,
    on_resource: Callable[[dict[str, Any]], None] | None = None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ProgramResult:
    """Run ``project_dir``'s program: in-process for this repository, else in its own environment.

    ``timeout`` (seconds) bounds the program run (not the building of its environment).
    ``on_resource`` sees each resource as it registers when the program runs in-process; a program
    in its own environment reports them all when it ends.
    """
    project_dir = project_dir.resolve()
    check_project(project_dir, stack, overrides)
    if in_process is None:
        in_process = project_dir == REPO_ROOT
    if in_process:
        return run_in_process(
            project_dir,
            stack,
            overrides,
            unknowns=unknowns,
            timeout=timeout,
            on_resource=on_resource,
            stack_outputs=stack_outputs,
        )
    python = _project_python(project_dir, progress)
    with tempfile.TemporaryDirectory(prefix="gate-program-") as scratch:
        out = Path(scratch) / "program.json"
        command = [str(python), "-m", "offline.gate.program", "--project", str(project_dir), "--stack", stack]
        command += ["--out", str(out)] + (["--unknowns"] if unknowns else [])
        command += ["--timeout", str(timeout)] if timeout is not None else []
        if stack_outputs:
            referenced = Path(scratch) / "stack-outputs.json"
            referenced.write_text(json.dumps(stack_outputs), encoding="utf-8")
            command += ["--stack-outputs", str(referenced)]
        for key, value in overrides.items():
            command += ["--config", f"{key}={value}"]
        from offline.gate.environment import fallback_path

        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            FALLBACK_PATH_VARIABLE: str(fallback_path()),
        }
        # Activated as the CLI activates it (toolchain.ActivateVirtualEnv): VIRTUAL_ENV and PATH.
        venv = python.parent.parent
        environment["VIRTUAL_ENV"] = str(venv)
        environment["PATH"] = os.pathsep.join([str(venv / "bin"), os.environ.get("PATH", "")])
        try:
            completed = subprocess.run(  # noqa: S603
                command,
                capture_output=True,
                text=True,
                env=environment,
                check=False,
                timeout=None if timeout is None else timeout + CHILD_GRACE_S,
            )
        except subprocess.TimeoutExpired as error:
            raise ProgramRunError(
                f"program {project_dir.name!r} did not finish for stack {stack!r} within {timeout:g} s "
                "(its process did not stop at the deadline and was killed)"
            ) from error
        if completed.returncode != 0:
            raise ProgramRunError(
                completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "program failed"
            )
        return ProgramResult(**json.loads(out.read_text(encoding="utf-8")))


def load_stack_outputs(path: Path | None) -> dict[str, dict[str, Any]] | None:
    """``--stack-outputs FILE``: ``{"org/project/stack": {"output": value, ...}, ...}``, checked."""
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ProgramRunError(f"{path}: cannot read the stack outputs: {error}") from error
    if not isinstance(document, dict) or not all(isinstance(value, dict) for value in document.values()):
        raise ProgramRunError(
            f"{path}: stack outputs must be a JSON object of stack name -> object of outputs, "
            'e.g. {"acme/network/prod": {"vpcId": "vpc-0123"}}'
        )
    for name in document:
        if len(name.split("/")) not in (1, 3) or not all(name.split("/")):
            raise ProgramRunError(f"{path}: {name!r} is not a stack name (organization/project/stack, or stack)")
    return document


def _project_python(project_dir: Path, progress: Callable[[str], None]) -> Path:
    """The interpreter the CLI would run the program with (see :mod:`offline.gate.environment`)."""
    from offline.gate.environment import EnvironmentBuildError, program_python

    try:
        return program_python(project_dir, PulumiProject.load(project_dir).descriptor, progress)
    except EnvironmentBuildError as error:
        raise ProgramRunError(str(error)) from error


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(description="Run a Pulumi program under mocks (gate child process).")
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--unknowns", action="store_true")
    parser.add_argument("--config", action="append", default=[], type=config_override)
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--stack-outputs", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Child-process entry: run the program here and write its resources as JSON."""
    parser = build_parser()
    options = parser.parse_args(argv)
    overrides = dict(options.config)
    referenced = json.loads(options.stack_outputs.read_text(encoding="utf-8")) if options.stack_outputs else None
    try:
        result = run_in_process(
            options.project,
            options.stack,
            overrides,
            unknowns=options.unknowns,
            timeout=options.timeout,
            stack_outputs=referenced,
        )
    except ProgramRunError as error:
        print(" ".join(str(error).split("\n")), file=sys.stderr, flush=True)
        os._exit(2)  # threads of a timed-out program may still be blocked; do not wait for them
    options.out.write_text(json.dumps(result.to_json()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
