"""Specifications of the shared decoding in AnalyzeStack (policies/stack_decoding.py)."""

from __future__ import annotations

import types
from typing import Any

import pulumi_policy.policy as engine
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, StackValidationArgs, StackValidationPolicy

from policies.stack_decoding import _SharedConversions, share_stack_decoding


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


class _CountingJsonFormat:
    """A stand-in for ``json_format`` that counts the conversions it makes."""

    def __init__(self) -> None:
        self.conversions = 0

    def MessageToDict(self, message: struct_pb2.Struct) -> Any:  # noqa: N802 (the SDK's name)
        self.conversions += 1
        return json_format.MessageToDict(message)


def test_given_a_stack_analysis_when_equal_messages_are_converted_then_each_distinct_one_is_converted_once() -> None:
    counting = _CountingJsonFormat()
    conversions = _SharedConversions(types.SimpleNamespace(MessageToDict=counting.MessageToDict))  # type: ignore[arg-type]
    first, same_as_first, second = _struct({"a": 1}), _struct({"a": 1}), _struct({"b": [1, 2]})

    def analyse() -> list[Any]:
        return [conversions.MessageToDict(message) for _ in range(3) for message in (first, same_as_first, second)]

    results = conversions.within_stack_analysis(analyse)

    assert counting.conversions == 2
    assert results[:3] == [{"a": 1.0}, {"a": 1.0}, {"b": [1.0, 2.0]}]


def test_given_no_stack_analysis_when_a_message_is_converted_twice_then_nothing_is_shared() -> None:
    counting = _CountingJsonFormat()
    conversions = _SharedConversions(types.SimpleNamespace(MessageToDict=counting.MessageToDict))  # type: ignore[arg-type]
    message = _struct({"policy": {"limit": 5}})

    once, twice = conversions.MessageToDict(message), conversions.MessageToDict(message)

    assert counting.conversions == 2
    assert once == twice
    assert once is not twice  # Configure's policy config reaches policies: never shared


def test_given_a_finished_stack_analysis_when_converting_again_then_its_memo_is_gone() -> None:
    counting = _CountingJsonFormat()
    conversions = _SharedConversions(types.SimpleNamespace(MessageToDict=counting.MessageToDict))  # type: ignore[arg-type]
    message = _struct({"a": "x"})
    conversions.within_stack_analysis(lambda: conversions.MessageToDict(message))

    conversions.MessageToDict(message)

    assert counting.conversions == 2


def _stack_request(properties: dict[str, dict[str, Any]]) -> Any:
    return proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type="aws:s3/bucketV2:BucketV2",
                urn=f"urn:pulumi:dev::p::aws:s3/bucketV2:BucketV2::{name}",
                name=name,
                properties=_struct(props),
            )
            for name, props in properties.items()
        ]
    )


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
    properties = {"logs": {"acl": "private"}, "copy": {"acl": "private"}, "site": {"acl": "public-read", "n": 2.5}}

    servicer.AnalyzeStack(_stack_request(properties), None)

    expected = list(properties.items())
    assert seen["first"] == expected
    assert seen["second"] == expected


def test_given_an_sdk_without_the_servicer_when_installing_then_it_fails_loudly() -> None:
    with pytest.raises(AttributeError):
        share_stack_decoding(types.ModuleType("pulumi_policy_without_servicer"))
