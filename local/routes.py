"""The REST API's resources and methods, and API Gateway's way of matching a request to them.

The table mirrors the program's ``ROUTES`` (infra/serverless_infra/components/api.py), including
the ANY method it adds on every explicit resource; a unit test compares the two so they cannot
drift. It is repeated here, as plain data, because the program's module needs the Pulumi SDK and
the local stack must not. Matching follows API Gateway: a literal segment beats a path variable,
which beats a greedy ``{proxy+}``; a method falls back to ANY on the same resource; a path with no
resource gets 403 "Missing Authentication Token".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Method:
    """One method on one resource: whether it needs the API key."""

    resource: str  # with leading slash, e.g. "/orders/{order_id}"
    http_method: str  # GET, POST, ... or ANY
    api_key: bool


def _methods() -> tuple[Method, ...]:
    explicit = (
        ("health", "GET", False),
        ("health/ready", "GET", False),
        ("orders", "GET", True),
        ("orders", "POST", True),
        ("orders/{order_id}", "GET", True),
        ("orders/batch", "POST", True),
        ("orders/async", "POST", True),
        ("{proxy+}", "ANY", True),
    )
    fallbacks = sorted({path for path, method, _ in explicit if method != "ANY"})
    table = [Method(f"/{path}", method, key) for path, method, key in explicit]
    table += [Method(f"/{path}", "ANY", not path.startswith("health")) for path in fallbacks]
    return tuple(table)


METHODS: Final[tuple[Method, ...]] = _methods()


@dataclass(frozen=True)
class Match:
    """A request matched to a method, with the path parameters its resource binds."""

    method: Method
    path_parameters: dict[str, str]


def _bind(template: str, segments: list[str]) -> tuple[int, dict[str, str]] | None:
    """Bind ``segments`` to a resource template; return (specificity, parameters) or None.

    Specificity ranks literal segments above variables above a greedy variable, as API Gateway
    ranks candidate resources.
    """
    parts = [part for part in template.split("/") if part]
    parameters: dict[str, str] = {}
    score = 0
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if not rest or index != len(parts) - 1:
                return None
            parameters[part[1:-2]] = "/".join(rest)
            return score, parameters
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            parameters[part[1:-1]] = segments[index]
            score += 1
        elif part == segments[index]:
            score += 2
        else:
            return None
    if len(parts) != len(segments):
        return None
    return score + 1_000, parameters  # a full-length match beats any greedy one


def match(path: str, http_method: str) -> Match | None:
    """The method a request for ``path`` (without the stage) and ``http_method`` reaches, if any."""
    segments = [segment for segment in path.split("/") if segment]
    best: tuple[int, str, dict[str, str]] | None = None
    for resource in dict.fromkeys(method.resource for method in METHODS):
        bound = _bind(resource, segments)
        if bound is not None and (best is None or bound[0] > best[0]):
            best = (bound[0], resource, bound[1])
    if best is None:
        return None
    _, resource, parameters = best
    on_resource = {method.http_method: method for method in METHODS if method.resource == resource}
    chosen = on_resource.get(http_method.upper()) or on_resource.get("ANY")
    return Match(chosen, parameters) if chosen is not None else None
