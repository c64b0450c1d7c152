"""The environment is the stack's, never a value the program sets; tag values are validated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from policies import cost, data_protection, tagging
from policies.rules import Check, environment_of
from tests.unit.policies.conftest import UNKNOWN_STRING, Finder, Resources, unknown_checking_proxy

RDS = data_protection.RDS_INSTANCE
UNPROTECTED_PRIMARY = {
    "identifier": "serverless-infra-prod-db",
    "tags": {"Environment": "dev"},
    "backupRetentionPeriod": 7,  # dev's minimum, not prod's
    "deletionProtection": False,
    "skipFinalSnapshot": True,
    "multiAz": False,
    "instanceClass": "db.r7g.large",
}
TAGS = {
    "Environment": "prod",
    "CostCenter": "cc-1001-platform",
    "Owner": "platform-team@example.com",
    "Application": "serverless-infra",
    "Backup": "none",
    "Compliance": "internal",
}


def check(name: str) -> Check:
    from policies.pack import all_checks

    return next(c for c in all_checks() if c.control.name == name)


def resource_findings(
    check_: Check, type_: str, props: Mapping[str, Any], config: Mapping[str, Any] | None = None
) -> list[str]:
    """Run a resource policy on one resource, as the engine does: [message]."""
    reported: list[str] = []

    class Args:
        resource_type = type_
        name = "resource"
        urn = f"urn:pulumi:test::project::{type_}::resource"

        @staticmethod
        def get_config() -> Mapping[str, Any]:
            return dict(config or {})

    Args.props = unknown_checking_proxy(dict(props))  # type: ignore[attr-defined]
    check_.policy.validate(Args(), lambda message, urn=None: reported.append(message))  # type: ignore[attr-defined]
    return reported


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, stack_config):
    """Name the stack the engine checks (PULUMI_STACK) and, optionally, its environment config."""

    def set_stack(name: str, **config: str) -> None:
        monkeypatch.setenv("PULUMI_STACK", name)
        stack_config(**config)

    return set_stack


@pytest.mark.parametrize(
    ("name", "config", "expected"),
    [
        ("prod", {}, "prod"),
        ("dev", {"environment": "prod"}, "dev"),  # the stack's name wins
        ("ci-preview", {"environment": "staging"}, "staging"),
        ("ci-preview", {}, "prod"),  # unknown: held to prod's rules
        ("ci-preview", {"environment": "qa"}, "prod"),
    ],
)
def test_the_environment_is_the_stacks_name_else_its_environment_config_else_prod(stack, name, config, expected):
    stack(name, **config)
    assert environment_of() == expected


@pytest.mark.parametrize("policy", ["rds-deletion-protection", "rds-backup-retention", "rds-final-snapshot"])
def test_given_a_prod_stack_tagging_a_database_dev_then_prods_protections_still_apply(stack, policy):
    stack("prod")
    assert resource_findings(check(policy), RDS, UNPROTECTED_PRIMARY)


def test_given_a_prod_stack_tagging_a_log_group_dev_then_prods_retention_applies(stack):
    stack("prod")
    found = resource_findings(
        check("log-retention"),
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 7, "tags": {"Environment": "dev"}},
    )
    assert found == ["logs are kept fewer than 365 days (prod minimum)"]


def test_given_a_prod_stack_tagging_a_database_dev_then_multi_az_and_a_replica_are_still_required(
    stack, resources: Resources, findings: Finder
):
    stack("prod")
    resources.add(RDS, "db", UNPROTECTED_PRIMARY)
    assert findings(check("rds-multi-az"), resources) == [
        ("multiAz is not true (the default is a single-AZ instance)", "db")
    ]
    assert findings(check("rds-read-replica"), resources) == [("the primary has no read replica", "db")]


def test_given_a_stack_named_otherwise_then_its_environment_config_decides(stack):
    stack("feature-x", environment="dev")
    assert resource_findings(check("rds-deletion-protection"), RDS, UNPROTECTED_PRIMARY) == []
    assert resource_findings(check("rds-burstable-outside-prod"), RDS, UNPROTECTED_PRIMARY) == [
        "a non-burstable instance class outside prod"
    ]


def test_given_a_prod_stack_then_a_large_class_tagged_dev_is_not_cost_advice(stack):
    stack("prod")
    assert resource_findings(check("rds-burstable-outside-prod"), RDS, UNPROTECTED_PRIMARY) == []


def test_the_budget_is_the_stacks_environments_whatever_the_tags_say(
    stack, shipped_stack_config, resources: Resources, findings: Finder
):
    stack("prod")
    shipped_stack_config("prod")
    resources.add(cost.STACK_TYPE, "stack", {})
    resources.add(RDS, "db", {**UNPROTECTED_PRIMARY, "instanceClass": "db.r7g.xlarge", "multiAz": True})
    found = findings(check("monthly-budget"), resources)
    assert len(found) == 1
    assert "exceeds the prod budget" in found[0][0]


# -- tag values ----------------------------------------------------------------------------------
def test_given_the_tags_the_program_sets_then_no_finding(stack):
    stack("prod")
    assert resource_findings(check("required-tags"), "aws:sqs/queue:Queue", {"tags": TAGS}) == []


def test_given_an_environment_tag_that_is_not_the_stacks_then_it_is_a_violation(stack):
    stack("prod")
    found = resource_findings(check("required-tags"), "aws:sqs/queue:Queue", {"tags": {**TAGS, "Environment": "dev"}})
    assert found == ["tag Environment is 'dev' but the stack's environment is 'prod'"]


@pytest.mark.parametrize(
    ("key", "value"), [("CostCenter", "cc-1"), ("CostCenter", "1001"), ("Owner", "Platform Team!"), ("Owner", "a@b")]
)
def test_given_a_tag_value_outside_its_pattern_then_it_is_a_violation(stack, key, value):
    stack("prod")
    found = resource_findings(check("required-tags"), "aws:sqs/queue:Queue", {"tags": {**TAGS, key: value}})
    assert found == [
        f"tag {key} value {value!r} does not match {tagging.REQUIRED_TAGS.config['tagPatterns']['default'][key]}"
    ]


@pytest.mark.parametrize("owner", ["platform-team@example.com", "platform-team", "data"])
def test_owner_is_an_e_mail_address_or_a_team_name(stack, owner):
    stack("prod")
    assert resource_findings(check("required-tags"), "aws:sqs/queue:Queue", {"tags": {**TAGS, "Owner": owner}}) == []


def test_the_patterns_come_from_policy_config(stack):
    stack("prod")
    config = {"tagPatterns": {"CostCenter": "^[0-9]+$", "Owner": ".+"}}
    found = resource_findings(check("required-tags"), "aws:sqs/queue:Queue", {"tags": TAGS}, config)
    assert found == ["tag CostCenter value 'cc-1001-platform' does not match ^[0-9]+$"]


def test_given_an_unknown_tag_value_then_it_cannot_be_verified_and_is_reported(stack):
    stack("prod")
    found = resource_findings(
        check("required-tags"), "aws:sqs/queue:Queue", {"tags": {**TAGS, "Environment": UNKNOWN_STRING}}
    )
    assert found == ["tag Environment is not known during preview, so its value cannot be verified"]


@pytest.mark.parametrize(
    "type_",
    ["aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance", "aws:dynamodb/table:Table"],
)
def test_given_a_taggable_type_the_hand_written_list_missed_then_missing_tags_are_reported(stack, type_):
    stack("prod")
    assert "tag Owner is missing" in resource_findings(check("required-tags"), type_, {})


@pytest.mark.parametrize(
    "type_", ["aws:iam/rolePolicy:RolePolicy", "aws:ec2/route:Route", "random:index/randomId:RandomId"]
)
def test_given_a_type_whose_provider_class_takes_no_tags_then_no_finding(stack, type_):
    stack("prod")
    assert resource_findings(check("required-tags"), type_, {}) == []


_SDK_LIKE_SOURCE = """
class QueueArgs:
    def __init__(__self__, *, tags=None):
        pass

class Other(pulumi.CustomResource):
    def __init__(__self__, tags=None):
        pass

class Queue(pulumi.CustomResource):
    def _internal_init(__self__,
                 resource_name: str,
                 tags: Optional[Mapping[str, str]] = None,
                 __props__=None):
        pass
"""


def test_given_an_sdk_class_signature_when_read_alone_then_tags_decide():
    assert tagging._signature_takes_tags(_SDK_LIKE_SOURCE, "Queue") is True
    without_tags = _SDK_LIKE_SOURCE.replace("tags: Optional", "labels: Optional")
    assert tagging._signature_takes_tags(without_tags, "Queue") is False


def test_given_a_class_without_its_own_internal_init_when_read_alone_then_the_whole_module_decides():
    """Other has no _internal_init of its own: the next class's must not be taken for it (None: full parse)."""
    assert tagging._signature_takes_tags(_SDK_LIKE_SOURCE, "Other") is None
    assert tagging._signature_takes_tags(_SDK_LIKE_SOURCE, "Missing") is None


def test_taggable_types_are_those_the_programs_transformation_tags():
    """The pack's derivation (source of the SDK class) agrees with the program's (its signature)."""
    import importlib
    import inspect

    packages = {"pulumi_aws.rds", "pulumi_aws.s3", "pulumi_aws.sqs", "pulumi_aws.kms"}
    for token, (module, name) in ((t, m) for t, m in tagging._sdk_classes().items() if m[0] in packages):
        init = getattr(getattr(importlib.import_module(module), name), "_internal_init", None)
        assert tagging.taggable(token) == (init is not None and "tags" in inspect.signature(init).parameters), token
