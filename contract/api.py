"""The HTTP API: its stage and its routes, defined once.

The program declares exactly these routes in API Gateway (each with its own key requirement,
throttling and caching), the function answers them and tells a wrong method from an unknown path
with them, and the policy pack admits exactly the key-less ones. Paths are API Gateway resource
paths without the leading slash (``orders/{order_id}``); :attr:`Route.url_path` adds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

STAGE: Final = "v1"
"""The API Gateway stage every URL starts with (``https://{api}.execute-api.{region}.amazonaws.com/v1``)."""

CACHE_KEY_CALLER: Final = "header.x-api-key"
"""The caller's key is part of every cache key: orders are scoped to the caller, and a response cached
for one key must never be served to another (the cache is shared by the stage)."""


@dataclass(frozen=True)
class Route:
    """One method on one resource path."""

    path: str  # without leading slash, e.g. "orders/{order_id}"
    method: str
    api_key: bool
    cached: bool = False
    write: bool = False
    cache_key: tuple[str, ...] = ()  # method.request.* parameters that vary the cached response

    @property
    def url_path(self) -> str:
        """The path as a caller writes it, e.g. ``/orders/{order_id}``."""
        return f"/{self.path}"

    @property
    def templated(self) -> bool:
        """Whether the path has a parameter (``{order_id}``, ``{proxy+}``)."""
        return "{" in self.path

    @property
    def method_path(self) -> str:
        """The stage-settings path of this method: the resource path with each '/' escaped as '~1'.

        ``orders/{order_id}`` GET is ``~1orders~1{order_id}/GET``; an unescaped path names no method,
        so its settings would never apply. https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html
        """
        return f"~1{self.path.replace('/', '~1')}/{self.method}"


ROUTES: Final = (
    Route("health", "GET", api_key=False),
    Route("health/ready", "GET", api_key=False),
    Route(
        "orders",
        "GET",
        api_key=True,
        cached=True,
        cache_key=(CACHE_KEY_CALLER, "querystring.customer_id", "querystring.limit", "querystring.cursor"),
    ),
    Route("orders", "POST", api_key=True, write=True),
    Route("orders/{order_id}", "GET", api_key=True, cached=True, cache_key=(CACHE_KEY_CALLER, "path.order_id")),
    Route("orders/batch", "POST", api_key=True, write=True),
    Route("orders/async", "POST", api_key=True, write=True),
    Route("{proxy+}", "ANY", api_key=True),
)
"""The routes the API serves; ``{proxy+}`` sends every other path to the function (404 in its error shape)."""


def fallback_routes() -> tuple[Route, ...]:
    """An ANY method on each declared path, so a wrong method reaches the function (405 in its error shape).

    It asks for a key exactly when the path's declared methods do.
    """
    paths = sorted({route.path for route in ROUTES if route.method != "ANY"})
    return tuple(
        Route(path, "ANY", api_key=any(r.api_key for r in ROUTES if r.path == path and r.method != "ANY"))
        for path in paths
    )


def public_methods() -> tuple[str, ...]:
    """The methods callable without an API key, as ``VERB /path``: the health checks and their fallbacks."""
    return tuple(f"{r.method} {r.url_path}" for r in (*ROUTES, *fallback_routes()) if not r.api_key)


def fixed_path_methods() -> dict[str, frozenset[str]]:
    """The methods of each path without a parameter (``/orders``: GET and POST), as the function routes them."""
    methods: dict[str, set[str]] = {}
    for route in ROUTES:
        if not route.templated and route.method != "ANY":
            methods.setdefault(route.url_path, set()).add(route.method)
    return {path: frozenset(verbs) for path, verbs in methods.items()}
