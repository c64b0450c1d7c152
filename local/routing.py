"""API Gateway's way of matching a request to the REST API's resources and methods.

The methods are the program's (:attr:`local.blueprint.ApiBlueprint.methods`, read from its
``aws.apigateway.Method`` resources), never a table of their own. Matching follows API Gateway: a
literal path segment beats a path variable, which beats a greedy ``{proxy+}``; a method falls back
to ANY on the same resource; a path with no resource is not matched (API Gateway answers 403
"Missing Authentication Token").
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-set-up-simple-proxy.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from local.blueprint import MethodBlueprint


@dataclass(frozen=True)
class Match:
    """A request matched to a method, with the path parameters its resource binds."""

    method: MethodBlueprint
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


def match(path: str, http_method: str, methods: Sequence[MethodBlueprint]) -> Match | None:
    """The method of ``methods`` a request for ``path`` (without the stage) and ``http_method`` reaches."""
    segments = [segment for segment in path.split("/") if segment]
    best: tuple[int, str, dict[str, str]] | None = None
    for resource in dict.fromkeys(method.resource_path for method in methods):
        bound = _bind(resource, segments)
        if bound is not None and (best is None or bound[0] > best[0]):
            best = (bound[0], resource, bound[1])
    if best is None:
        return None
    _, resource, parameters = best
    on_resource = {method.http_method: method for method in methods if method.resource_path == resource}
    chosen = on_resource.get(http_method.upper()) or on_resource.get("ANY")
    return Match(chosen, parameters) if chosen is not None else None
