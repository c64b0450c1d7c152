"""Decode each resource once per AnalyzeStack call, not once per stack policy.

The CrossGuard SDK's AnalyzeStack (pulumi-policy ``policy.py``, ``_PolicyAnalyzerServicer``) turns
every resource's protobuf ``Struct`` into a dict with ``json_format.MessageToDict`` inside its loop
over stack policies: with the pack's 40 stack policies and a stack of 220 resources that is 8,800
conversions of 220 distinct messages, most of the pack's time on a stack. The verdicts do not depend
on it, so the conversion is shared: while one AnalyzeStack call runs on a thread, a message whose
deterministic serialization was converted before in that call gets the same dict back.

Sharing the dict is safe there because the SDK only hands it to ``deserialize_properties``, which
builds new dicts and lists around it and never writes to it; a policy never sees the shared object.
Outside AnalyzeStack (Analyze, Configure, whose policy config a policy does see) nothing is shared,
and the memo is dropped when the call returns. Everything else keeps the SDK's own path, so the pack
runs the same under ``pulumi preview --policy-pack policies`` and under the offline gate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from google.protobuf import json_format  # type: ignore[import-untyped]

_INSTALLED = "_serverless_infra_shared_decoding"


class _SharedConversions:
    """``json_format`` for the SDK's policy module: MessageToDict memoized within one AnalyzeStack call."""

    def __init__(self, original: ModuleType) -> None:
        self._original = original
        self._calls = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)

    def within_stack_analysis(self, run: Callable[[], Any]) -> Any:
        """Run one AnalyzeStack call with a memo of its own on this thread."""
        self._calls.memo = {}
        try:
            return run()
        finally:
            self._calls.memo = None

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (the SDK's name)
        memo: dict[bytes, Any] | None = getattr(self._calls, "memo", None)
        if memo is None or args or kwargs:
            return self._original.MessageToDict(message, *args, **kwargs)
        key = message.SerializeToString(deterministic=True)
        converted = memo.get(key)
        if converted is None:
            converted = memo[key] = self._original.MessageToDict(message)
        return converted


def share_stack_decoding(engine: ModuleType) -> None:
    """Install the shared conversion in the SDK's policy module ``engine`` (``pulumi_policy.policy``).

    Idempotent. Fails loudly if the SDK no longer has the servicer and its AnalyzeStack, so an upgrade
    that moves them is noticed by the tests rather than silently losing the speed-up.
    """
    servicer = engine._PolicyAnalyzerServicer
    if getattr(servicer, _INSTALLED, False):
        return
    conversions = _SharedConversions(json_format)
    original_analyze_stack = servicer.AnalyzeStack

    def analyze_stack(self: Any, request: Any, context: Any) -> Any:
        return conversions.within_stack_analysis(lambda: original_analyze_stack(self, request, context))

    analyze_stack.__doc__ = original_analyze_stack.__doc__
    setattr(engine, "json_format", conversions)  # noqa: B010 (a module attribute the SDK reads)
    servicer.AnalyzeStack = analyze_stack
    setattr(servicer, _INSTALLED, True)
