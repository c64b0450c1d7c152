"""Task runner: ``nox`` runs the full test set; ``nox -s <session>`` one part.

Every session installs what it needs with the pins in constraints.txt, into a virtualenv that is
reused between runs (uv makes both fast).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `nox` itself does not put this folder on the path
from offline.gate.packs import PACK_CHOICE_OPTIONS, PROJECT_PACKS

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "unit", "integration", "e2e"]

PYTHON = "3.11"
CONSTRAINTS = ("-c", "constraints.txt")
SOURCES = (
    "contract",
    "costmodel",
    "offline",
    "infra",
    "bootstrap",
    "function",
    "local",
    "policies",
    "policies-checkov",
    "ops",
    "bench",
    "tests",
    "noxfile.py",
)
LINTED = tuple(path for path in SOURCES if Path(path).exists())
TYPED = (
    "contract",
    "costmodel",
    "offline",
    "policies",
    "policies-checkov/checkov_pack",
    "function/orders",
    "local",
    "infra/serverless_infra",
    "infra/__main__.py",
    "bootstrap/__main__.py",
    "ops",
    "bench",
)
WORKERS = os.environ.get("PYTEST_WORKERS", "auto")
# Install bytecode with the packages: where PYTHONDONTWRITEBYTECODE is set (as on some CI machines), Python
# never caches what it compiles, and every run would compile pulumi_aws's thousands of modules again.
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")


def _install(session: nox.Session, *requirement_files: str, packages: tuple[str, ...] = ()) -> None:
    args: list[str] = [*CONSTRAINTS]
    for requirement_file in requirement_files:
        args += ["-r", requirement_file]
    session.install(*args, *packages)


def _coverage(session: nox.Session, floor: int) -> tuple[str, ...]:
    """pytest arguments that measure and print coverage ([tool.coverage] in pyproject.toml), failing under ``floor``.

    The floor (percent) is the whole session's figure when it was set (2026-12-02: unit 61.99 %,
    integration 50.26 %), less the part of a point by which runs on other machines differ; a run
    narrowed with arguments prints its figure without it. Each session keeps its data in its own virtualenv.
    """
    session.env["COVERAGE_FILE"] = str(Path(session.virtualenv.location) / ".coverage")
    return ("--cov", "--cov-report=term", *(() if session.posargs else (f"--cov-fail-under={floor}",)))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format), mypy in strict mode and the package boundaries (.importlinter)."""
    _install(
        session,
        "infra/requirements.txt",
        "function/requirements.txt",
        "local/requirements.txt",
        "requirements-dev.txt",
        packages=("ruff", "mypy", "types-PyYAML", "import-linter"),
    )
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    session.run("mypy", *TYPED)
    # The function's code is the `orders` package under function/, the program's `serverless_infra` under infra/.
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": os.pathsep.join((".", "function", "infra"))})


@nox.session(python=PYTHON)
def unit(session: nox.Session) -> None:
    """The Pulumi program under mocks, for every stack; pure logic, the local stack's parts. Fast, parallel."""
    _install(session, "infra/requirements.txt", "requirements-dev.txt", "local/requirements.txt")
    session.run("pytest", "tests/unit", "-n", WORKERS, *_coverage(session, floor=61), *session.posargs)


# --- function (issue 4) -------------------------------------------------------------------------
def _has_tests(directory: str) -> bool:
    return any(Path(directory).glob("**/test_*.py"))


def _install_function_and_test_tools(session: nox.Session) -> None:
    """The function's libraries, the program's (the policy gate runs it) and the test tools."""
    files = [
        f for f in ("function/requirements.txt", "infra/requirements.txt", "requirements-dev.txt") if Path(f).exists()
    ]
    _install(session, *files)


@nox.session(python=PYTHON)
def integration(session: nox.Session) -> None:
    """The function against a real TLS PostgreSQL and moto; the policy pack through the real gate."""
    if not _has_tests("tests/integration"):
        session.skip("tests/integration holds no tests yet")
    _install_function_and_test_tools(session)
    _install(session, packages=("checkov",))  # the Checkov pack's tests run it in this interpreter
    session.run("pytest", "tests/integration", "-n", WORKERS, *_coverage(session, floor=49), *session.posargs)


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """Black-box HTTP tests against E2E_BASE_URL (+ E2E_API_KEY) or a local stack the suite starts itself."""
    if not _has_tests("tests/e2e"):
        session.skip("tests/e2e holds no tests yet")
    _install_function_and_test_tools(session)
    # The local stack is built from the Pulumi program (local.materialize): it needs the program's SDKs.
    _install(session, "infra/requirements.txt", "local/requirements.txt", packages=("httpx", "schemathesis"))
    _current_archives(session)
    session.run("pytest", "tests/e2e", *session.posargs)


@nox.session(python=PYTHON)
def local(session: nox.Session) -> None:
    """The whole system on this machine: prints its URL and API key, writes .local/endpoint.json; Ctrl-C stops it.

    ``nox -s local -- [--port N] [--stack NAME] [--no-database] [--config KEY=VALUE]``; DATABASE_URL selects
    an existing PostgreSQL.
    """
    _install_function_and_test_tools(session)
    # The local stack is built from the Pulumi program (local.materialize): it needs the program's SDKs.
    _install(session, "infra/requirements.txt", "local/requirements.txt")
    _current_archives(session)
    # Ctrl-C reaches the stack, which stops its processes itself: give it the time to (nox would SIGKILL
    # it after 0.3 s, orphaning moto and the runtimes, which run in process groups of their own).
    session.run("python", "-m", "local", *session.posargs, interrupt_timeout=30.0, terminate_timeout=10.0)


@nox.session(python=PYTHON)
def package(session: nox.Session) -> None:
    """Build build/function.zip and build/layer.zip (reproducible): ``nox -s package -- --rds-ca-bundle PEM``."""
    _install(session, packages=("uv",))
    session.run("python", "-m", "offline.package", *session.posargs)


def _ensure_archives(session: nox.Session) -> None:
    """Build this repository's function archives when they are missing, as on a fresh clone.

    The program registers the functions from them and fails, naming the config key, without them.
    Existing archives are left as they are (``nox -s package`` rebuilds them); another project
    (``--project``) brings its own.
    """
    if any(arg == "--project" or arg.startswith("--project=") for arg in session.posargs):
        return
    _install(session, packages=("uv",))
    session.run("python", "-m", "offline.package", "--if-missing")


def _current_archives(session: nox.Session) -> None:
    """The archives the local stack runs as packaged: the layer built once, function.zip from today's code.

    function.zip is rebuilt every time (reproducible and quick), so the local stack never runs code
    older than the sources; the layer, slower to build, is rebuilt by ``nox -s package``.
    """
    _ensure_archives(session)
    session.run("python", "-m", "offline.package", "--function-only")


@nox.session(python=PYTHON)
def cost(session: nox.Session) -> None:
    """Monthly cost estimate of a stack from its registered resources: ``nox -s cost -- --stack prod``."""
    _install(session, "infra/requirements.txt", "requirements-dev.txt")
    _ensure_archives(session)
    session.run("python", "-m", "offline.cost", *session.posargs)


@nox.session(python=PYTHON)
def capacity(session: nox.Session) -> None:
    """The capacity model at the requirement (program + bench/results.json): ``nox -s capacity -- --stack prod``."""
    _install(session, "infra/requirements.txt", "requirements-dev.txt")
    _ensure_archives(session)
    session.run("python", "-m", "offline.capacity", *session.posargs)


@nox.session(python=PYTHON)
def plan(session: nox.Session) -> None:
    """Show the resources a stack's program registers, offline: ``nox -s plan -- --stack prod``."""
    _install(session, "infra/requirements.txt", "requirements-dev.txt")
    _ensure_archives(session)
    session.run("python", "-m", "offline.plan", *session.posargs)


@nox.session(python=PYTHON)
def preview(session: nox.Session) -> None:
    """Gate a stack on both policy packs offline, as `pulumi preview --policy-pack policies --policy-pack
    policies-checkov` would (docs/policies.md, "Running the pack").

    ``nox -s preview -- [--project DIR] [--stack NAME] [--json FILE] [--sarif FILE]``; exit 0 without
    mandatory violations, 1 with, 2 when the program or a pack cannot run. Given packs or configs of its
    own (or another project), it runs those instead.
    """
    _install(session, "infra/requirements.txt", "requirements-dev.txt")
    _ensure_archives(session)
    chosen = any(argument.split("=", 1)[0] in PACK_CHOICE_OPTIONS for argument in session.posargs)
    session.run("python", "-m", "offline.gate", *session.posargs, *(() if chosen else PROJECT_PACKS))


@nox.session(python=PYTHON)
def parameters(session: nox.Session) -> None:
    """Parameter history, labels and rollback in a deployed account, with the caller's AWS credentials.

    ``nox -s parameters -- history|label|rollback --prefix myapp --env dev (--parameter database/port |
    --category database) ...``; see docs/operations.md, "Rolling back a parameter".
    """
    _install(session, packages=("boto3",))
    session.run("python", "-m", "ops.parameters", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks on the local stack, reported, never asserted: ``nox -s bench [-- --quick] [--only GROUP]``.

    Writes bench/results.json and prints a table (see README.md, "Benchmarks"). The function processes
    run in a second virtualenv holding only what Lambda has (the layer's libraries, boto3, the runtime
    client, with bytecode): X-Ray's patching would also import the test tools installed here. The cold
    start and import groups run the archives as packaged on the Lambda runtime's Python (bench/layout.py):
    build/layer.zip is built first when it is missing.
    """
    _install_function_and_test_tools(session)
    _install(session, "local/requirements.txt", packages=("uv",))
    _ensure_archives(session)
    layer = Path(session.virtualenv.location).with_name("bench-layer")
    layer_python = str(layer / "bin" / "python")
    session.run("uv", "venv", "--quiet", "--allow-existing", "--python", PYTHON, str(layer))
    layer_packages = ("-r", "function/requirements.txt", "boto3", "awslambdaric")
    session.run(
        "uv", "pip", "install", "--quiet", "--compile-bytecode", "--python", layer_python, *CONSTRAINTS, *layer_packages
    )
    # Ctrl-C reaches the benchmark, which stops the servers and processes it started: give it the time to.
    session.run(
        "python",
        "-m",
        "bench",
        "--function-python",
        layer_python,
        *session.posargs,
        interrupt_timeout=30.0,
        terminate_timeout=10.0,
    )
