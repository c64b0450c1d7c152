"""``python -m ops.parameters`` against moto's SSM and KMS: history, labels, rollback, and its errors.

The hierarchy is seeded as the program deploys it: every stored parameter of contract.parameters
(each category's settings document and its secrets) a SecureString under its category's own KMS
key. moto stores a SecureString "encrypted" as text that still contains the plain value, so a
command that printed an undecrypted value would fail the secrecy assertions here too.
"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from contract.parameters import DOCUMENT_NAME, STORED_PARAMETERS, Category, encode_document, stored_parameters_in
from ops.parameters import main

PREFIX, ENVIRONMENT, REGION = "myapp", "dev", "us-east-1"


def path(relative):
    return f"/{PREFIX}/{ENVIRONMENT}/{relative}"


def value_of(relative, version):
    """A version's value: a settings document is a JSON object of its settings, a secret a text."""
    category, name = relative.split("/")
    if name != DOCUMENT_NAME:
        return f"secret-{category}-{name}-v{version}"
    (document,) = (s for s in stored_parameters_in(Category(category)) if s.document)
    return encode_document({spec.name: f"{category}-{spec.name}-v{version}" for spec in document.settings})


@pytest.fixture(autouse=True)
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def ssm():
    return boto3.client("ssm", region_name=REGION)


@pytest.fixture
def keys():
    kms = boto3.client("kms", region_name=REGION)
    return {category: kms.create_key(Description=category.value)["KeyMetadata"]["Arn"] for category in Category}


@pytest.fixture
def deployed(ssm, keys):
    """Version 1 of every parameter, as the program creates it."""
    for spec in STORED_PARAMETERS:
        relative = f"{spec.category.value}/{spec.name}"
        ssm.put_parameter(
            Name=path(relative),
            Value=value_of(relative, 1),
            Type="SecureString",
            KeyId=keys[spec.category],
            Description=spec.description,
            Tier="Standard",
        )


@pytest.fixture
def change(ssm, keys):
    """Write the next version of a parameter (with its category's key unless another is given)."""

    def write(relative, version, key=None):
        category = Category(relative.split("/")[0])
        ssm.put_parameter(
            Name=path(relative),
            Value=value_of(relative, version),
            Type="SecureString",
            KeyId=key or keys[category],
            Overwrite=True,
        )

    return write


@pytest.fixture
def cli(capsys):
    """Run the command for the test stack; returns (exit code, stdout, stderr)."""

    def run(command, *args):
        code = main([command, "--prefix", PREFIX, "--env", ENVIRONMENT, *args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


def current(ssm, relative):
    return ssm.get_parameter(Name=path(relative), WithDecryption=True)["Parameter"]


def history(ssm, relative):
    return ssm.get_parameter_history(Name=path(relative), WithDecryption=True)["Parameters"]


def current_versions(ssm):
    names = [spec.path(PREFIX, ENVIRONMENT) for spec in STORED_PARAMETERS]
    return {name: ssm.get_parameter(Name=name)["Parameter"]["Version"] for name in names}


def every_value_written(ssm):
    return {
        entry["Value"] for spec in STORED_PARAMETERS for entry in history(ssm, f"{spec.category.value}/{spec.name}")
    }


# --- history -------------------------------------------------------------------------------------
def test_history_lists_every_version_with_its_labels_type_and_key(deployed, change, ssm, keys, cli):
    change("database/settings", 2)
    change("database/settings", 3)
    ssm.label_parameter_version(Name=path("database/settings"), ParameterVersion=1, Labels=["known-good"])

    code, out, _ = cli("history", "--parameter", "database/settings")

    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert sorted(rows) == ["1", "2", "3"]
    assert "known-good" in rows["1"]
    assert all("SecureString" in row and keys[Category.DATABASE] in row for row in rows.values())
    assert "current version 3" in out


def test_history_shows_who_modified_each_version_and_when(deployed, cli):
    code, out, _ = cli("history", "--parameter", "api/settings")

    assert code == 0
    header, row = out.splitlines()[1:3]
    assert "modified by" in header
    assert "modified (UTC)" in header
    assert "N/A" in row  # moto's LastModifiedUser; SSM gives the caller's ARN
    assert row.split()[1].endswith("Z")


@pytest.mark.parametrize("flags", [(), ("--show-values",)], ids=["default", "show-values"])
def test_history_never_prints_a_secure_string_value(deployed, change, ssm, cli, flags):
    change("database/app_password", 2)

    code, out, err = cli("history", "--category", "database", *flags)

    assert code == 0
    assert not [value for value in every_value_written(ssm) if value in out + err]
    assert ("********" in out) == ("--show-values" in flags)


def test_history_masks_a_settings_document_like_any_secure_string(deployed, change, ssm, cli):
    """GIVEN a settings document changed  WHEN its history is shown with values  THEN they are masked."""
    change("database/settings", 2)

    code, out, err = cli("history", "--parameter", "database/settings", "--show-values")

    assert code == 0
    assert out.count("********") == 2
    assert "database-writer_host-v" not in out + err


def test_history_prints_a_settings_document_only_with_decrypt(deployed, cli):
    code, out, _ = cli("history", "--parameter", "database/settings", "--show-values", "--decrypt")

    assert code == 0
    assert value_of("database/settings", 1) in out


def test_history_prints_secure_strings_only_with_show_values_and_decrypt(deployed, change, cli):
    change("api/cursor_signing_key", 2)

    code, out, _ = cli("history", "--parameter", "api/cursor_signing_key", "--show-values", "--decrypt")

    assert code == 0
    assert value_of("api/cursor_signing_key", 1) in out
    assert value_of("api/cursor_signing_key", 2) in out


def test_decrypt_without_show_values_is_refused(deployed, cli):
    code, out, err = cli("history", "--parameter", "api/cursor_signing_key", "--decrypt")

    assert code == 2
    assert "--show-values" in err
    assert value_of("api/cursor_signing_key", 1) not in out + err


# --- label ---------------------------------------------------------------------------------------
def test_label_tags_the_given_version(deployed, change, ssm, cli):
    change("database/settings", 2)

    code, out, _ = cli("label", "--parameter", "database/settings", "--version", "1", "--label", "known-good")

    assert code == 0
    assert [entry["Labels"] for entry in history(ssm, "database/settings")] == [["known-good"], []]
    assert "labelled version 1 known-good" in out


def test_label_category_tags_the_current_version_of_every_parameter(deployed, change, ssm, cli):
    change("cache/settings", 2)

    code, _, _ = cli("label", "--category", "cache", "--label", "before-change")

    assert code == 0
    for spec in stored_parameters_in(Category.CACHE):
        entries = history(ssm, f"cache/{spec.name}")
        assert entries[-1]["Labels"] == ["before-change"], spec.name
    assert history(ssm, "cache/settings")[0]["Labels"] == []


def test_label_says_when_it_moves_a_label(deployed, change, ssm, cli):
    ssm.label_parameter_version(Name=path("database/settings"), ParameterVersion=1, Labels=["known-good"])
    change("database/settings", 2)

    code, out, _ = cli("label", "--parameter", "database/settings", "--label", "known-good")

    assert code == 0
    assert "moved from version 1" in out


# --- rollback of one parameter ------------------------------------------------------------------
def test_rollback_to_a_version_writes_its_value_as_a_new_version_with_its_key(deployed, change, ssm, keys, cli):
    change("database/settings", 2, key=keys[Category.API])  # a mistake: written under another category's key

    code, _, _ = cli("rollback", "--parameter", "database/settings", "--to-version", "1")

    assert code == 0
    latest = history(ssm, "database/settings")[-1]
    assert latest["Version"] == 3
    assert latest["Value"] == value_of("database/settings", 1)
    assert latest["Type"] == "SecureString"
    assert latest["KeyId"] == keys[Category.DATABASE]
    assert latest["Description"] == history(ssm, "database/settings")[0]["Description"]


def test_rollback_labels_the_new_version_so_history_shows_it(deployed, change, ssm, cli):
    change("database/settings", 2)

    cli("rollback", "--parameter", "database/settings", "--to-version", "1")
    code, out, _ = cli("history", "--parameter", "database/settings")

    assert code == 0
    assert history(ssm, "database/settings")[-1]["Labels"] == ["rollback-to-v1-from-v2"]
    assert "rollback-to-v1-from-v2" in out.splitlines()[-1]


def test_rollback_to_a_label(deployed, change, ssm, cli):
    change("api/settings", 2)
    ssm.label_parameter_version(Name=path("api/settings"), ParameterVersion=2, Labels=["known-good"])
    change("api/settings", 3)

    code, _, _ = cli("rollback", "--parameter", "/myapp/dev/api/settings", "--to-label", "known-good")

    assert code == 0
    assert current(ssm, "api/settings")["Value"] == value_of("api/settings", 2)
    assert current(ssm, "api/settings")["Version"] == 4


def test_rollback_does_not_print_the_values_it_restores(deployed, change, ssm, cli):
    change("database/app_password", 2)

    code, out, err = cli("rollback", "--parameter", "database/app_password", "--to-version", "1")

    assert code == 0
    assert not [value for value in every_value_written(ssm) if value in out + err]


def test_a_parameter_already_at_the_target_value_is_left_alone(deployed, ssm, keys, cli):
    ssm.put_parameter(  # version 2 rewrites version 1's value under the same key
        Name=path("database/settings"),
        Value=value_of("database/settings", 1),
        Type="SecureString",
        KeyId=keys[Category.DATABASE],
        Overwrite=True,
    )

    code, out, _ = cli("rollback", "--parameter", "database/settings", "--to-version", "1")

    assert code == 0
    assert current(ssm, "database/settings")["Version"] == 2
    assert "left alone" in out


# --- rollback of a category ---------------------------------------------------------------------
def test_category_rollback_restores_every_changed_parameter(deployed, change, ssm, cli):
    assert cli("label", "--category", "database", "--label", "known-good")[0] == 0
    change("database/settings", 2)
    change("database/app_password", 2)
    change("api/settings", 2)

    code, out, _ = cli("rollback", "--category", "database", "--to-label", "known-good")

    assert code == 0
    for relative in ("database/settings", "database/app_password"):
        assert current(ssm, relative)["Value"] == value_of(relative, 1)
        assert current(ssm, relative)["Version"] == 3
    assert current(ssm, "api/settings")["Version"] == 2
    assert f"2 of {len(stored_parameters_in(Category.DATABASE))} parameter(s) rolled back" in out


def test_category_rollback_with_a_missing_label_writes_nothing_and_names_the_parameter(deployed, change, ssm, cli):
    for spec in stored_parameters_in(Category.DATABASE):
        if spec.name != "app_password":
            ssm.label_parameter_version(Name=spec.path(PREFIX, ENVIRONMENT), ParameterVersion=1, Labels=["known-good"])
    change("database/settings", 2)
    before = current_versions(ssm)

    code, _, err = cli("rollback", "--category", "database", "--to-label", "known-good")

    assert code == 1
    assert current_versions(ssm) == before
    assert "nothing was written" in err
    assert "/myapp/dev/database/app_password has no label 'known-good'" in err
    assert "database/settings has no label" not in err


def test_category_rollback_to_a_version_requires_it_everywhere(deployed, change, ssm, cli):
    change("api/settings", 2)
    change("api/settings", 3)
    before = current_versions(ssm)

    code, _, err = cli("rollback", "--category", "api", "--to-version", "2")

    assert code == 1
    assert current_versions(ssm) == before
    assert "/myapp/dev/api/cursor_signing_key has no version 2" in err


def test_dry_run_writes_nothing(deployed, change, ssm, cli):
    assert cli("label", "--category", "api", "--label", "known-good")[0] == 0
    change("api/settings", 2)
    before = current_versions(ssm)

    code, out, _ = cli("rollback", "--category", "api", "--to-label", "known-good", "--dry-run")

    assert code == 0
    assert current_versions(ssm) == before
    assert "/myapp/dev/api/settings: would write the value of version 1 (label 'known-good')" in out
    assert "nothing was written" in out


def test_a_failure_part_way_says_what_was_written_and_that_a_rerun_is_safe(deployed, change, ssm, capsys):
    assert main(["label", "--prefix", PREFIX, "--env", ENVIRONMENT, "--category", "database", "--label", "good"]) == 0
    change("database/settings", 2)
    change("database/app_password", 2)

    class FailingSecondWrite:
        def __init__(self, client):
            self.client, self.writes = client, 0

        def __getattr__(self, name):
            return getattr(self.client, name)

        def put_parameter(self, **arguments):
            self.writes += 1
            if self.writes == 2:
                raise ssm.exceptions.InternalServerError(
                    {"Error": {"Code": "InternalServerError", "Message": "try later"}}, "PutParameter"
                )
            return self.client.put_parameter(**arguments)

    argv = ["rollback", "--prefix", PREFIX, "--env", ENVIRONMENT, "--category", "database", "--to-label", "good"]
    code = main(argv, ssm_factory=lambda region: FailingSecondWrite(boto3.client("ssm", region_name=region)))
    err = capsys.readouterr().err

    assert code == 1
    assert "1 of 2 rollback(s) were written" in err
    assert "again is safe" in err
    assert main(argv) == 0
    assert "already has the value, type and key of version 1" in capsys.readouterr().out


# --- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("history", "--parameter", "database/prot"), "unknown parameter 'database/prot': not in the hierarchy"),
        (
            ("history", "--parameter", "database/port"),
            "unknown parameter 'database/port': not in the hierarchy; database/ has settings, app_password",
        ),
        (("history", "--parameter", "/other/dev/database/settings"), "is not under '/myapp/dev/'"),
        (("history", "--category", "db"), "unknown category 'db'"),
        (("rollback", "--parameter", "database/settings", "--to-label", "1st"), "cannot begin with a digit"),
        (
            ("label", "--parameter", "database/settings", "--label", "AWS-good"),
            "cannot begin with a digit, 'aws' or 'ssm'",
        ),
        (("label", "--category", "database", "--version", "1", "--label", "x"), "--version applies to one --parameter"),
        (("rollback", "--parameter", "database/settings", "--to-version", "0"), "is not a version number"),
        (("rollback", "--parameter", "database/settings"), "one of the arguments --to-version --to-label is required"),
        (("history", "--parameter", "database/settings", "--region", "eu-west-1"), "deploys to us-east-1 only"),
    ],
)
def test_usage_errors_exit_2_with_a_specific_message(deployed, ssm, cli, args, message):
    before = current_versions(ssm)

    code, _, err = cli(*args)

    assert code == 2
    assert message in err
    assert current_versions(ssm) == before


def test_a_region_other_than_us_east_1_from_the_environment_is_refused(deployed, cli, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    code, _, err = cli("history", "--parameter", "database/settings")

    assert code == 2
    assert "AWS_REGION is 'eu-west-1'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rollback", "--parameter", "database/settings", "--to-version", "7"), "database/settings has no version 7"),
        (
            ("rollback", "--parameter", "database/settings", "--to-label", "nope"),
            "database/settings has no label 'nope'",
        ),
        (("label", "--parameter", "database/settings", "--version", "7", "--label", "x"), "has no version 7"),
    ],
)
def test_an_unknown_version_or_label_exits_1(deployed, cli, args, message):
    code, _, err = cli(*args)

    assert code == 1
    assert message in err


def test_a_parameter_missing_from_ssm_exits_1(ssm, cli):
    code, _, err = cli("rollback", "--parameter", "database/settings", "--to-version", "1")

    assert code == 1
    assert "/myapp/dev/database/settings does not exist in SSM" in err
