"""Packaging: reproducible archives with the runtime's bytecode; ``--if-missing`` builds only what is absent.

The layer build downloads wheels (network), so it is not run here; it shares ``write_zip`` and
``compile_tree`` with the function archive, whose bytes are checked.
"""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.runtime import LAMBDA_RUNTIME, LAYER_PYTHON_PATH, TASK_ROOT
from offline import package


@pytest.fixture
def build_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(package, "FUNCTION_ZIP", tmp_path / "function.zip")
    monkeypatch.setattr(package, "LAYER_ZIP", tmp_path / "layer.zip")
    return tmp_path


@pytest.fixture
def layer_builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record layer builds instead of downloading wheels."""
    built: list[Path] = []

    def fake_layer(destination: Path, ca_bundle: Path | None = None) -> str:
        built.append(destination)
        destination.write_bytes(b"layer")
        return "0" * 64

    monkeypatch.setattr(package, "build_layer", fake_layer)
    return built


def test_the_function_archive_is_the_same_bytes_when_built_twice(tmp_path: Path) -> None:
    first = package.build_function(tmp_path / "first.zip")
    second = package.build_function(tmp_path / "second.zip")
    assert first == second
    assert (tmp_path / "first.zip").read_bytes() == (tmp_path / "second.zip").read_bytes()


def test_the_function_archive_holds_the_function_and_the_shared_contract(tmp_path: Path) -> None:
    package.build_function(tmp_path / "function.zip")
    names = zipfile.ZipFile(tmp_path / "function.zip").namelist()
    assert "orders/handlers/api.py" in names
    assert "contract/parameters.py" in names
    compiled_for = {name.rsplit(".", 2)[-2] for name in names if name.endswith(".pyc")}
    assert compiled_for == {"cpython-" + LAMBDA_RUNTIME.removeprefix("python").replace(".", "")}  # not the tooling's


def test_if_missing_builds_both_archives_on_a_fresh_clone(build_dir: Path, layer_builds: list[Path]) -> None:
    assert package.main(["--if-missing"]) == 0
    assert (build_dir / "function.zip").is_file()
    assert layer_builds == [build_dir / "layer.zip"]


def test_if_missing_leaves_present_archives_as_they_are(
    build_dir: Path, layer_builds: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    (build_dir / "function.zip").write_bytes(b"kept")
    (build_dir / "layer.zip").write_bytes(b"kept")
    assert package.main(["--if-missing"]) == 0
    assert (build_dir / "function.zip").read_bytes() == b"kept"
    assert layer_builds == []
    assert "not rebuilt" in capsys.readouterr().out


def test_if_missing_rebuilds_when_one_archive_is_absent(build_dir: Path, layer_builds: list[Path]) -> None:
    (build_dir / "function.zip").write_bytes(b"stale")
    assert package.main(["--if-missing"]) == 0
    assert (build_dir / "function.zip").read_bytes() != b"stale"
    assert layer_builds == [build_dir / "layer.zip"]


def test_an_installed_tree_keeps_only_what_the_layer_needs(tmp_path: Path) -> None:
    """Console scripts name the building machine's interpreter: the layer must not depend on it."""
    files = {
        "bin/yoyo": "#!/somewhere/bin/python\n",
        ".lock": "",
        "boto3/__init__.py": "",
        "botocore-1.0.dist-info/METADATA": "",
        "yoyo/__init__.py": "",
        "yoyo_migrations-9.0.dist-info/METADATA": "Name: yoyo-migrations\n",
        "yoyo_migrations-9.0.dist-info/RECORD": "/somewhere/yoyo/__init__.py\n",
        "yoyo_migrations-9.0.dist-info/INSTALLER": "uv\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    package.prune_installed(tmp_path)
    left = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file())
    assert left == ["yoyo/__init__.py", "yoyo_migrations-9.0.dist-info/METADATA"]


@pytest.fixture
def rds_bundle(tmp_path: Path) -> Path:
    """A stand-in for AWS's RDS bundle: any PEM certificate (one of the Amazon roots will do)."""
    first = package.PROXY_TRUST_ANCHORS.read_text(encoding="ascii").split("-----END CERTIFICATE-----")[0]
    path = tmp_path / "rds.pem"
    path.write_text(first[first.index("-----BEGIN") :] + "-----END CERTIFICATE-----\n", encoding="ascii")
    return path


def test_given_an_rds_bundle_then_the_layer_trusts_it_and_the_four_amazon_roots_rds_proxy_chains_to(rds_bundle):
    import hashlib
    import ssl

    bundle = package.trust_bundle(rds_bundle).decode("ascii")
    pems = package._PEM.findall(bundle)
    assert bundle.startswith(rds_bundle.read_text(encoding="ascii").rstrip("\n"))
    fingerprints = {hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest() for pem in pems}
    assert fingerprints == package.AMAZON_ROOT_CA_SHA256
    assert len(pems) == 5


def test_given_a_trust_anchor_file_that_differs_from_the_pins_then_packaging_refuses_it(rds_bundle, tmp_path):
    anchors = tmp_path / "anchors.pem"
    text = package.PROXY_TRUST_ANCHORS.read_text(encoding="ascii")
    anchors.write_text(text[: text.rindex("-----BEGIN CERTIFICATE-----")], encoding="ascii")  # one root dropped
    with pytest.raises(package.PackagingError, match="missing"):
        package.trust_bundle(rds_bundle, anchors)


def test_given_a_file_without_certificates_as_rds_bundle_then_packaging_names_it(tmp_path):
    empty = tmp_path / "not-a-bundle.pem"
    empty.write_text("hello\n", encoding="ascii")
    with pytest.raises(package.PackagingError, match=r"not-a-bundle\.pem holds no PEM certificate"):
        package.trust_bundle(empty)


# -- bytecode ------------------------------------------------------------------------------------------------
def _runtime_python_says(code: str) -> str:
    """What the runtime's interpreter prints for ``code`` (a fact of that interpreter, not of this one)."""
    command = [package.runtime_python(), "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603 - our own code
    return result.stdout.strip()


@pytest.fixture(scope="module")
def function_archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    path = tmp_path_factory.mktemp("archive") / "function.zip"
    package.build_function(path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _bytecode_name(module: str, version: str) -> str:
    directory, _, file = module.rpartition("/")
    return f"{directory}/__pycache__/{file.removesuffix('.py')}.cpython-{version}.pyc"


def test_given_the_function_archive_then_every_module_has_bytecode_for_the_lambda_runtimes_python(function_archive):
    version = LAMBDA_RUNTIME.removeprefix("python").replace(".", "")
    modules = [name for name in function_archive if name.endswith(".py")]
    assert "orders/handlers/api.py" in modules
    assert [name for name in modules if _bytecode_name(name, version) not in function_archive] == []


def test_given_the_function_archive_then_its_bytecode_carries_the_runtime_interpreters_magic_number(
    function_archive,
):
    magic = bytes.fromhex(_runtime_python_says("import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"))
    headers = {name: data[:4] for name, data in function_archive.items() if name.endswith(".pyc")}
    assert headers
    assert {name: header for name, header in headers.items() if header != magic} == {}


def test_given_the_function_archive_then_its_bytecode_is_unchecked_hash_based(function_archive):
    """PEP 552 flags word: bit 0 set (hash-based), bit 1 clear (the source is never checked)."""
    flags = {
        name: int.from_bytes(data[4:8], "little") for name, data in function_archive.items() if name.endswith(".pyc")
    }
    assert set(flags.values()) == {0b01}


def test_given_the_function_archive_then_its_bytecode_names_the_sources_where_lambda_extracts_them(tmp_path):
    package.build_function(tmp_path / "function.zip")
    with zipfile.ZipFile(tmp_path / "function.zip") as archive:
        archive.extractall(tmp_path / "task")
    pyc = tmp_path / "task" / _bytecode_name("orders/config.py", LAMBDA_RUNTIME.removeprefix("python").replace(".", ""))
    recorded = _runtime_python_says(
        f"import marshal; print(marshal.loads(open({str(pyc)!r}, 'rb').read()[16:]).co_filename)"
    )
    assert recorded == f"{TASK_ROOT}/orders/config.py"


def test_given_an_installed_tree_then_compiling_it_records_the_layer_path_and_is_the_same_bytes_twice(tmp_path):
    for copy in ("first", "second"):
        module = tmp_path / copy / "lib" / "choices.py"
        module.parent.mkdir(parents=True)
        module.write_text("def pick(x):\n    return x in {'alpha', 'beta', 'gamma', 'delta'}\n")  # a frozenset constant
        package.compile_tree(tmp_path / copy, LAYER_PYTHON_PATH)
    first, second = (sorted((tmp_path / copy / "lib" / "__pycache__").iterdir()) for copy in ("first", "second"))
    assert [path.name for path in first] == [path.name for path in second] != []
    assert first[0].read_bytes() == second[0].read_bytes()
    assert f"{LAYER_PYTHON_PATH}/lib/choices.py".encode() in first[0].read_bytes()


def test_given_a_module_that_does_not_compile_then_packaging_names_it(tmp_path):
    (tmp_path / "broken.py").write_text("def (:\n")
    with pytest.raises(package.PackagingError, match=r"broken\.py"):
        package.compile_tree(tmp_path, LAYER_PYTHON_PATH)


def test_given_an_install_with_bytecode_then_pruning_drops_it_for_the_runtimes_own(tmp_path):
    stale = tmp_path / "yoyo" / "__pycache__" / "__init__.cpython-311.pyc"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"stale")
    package.prune_installed(tmp_path)
    assert not stale.parent.exists()


@pytest.fixture
def no_runtime_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine without the runtime's Python: an empty pyenv root and nothing on PATH."""
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    package.runtime_python.cache_clear()
    yield
    package.runtime_python.cache_clear()


def test_given_no_interpreter_for_the_runtime_then_packaging_stops_with_one_line_saying_how_to_install_it(
    build_dir: Path, no_runtime_python: None, capsys: pytest.CaptureFixture[str]
) -> None:
    version = LAMBDA_RUNTIME.removeprefix("python")
    assert package.main(["--function-only"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(f"error: {LAMBDA_RUNTIME} is not installed")
    assert f"`pyenv install {version}`" in error
    assert not (build_dir / "function.zip").exists()
