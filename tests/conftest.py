"""Fixtures every suite shares: no real AWS credentials, and function archives made without a network."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

import pytest

from tests.unit.support import PROJECT_ROOT

HIDDEN_AWS_ENVIRONMENT = {
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_SESSION_TOKEN": "",
    "AWS_PROFILE": "",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="session", autouse=True)
def _no_real_aws() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in HIDDEN_AWS_ENVIRONMENT.items():
            if value:
                patch.setenv(key, value)
            else:
                patch.delenv(key, raising=False)
        yield


@pytest.fixture(scope="session")
def archive_overrides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Function and layer archives for the program to reference, made here without a network.

    The program only hashes and uploads them, so the unit suite needs real zip files, not the
    packaged function (its build is tested with the function).
    """
    directory = tmp_path_factory.mktemp("archives")
    function_zip, layer_zip = directory / "function.zip", directory / "layer.zip"
    with zipfile.ZipFile(function_zip, "w") as archive:
        for source in sorted((PROJECT_ROOT / "contract").glob("*.py")):
            archive.write(source, f"contract/{source.name}")
    with zipfile.ZipFile(layer_zip, "w") as archive:
        archive.writestr("python/README.txt", "third-party libraries are installed here by the packaging step\n")
    return {"serverless-infra:functionArchive": str(function_zip), "serverless-infra:layerArchive": str(layer_zip)}
