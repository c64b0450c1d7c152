"""Packaging: the function archive is reproducible, and ``--if-missing`` builds only what is absent.

The layer build downloads wheels (network), so it is not run here; it shares ``write_zip`` with the
function archive, whose bytes are checked.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

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
    assert not any("__pycache__" in name for name in names)


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
