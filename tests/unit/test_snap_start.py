"""SnapStart as a stack option: on the API function's published versions, never with provisioned concurrency.

https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html
"""

from __future__ import annotations

import pytest

from contract.settings import SettingsError

FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"


def _function(run, key):
    return run.named(FUNCTION, f"serverless-infra-{run.stack}-function-{key}")


def test_given_the_default_configuration_then_no_function_has_snap_start(stack_run):
    assert all("snapStart" not in function.inputs for function in stack_run.of_type(FUNCTION))


def test_given_snap_start_on_a_stack_without_provisioned_concurrency_then_the_api_snapshots_published_versions(
    run_stack,
):
    run = run_stack("dev", snapStart="true")
    api = _function(run, "api")
    assert api.inputs["snapStart"] == {"applyOn": "PublishedVersions"}
    assert api.inputs["publish"] is True


def test_given_snap_start_then_the_api_alias_points_at_the_published_version(run_stack):
    run = run_stack("dev", snapStart="true")
    alias = run.named(ALIAS, "serverless-infra-dev-alias-api")
    assert alias.inputs["functionVersion"] == _function(run, "api").outputs["version"]


@pytest.mark.parametrize("key", ["worker", "dlq-analyzer", "migrator"])
def test_given_snap_start_then_the_functions_no_caller_waits_on_keep_initialising(run_stack, key):
    run = run_stack("dev", snapStart="true")
    assert "snapStart" not in _function(run, key).inputs


def test_given_snap_start_with_provisioned_concurrency_then_the_key_is_named_and_the_reason_given(parse_stack):
    with pytest.raises(SettingsError) as failure:
        parse_stack("dev", snapStart="true", provisionedConcurrencyMin="1", provisionedConcurrencyMax="5")
    assert failure.value.key == "serverless-infra:snapStart"
    assert "provisioned concurrency" in str(failure.value)
    assert "provisionedConcurrencyMax is 5" in str(failure.value)


def test_given_snap_start_that_is_not_a_boolean_then_the_key_is_named(parse_stack):
    with pytest.raises(SettingsError) as failure:
        parse_stack("dev", snapStart="sometimes")
    assert failure.value.key == "serverless-infra:snapStart"
