"""Policy documents (identity, trust and resource policies) as the controls read them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policies.rules import get, items


def statements(document: object, effect: str) -> Iterator[object]:
    """The statements of a document with ``effect`` ("Allow" or "Deny")."""
    for statement in items(get(document, "Statement")):
        if get(statement, "Effect") == effect:
            yield statement


def principals(statement: object, *kinds: str) -> list[object]:
    """The principals a statement names, of ``kinds`` ("AWS", "Service", "Federated"; every kind when none):
    ``["*"]`` for ``"Principal": "*"``."""
    principal = get(statement, "Principal")
    if principal == "*":
        return ["*"]
    if not isinstance(principal, Mapping):
        return []
    return [p for kind in (kinds or tuple(principal)) for p in items(get(principal, kind))]
