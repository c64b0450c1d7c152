"""Which Python runs a function, and what that Python can import: Lambda's runtime, locally.

A function declared with ``runtime="python3.13"`` runs on Lambda under CPython 3.13, so locally it
runs under this machine's 3.13 (``offline.pythons`` finds it, under ``$(pyenv root)/versions/3.13.*``),
never under whatever Python started the local stack: code that only works on the tooling's Python
must fail here as it would on Lambda. A missing interpreter is an error naming it, not a silent fallback.

What the function can import is laid out as on Lambda
(https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html, "Layer paths for each Lambda
runtime"; ``PYTHONPATH`` is ``$LAMBDA_RUNTIME_DIR``,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime):

1. the task root, ``/var/task``: ``build/function.zip`` extracted;
2. the layer, ``/opt``: ``python/lib/python3.x/site-packages`` then ``python/``;
3. the runtime's own libraries, ``/var/runtime``: the runtime interface client (awslambdaric) and
   the AWS SDK, which the layer leaves out because Lambda's runtime ships them
   (``offline.package.RUNTIME_PROVIDED``).

``build/layer.zip`` is built for Lambda's machine: the runtime's CPython on arm64, manylinux wheels,
with bytecode (``offline.package``). Its compiled modules (pydantic_core, psycopg2, wrapt) cannot load on an
x86_64 host. When the archive's wheels do not match this host, the layer is rebuilt for the host's
architecture and the runtime's Python version from the same requirements (``function/requirements.txt``
under ``constraints.txt``), with the runtime-provided libraries removed as the packager removes
them, its modules compiled as the packager compiles them (unchecked-hash bytecode, so a cold start
here, as on Lambda, compiles nothing) and the archive's non-library files (the CA bundle under
``python/certs/``) copied over. It is
cached under ``.local/lambda/``, keyed by everything it is built from. Nothing is faked: a build
that fails raises with the installer's message.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from contract.runtime import LAYER_PYTHON_PATH, RUNTIME_DIR
from offline.package import compile_tree
from offline.pythons import InterpreterNotFoundError as InterpreterNotFoundError  # re-exported: callers catch it here
from offline.pythons import interpreter_candidates as interpreter_candidates
from offline.pythons import resolve_interpreter as resolve_interpreter
from offline.pythons import runtime_version as runtime_version

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
CACHE: Final = PROJECT_ROOT / ".local" / "lambda"
REQUIREMENTS: Final = PROJECT_ROOT / "function" / "requirements.txt"
CONSTRAINTS: Final = PROJECT_ROOT / "constraints.txt"
RUNTIME_LIBRARIES: Final = ("awslambdaric", "boto3")  # what /var/runtime holds for the handler
RUNTIME_PROVIDED: Final = ("boto3", "botocore", "s3transfer", "jmespath")  # as offline.package prunes
_BYTECODE: Final = b"unchecked-hash bytecode"  # in the host layer's cache key: older builds had none
_WHEEL_TAG = re.compile(r"^Tag: (?P<python>cp\d+)-[^-]+-(?P<platform>\S+)$", re.M)
_ARCHITECTURES: Final = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


class LayerBuildError(RuntimeError):
    """Installing the libraries for the local layer or runtime directory failed."""


def host_architecture() -> str:
    """This machine's CPU as wheel platform tags name it (``x86_64`` or ``aarch64``)."""
    machine = platform.machine().lower()
    return _ARCHITECTURES.get(machine, machine)


@dataclass(frozen=True)
class WheelTargets:
    """Which Pythons and platforms a layer archive's compiled wheels were built for."""

    pythons: frozenset[str]  # e.g. {"cp312"}
    architectures: frozenset[str]  # e.g. {"aarch64"}

    def runs_on(self, version: tuple[int, int], architecture: str) -> bool:
        """Whether every compiled wheel loads on CPython ``version`` on ``architecture``."""
        python = f"cp{version[0]}{version[1]}"
        return self.pythons <= {python} and self.architectures <= {architecture}


def wheel_targets(layer_zip: Path) -> WheelTargets:
    """Read the ``Tag:`` lines of the layer's ``*.dist-info/WHEEL`` files (pure wheels say ``none-any``)."""
    pythons: set[str] = set()
    architectures: set[str] = set()
    with zipfile.ZipFile(layer_zip) as archive:
        for name in archive.namelist():
            if not name.endswith(".dist-info/WHEEL"):
                continue
            for tag in _WHEEL_TAG.finditer(archive.read(name).decode("utf-8", "replace")):
                pythons.add(tag["python"])
                architectures.add(_architecture_of(tag["platform"]))
    return WheelTargets(frozenset(pythons), frozenset(architectures))


def _architecture_of(platform_tag: str) -> str:
    for suffix in ("x86_64", "aarch64", "arm64", "amd64"):
        if platform_tag.endswith(suffix):
            return _ARCHITECTURES[suffix]
    return platform_tag


@dataclass(frozen=True)
class PackagedCode:
    """A function's import path as Lambda lays it out, in Lambda's order."""

    task_root: Path  # /var/task
    layer: Path  # /opt
    runtime_dir: Path  # /var/runtime
    version: tuple[int, int]

    @property
    def code_paths(self) -> tuple[Path, ...]:
        """A spec's ``code_paths``: the task root, then the layer's two Python paths.

        ``local.runtime`` puts the runtime directory after them for a spec with a ``runtime``.
        """
        site = self.layer / "python" / "lib" / f"python{self.version[0]}.{self.version[1]}" / "site-packages"
        return (self.task_root, site, self.layer / "python")


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def _extract(archive_path: Path, destination: Path, members: Iterable[str] | None = None) -> None:
    """Extract into a fresh temporary directory, then rename: concurrent callers never see half a tree."""
    if destination.exists():
        return
    temporary = destination.with_name(f"{destination.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    with zipfile.ZipFile(archive_path) as archive:
        archive.extractall(temporary, members=list(members) if members is not None else None)
    _publish(temporary, destination)


def _publish(temporary: Path, destination: Path) -> None:
    try:
        temporary.rename(destination)
    except OSError:  # another process published it first
        shutil.rmtree(temporary, ignore_errors=True)
        if not destination.exists():
            raise


def task_root(function_zip: Path, cache: Path = CACHE) -> Path:
    """``function.zip`` extracted, as Lambda extracts it to ``/var/task``."""
    destination = cache / f"task-{_digest(function_zip.read_bytes())}"
    _extract(function_zip, destination)
    return destination


def _install(python: str, target: Path, arguments: list[str]) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is not None:
        command = [uv, "pip", "install", "--quiet", "--python", python, "--target", str(target)]
    else:
        command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(target)]
    command += ["-c", str(CONSTRAINTS), *arguments]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)  # noqa: S603
    if result.returncode != 0:
        raise LayerBuildError(f"installing {' '.join(arguments)} for {python} failed:\n{result.stderr[-2000:]}")


def _prune_runtime_provided(target: Path) -> None:
    shutil.rmtree(target / "bin", ignore_errors=True)
    for name in RUNTIME_PROVIDED:
        for path in target.glob(f"{name}*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def layer(layer_zip: Path, runtime: str, cache: Path = CACHE) -> Path:
    """The layer as ``/opt``: the archive itself when its wheels run here, else a host build of it.

    The host build installs ``function/requirements.txt`` (pinned by ``constraints.txt``) for the
    runtime's Python on this machine's architecture, since ``build/layer.zip`` carries arm64 wheels
    that cannot load on x86_64; the libraries Lambda's runtime ships are removed as the packager
    removes them, and the archive's other files under ``python/`` (not part of any installed
    distribution, such as ``python/certs/``) are copied in.
    """
    version = runtime_version(runtime)
    architecture = host_architecture()
    if wheel_targets(layer_zip).runs_on(version, architecture):
        destination = cache / f"layer-{_digest(layer_zip.read_bytes())}"
        _extract(layer_zip, destination)
        return destination
    key = _digest(
        layer_zip.read_bytes(), REQUIREMENTS.read_bytes(), CONSTRAINTS.read_bytes(), runtime.encode(), _BYTECODE
    )
    destination = cache / f"layer-{runtime}-{architecture}-{key}"
    if destination.exists():
        return destination
    temporary = destination.with_name(f"{destination.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    python = resolve_interpreter(runtime)
    _install(python, temporary / "python", ["-r", str(REQUIREMENTS)])
    _prune_runtime_provided(temporary / "python")
    for cache in [path for path in (temporary / "python").rglob("__pycache__") if path.is_dir()]:
        shutil.rmtree(cache)  # whatever the installer compiled: the layer's bytecode is the packager's kind
    compile_tree(temporary / "python", LAYER_PYTHON_PATH, python)
    with zipfile.ZipFile(layer_zip) as archive:
        extras = [name for name in archive.namelist() if name.startswith("python/certs/")]
        archive.extractall(temporary, members=extras)
    _publish(temporary, destination)
    return destination


def runtime_dir(runtime: str, cache: Path = CACHE) -> Path:
    """``/var/runtime`` for ``runtime``: awslambdaric and the AWS SDK, built for its Python, with bytecode.

    (A function without a runtime runs on the tooling's Python, which has them installed already.)
    """
    key = _digest(CONSTRAINTS.read_bytes(), runtime.encode(), " ".join(RUNTIME_LIBRARIES).encode(), _BYTECODE)
    destination = cache / f"runtime-{runtime}-{host_architecture()}-{key}"
    if destination.exists():
        return destination
    temporary = destination.with_name(f"{destination.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    python = resolve_interpreter(runtime)
    _install(python, temporary, list(RUNTIME_LIBRARIES))
    shutil.rmtree(temporary / "bin", ignore_errors=True)
    compile_tree(temporary, RUNTIME_DIR, python)  # Lambda's runtime ships its libraries compiled
    _publish(temporary, destination)
    return destination


def packaged_code(runtime: str, function_zip: Path, layer_zip: Path, cache: Path = CACHE) -> PackagedCode:
    """The archives as packaged, laid out for ``runtime`` on this machine (builds are cached)."""
    return PackagedCode(
        task_root=task_root(function_zip, cache),
        layer=layer(layer_zip, runtime, cache),
        runtime_dir=runtime_dir(runtime, cache),
        version=runtime_version(runtime),
    )


_BUILDING = threading.Lock()  # one build at a time in this process (other processes: the atomic rename)


async def prepared_runtime_dir(runtime: str, cache: Path = CACHE) -> Path:
    """:func:`runtime_dir` without blocking the event loop."""

    def build() -> Path:
        with _BUILDING:
            return runtime_dir(runtime, cache)

    return await asyncio.to_thread(build)
