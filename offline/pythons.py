"""Which interpreter is a Lambda runtime's Python on this machine: for the packager and the local stack.

A function declared with ``runtime="python3.13"`` runs on Lambda under CPython 3.13, so what is
built for it (bytecode in the archives, ``offline.package``) and what runs it locally
(``local.interpreters``) use this machine's 3.13 (pyenv keeps one under ``$(pyenv root)/versions/3.13.*``),
never whatever Python started the tool. A missing interpreter is an error naming it and how to
install it, never a silent fallback.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

_RUNTIME: Final = re.compile(r"^python(3)\.(\d+)$")


class InterpreterNotFoundError(RuntimeError):
    """The runtime's Python is not installed on this machine (the message names it)."""


def runtime_version(runtime: str) -> tuple[int, int]:
    """``"python3.13"`` -> ``(3, 13)``; anything else is not a Python runtime Lambda has."""
    match = _RUNTIME.match(runtime)
    if match is None:
        raise ValueError(f"{runtime!r} is not a Lambda Python runtime identifier (python3.x)")
    return int(match.group(1)), int(match.group(2))


def _pyenv_root(pyenv_root: Path | None) -> Path:
    return pyenv_root if pyenv_root is not None else Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def interpreter_candidates(runtime: str, pyenv_root: Path | None = None) -> list[Path]:
    """Where ``runtime``'s Python may be: pyenv's versions (newest patch first), then ``PATH``."""
    major, minor = runtime_version(runtime)
    versions = _pyenv_root(pyenv_root) / "versions"
    found = sorted(
        versions.glob(f"{major}.{minor}.*/bin/python{major}.{minor}"),
        key=lambda path: _patch_level(path.parent.parent.name),
        reverse=True,
    )
    on_path = shutil.which(f"python{major}.{minor}")
    if on_path is not None and "shims" not in Path(on_path).parts:  # a pyenv shim may name no real install
        found.append(Path(on_path))
    return found


def _patch_level(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def resolve_interpreter(runtime: str | None, pyenv_root: Path | None = None) -> str:
    """The Python executable for ``runtime``; None keeps the tooling's own (``sys.executable``)."""
    if runtime is None:
        return sys.executable
    major, minor = runtime_version(runtime)
    for candidate in interpreter_candidates(runtime, pyenv_root):
        if _reports_version(candidate, (major, minor)):
            return str(candidate)
    raise InterpreterNotFoundError(
        f"{runtime} is not installed: no {_pyenv_root(pyenv_root)}/versions/{major}.{minor}.*/bin/python{major}.{minor}"
        f" and no python{major}.{minor} on PATH (install it, e.g. `pyenv install {major}.{minor}`)"
    )


def _reports_version(executable: Path, version: tuple[int, int]) -> bool:
    if not os.access(executable, os.X_OK):
        return False
    probe = subprocess.run(  # noqa: S603 - a local interpreter path, no shell
        [str(executable), "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return probe.returncode == 0 and tuple(int(part) for part in probe.stdout.split()) == version
