"""Build the function and layer archives the program deploys: ``python -m offline.package``.

- ``build/function.zip``: the ``orders`` package and the shared ``contract`` package.
- ``build/layer.zip``: ``function/requirements.txt`` installed for the Lambda runtime
  (``contract.runtime.LAMBDA_RUNTIME`` on arm64, manylinux wheels only) under ``python/``, without the
  AWS SDK the runtime already has, plus the RDS CA bundle under ``python/certs/`` when one is given,
  followed by the Amazon Trust Services roots that RDS Proxy's certificates chain to (``offline/certs/``,
  checked against pinned fingerprints), so ``sslmode=verify-full`` works against an instance and
  against a proxy alike.

Both carry bytecode, compiled by the interpreter of the runtime's Python version (found by
``offline.pythons``; packaging stops with one line saying how to install it when it is missing):
Lambda's code directories are read-only, so without ``.pyc`` files every cold start compiles every
module it imports. The ``.pyc`` files are unchecked-hash ones (PEP 552): Python loads them without
comparing them with the source's modification time, which the archive's fixed timestamps would not
match anyway, and their bytes depend only on the source. Their recorded paths are the ones Lambda
runs from (``/var/task``, ``/opt/python``), so tracebacks name real files.

Both are reproducible: same inputs, same bytes (sorted entries, fixed timestamps and modes, bytecode
compiled with a fixed hash seed).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path

from contract.runtime import LAMBDA_RUNTIME, LAYER_PYTHON_PATH, TASK_ROOT
from offline.pythons import InterpreterNotFoundError, resolve_interpreter, runtime_version

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
FUNCTION_ZIP = BUILD / "function.zip"
LAYER_ZIP = BUILD / "layer.zip"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")  # the Lambda Python runtime ships these
CA_BUNDLE_NAME = "rds-global-bundle.pem"
PROXY_TRUST_ANCHORS = Path(__file__).resolve().parent / "certs" / "amazon-root-cas.pem"
AMAZON_ROOT_CA_SHA256 = frozenset(
    {
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",  # Amazon Root CA 1
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",  # Amazon Root CA 2
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",  # Amazon Root CA 3
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",  # Amazon Root CA 4
    }
)
"""SHA-256 fingerprints (of the DER certificates) Amazon Trust Services publishes for its roots:
https://www.amazontrust.com/repository/. RDS Proxy's TLS certificates come from ACM and chain to
these, not to the RDS CA: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.howitworks.html"""
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
REQUIREMENTS = "function/requirements.txt"
RUNTIME_VERSION = "{}.{}".format(*runtime_version(LAMBDA_RUNTIME))


def _installer(target: Path) -> list[str]:
    """uv when present (nox's virtualenvs have no pip), else pip: wheels for Lambda's Python on arm64.

    Neither is asked to compile bytecode (:func:`_installer_environment`): :func:`compile_tree` does,
    with the runtime's interpreter.
    """
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        return [
            uv, "pip", "install", "--quiet", "--python-platform", "aarch64-manylinux_2_28",
            "--python-version", RUNTIME_VERSION, "--only-binary", ":all:", "--target", str(target), "-r", REQUIREMENTS,
        ]  # fmt: skip
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--platform", "manylinux_2_28_aarch64", "--implementation", "cp", "--python-version", RUNTIME_VERSION,
        "--only-binary=:all:", "--target", str(target), "-r", REQUIREMENTS,
    ]  # fmt: skip


def _installer_environment() -> dict[str, str]:
    """This environment without ``UV_COMPILE_BYTECODE`` (nox sets it): uv would compile with the wrong Python."""
    return {name: value for name, value in os.environ.items() if name != "UV_COMPILE_BYTECODE"}


class PackagingError(Exception):
    """A build input is missing or wrong; the message says which."""


def write_zip(destination: Path, files: Iterable[tuple[str, Path]]) -> str:
    """Write ``(archive name, source)`` pairs deterministically; returns the sha256 of the archive."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_suffix(".tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, source in sorted(files, key=lambda pair: pair[0]):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = (0o755 if source.stat().st_mode & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes(), compresslevel=9)
    temporary.replace(destination)  # never leave a half-written archive where the program reads
    return hashlib.sha256(destination.read_bytes()).hexdigest()


def _tree(directory: Path, prefix: str) -> list[tuple[str, Path]]:
    return [
        (f"{prefix}{path.relative_to(directory).as_posix()}", path) for path in directory.rglob("*") if path.is_file()
    ]


_NO_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


@functools.cache
def runtime_python(runtime: str = LAMBDA_RUNTIME) -> str:
    """The interpreter that compiles the archives' bytecode: the runtime's own minor version, or an error.

    Raises :class:`~offline.pythons.InterpreterNotFoundError`, whose one-line message says how to install it.
    """
    return resolve_interpreter(runtime)


def compile_tree(directory: Path, recorded_as: str, python: str | None = None) -> None:
    """Compile every module under ``directory`` to unchecked-hash ``.pyc`` files next to it (``__pycache__``).

    ``recorded_as`` is the directory's path on Lambda, which the bytecode records as its source file.
    A fixed hash seed keeps the bytes of set constants (whose order follows string hashes) stable.
    https://docs.python.org/3/library/compileall.html, https://peps.python.org/pep-0552/
    """
    command = [
        python or runtime_python(), "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
        "-d", recorded_as, str(directory),
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)  # noqa: S603
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise PackagingError(f"compiling {directory.name}/ with {command[0]} failed:\n{output}")


def build_function(destination: Path = FUNCTION_ZIP) -> str:
    with tempfile.TemporaryDirectory(prefix="function-") as work:
        task = Path(work)
        for package_dir in (ROOT / "function" / "orders", ROOT / "contract"):
            shutil.copytree(package_dir, task / package_dir.name, ignore=_NO_BYTECODE)
        compile_tree(task, TASK_ROOT)
        return write_zip(destination, _tree(task, ""))


def build_layer(destination: Path = LAYER_ZIP, ca_bundle: Path | None = None) -> str:
    with tempfile.TemporaryDirectory(prefix="layer-") as work:
        target = Path(work) / "python"
        result = subprocess.run(  # noqa: S603 - our own command line
            _installer(target), capture_output=True, text=True, check=False, cwd=ROOT, env=_installer_environment()
        )
        if result.returncode != 0:
            raise PackagingError(f"installing the layer's libraries failed:\n{result.stderr.strip()[-2000:]}")
        prune_installed(target)
        compile_tree(target, LAYER_PYTHON_PATH)
        if ca_bundle is not None:
            certs = target / "certs"
            certs.mkdir()
            (certs / CA_BUNDLE_NAME).write_bytes(trust_bundle(ca_bundle))
        return write_zip(destination, _tree(target, "python/"))


def trust_bundle(rds_bundle: Path, anchors: Path = PROXY_TRUST_ANCHORS) -> bytes:
    """The RDS CA bundle followed by the Amazon roots RDS Proxy chains to, each root checked by fingerprint."""
    found = {
        hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest(): pem
        for pem in _PEM.findall(anchors.read_text(encoding="ascii"))
    }
    if set(found) != AMAZON_ROOT_CA_SHA256:
        unexpected = sorted(set(found) - AMAZON_ROOT_CA_SHA256)
        missing = sorted(AMAZON_ROOT_CA_SHA256 - set(found))
        raise PackagingError(
            f"{anchors} does not hold exactly the pinned Amazon roots (unexpected {unexpected}, missing {missing})"
        )
    if not _PEM.search(rds_bundle.read_text(encoding="ascii", errors="replace")):
        raise PackagingError(f"{rds_bundle} holds no PEM certificate")
    roots = "".join(f"{found[fingerprint]}\n" for fingerprint in sorted(found))
    return rds_bundle.read_bytes().rstrip(b"\n") + b"\n" + roots.encode("ascii")


def placeholder_archives(directory: Path) -> dict[str, str]:
    """Config overrides naming empty stand-in archives in ``directory``, for runs that do not depend on
    the archives' contents (the resource graph, the IAM policies): they work on a fresh clone, unbuilt."""
    for name in ("function.zip", "layer.zip"):
        with zipfile.ZipFile(directory / name, "w") as archive:
            archive.writestr("empty", "")
    return {
        "serverless-infra:functionArchive": str(directory / "function.zip"),
        "serverless-infra:layerArchive": str(directory / "layer.zip"),
    }


def prune_installed(target: Path) -> None:
    """Remove what an install leaves that the layer must not carry.

    The installer's lock file; the libraries the runtime already has; each distribution's RECORD
    and INSTALLER (install paths and tool names); ``bin/``, the console scripts, whose shebang
    names the building machine's interpreter: nothing runs them on Lambda, and they made the
    archive's bytes depend on where it was built; and any bytecode an installer wrote, which
    :func:`compile_tree` writes again with the runtime's interpreter.
    """
    (target / ".lock").unlink(missing_ok=True)
    shutil.rmtree(target / "bin", ignore_errors=True)
    for cache in [path for path in target.rglob("__pycache__") if path.is_dir()]:
        shutil.rmtree(cache)
    for name in RUNTIME_PROVIDED:
        for path in target.glob(f"{name}*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for directory in target.glob("*.dist-info"):
        (directory / "RECORD").unlink(missing_ok=True)
        (directory / "INSTALLER").unlink(missing_ok=True)


def fetch_ca_bundle(url: str, sha256: str, destination: Path) -> Path:
    """Download AWS's published RDS CA bundle and refuse it unless it matches the pinned checksum."""
    if not url.startswith("https://"):
        raise PackagingError(f"--fetch-rds-ca must be an https URL, got {url!r}")
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - https only, checked above
        data = response.read()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256.lower():
        raise PackagingError(f"the CA bundle at {url} has sha256 {actual}, not the pinned {sha256}")
    destination.write_bytes(data)
    return destination


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rds-ca-bundle", type=Path, help="PEM file to ship as the RDS CA bundle")
    parser.add_argument("--fetch-rds-ca", metavar="URL", help="download the RDS CA bundle (needs --rds-ca-sha256)")
    parser.add_argument("--rds-ca-sha256", help="the bundle's expected sha256")
    parser.add_argument("--function-only", action="store_true", help="build only function.zip (no network needed)")
    parser.add_argument(
        "--if-missing", action="store_true", help="build only when an archive is missing (as on a fresh clone)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    wanted = (FUNCTION_ZIP,) if options.function_only else (FUNCTION_ZIP, LAYER_ZIP)
    if options.if_missing and all(archive.exists() for archive in wanted):
        print("archives present, not rebuilt: " + ", ".join(archive.name for archive in wanted))
        return 0
    try:
        bundle = options.rds_ca_bundle
        if bundle is not None and not bundle.is_file():
            raise PackagingError(f"--rds-ca-bundle {bundle} does not exist")
        if options.fetch_rds_ca:
            if not options.rds_ca_sha256:
                raise PackagingError("--fetch-rds-ca needs --rds-ca-sha256: an unpinned CA bundle is not trusted")
            bundle = fetch_ca_bundle(options.fetch_rds_ca, options.rds_ca_sha256, BUILD / CA_BUNDLE_NAME)
        runtime_python()  # a missing interpreter stops the build before anything is written
        print(f"function.zip  sha256 {build_function(FUNCTION_ZIP)}")
        if not options.function_only:
            print(f"layer.zip     installing function/requirements.txt for {LAMBDA_RUNTIME} arm64 ...", flush=True)
            print(f"layer.zip     sha256 {build_layer(LAYER_ZIP, ca_bundle=bundle)}")
            if bundle is None:
                print("note: the layer has no RDS CA bundle; pass --rds-ca-bundle for a deployable build")
    except (PackagingError, InterpreterNotFoundError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
