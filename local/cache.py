"""The stage cache of API Gateway, as the program declares it.

"Cache settings for REST APIs in API Gateway"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html) is the
source of every rule here:

- A method's responses are cached only when the stage has a cache cluster and the method's
  settings enable caching. Enabling it stage-wide (``*/*``) enables it for GET methods only; a
  method's own settings enable or disable it for that method ("only GET methods have caching
  enabled by default ... You can enable caching for other methods by overriding method settings").
- The TTL is the settings' ``cacheTtlInSeconds`` (the method's own, else the stage-wide one),
  300 s when unset, at most 3600 s; a TTL of 0 disables caching.
- Responses larger than 1,048,576 bytes are not cached.
- An entry is keyed by the request's method and resource path and by the values of the method's
  cache key parameters (``method.request.querystring.*``, ``.header.*``, ``.path.*``, ...), so a
  path parameter varies the entry only when it is declared as a cache key.
- A client invalidates an entry with ``Cache-Control: max-age=0``. When the settings require
  authorization for that (``requireAuthorizationForCacheControl``, on unless set off), only a caller
  allowed ``execute-api:InvalidateCache`` may; for anyone else ``unauthorizedCacheControlHeaderStrategy``
  decides: ``FAIL_WITH_403`` refuses the request, ``SUCCEED_WITH_RESPONSE_HEADER`` ignores the header
  and adds a warning header to the response (the default), ``SUCCEED_WITHOUT_RESPONSE_HEADER``
  ignores it silently.

The local stack has no IAM, so no caller can hold ``execute-api:InvalidateCache``: a request counts
as authorized only when it is SigV4-signed (an ``Authorization: AWS4-HMAC-SHA256 ...`` header), the
precondition the page sets for an authorized invalidation; the signature itself is not checked.
Which statuses API Gateway caches is not documented; here only 2xx responses are stored, so an
error is never replayed. The wording of the warning header is local (the page does not give it).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from local.blueprint import ApiBlueprint, MethodBlueprint, MethodSettingsBlueprint
from local.throttling import MethodKey, MethodRef, settings_for

DEFAULT_TTL_S: Final = 300
MAX_TTL_S: Final = 3600
MAX_CACHED_BYTES: Final = 1_048_576
DEFAULT_STRATEGY: Final = "SUCCEED_WITH_RESPONSE_HEADER"
WARNING_HEADER: Final = ("Warning", '199 - "Cache-Control header ignored: not authorized to invalidate the cache"')
SIGV4_PREFIX: Final = "AWS4-HMAC-SHA256"


class Invalidation(enum.Enum):
    NONE = "none"  # no Cache-Control: max-age=0
    ALLOWED = "allowed"  # the entry is refreshed from the integration
    REFUSED = "refused"  # FAIL_WITH_403
    IGNORED_WITH_WARNING = "ignored_with_warning"
    IGNORED = "ignored"


@dataclass(frozen=True)
class CachePolicy:
    """How one method's responses are cached."""

    ttl_s: int
    require_authorization: bool
    unauthorized_strategy: str


@dataclass(frozen=True)
class CachedResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stored_at: float


@dataclass(frozen=True)
class CacheRequest:
    """What the cache key and invalidation read of a request."""

    http_method: str
    query: Sequence[tuple[str, str]]
    headers: Sequence[tuple[str, str]]
    path_parameters: Mapping[str, str]


CacheKey = tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]]


def policy_for(
    method: MethodRef, settings: Sequence[MethodSettingsBlueprint], cluster_enabled: bool
) -> CachePolicy | None:
    """The cache policy of ``method``; None when its responses are not cached."""
    if not cluster_enabled:
        return None
    own, stage = settings_for(MethodKey(method.resource_path, method.http_method), settings)
    if own is not None:
        enabled = own.caching_enabled
    else:
        enabled = stage is not None and stage.caching_enabled and method.http_method.upper() == "GET"
    if not enabled:
        return None
    levels = [level for level in (own, stage) if level is not None]  # the method's own first
    ttl = next((level.cache_ttl_s for level in levels if level.cache_ttl_s is not None), DEFAULT_TTL_S)
    if ttl <= 0:
        return None
    require = next(
        (
            level.require_authorization_for_cache_control
            for level in levels
            if level.require_authorization_for_cache_control is not None
        ),
        True,
    )
    strategy = next(
        (
            level.unauthorized_cache_control_header_strategy
            for level in levels
            if level.unauthorized_cache_control_header_strategy
        ),
        DEFAULT_STRATEGY,
    )
    return CachePolicy(ttl_s=min(ttl, MAX_TTL_S), require_authorization=require, unauthorized_strategy=strategy)


def _header_values(headers: Sequence[tuple[str, str]], name: str) -> tuple[str, ...]:
    return tuple(value for key, value in headers if key.lower() == name.lower())


def cache_key(method: MethodRef, request: CacheRequest, parameters: Sequence[str]) -> CacheKey:
    """The entry a request reads and writes: method, resource path and the cache key parameters' values."""
    parts: list[tuple[str, tuple[str, ...]]] = []
    for parameter in parameters:
        location, _, name = parameter.removeprefix("method.request.").partition(".")
        if location in ("querystring", "multivaluequerystring"):
            values = tuple(value for key, value in request.query if key == name)
            parts.append((parameter, values if location.startswith("multi") else values[-1:]))
        elif location in ("header", "multivalueheader"):
            values = _header_values(request.headers, name)
            parts.append((parameter, values if location.startswith("multi") else values[-1:]))
        elif location == "path":
            value = request.path_parameters.get(name)
            parts.append((parameter, () if value is None else (value,)))
    return request.http_method.upper(), method.resource_path, tuple(parts)


def _wants_invalidation(headers: Sequence[tuple[str, str]]) -> bool:
    for value in _header_values(headers, "Cache-Control"):
        for directive in value.split(","):
            name, _, argument = directive.strip().partition("=")
            if name.strip().lower() == "max-age" and argument.strip().strip('"') == "0":
                return True
    return False


def _signed(headers: Sequence[tuple[str, str]]) -> bool:
    return any(value.strip().startswith(SIGV4_PREFIX) for value in _header_values(headers, "Authorization"))


def invalidation(policy: CachePolicy, headers: Sequence[tuple[str, str]]) -> Invalidation:
    """What a request's ``Cache-Control`` asks of the cache, and whether the caller may."""
    if not _wants_invalidation(headers):
        return Invalidation.NONE
    if not policy.require_authorization or _signed(headers):
        return Invalidation.ALLOWED
    return {
        "FAIL_WITH_403": Invalidation.REFUSED,
        "SUCCEED_WITHOUT_RESPONSE_HEADER": Invalidation.IGNORED,
    }.get(policy.unauthorized_strategy, Invalidation.IGNORED_WITH_WARNING)


class StageCache:
    """The entries of one stage's cache cluster, expiring by an injected clock."""

    def __init__(self, api: ApiBlueprint, clock: Callable[[], float]) -> None:
        self._api = api
        self._clock = clock
        self._entries: dict[CacheKey, CachedResponse] = {}

    def policy(self, method: MethodRef) -> CachePolicy | None:
        return policy_for(method, self._api.method_settings, self._api.cache_cluster_enabled)

    def key_parameters(self, method: MethodRef) -> tuple[str, ...]:
        """The cache key parameters the program declares on the method's integration."""
        for candidate in self._api.methods:
            if _same_method(candidate, method):
                return candidate.cache_key_parameters
        return ()

    def key(self, method: MethodRef, request: CacheRequest) -> CacheKey:
        return cache_key(method, request, self.key_parameters(method))

    def lookup(self, key: CacheKey, policy: CachePolicy) -> CachedResponse | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() - entry.stored_at >= policy.ttl_s:
            del self._entries[key]
            return None
        return entry

    def store(self, key: CacheKey, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> bool:
        """Keep a response for its TTL; returns whether it was cacheable (2xx, at most 1 MiB)."""
        if not 200 <= status < 300 or len(body) > MAX_CACHED_BYTES:
            return False
        self._entries[key] = CachedResponse(status, tuple(headers), body, self._clock())
        return True


def _same_method(candidate: MethodBlueprint, method: MethodRef) -> bool:
    return (
        candidate.resource_path == method.resource_path and candidate.http_method.upper() == method.http_method.upper()
    )
