"""The API front: API Gateway's REST proxy integration over a loopback HTTP server (aiohttp).

A request under ``/{stage}`` is matched to the program's resources, checked for the API key where
the method requires one, turned into the REST proxy event (the shape powertools'
``APIGatewayProxyEventModel`` parses), and handed to the function. The function's proxy result
becomes the HTTP response. Where API Gateway itself answers, this does too, with its status and
``{"message": ...}`` body: 403 for a missing key or an unknown path, 413 over 10 MiB, 502 for a
function error or malformed result, 504 when the integration takes longer than 29 s, and 500
when Lambda throttles the invocation.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web
from multidict import CIMultiDict

from local.functions import ACCOUNT_ID
from local.routes import Match, match
from local.runtime import InvocationResult, ThrottledError

STAGE: Final = "v1"
INTEGRATION_TIMEOUT_S: Final = 29.0
MAX_REQUEST_BYTES: Final = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_LAMBDA_PAYLOAD_BYTES: Final = 6 * 1024 * 1024  # Lambda's synchronous invocation limit, each way
POWERTOOLS_METHODS: Final = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
PROXY_RESULT_KEYS: Final = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})

Invoke = Callable[[bytes], Coroutine[Any, Any, InvocationResult]]


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
    stage: str = STAGE,
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
    resource = matched.method.resource
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


class ApiGateway:
    """One REST API stage in front of one function."""

    def __init__(
        self,
        invoke: Invoke,
        api_key: str,
        *,
        stage: str = STAGE,
        api_id: str | None = None,
        integration_timeout_s: float = INTEGRATION_TIMEOUT_S,
        binary_media_types: Sequence[str] = (),
    ) -> None:
        self._invoke = invoke
        self._api_key = api_key
        self.stage = stage
        self.api_id = api_id or secrets.token_hex(5)
        self._timeout_s = integration_timeout_s
        self._binary_media_types = tuple(binary_media_types)
        self._inflight: set[asyncio.Task[InvocationResult]] = set()

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
            return _to_web(gateway_error(413, "Request Too Long", "RequestTooLongException", request_id))
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

    async def respond(self, request: IncomingRequest, request_id: str) -> GatewayResponse:
        """API Gateway's answer to one request (the stage prefix still on the path)."""
        prefix = f"/{self.stage}"
        if request.path != prefix and not request.path.startswith(prefix + "/"):
            return gateway_error(403, "Forbidden", "ForbiddenException", request_id)
        path = request.path[len(prefix) :] or "/"
        if len(path) > 1:
            path = path.rstrip("/") or "/"
        matched = match(path, request.method) if request.method in POWERTOOLS_METHODS else None
        if matched is None:
            return gateway_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException", request_id)
        supplied = CIMultiDict(request.headers).get("x-api-key")
        if matched.method.api_key and not (supplied and secrets.compare_digest(supplied, self._api_key)):
            return gateway_error(403, "Forbidden", "ForbiddenException", request_id)
        local = IncomingRequest(
            request.method, path, request.query, request.headers, request.body, request.source_ip, request.host
        )
        event = build_event(
            local,
            matched,
            request_id=request_id,
            api_id=self.api_id,
            stage=self.stage,
            api_key=supplied if matched.method.api_key else None,
            binary_media_types=self._binary_media_types,
        )
        return await self._integrate(json.dumps(event).encode(), request_id)

    async def _integrate(self, event: bytes, request_id: str) -> GatewayResponse:
        if len(event) > MAX_LAMBDA_PAYLOAD_BYTES:
            return gateway_error(500, "Internal server error", "InternalServerErrorException", request_id)
        # The invocation runs to its own end (Lambda does not stop it when API Gateway gives up).
        task = asyncio.create_task(self._invoke(event))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(asyncio.shield(task), self._timeout_s)
        except TimeoutError:
            return gateway_error(504, "Endpoint request timed out", "IntegrationTimeout", request_id)
        except ThrottledError:
            return gateway_error(500, "Internal server error", "InternalServerErrorException", request_id)
        if result.function_error is not None or len(result.payload) > MAX_LAMBDA_PAYLOAD_BYTES:
            return gateway_error(502, "Internal server error", "InternalServerErrorException", request_id)
        try:
            status, headers, body = proxy_result_to_http(result.payload)
        except MalformedResultError:
            return gateway_error(502, "Internal server error", "InternalServerErrorException", request_id)
        latency_ms = int((time.monotonic() - started) * 1000)
        headers += [
            ("x-amzn-RequestId", request_id),
            ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"),
            ("x-amz-apigw-id", secrets.token_urlsafe(12)),
            ("X-Local-Integration-Latency-Ms", str(latency_ms)),
        ]
        return GatewayResponse(status, tuple(headers), body)


def _to_web(response: GatewayResponse) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in response.headers:
        if name.lower() in ("content-length", "transfer-encoding", "connection"):
            continue  # the server frames the body itself
        headers.add(name, value)
    return web.Response(status=response.status, headers=headers, body=response.body)
