"""Specifications of the decoding shared by the policies of one analysis call (policies/stack_decoding.py)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pulumi_policy.policy as engine
import pulumi_policy.proxy
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties

from policies.stack_decoding import ResourcePropertiesAreReadOnly, _SharedDecoding, share_stack_decoding


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


class _CountingEngine(types.SimpleNamespace):
    """The three decoding steps of the SDK's policy module, counting their calls."""

    def __init__(self) -> None:
        self.calls = {"convert": 0, "deserialize": 0, "proxy": 0}
        super().__init__(
            json_format=types.SimpleNamespace(MessageToDict=self._convert),
            deserialize_properties=self._deserialize,
            unknown_checking_proxy=self._proxy,
        )

    def _convert(self, message: struct_pb2.Struct) -> Any:
        self.calls["convert"] += 1
        return json_format.MessageToDict(message)

    def _deserialize(self, props: dict[str, Any], *args: Any) -> Any:
        self.calls["deserialize"] += 1
        return deserialize_properties(props, *args)

    def _proxy(self, props: dict[str, Any]) -> Any:
        self.calls["proxy"] += 1
        return pulumi_policy.proxy.unknown_checking_proxy(props)


def _decode_as_the_sdk_does(shared: _SharedDecoding, messages: list[struct_pb2.Struct], policies: int) -> list[Any]:
    """The SDK's loop: every policy decodes every resource (policy.py, Analyze and AnalyzeStack)."""
    return [
        shared.unknown_checking_proxy(shared.deserialize_properties(shared.json_format.MessageToDict(message)))
        for _ in range(policies)
        for message in messages
    ]


def test_given_one_analysis_call_when_three_policies_read_two_resources_then_each_resource_is_decoded_once() -> None:
    counting = _CountingEngine()
    shared = _SharedDecoding(counting)  # type: ignore[arg-type]
    messages = [_struct({"acl": "private"}), _struct({"tags": {"Owner": "team"}, "ports": [1, 2]})]

    views = shared.within_analysis(lambda: _decode_as_the_sdk_does(shared, messages, policies=3))

    assert counting.calls == {"convert": 2, "deserialize": 2, "proxy": 2}
    assert views[0] is views[2] is views[4]
    assert dict(views[1]["tags"]) == {"Owner": "team"}
    assert list(views[1]["ports"]) == [1.0, 2.0]


def test_given_no_analysis_call_when_decoding_twice_then_nothing_is_shared() -> None:
    counting = _CountingEngine()
    shared = _SharedDecoding(counting)  # type: ignore[arg-type]
    message = _struct({"policy": {"limit": 5}})

    first, second = _decode_as_the_sdk_does(shared, [message], policies=2)

    assert counting.calls == {"convert": 2, "deserialize": 2, "proxy": 2}
    assert first is not second  # Configure's policy config reaches policies: never shared
    first["policy"] = "changed"  # and stays the SDK's own, writable view
    assert second["policy"]["limit"] == 5


def test_given_a_finished_analysis_call_when_decoding_again_then_its_memo_is_gone() -> None:
    counting = _CountingEngine()
    shared = _SharedDecoding(counting)  # type: ignore[arg-type]
    message = _struct({"a": "x"})
    shared.within_analysis(lambda: _decode_as_the_sdk_does(shared, [message], policies=1))

    _decode_as_the_sdk_does(shared, [message], policies=1)

    assert counting.calls["convert"] == 2


def test_given_a_shared_view_when_a_policy_sets_a_property_at_any_depth_then_it_is_refused() -> None:
    counting = _CountingEngine()
    shared = _SharedDecoding(counting)  # type: ignore[arg-type]
    message = _struct({"acl": "private", "rules": [{"cidr": "10.0.0.0/8"}], "tags": {"Owner": "team"}})

    def write(set_one: Callable[[Any], None]) -> None:
        (view,) = _decode_as_the_sdk_does(shared, [message], policies=1)
        set_one(view)

    for set_one in (
        lambda view: view.__setitem__("acl", "public-read"),
        lambda view: view["tags"].__setitem__("Owner", "someone"),
        lambda view: view["rules"][0].__setitem__("cidr", "0.0.0.0/0"),
    ):
        with pytest.raises(ResourcePropertiesAreReadOnly, match="must not change resource properties"):
            shared.within_analysis(lambda set_one=set_one: write(set_one))


def _resource(name: str, props: dict[str, Any]) -> Any:
    return proto.AnalyzerResource(
        type="aws:s3/bucketV2:BucketV2",
        urn=f"urn:pulumi:dev::p::aws:s3/bucketV2:BucketV2::{name}",
        name=name,
        properties=_struct(props),
    )


PROPERTIES = {"logs": {"acl": "private"}, "copy": {"acl": "private"}, "site": {"acl": "public-read", "n": 2.5}}


def test_given_the_sdk_servicer_when_stack_policies_run_then_each_sees_every_resources_own_properties() -> None:
    share_stack_decoding(engine)
    seen: dict[str, list[tuple[str, dict[str, Any]]]] = {"first": [], "second": []}

    def recorder(name: str) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, _report: Any) -> None:
            seen[name] += [(resource.name, dict(resource.props)) for resource in args.resources]

        return StackValidationPolicy(name=name, description=name, validate=validate)

    servicer = engine._PolicyAnalyzerServicer(
        "pack", "1.0.0", [recorder("first"), recorder("second")], EnforcementLevel.ADVISORY
    )

    servicer.AnalyzeStack(
        proto.AnalyzeStackRequest(resources=[_resource(name, props) for name, props in PROPERTIES.items()]), None
    )

    expected = list(PROPERTIES.items())
    assert seen["first"] == expected
    assert seen["second"] == expected


def test_given_the_sdk_servicer_when_resource_policies_analyse_one_resource_then_they_read_one_shared_view() -> None:
    share_stack_decoding(engine)
    views: list[Any] = []

    def recorder(name: str) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, _report: Any) -> None:
            views.append(args.props)

        return ResourceValidationPolicy(name=name, description=name, validate=validate)

    servicer = engine._PolicyAnalyzerServicer(
        "pack", "1.0.0", [recorder("first"), recorder("second")], EnforcementLevel.ADVISORY
    )
    resource = _resource("site", PROPERTIES["site"])

    servicer.Analyze(
        proto.AnalyzeRequest(type=resource.type, urn=resource.urn, name=resource.name, properties=resource.properties),
        None,
    )

    assert [dict(view) for view in views] == [PROPERTIES["site"], PROPERTIES["site"]]
    assert views[0] is views[1]


def test_given_the_sdk_servicer_when_a_stack_policy_writes_a_property_then_the_analysis_fails_loudly() -> None:
    share_stack_decoding(engine)

    def validate(args: StackValidationArgs, _report: Any) -> None:
        args.resources[0].props["acl"] = "public-read"

    servicer = engine._PolicyAnalyzerServicer(
        "pack",
        "1.0.0",
        [StackValidationPolicy(name="writer", description="w", validate=validate)],
        EnforcementLevel.ADVISORY,
    )

    with pytest.raises(ResourcePropertiesAreReadOnly):
        servicer.AnalyzeStack(proto.AnalyzeStackRequest(resources=[_resource("logs", PROPERTIES["logs"])]), None)


def test_given_an_sdk_without_the_servicer_when_installing_then_it_fails_loudly() -> None:
    with pytest.raises(AttributeError):
        share_stack_decoding(types.ModuleType("pulumi_policy_without_servicer"))
