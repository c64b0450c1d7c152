"""The API front: API Gateway's REST proxy integration over a loopback HTTP server (aiohttp).

A request under ``/{stage}`` is matched to the program's resources, checked for the API key where
the method requires one, throttled and counted against its usage plan, served from the stage cache
where the method is cached, else turned into the REST proxy event (the shape powertools'
``APIGatewayProxyEventModel`` parses) and handed to the function. The function's proxy result
becomes the HTTP response. Where API Gateway itself answers, this does too, as the gateway response
of that type: the program's ``aws:apigateway/response:Response`` for it if it declares one (its
status, ``application/json`` template and ``gatewayresponse.header.*`` parameters), else the
DEFAULT_4XX/DEFAULT_5XX one it declares, else API Gateway's default, ``{"message": ...}`` with the
type's status ("Gateway response types for API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html):
403 for a missing key or an unknown path, 413 over 10 MiB, 429 when throttled or over quota, 502
for a function error or malformed result, 504 when the integration takes longer than 29 s ("Amazon
API Gateway quotas", https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html), and
500 when Lambda throttles the invocation.

Throttling, quotas and the cache are driven by the program's :class:`~local.blueprint.ApiBlueprint`
(see :mod:`local.throttling` and :mod:`local.cache`); without one the gateway neither throttles nor
caches, as before they were modelled.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import hashlib
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from aiohttp import web
from multidict import CIMultiDict

from contract.naming import REGION
from local import routing
from local.blueprint import ApiBlueprint, GatewayResponseBlueprint, MethodBlueprint
from local.cache import WARNING_HEADER, CacheRequest, Invalidation, StageCache, invalidation
from local.runtime import ACCOUNT_ID, InvocationResult, ThrottledError
from local.throttling import MethodKey, Outcome, Throttle

INTEGRATION_TIMEOUT_S: Final = 29.0
MAX_REQUEST_BYTES: Final = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_LAMBDA_PAYLOAD_BYTES: Final = 6 * 1024 * 1024  # Lambda's synchronous invocation limit, each way
POWERTOOLS_METHODS: Final = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
PROXY_RESULT_KEYS: Final = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})

Invoke = Callable[[bytes], Coroutine[Any, Any, InvocationResult]]
# A request matched to one of the program's methods (local.routing): the blueprint's, or ``methods``.
Match = routing.Match


def _resource_of(matched: Match) -> str:
    return matched.method.resource_path


def _requires_key(matched: Match) -> bool:
    return matched.method.api_key_required


def _timeout_of(matched: Match, stage_timeout_s: float) -> float:
    """The integration's declared timeout (``timeoutInMillis``), never above the gateway's own limit."""
    return min(stage_timeout_s, matched.method.integration_timeout_ms / 1000)


class MalformedResultError(ValueError):
    """The function's result is not a valid Lambda proxy response."""


@dataclass(frozen=True)
class GatewayResponse:
    """An HTTP response, with headers as (name, value) pairs so repeated names survive."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class IncomingRequest:
    """What API Gateway sees of a request, already stripped of the stage prefix."""

    method: str
    path: str  # e.g. "/orders/42"
    query: Sequence[tuple[str, str]]
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str


def gateway_error(status: int, message: str, error_type: str, request_id: str) -> GatewayResponse:
    """A response API Gateway produces itself, in its JSON shape."""
    headers = (
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", error_type),
    )
    return GatewayResponse(status, headers, json.dumps({"message": message}).encode())


def _last_and_all(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _is_binary(content_type: str | None, binary_media_types: Sequence[str]) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatchcase(media_type, pattern.lower()) for pattern in binary_media_types)


def resource_id(resource: str) -> str:
    """A stable 6-character id per resource, like API Gateway's."""
    return hashlib.sha256(resource.encode()).hexdigest()[:6]


def build_event(
    request: IncomingRequest,
    matched: Match,
    *,
    request_id: str,
    api_id: str,
    stage: str,
    api_key: str | None = None,
    binary_media_types: Sequence[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """The REST API proxy integration event for one request."""
    moment = now or datetime.now(UTC)
    headers, multi_headers = _last_and_all(request.headers)
    query, multi_query = _last_and_all(request.query)
    content_type = CIMultiDict(request.headers).get("Content-Type")
    binary = _is_binary(content_type, binary_media_types)
    if not request.body:
        body: str | None = None
    elif binary:
        body = base64.b64encode(request.body).decode()
    else:
        body = request.body.decode("utf-8", errors="replace")
    resource = _resource_of(matched)
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": matched.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": resource_id(resource),
            "resourcePath": resource,
            "httpMethod": request.method,
            "extendedRequestId": secrets.token_urlsafe(12),
            "requestTime": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{request.path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": request.host.split(".", 1)[0],
            "requestTimeEpoch": int(moment.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": CIMultiDict(request.headers).get("User-Agent"),
                "user": None,
                "apiKey": api_key,
                "apiKeyId": hashlib.sha256(api_key.encode()).hexdigest()[:10] if api_key else None,
            },
            "domainName": request.host,
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": binary and body is not None,
    }


def _header_value(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResultError(f"header value {value!r} is not a string or number")


def proxy_result_to_http(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Translate a proxy integration result; raise MalformedResultError where API Gateway answers 502."""
    try:
        result = json.loads(payload)
    except ValueError as error:
        raise MalformedResultError(f"result is not JSON: {error}") from None
    if not isinstance(result, dict):
        raise MalformedResultError("result is not a JSON object")
    unexpected = set(result) - PROXY_RESULT_KEYS
    if unexpected:
        raise MalformedResultError(f"result has fields API Gateway does not accept: {sorted(unexpected)}")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResultError(f"statusCode {status!r} is not an HTTP status")
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResultError("headers and multiValueHeaders must be objects")
    headers: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResultError(f"multiValueHeaders[{name!r}] is not a list")
        headers += [(name, _header_value(value)) for value in values]
    lowered = {name.lower() for name in multi}
    headers += [(name, _header_value(value)) for name, value in single.items() if name.lower() not in lowered]
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResultError("body must be a string")
    is_base64 = result.get("isBase64Encoded", False)
    if not isinstance(is_base64, bool):
        raise MalformedResultError("isBase64Encoded must be a boolean")
    try:
        data = base64.b64decode(body or "", validate=True) if is_base64 else (body or "").encode()
    except binascii.Error as error:
        raise MalformedResultError(f"body is not base64: {error}") from None
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))  # API Gateway's default
    return status, headers, data


# --- gateway responses ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseType:
    """A gateway response type with API Gateway's default status, message and ``x-amzn-ErrorType``."""

    name: str
    status: int
    message: str
    error_type: str


# Default statuses from "Gateway response types for API Gateway"; messages and error types as
# API Gateway sends them. A Lambda throttle is answered with API_CONFIGURATION_ERROR (500): "If the
# Lambda API rejects the invocation request, API Gateway returns a 500 error code" with
# {"message": "Internal server error"} ("Handling Lambda errors with an API Gateway API",
# https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html), and API Gateway
# logs it as "Execution failed due to configuration error: Rate Exceeded." INTEGRATION_FAILURE
# cannot be that response: its documented default status is 504, not 500.
MISSING_AUTHENTICATION_TOKEN: Final = ResponseType(
    "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token", "MissingAuthenticationTokenException"
)
INVALID_API_KEY: Final = ResponseType("INVALID_API_KEY", 403, "Forbidden", "ForbiddenException")
ACCESS_DENIED: Final = ResponseType("ACCESS_DENIED", 403, "Forbidden", "AccessDeniedException")
REQUEST_TOO_LARGE: Final = ResponseType("REQUEST_TOO_LARGE", 413, "Request Too Long", "RequestTooLongException")
THROTTLED: Final = ResponseType("THROTTLED", 429, "Too Many Requests", "TooManyRequestsException")
QUOTA_EXCEEDED: Final = ResponseType("QUOTA_EXCEEDED", 429, "Limit Exceeded", "LimitExceededException")
LAMBDA_THROTTLED: Final = ResponseType(
    "API_CONFIGURATION_ERROR", 500, "Internal server error", "InternalServerErrorException"
)
INTEGRATION_TIMEOUT: Final = ResponseType(
    "INTEGRATION_TIMEOUT", 504, "Endpoint request timed out", "IntegrationTimeout"
)
FUNCTION_ERROR: Final = ResponseType("DEFAULT_5XX", 502, "Internal server error", "InternalServerErrorException")
PAYLOAD_TOO_LARGE: Final = ResponseType("DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException")

_CONTEXT_VARIABLE = re.compile(r"\$(?:\{context\.([A-Za-z.]+)\}|context\.([A-Za-z.]+))")


def _render_template(template: str, variables: Mapping[str, str]) -> str:
    """Substitute ``$context.*`` variables (the gateway responses' mapping templates use only those here)."""

    def value(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(2)
        return variables.get(name, "")

    return _CONTEXT_VARIABLE.sub(value, template)


def _parameter_value(source: str, request: IncomingRequest | None, path_parameters: Mapping[str, str]) -> str | None:
    """A ``gatewayresponse.header.*`` value: a quoted literal or a method request parameter."""
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if request is None:
        return None
    location, _, name = source.removeprefix("method.request.").partition(".")
    if location == "header":
        return CIMultiDict(request.headers).get(name)
    if location == "querystring":
        return dict(request.query).get(name)
    if location == "path":
        return path_parameters.get(name)
    return None


def gateway_response(
    kind: ResponseType,
    request_id: str,
    declared: Mapping[str, GatewayResponseBlueprint],
    *,
    request: IncomingRequest | None = None,
    path_parameters: Mapping[str, str] | None = None,
    message: str | None = None,
) -> GatewayResponse:
    """API Gateway's own answer of type ``kind``, customised as the program declares it.

    The response declared for the type wins; else the DEFAULT_4XX or DEFAULT_5XX one for the
    status class; else API Gateway's default. A declared status code replaces the type's, and the
    fallback's status code applies to every type of its class that declares none ("Changing the
    status code of this fallback gateway response changes the status codes of all other 4XX
    responses"). The template is rendered with ``$context.error.message``,
    ``$context.error.messageString`` (the message as a JSON string), ``$context.error.responseType``
    and ``$context.requestId``; other VTL is not evaluated.
    """
    text = message or kind.message
    family = "DEFAULT_4XX" if kind.status < 500 else "DEFAULT_5XX"
    own, fallback = declared.get(kind.name), declared.get(family)
    status_code = (own.status_code if own else None) or (fallback.status_code if fallback else None)
    status = int(status_code) if status_code else kind.status
    chosen = own or fallback
    headers: list[tuple[str, str]] = []
    body = json.dumps({"message": text}).encode()
    content_type = "application/json"
    if chosen is not None and chosen.response_templates:
        content_type, template = next(
            ((media, text_) for media, text_ in chosen.response_templates.items() if media == "application/json"),
            next(iter(chosen.response_templates.items())),
        )
        variables = {
            "error.message": text,
            "error.messageString": json.dumps(text),
            "error.responseType": kind.name,
            "requestId": request_id,
        }
        body = _render_template(template, variables).encode()
    headers += [("Content-Type", content_type), ("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", kind.error_type)]
    for target, source in chosen.response_parameters.items() if chosen else ():
        if not target.startswith("gatewayresponse.header."):
            continue
        value = _parameter_value(source, request, path_parameters or {})
        if value is not None:
            name = target.removeprefix("gatewayresponse.header.")
            headers = [(key, old) for key, old in headers if key.lower() != name.lower()] + [(name, value)]
    return GatewayResponse(status, tuple(headers), body)


# --- the stage --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _ProxyResult:
    """The function's result as HTTP, before the per-request headers are added."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    latency_ms: int


class ApiGateway:
    """One REST API stage in front of one function.

    ``api`` is what the program declares for the REST API: with it the stage is named as declared,
    requests are throttled and counted against usage-plan quotas, cached methods are served from the
    stage cache, and declared gateway responses are used. ``api_keys`` maps each API key's value to
    its name (the name the usage plans list); without it ``api_key`` is the only key, named as the
    API's first key. ``clock`` (seconds, monotonic) drives token buckets, cache TTLs and the quota
    periods (anchored to the UTC time at construction).
    """

    def __init__(
        self,
        invoke: Invoke,
        api_key: str,
        *,
        stage: str | None = None,
        api_id: str | None = None,
        integration_timeout_s: float = INTEGRATION_TIMEOUT_S,
        binary_media_types: Sequence[str] = (),
        api: ApiBlueprint | None = None,
        api_keys: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        methods: Sequence[MethodBlueprint] = (),
    ) -> None:
        self._invoke = invoke
        self._methods = tuple(methods)  # matched when no ``api`` is given (no throttling, no cache)
        if not stage and api is None:
            raise ValueError("the stage name comes from the program: pass api= (its blueprint) or stage=")
        self.stage = stage or (api.stage_name if api is not None else "")
        self.api_id = api_id or secrets.token_hex(5)
        self._timeout_s = integration_timeout_s
        self._binary_media_types = tuple(binary_media_types)
        self._inflight: set[asyncio.Task[InvocationResult]] = set()
        self._api = api
        default_name = api.api_keys[0] if api is not None and api.api_keys else "local"
        self._keys: dict[str, str] = dict(api_keys) if api_keys else {api_key: default_name}
        self._clock = clock
        started, anchor = clock(), datetime.now(UTC)
        self._throttle = (
            Throttle(api, clock, lambda: anchor + timedelta(seconds=clock() - started)) if api is not None else None
        )
        self._cache = StageCache(api, clock) if api is not None else None
        self._responses: dict[str, GatewayResponseBlueprint] = (
            {response.response_type: response for response in api.gateway_responses} if api is not None else {}
        )

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_cleanup.append(self._drain)
        return app

    async def _drain(self, _: web.Application) -> None:
        for task in self._inflight:
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _to_web(gateway_response(REQUEST_TOO_LARGE, request_id, self._responses))
        incoming = IncomingRequest(
            method=request.method,
            path=request.path,
            query=list(request.query.items()),
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.raw_headers],
            body=body,
            source_ip=request.remote or "127.0.0.1",
            host=request.host,
        )
        return _to_web(await self.respond(incoming, request_id))

    def _match(self, path: str, http_method: str) -> Match | None:
        """The method a request reaches: among the program's methods when the blueprint is given."""
        if self._api is not None:
            return routing.match(path, http_method, self._api.methods)
        return routing.match(path, http_method, self._methods)

    def _key_name(self, supplied: str | None) -> str | None:
        """The name of the API key ``supplied``, if it is one of the stage's keys."""
        if not supplied:
            return None
        for value, name in self._keys.items():
            if secrets.compare_digest(supplied.encode(), value.encode()):
                return name
        return None

    def _key_admitted(self, key_name: str | None) -> bool:
        """A key is accepted when it exists and, where usage plans are declared, one of them covers it.

        A method that requires an API key accepts only keys associated with a usage plan for the
        stage ("Usage plans and API keys for REST APIs in API Gateway",
        https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
        """
        if key_name is None:
            return False
        if self._api is None or self._throttle is None or not self._api.usage_plans:
            return True
        return bool(self._throttle.plans_of(key_name))

    async def respond(self, request: IncomingRequest, request_id: str) -> GatewayResponse:
        """API Gateway's answer to one request (the stage prefix still on the path)."""
        prefix = f"/{self.stage}"
        if request.path != prefix and not request.path.startswith(prefix + "/"):
            return gateway_error(403, "Forbidden", "ForbiddenException", request_id)
        path = request.path[len(prefix) :] or "/"
        if len(path) > 1:
            path = path.rstrip("/") or "/"
        matched = self._match(path, request.method) if request.method in POWERTOOLS_METHODS else None
        if matched is None:
            return gateway_response(MISSING_AUTHENTICATION_TOKEN, request_id, self._responses, request=request)
        answer = self._answer_for(request, request_id, matched.path_parameters)
        supplied = CIMultiDict(request.headers).get("x-api-key")
        requires_key = _requires_key(matched)
        key_name = self._key_name(supplied) if requires_key else None
        if requires_key and not self._key_admitted(key_name):
            return answer(INVALID_API_KEY)
        method = MethodKey(_resource_of(matched), matched.method.http_method)
        if self._throttle is not None:
            outcome = self._throttle.admit(method, key_name)
            if outcome is Outcome.QUOTA_EXCEEDED:
                return answer(QUOTA_EXCEEDED)
            if outcome is Outcome.THROTTLED:
                return answer(THROTTLED)
        local = IncomingRequest(
            request.method, path, request.query, request.headers, request.body, request.source_ip, request.host
        )
        event = build_event(
            local,
            matched,
            request_id=request_id,
            api_id=self.api_id,
            stage=self.stage,
            api_key=supplied if requires_key else None,
            binary_media_types=self._binary_media_types,
        )
        return await self._cached_or_integrated(local, matched, method, json.dumps(event).encode(), request_id)

    def _answer_for(
        self, request: IncomingRequest, request_id: str, path_parameters: Mapping[str, str]
    ) -> Callable[..., GatewayResponse]:
        def answer(kind: ResponseType, message: str | None = None) -> GatewayResponse:
            return gateway_response(
                kind, request_id, self._responses, request=request, path_parameters=path_parameters, message=message
            )

        return answer

    async def _cached_or_integrated(
        self, request: IncomingRequest, matched: Match, method: MethodKey, event: bytes, request_id: str
    ) -> GatewayResponse:
        """Serve from the stage cache where the method is cached, else from the integration."""
        answer = self._answer_for(request, request_id, matched.path_parameters)
        policy = self._cache.policy(method) if self._cache is not None else None
        if self._cache is None or policy is None:
            return self._finish(await self._integrate(event, answer, _timeout_of(matched, self._timeout_s)), request_id)
        wish = invalidation(policy, request.headers)
        if wish is Invalidation.REFUSED:
            resource = (
                f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/{self.stage}/{request.method}{request.path}"
            )
            return answer(
                ACCESS_DENIED,
                f"User: anonymous is not authorized to perform: execute-api:InvalidateCache on resource: {resource}",
            )
        extra = (WARNING_HEADER,) if wish is Invalidation.IGNORED_WITH_WARNING else ()
        key = self._cache.key(
            method, CacheRequest(request.method, request.query, request.headers, matched.path_parameters)
        )
        cached = None if wish is Invalidation.ALLOWED else self._cache.lookup(key, policy)
        if cached is not None:
            return self._finish(_ProxyResult(cached.status, cached.headers, cached.body, 0), request_id, extra)
        result = await self._integrate(event, answer, _timeout_of(matched, self._timeout_s))
        if isinstance(result, _ProxyResult):
            self._cache.store(key, result.status, result.headers, result.body)
        return self._finish(result, request_id, extra)

    def _finish(
        self, result: GatewayResponse | _ProxyResult, request_id: str, extra: Sequence[tuple[str, str]] = ()
    ) -> GatewayResponse:
        if isinstance(result, GatewayResponse):
            return result
        headers = [
            *result.headers,
            *extra,
            ("x-amzn-RequestId", request_id),
            ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"),
            ("x-amz-apigw-id", secrets.token_urlsafe(12)),
            ("X-Local-Integration-Latency-Ms", str(result.latency_ms)),
        ]
        return GatewayResponse(result.status, tuple(headers), result.body)

    async def _integrate(
        self, event: bytes, answer: Callable[..., GatewayResponse], timeout_s: float
    ) -> GatewayResponse | _ProxyResult:
        if len(event) > MAX_LAMBDA_PAYLOAD_BYTES:
            return answer(PAYLOAD_TOO_LARGE)
        # The invocation runs to its own end (Lambda does not stop it when API Gateway gives up).
        task = asyncio.create_task(self._invoke(event))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            return answer(INTEGRATION_TIMEOUT)
        except ThrottledError:
            return answer(LAMBDA_THROTTLED)
        if result.function_error is not None or len(result.payload) > MAX_LAMBDA_PAYLOAD_BYTES:
            return answer(FUNCTION_ERROR)
        try:
            status, headers, body = proxy_result_to_http(result.payload)
        except MalformedResultError:
            return answer(FUNCTION_ERROR)
        return _ProxyResult(status, tuple(headers), body, int((time.monotonic() - started) * 1000))


def _to_web(response: GatewayResponse) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in response.headers:
        if name.lower() in ("content-length", "transfer-encoding", "connection"):
            continue  # the server frames the body itself
        headers.add(name, value)
    return web.Response(status=response.status, headers=headers, body=response.body)
