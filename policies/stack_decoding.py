"""Decode each resource once per analysis call, not once per policy.

The CrossGuard SDK (pulumi-policy ``policy.py``, ``_PolicyAnalyzerServicer``) decodes a resource's
properties inside its loop over policies: ``json_format.MessageToDict``, then
``deserialize_properties``, then ``unknown_checking_proxy``, for every policy. AnalyzeStack does it
for every resource of the stack once per stack policy (the pack's 40 stack policies on a stack of
220 resources: 8,800 decodings of 220 resources), Analyze once per resource policy for the one
resource it is asked about. The verdicts do not depend on it, so within one Analyze or AnalyzeStack
call each resource is decoded once and every policy of that call gets the same read-only view.

Why sharing is safe: the SDK hands policies a proxy (``_DictProxy``) whose only write is item
assignment. The shared proxies are switched to :class:`_ReadOnlyDictProxy`, which refuses it, so a
policy that tried to write to a resource's properties fails loudly instead of changing what the
next policy sees (none of the pack's policies writes). Lists are already read-only
(``_ListProxy`` is a ``Sequence``). Outside Analyze and AnalyzeStack (Configure's policy config,
which policies see and may keep; Remediate, which rewrites properties) nothing is shared, and each
call's memo is dropped when it returns.

Memo keys are the objects themselves, held for the whole call so that no identity is reused: the
properties message (the protobuf runtime hands back the same wrapper for a sub-message while one is
alive), then the dict converted from it, then the dict deserialized from that. Everything else keeps
the SDK's own path, so the pack runs the same under ``pulumi preview --policy-pack policies`` and
under the offline gate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from pulumi_policy.proxy import _DictProxy, _ListProxy

_INSTALLED = "_serverless_infra_shared_decoding"
_SHARED_CALLS = ("Analyze", "AnalyzeStack")


class ResourcePropertiesAreReadOnly(TypeError):
    """A policy tried to change a resource's properties, which every policy of the call shares."""


def _read_only_proxy_class(dict_proxy: type) -> type:
    """The SDK's ``_DictProxy`` without item assignment."""

    def refuse(self: Any, key: Any, value: Any) -> None:
        raise ResourcePropertiesAreReadOnly(
            f"policies must not change resource properties (set {key!r}): every policy of this analysis reads them"
        )

    return type("_ReadOnlyDictProxy", (dict_proxy,), {"__setitem__": refuse, "__slots__": ()})


class _CallMemo:
    """One Analyze/AnalyzeStack call's decodings, by the identity of the object each was made from."""

    def __init__(self) -> None:
        self.converted: dict[int, tuple[Any, Any]] = {}  # id(message) -> (message, its dict)
        self.deserialized: dict[tuple[int, tuple[Any, ...]], tuple[Any, Any]] = {}  # (id(dict), args) -> (dict, result)
        self.proxies: dict[int, tuple[Any, Any]] = {}  # id(deserialized) -> (deserialized, its proxy)
        self.converted_ids: set[int] = set()
        self.deserialized_ids: set[int] = set()


class _SharedDecoding:
    """The SDK policy module's three decoding steps, shared within one analysis call on this thread."""

    def __init__(self, engine: ModuleType) -> None:
        self._json_format = engine.json_format
        self._deserialize = engine.deserialize_properties
        self._proxy = engine.unknown_checking_proxy
        self._read_only = _read_only_proxy_class(_DictProxy)
        self._calls = threading.local()
        self.json_format = _JsonFormat(self)

    def _memo(self) -> _CallMemo | None:
        memo: _CallMemo | None = getattr(self._calls, "memo", None)
        return memo

    def within_analysis(self, run: Callable[[], Any]) -> Any:
        """Run one Analyze or AnalyzeStack call with a memo of its own on this thread."""
        self._calls.memo = _CallMemo()
        try:
            return run()
        finally:
            self._calls.memo = None

    def message_to_dict(self, message: Any, *args: Any, **kwargs: Any) -> Any:
        memo = self._memo()
        if memo is None or args or kwargs:
            return self._json_format.MessageToDict(message, *args, **kwargs)
        known = memo.converted.get(id(message))
        if known is None:
            known = memo.converted[id(message)] = (message, self._json_format.MessageToDict(message))
            memo.converted_ids.add(id(known[1]))
        return known[1]

    def deserialize_properties(self, props: Any, *args: Any) -> Any:
        memo = self._memo()
        if memo is None or id(props) not in memo.converted_ids:
            return self._deserialize(props, *args)
        key = (id(props), args)
        known = memo.deserialized.get(key)
        if known is None:
            known = memo.deserialized[key] = (props, self._deserialize(props, *args))
            memo.deserialized_ids.add(id(known[1]))
        return known[1]

    def unknown_checking_proxy(self, props: Any) -> Any:
        memo = self._memo()
        if memo is None or id(props) not in memo.deserialized_ids:
            return self._proxy(props)
        known = memo.proxies.get(id(props))
        if known is None:
            known = memo.proxies[id(props)] = (props, self._read_only_view(self._proxy(props)))
        return known[1]

    def _read_only_view(self, proxy: Any) -> Any:
        """``proxy`` and every dict proxy inside it, without item assignment."""
        pending = [proxy]
        while pending:
            item = pending.pop()
            if isinstance(item, _DictProxy):
                item.__class__ = self._read_only
                pending.extend(item["__target"].values())
            elif isinstance(item, _ListProxy):
                pending.extend(item["__target"])
        return proxy


class _JsonFormat:
    """``json_format`` as the SDK's policy module sees it: MessageToDict shared, the rest its own."""

    def __init__(self, shared: _SharedDecoding) -> None:
        self._shared = shared

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shared._json_format, name)

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (the SDK's name)
        return self._shared.message_to_dict(message, *args, **kwargs)


def share_stack_decoding(engine: ModuleType) -> None:
    """Install the shared decoding in the SDK's policy module ``engine`` (``pulumi_policy.policy``).

    Idempotent. Fails loudly if the SDK no longer has the servicer, its Analyze and AnalyzeStack or
    the three decoding steps, so an upgrade that moves them is noticed by the tests rather than
    silently losing the speed-up.
    """
    servicer = engine._PolicyAnalyzerServicer
    if getattr(servicer, _INSTALLED, False):
        return
    shared = _SharedDecoding(engine)
    for name in _SHARED_CALLS:
        setattr(servicer, name, _within_analysis(shared, getattr(servicer, name)))
    setattr(engine, "json_format", shared.json_format)  # noqa: B010 (module attributes the SDK reads)
    setattr(engine, "deserialize_properties", shared.deserialize_properties)  # noqa: B010
    setattr(engine, "unknown_checking_proxy", shared.unknown_checking_proxy)  # noqa: B010
    setattr(servicer, _INSTALLED, True)


def _within_analysis(shared: _SharedDecoding, call: Callable[..., Any]) -> Callable[..., Any]:
    def analysis(self: Any, request: Any, context: Any) -> Any:
        return shared.within_analysis(lambda: call(self, request, context))

    analysis.__doc__ = call.__doc__
    analysis.__name__ = call.__name__
    return analysis
