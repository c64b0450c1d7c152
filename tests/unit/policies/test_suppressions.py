"""Suppressions are policy config the pack applies itself, so `pulumi preview` honours them as the gate does."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import Severity

from offline.gate.analyzer import PackError, PolicyMeta, resolve_policy_config
from policies import suppressions
from policies.governance import POLICY_SUPPRESSIONS, SUPPRESSED_FINDINGS, stale, suppressed
from policies.rules import Check, Control, Kind, Stack, resource_policy

QUEUE_URN = "urn:pulumi:prod::serverless-infra::aws:sqs/queue:Queue::serverless-infra-prod-queue-orders"
JUSTIFICATION = "The queue carries only public reference data and is encrypted by SQS itself."
UNENCRYPTED = Control(
    name="queue-kms",
    concern="encryption",
    kind=Kind.SECURITY,
    description="Queues use a customer-managed key.",
    severity=Severity.HIGH,
    remediation="Set kmsMasterKeyId.",
    resource_types=("aws:sqs/queue:Queue",),
)
CHECK = resource_policy(UNENCRYPTED, lambda control, resource: ["the queue has no customer-managed key"])


@pytest.fixture(autouse=True)
def ledger() -> Iterator[suppressions.Ledger]:
    suppressions.LEDGER.reset()
    yield suppressions.LEDGER
    suppressions.LEDGER.reset()


def suppression(resource: str = "serverless-infra-prod-queue-*", expires: str = "2999-01-01") -> dict[str, str]:
    return {"resource": resource, "justification": JUSTIFICATION, "owner": "platform-team", "expires": expires}


def analyze(check: Check, config: Mapping[str, Any], urn: str = QUEUE_URN) -> list[str]:
    """Run a resource policy on one queue as the SDK's Analyze does; the messages it reports."""
    reported: list[str] = []

    class Args:
        resource_type = "aws:sqs/queue:Queue"
        name = urn.rsplit("::", 1)[-1]

        def __init__(self) -> None:
            self.urn = urn
            self.props: dict[str, Any] = {}

        @staticmethod
        def get_config() -> Mapping[str, Any]:
            return config

    check.policy.validate(Args(), lambda message, urn=None: reported.append(message))  # type: ignore[attr-defined]
    return reported


def bookkeeping() -> tuple[list[str], list[tuple[str, str]]]:
    """What policy-suppressions (mandatory) and suppressed-findings (advisory) report at AnalyzeStack."""
    stack = Stack([], {})
    return [m for m, _ in stale(POLICY_SUPPRESSIONS, stack)], list(suppressed(SUPPRESSED_FINDINGS, stack))


def test_a_live_suppression_keeps_the_violation_from_its_policy_and_shows_it_as_advisory():
    assert analyze(CHECK, {"suppressions": [suppression()]}) == []
    failing, shown = bookkeeping()
    assert failing == []
    [(message, urn)] = shown
    assert urn == QUEUE_URN
    assert message.startswith("suppressed: queue-kms: the queue has no customer-managed key")
    assert suppressions.read_description(message) == (
        "queue-kms",
        "the queue has no customer-managed key",
        JUSTIFICATION,
    )


def test_a_suppression_names_a_full_urn_or_a_glob_over_the_urn_or_the_name():
    for resource in (QUEUE_URN, "serverless-infra-prod-queue-orders", "*::aws:sqs/queue:Queue::*"):
        assert analyze(CHECK, {"suppressions": [suppression(resource)]}) == [], resource
    assert analyze(CHECK, {"suppressions": [suppression("serverless-infra-dev-*")]}) != []


def test_an_expired_suppression_no_longer_suppresses_and_fails_the_run():
    assert analyze(CHECK, {"suppressions": [suppression(expires="2000-01-01")]}) != []
    failing, shown = bookkeeping()
    assert shown == []
    assert failing == [
        "suppression of 'queue-kms' on 'serverless-infra-prod-queue-*' (owner platform-team) expired on 2000-01-01"
    ]


def test_a_suppression_that_matches_nothing_fails_the_run():
    assert analyze(CHECK, {"suppressions": [suppression("serverless-infra-prod-bucket-*")]}) != []
    failing, _ = bookkeeping()
    assert failing == [
        "suppression of 'queue-kms' on 'serverless-infra-prod-bucket-*' (owner platform-team) "
        "matches no finding of 'queue-kms' in this run"
    ]


def test_every_checking_policy_takes_suppressions_in_its_config_schema_but_the_bookkeeping_does_not():
    schema = UNENCRYPTED.schema()
    assert schema is not None
    assert schema.properties["suppressions"]["default"] == []
    assert POLICY_SUPPRESSIONS.schema() is None
    assert SUPPRESSED_FINDINGS.schema() is None


@pytest.mark.parametrize(
    "entry",
    [
        {**suppression(), "justification": "accepted"},
        {**suppression(), "expires": "next year"},
        {key: value for key, value in suppression().items() if key != "owner"},
        {**suppression(), "reviewer": "someone"},
    ],
)
def test_the_schema_the_engine_validates_rejects_an_incomplete_suppression(entry):
    schema = {"type": "object", "properties": {"suppressions": suppressions.SCHEMA}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"suppressions": [entry]}, schema, format_checker=jsonschema.FormatChecker())


# -- policy config, merged as the engine merges it ------------------------------------------------
# pulumi/pulumi pkg/resource/analyzer/config.go: ReconcilePolicyPackConfig and applyConfig; the
# Configure step that rejects entries without an enforcement level is analyzer.Configure in
# pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go.

POLICIES = {
    "a": PolicyMeta(
        "a", "", "mandatory", "high", "", (), "resource", {"properties": {"limit": {"type": "integer", "default": 1}}}
    ),
    "b": PolicyMeta("b", "", "advisory", "low", "", (), "resource", {}),
}


def resolve(document: Mapping[str, Any] | None, info: Any = None) -> dict[str, tuple[str, dict[str, Any]]]:
    return resolve_policy_config(info or analyzer_pb2.AnalyzerInfo(), POLICIES, document)


def test_without_a_file_each_policy_gets_its_own_level_and_its_schema_defaults():
    assert resolve(None) == {"a": ("mandatory", {"limit": 1}), "b": ("advisory", {})}


def test_all_sets_the_level_first_and_a_policys_own_entry_overrides_it_in_any_key_order():
    resolved = resolve({"a": "advisory", "all": "disabled"})
    assert (resolved["a"][0], resolved["b"][0]) == ("advisory", "disabled")


def test_properties_under_all_reach_no_policy_and_are_passed_on_under_all():
    resolved = resolve({"all": {"enforcementLevel": "advisory", "limit": 5}})
    assert resolved["a"] == ("advisory", {"limit": 1})
    assert resolved["all"] == ("advisory", {"limit": 5})


def test_a_policys_properties_merge_over_its_defaults():
    assert resolve({"a": {"limit": 3}})["a"] == ("mandatory", {"limit": 3})


def test_the_packs_initial_config_applies_before_the_users_file():
    info = analyzer_pb2.AnalyzerInfo()
    info.initialConfig["a"].enforcementLevel = analyzer_pb2.ADVISORY
    info.initialConfig["a"].properties.CopyFrom(struct_pb2.Struct(fields={"limit": struct_pb2.Value(number_value=2)}))
    assert resolve(None, info)["a"] == ("advisory", {"limit": 2})
    assert resolve({"a": "mandatory"}, info)["a"] == ("mandatory", {"limit": 2})


def test_an_unknown_policy_name_with_a_level_is_passed_on_and_one_without_is_an_error():
    assert resolve({"c": "mandatory"})["c"] == ("mandatory", {})
    with pytest.raises(PackError, match="invalid enforcement level"):
        resolve({"c": {"limit": 2}})


def test_all_with_properties_but_no_level_is_an_error_as_in_the_engine():
    with pytest.raises(PackError, match="invalid enforcement level"):
        resolve({"all": {"limit": 2}})


def test_a_value_the_schema_rejects_is_an_error_naming_the_policy():
    with pytest.raises(PackError, match="'a' is invalid at limit"):
        resolve({"a": {"limit": "many"}})
