"""The migrator runs again on the deployment that changes its code or a migration, and only then.

The program invokes the migrator with an ``aws.lambda.Invocation`` whose ``triggers`` hold the
function archive's SHA-256; the provider invokes again when a trigger changes.
https://www.pulumi.com/registry/packages/aws/api-docs/lambda/invocation/
The migrations travel in that archive (``orders/migrations``), so the chain is: a changed migration
or migrator module -> different archive bytes (packaging is reproducible) -> a different trigger.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from offline import package
from offline.harness import ProgramRun, run_program
from tests.unit.support import PROJECT_ROOT

INVOCATION = "aws:lambda/invocation:Invocation"
MIGRATIONS = Path("function/orders/migrations")
MIGRATOR = Path("function/orders/handlers/migrator.py")


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the sources the function archive is built from, which packaging reads instead of the repository's."""
    root = tmp_path / "sources"
    for directory in ("function/orders", "contract"):
        shutil.copytree(PROJECT_ROOT / directory, root / directory, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(package, "ROOT", root)
    return root


@pytest.fixture
def build(tmp_path: Path) -> Callable[[str], Path]:
    def run(name: str) -> Path:
        archive = tmp_path / f"{name}.zip"
        package.build_function(archive)
        return archive

    return run


def _trigger(run: ProgramRun) -> str:
    (invocation,) = run.of_type(INVOCATION)
    return invocation.inputs["triggers"]["code"]


def _latest_migration(root: Path) -> Path:
    return max(path for path in (root / MIGRATIONS).glob("*.sql") if not path.name.endswith(".rollback.sql"))


def test_given_the_program_then_the_migrators_trigger_is_the_function_archives_digest(runs, archive_overrides):
    archive = Path(archive_overrides["serverless-infra:functionArchive"])

    assert _trigger(runs["dev"]) == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_given_another_function_archive_then_the_migrators_trigger_changes(runs, archive_overrides, sources, build):
    archive = build("function")

    run = run_program(
        PROJECT_ROOT, "dev", config_overrides={**archive_overrides, "serverless-infra:functionArchive": str(archive)}
    )

    assert _trigger(run) == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert _trigger(run) != _trigger(runs["dev"])


def test_given_unchanged_sources_then_the_archive_and_so_the_trigger_stay_the_same(sources, build):
    """Otherwise every deployment would run the migrator, and a change would not be told from none."""
    assert build("first").read_bytes() == build("second").read_bytes()


def test_given_a_changed_migration_then_the_archive_and_so_the_trigger_change(sources, build):
    before = build("before")
    migration = _latest_migration(sources)
    migration.write_text(migration.read_text() + "\n-- one more statement's worth of change\n")

    assert build("after").read_bytes() != before.read_bytes()


def test_given_a_new_migration_then_the_archive_and_so_the_trigger_change(sources, build):
    before = build("before")
    (sources / MIGRATIONS / "9999.later.sql").write_text("ALTER TABLE orders ADD COLUMN note text;\n")

    assert build("after").read_bytes() != before.read_bytes()


def test_given_a_changed_migrator_module_then_the_archive_and_so_the_trigger_change(sources, build):
    before = build("before")
    migrator = sources / MIGRATOR
    migrator.write_text(migrator.read_text() + "\nMIGRATOR_REVISION = 2\n")

    assert build("after").read_bytes() != before.read_bytes()
