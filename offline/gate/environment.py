"""Python environments for programs and policy packs, built as the Pulumi CLI's toolchains build them.

Pulumi.yaml (a program) and PulumiPolicy.yaml (a pack) choose a toolchain in their runtime options:
``pip`` (the default: a virtualenv with ``requirements.txt`` installed; ``virtualenv`` names it),
``poetry`` (``poetry install`` from pyproject.toml, package mode or not) or ``uv`` (``uv sync``).
When the directory already holds the environment the CLI would use (``virtualenv``, or ``.venv``
for uv and an in-project poetry environment), that is the one used. Otherwise the gate builds the
same environment once, outside the project, in a cache keyed by a digest of the toolchain, this
Python's version and every dependency file (requirements, the files they include with ``-r``/``-c``,
pyproject.toml and lock files), so a change to any of them builds a new one and nothing is written
into the project. Tools the toolchains need (poetry) are pip-installed, pinned by constraints.txt.

The CLI runs ``poetry install`` in the project; here it runs with ``--no-root`` in a copy holding
only the dependency files (the program's own sources are on ``sys.path`` anyway), so package-mode
and non-package-mode projects (``package-mode = false``) install the same dependencies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from offline.project import yaml_error_line

REPO_ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO_ROOT / "constraints.txt"
TOOLCHAINS = ("pip", "poetry", "uv")
INCLUDE = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)[\s=]+(\S+)")
Progress = Callable[[str], None]
# Part of every environment's cache key: a change to how environments are built builds them anew.
# "bytecode": packages are installed with their modules compiled, as pip does by default; uv does
# not, and where PYTHONDONTWRITEBYTECODE is set (this machine, some CI runners) Python never caches
# what it compiles, so every pack start compiled its dependencies again (Checkov's: most of a minute).
BUILD_RECIPE = "bytecode"


class EnvironmentBuildError(Exception):
    """An environment could not be chosen or built; the message (one line) says why."""


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(os.environ.get("GATE_VENV_CACHE") or base / "serverless-infra" / "gate-venvs")


def runtime_options(descriptor: Path) -> tuple[str, str | None]:
    """The toolchain and virtualenv a Pulumi.yaml or PulumiPolicy.yaml asks for."""
    try:
        document = yaml.safe_load(descriptor.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise EnvironmentBuildError(f"{descriptor}: cannot read: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise EnvironmentBuildError(yaml_error_line(descriptor, error)) from error
    runtime = document.get("runtime") if isinstance(document, dict) else None
    options = runtime.get("options") if isinstance(runtime, dict) else None
    options = options if isinstance(options, dict) else {}
    toolchain = str(options.get("toolchain") or "pip")
    if toolchain not in TOOLCHAINS:
        raise EnvironmentBuildError(f"{descriptor}: runtime option toolchain {toolchain!r} is not one of {TOOLCHAINS}")
    virtualenv = options.get("virtualenv")
    return toolchain, str(virtualenv) if virtualenv else None


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def existing_python(directory: Path, toolchain: str, virtualenv: str | None) -> Path | None:
    """The environment the CLI would run in, when the directory already has it."""
    names = [virtualenv] if virtualenv else []
    if toolchain in ("uv", "poetry") and not virtualenv:
        names.append(".venv")  # uv's project environment; poetry's with virtualenvs.in-project
    for name in names:
        python = _venv_python(directory / name)
        if python.exists():
            return python
    return None


def dependency_files(directory: Path, toolchain: str) -> list[Path]:
    """The files whose content decides the environment (the digest covers each of them)."""
    if toolchain == "pip" and (directory / "requirements.txt").exists():
        return _with_includes(directory / "requirements.txt", set())
    if (directory / "pyproject.toml").exists():
        lock = {"poetry": "poetry.lock", "uv": "uv.lock"}.get(toolchain)
        extra = [directory / lock] if lock and (directory / lock).exists() else []
        return [directory / "pyproject.toml", *extra]
    wanted = "requirements.txt or pyproject.toml" if toolchain == "pip" else "pyproject.toml"
    raise EnvironmentBuildError(f"{directory}: no {wanted} to install the {toolchain} toolchain's dependencies from")


def _with_includes(requirements: Path, seen: set[Path]) -> list[Path]:
    files = [requirements]
    seen.add(requirements.resolve())
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = INCLUDE.match(line)
        if match:
            included = (requirements.parent / match.group(1)).resolve()
            if included.exists() and included not in seen:
                files += _with_includes(included, seen)
    return files


def environment_python(
    directory: Path,
    descriptor: Path,
    *,
    purpose: str,
    extra_packages: Sequence[str] = (),
    progress: Progress = lambda _: None,
) -> Path:
    """The interpreter to run ``directory``'s code with: its own environment, else a cached build."""
    toolchain, virtualenv = runtime_options(descriptor)
    own = existing_python(directory, toolchain, virtualenv)
    if own is not None:
        return own
    files = dependency_files(directory, toolchain)
    digest = hashlib.sha256(f"{BUILD_RECIPE}\0{toolchain}\0{sys.version}\0{' '.join(extra_packages)}".encode())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    venv = cache_root() / f"{purpose}-{toolchain}-{digest.hexdigest()[:16]}"
    with _locked(venv.with_suffix(".lock")):
        if (venv / ".complete").exists():
            return _venv_python(venv)
        shutil.rmtree(venv, ignore_errors=True)
        progress(f"building the {purpose} environment with {toolchain} from {files[0].name} (cached in {venv})")
        try:
            _build(toolchain, directory, files, venv, extra_packages)
        except (OSError, subprocess.CalledProcessError) as error:
            shutil.rmtree(venv, ignore_errors=True)
            raise EnvironmentBuildError(
                f"building the {purpose} environment with {toolchain} failed: {_why(error)}"
            ) from error
        (venv / ".complete").write_text("", encoding="utf-8")
    return _venv_python(venv)


def _why(error: OSError | subprocess.CalledProcessError) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        output = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        return f"{Path(str(error.cmd[0])).name} exited {error.returncode}: {output[-1] if output else '(no output)'}"
    return str(error)


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """One builder at a time per environment (parallel test workers share the cache)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: Sequence[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    subprocess.run(  # noqa: S603
        [str(part) for part in command],
        check=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _create_venv(venv: Path) -> None:
    uv = shutil.which("uv")
    if uv:
        _run([uv, "venv", "-q", "--seed", "--python", sys.executable, venv])
    else:
        _run([sys.executable, "-m", "venv", venv])


def _pip_install(venv: Path, arguments: Sequence[str | Path], *, cwd: Path | None = None) -> None:
    """``pip install`` into ``venv`` (through uv's pip interface when uv is on PATH: same result, faster)."""
    uv = shutil.which("uv")
    if uv:
        _run([uv, "pip", "install", "-q", "--compile-bytecode", "--python", _venv_python(venv), *arguments], cwd=cwd)
    else:
        _run([_venv_python(venv), "-m", "pip", "install", "-q", *arguments], cwd=cwd)


def _pyproject(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise EnvironmentBuildError(f"{path}: invalid TOML: {error}") from error


def _build(toolchain: str, directory: Path, files: list[Path], venv: Path, extra: Sequence[str]) -> None:
    constraints = ["-c", str(CONSTRAINTS)]
    if toolchain == "pip":
        _create_venv(venv)
        if files[0].name == "requirements.txt":
            _pip_install(venv, ["-r", files[0]], cwd=directory)
        else:
            document = _pyproject(files[0])
            if document.get("build-system") or (document.get("project") and "dependencies" not in document["project"]):
                _pip_install(venv, [directory], cwd=directory)  # a package: pip install . as pip would
            else:
                dependencies = [str(d) for d in document.get("project", {}).get("dependencies", [])]
                if dependencies:
                    _pip_install(venv, dependencies, cwd=directory)
    else:
        scratch = venv.with_name(f"{venv.name}.project")  # its lock file goes here, never into the project
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        for path in files:
            shutil.copy2(path, scratch / path.name)
        if toolchain == "uv":
            uv = shutil.which("uv")
            if uv is None:
                raise EnvironmentBuildError("the uv toolchain needs uv on PATH (pip install -c constraints.txt uv)")
            _run(
                [uv, "sync", "-q", "--compile-bytecode", "--python", sys.executable, "--no-install-project"],
                cwd=scratch,
                env={"UV_PROJECT_ENVIRONMENT": str(venv)},
            )
        else:
            poetry = _poetry()
            _create_venv(venv)
            _run(
                [poetry, "install", "--no-root", "--no-interaction", "--no-ansi"],
                cwd=scratch,
                env={"VIRTUAL_ENV": str(venv), "POETRY_VIRTUALENVS_CREATE": "false"},
            )
    if extra:
        _pip_install(venv, [*constraints, *extra])


def _poetry() -> Path:
    """Poetry, pip-installed once into its own cached environment at the version constraints.txt pins."""
    digest = hashlib.sha256(CONSTRAINTS.read_bytes() + sys.version.encode()).hexdigest()[:16]
    tool = cache_root() / f"tool-poetry-{digest}"
    with _locked(tool.with_suffix(".lock")):
        if not (tool / ".complete").exists():
            shutil.rmtree(tool, ignore_errors=True)
            try:
                _create_venv(tool)
                _pip_install(tool, ["-c", str(CONSTRAINTS), "poetry"])
            except (OSError, subprocess.CalledProcessError) as error:
                shutil.rmtree(tool, ignore_errors=True)
                raise EnvironmentBuildError(f"installing poetry failed: {_why(error)}") from error
            (tool / ".complete").write_text("", encoding="utf-8")
    return tool / "bin" / "poetry"


def pack_python(pack_dir: Path, progress: Progress = lambda _: None) -> Path:
    """The interpreter the CLI would run the pack with: its virtualenv (PulumiPolicy.yaml's options)."""
    descriptor = pack_dir.resolve() / "PulumiPolicy.yaml"
    if not descriptor.exists():
        raise EnvironmentBuildError(f"{pack_dir.resolve()}: no PulumiPolicy.yaml (is this a policy pack directory?)")
    return environment_python(pack_dir.resolve(), descriptor, purpose="pack", progress=progress)


def program_python(project_dir: Path, descriptor: Path, progress: Progress = lambda _: None) -> Path:
    """The interpreter for a program: its toolchain's environment, exactly (see :func:`fallback_path`)."""
    return environment_python(project_dir, descriptor, purpose="program", progress=progress)


def fallback_path() -> Path:
    """A directory holding only the gate's PyYAML, which the gate's child appends to ``sys.path``.

    The child (``offline.gate.program``) reads Pulumi.yaml with PyYAML; a program's environment
    need not have it. Appended last, it never shadows a version the program installed itself.
    """
    package = Path(yaml.__file__).resolve().parent
    shim = cache_root() / f"shim-{hashlib.sha256(str(package).encode()).hexdigest()[:12]}"
    if not (shim / "yaml").exists():
        shim.mkdir(parents=True, exist_ok=True)
        for entry in package.parent.iterdir():
            if entry.name == "yaml" or entry.name.startswith("_yaml"):
                target = shim / entry.name
                if not target.exists():
                    with contextlib.suppress(FileExistsError):  # another worker made it
                        target.symlink_to(entry)
    return shim
