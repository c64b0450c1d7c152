"""The orders HTTP API behind API Gateway (REST proxy events), built on powertools' event handler.

Routes validate their input from type annotations, so the OpenAPI document (function/openapi.json)
is generated from this module. Every response carries X-Correlation-Id; every error is
``{"error": {"code", "message", "correlation_id"}}`` and never contains a stack trace or SQL.
"""

import json
import os
import time
import uuid
from http import HTTPStatus
from typing import Annotated, Any, Final, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from contract.api import fixed_path_methods
from contract.workloads import workload
from orders import snapstart
from orders.config import SettingsSource, prepare_client
from orders.database import Database, Role
from orders.domain import Accepted, NewOrder, NewOrders, Order, OrderPage, parse_customer_id, parse_order_id
from orders.errors import (
    BadRequest,
    DatabaseUnavailable,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    Unavailable,
)
from orders.http_input import JSON_MEDIA_TYPE, body_text, check_json_body, check_media_type
from orders.observability import logger, metrics, tracer
from orders.service import OrdersService

CORRELATION_HEADER = "X-Correlation-Id"
CORRELATION_MAX = 128
MAX_BODY_BYTES = 1024 * 1024
ROUTES = fixed_path_methods()  # the API's paths without a parameter and their methods (contract.api)

app = APIGatewayRestResolver(enable_validation=True)
_service: OrdersService | None = None
prepare_client()  # in the init phase (and so in a SnapStart snapshot), not on the first request's clock
snapstart.install(lambda: _service.database if _service is not None else None)  # when SnapStart restores


def service() -> OrdersService:
    """Created on first use and kept for the life of the execution environment."""
    global _service
    if _service is None:
        source = SettingsSource(categories=workload("api").parameter_categories)
        _service = OrdersService(
            settings=source, database=Database(source), queue_url=os.environ.get("ORDERS_QUEUE_URL")
        )
    return _service


def remaining_ms() -> int:
    context = getattr(app, "lambda_context", None)
    return int(context.get_remaining_time_in_millis()) if context is not None else 25_000


def caller_id() -> str:
    """The caller: the id of the API key API Gateway authenticated (see docs/design.md, "Callers and isolation").

    Every data route requires a key at the gateway, so a request without one did not come through it.
    The reserved caller of orders without a known caller is nobody's key id, whatever sends it.
    """
    from orders.repository import UNASSIGNED_CALLER

    key_id = app.current_event.request_context.identity.api_key_id
    if not key_id or key_id == UNASSIGNED_CALLER:
        raise Forbidden("this route needs an API key (x-api-key)")
    return str(key_id)


IDEMPOTENCY_HEADER_DESCRIPTION = "Makes retries safe: the same key and body again answers as the first time"
REPLAYED_HEADER = "Idempotent-Replayed"
"""Set to "true" on an answer replayed for an Idempotency-Key, so a client can tell a retry's answer apart."""


def correlation_id() -> str:
    return str(logger.get_correlation_id() or app.current_event.request_context.request_id or uuid.uuid4())


class ErrorDetail(BaseModel):
    code: str
    message: str
    correlation_id: str
    details: list[dict[str, Any]] = Field(default_factory=list, description="Present when fields are at fault")


class ErrorResponse(BaseModel):
    """The body of every error the function returns (documented for the statuses routes declare)."""

    error: ErrorDetail


def documented_error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorResponse}}}


def error_body(error: ServiceError, correlation: str) -> str:
    body: dict[str, Any] = {"error": {"code": error.code, "message": error.message, "correlation_id": correlation}}
    if error.details:
        body["error"]["details"] = error.details
    return json.dumps(body)


def error_headers(error: ServiceError, correlation: str) -> dict[str, str]:
    headers = {CORRELATION_HEADER: correlation}
    if isinstance(error, Unavailable):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    return headers


def log_refusal(error: ServiceError) -> None:
    """One line per refused request, carrying the request id and the caller's correlation id (both keys)."""
    logger.info("request refused", extra={"status": error.status, "code": error.code})


def error_response(error: ServiceError) -> Response[Any]:
    log_refusal(error)
    correlation = correlation_id()
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(error, correlation),
        headers=error_headers(error, correlation),
    )


def rejected_before_routing(event: dict[str, Any]) -> ServiceError | None:
    """Body size, media type and a strict parse of the body, before validation would parse it leniently.

    Only a route that takes a body gets the body checks: another method on it is a 405 from routing,
    not a complaint about a body the route would never read. An accepted media type is rewritten to
    its canonical spelling, because powertools compares it case-sensitively (``APPLICATION/JSON``
    would otherwise be a 500 from its validation middleware).
    """
    method = event.get("httpMethod")
    if method not in ("POST", "PUT", "PATCH"):
        return None
    body = event.get("body") or ""
    if len(body.encode()) > MAX_BODY_BYTES * (4 / 3 if event.get("isBase64Encoded") else 1):
        return PayloadTooLarge(f"the request body exceeds {MAX_BODY_BYTES} bytes")
    if method not in ROUTES.get(str(event.get("path")), set()):
        return None
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    try:
        check_media_type(headers.get("content-type"))
        check_json_body(body_text(event.get("body"), bool(event.get("isBase64Encoded"))))
    except ServiceError as error:
        return error
    for field in ("headers", "multiValueHeaders"):
        for key in [key for key in event.get(field) or {} if key.lower() == "content-type"]:
            event[field][key] = [JSON_MEDIA_TYPE] if field == "multiValueHeaders" else JSON_MEDIA_TYPE
    return None


def add_correlation_header(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    response = next_middleware(app)
    response.headers[CORRELATION_HEADER] = correlation_id()
    return response


app.use(middlewares=[add_correlation_header])


@app.exception_handler(ServiceError)  # type: ignore[untyped-decorator]
def _service_error(error: ServiceError) -> Response[Any]:
    return error_response(error)


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def _invalid_request(error: RequestValidationError) -> Response[Any]:
    details = [
        {"field": ".".join(str(part) for part in item.get("loc", ()) if part != "body"), "problem": item.get("msg", "")}
        for item in error.errors()
    ]
    if any(item.get("type") == "json_invalid" for item in error.errors()):
        return error_response(BadRequest("the request body is not valid JSON"))
    return error_response(BadRequest("the request is not valid", details))


@app.not_found
def _not_found(_: NotFoundError) -> Response[Any]:
    path = app.current_event.path
    one_order = path.startswith("/orders/") and path.count("/") == 2
    allowed = ROUTES.get(path) or ({"GET"} if one_order else None)
    if one_order and app.current_event.http_method == "GET":
        # GET /orders/<order_id> exists: the id has characters the route's pattern refuses, so it is no UUID.
        try:
            parse_order_id(path.rsplit("/", 1)[-1])
        except BadRequest as error:
            return error_response(error)
    if allowed:
        return error_response(
            MethodNotAllowed(
                f"{app.current_event.http_method} is not allowed here; use {', '.join(sorted(allowed))}", allowed
            )
        )
    return error_response(NotFound(f"no route {path}"))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def _unexpected(error: Exception) -> Response[Any]:
    logger.exception("unhandled error")
    return error_response(ServiceError("an internal error occurred; quote the correlation id when reporting it"))


@app.get("/health")
def health() -> dict[str, str]:
    """Liveness: no dependency is touched."""
    return {"status": "ok"}


@app.get(
    "/health/ready",
    responses={200: {"description": "Ready"}, 503: documented_error("A dependency is unavailable")},
)
def ready() -> dict[str, str]:
    """Readiness: parameters load and both database roles answer.

    The probe's outcome (ready or not) is reused for READY_PROBE_TTL_S: /health/ready needs no API key,
    so without this anyone could turn a flood of requests into a flood of database connections.
    """
    global _last_probe
    now, current = time.monotonic(), service()
    if _last_probe is None or _last_probe[0] is not current or now - _last_probe[1] >= READY_PROBE_TTL_S:
        _last_probe = (current, now, _probe_dependencies())
    failure = _last_probe[2]
    if failure is not None:
        raise type(failure)(failure.message)
    return {"status": "ready"}


READY_PROBE_TTL_S = 5
_last_probe: tuple[OrdersService, float, DatabaseUnavailable | None] | None = None
"""The service probed, when, and what failed (None: ready)."""


def _probe_dependencies() -> DatabaseUnavailable | None:
    try:
        service().settings.load()
    except Exception:
        return DatabaseUnavailable("configuration is unavailable")
    try:
        for role in (Role.WRITER, Role.READER):
            service().database.ping(role)
    except DatabaseUnavailable as error:
        return error
    return None


@app.post(
    "/orders",
    responses={201: {"description": "Created"}, 409: documented_error("Idempotency-Key reused with another body")},
)
@tracer.capture_method
def create_order(
    order: NewOrder,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DESCRIPTION)
    ] = None,
) -> Response[Order]:
    stored, created = service().create(order, caller_id(), idempotency_key, remaining_ms)
    if created:
        metrics.add_metric(name="OrdersCreated", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="OrderAmount", unit=MetricUnit.Count, value=order.amount_minor)
    return Response(
        status_code=HTTPStatus.CREATED,
        content_type=content_types.APPLICATION_JSON,
        body=stored,
        headers={} if created else {REPLAYED_HEADER: "true"},
    )


@app.post("/orders/batch", responses={201: {"description": "Created"}, 413: documented_error("Too many orders")})
@tracer.capture_method
def create_orders(
    batch: NewOrders,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DESCRIPTION)
    ] = None,
) -> Response[list[Order]]:
    created, replayed = service().create_batch(batch, caller_id(), idempotency_key, remaining_ms)
    if not replayed:
        metrics.add_metric(name="OrdersCreated", unit=MetricUnit.Count, value=len(created))
    return Response(
        status_code=HTTPStatus.CREATED,
        content_type=content_types.APPLICATION_JSON,
        body=created,
        headers={REPLAYED_HEADER: "true"} if replayed else {},
    )


@app.post(
    "/orders/async",
    responses={
        202: {
            "description": "Accepted; once the worker has created the order, GET /orders/{event_id} returns it"
            " (under an order_id of its own)"
        }
    },
)
@tracer.capture_method
def create_order_async(
    order: NewOrder,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="The same key answers with the same event_id, and the order is created once",
        ),
    ] = None,
) -> Response[Accepted]:
    """Queue the order; once the worker has created it, GET /orders/{event_id} returns it (with its own order_id)."""
    accepted = service().enqueue(order, caller_id(), correlation_id(), idempotency_key)
    return Response(status_code=HTTPStatus.ACCEPTED, content_type=content_types.APPLICATION_JSON, body=accepted)


READ_ONE_CONSISTENCY = (
    "The caller's order by its order_id, or by the event_id POST /orders/async answered with. Read your "
    "writes: the read goes to the reader endpoint, and a miss there is asked of the writer before the "
    "answer is 404, so a GET right after the order's POST finds it (an async order: once the worker has "
    "created it). Where the stage cache is on (apiCacheTtlS), an answer may come from it for up to that "
    "many seconds."
)
LIST_CONSISTENCY = (
    "The caller's orders, newest first, in pages (next_cursor continues). Eventually consistent: a "
    "list is read from the reader endpoint only. On stacks without RDS Proxy (dev, staging) that is a "
    "read replica, whose asynchronous replication can lag the primary (alarm db-replica-<n>-lag), so an "
    "order created a moment ago may not be listed yet; with RDS Proxy (prod) it is the primary, and a "
    "list shows every order whose create has answered. Where the stage cache is on (apiCacheTtlS), a "
    "page may come from it for up to that many seconds. To see one's own write at once, GET "
    "/orders/{order_id}."
)


@app.get("/orders/<order_id>", description=READ_ONE_CONSISTENCY)
@tracer.capture_method
def get_order(order_id: str) -> Order:
    """The caller's order by its order_id, or by the event_id an async create answered with.

    The route's pattern also matches the fixed paths beside it (``/orders/batch``): a GET there is
    a method that path does not serve (405), not an order id that is no UUID (400).
    """
    sibling = ROUTES.get(f"/orders/{order_id}")
    if sibling is not None:
        raise MethodNotAllowed(f"GET is not allowed here; use {', '.join(sorted(sibling))}", sibling)
    return service().get(parse_order_id(order_id), caller_id(), remaining_ms)


PAGE_SIZE_DESCRIPTION = "Page size: 1 to the stack's apiMaxPageSize (at most 1000); default apiDefaultPageSize"


@app.get("/orders", description=LIST_CONSISTENCY)
@tracer.capture_method
def list_orders(
    customer_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000, description=PAGE_SIZE_DESCRIPTION)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> OrderPage:
    customer = None if customer_id is None else parse_customer_id(customer_id)
    return service().page(caller_id(), customer, limit, cursor, remaining_ms)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    # The gateway's request id identifies this request; the caller's correlation id may span many of
    # them (retries, a workflow), so both are logged, each under its own key.
    logger.append_keys(request_id=(event.get("requestContext") or {}).get("requestId"))
    client_correlation = str(headers.get("x-correlation-id") or "")[:CORRELATION_MAX]
    if client_correlation.isprintable() and client_correlation.strip():
        logger.set_correlation_id(client_correlation)
    rejected = rejected_before_routing(event)
    if rejected is not None:
        log_refusal(rejected)
        correlation = str(logger.get_correlation_id() or uuid.uuid4())
        return {
            "statusCode": rejected.status,
            "headers": {"Content-Type": content_types.APPLICATION_JSON, **error_headers(rejected, correlation)},
            "body": error_body(rejected, correlation),
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)


ERROR_SCHEMA: Final = {"$ref": "#/components/schemas/ErrorResponse"}


def _error_response(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}, **extra}


def _document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Document the errors the routes really answer with, which the generator cannot see.

    powertools documents request validation as 422 with its own body; this API answers 400 with its
    error body (see ``_invalid_request``). The body checks, the not-found lookup and the database
    outage happen in middleware and in the service, so their statuses are added here.
    """
    components = document["components"]
    components.setdefault("securitySchemes", {})[API_KEY_SCHEME] = {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "API Gateway checks the key; its id is the caller, who sees only its own orders",
    }
    components["schemas"]["GatewayError"] = {
        "type": "object",
        "properties": {"message": {"type": "string"}},
        "required": ["message"],
        "description": "An error API Gateway answers itself, before the function is invoked",
    }
    for path, operations in document["paths"].items():
        allowed = sorted(method.upper() for method in operations)
        for method, operation in operations.items():
            responses: dict[str, Any] = operation["responses"]
            responses.pop("422", None)
            for status, description in GATEWAY_ERRORS.items():
                responses.setdefault(status, _gateway_error(description))
            responses["405"] = _method_not_allowed(allowed)
            if path in ("/health", "/health/ready"):
                continue
            operation["security"] = [{API_KEY_SCHEME: []}]
            responses["403"] = _gateway_error("Missing or unknown API key (x-api-key)")
            replayed = {"schema": {"type": "string", "enum": ["true"]}, "description": "Present on a replay"}
            if method == "post" and path != "/orders/async":
                responses["201"].setdefault("headers", {})[REPLAYED_HEADER] = replayed
            responses["400"] = _error_response("Invalid request; error.details names the fields at fault")
            if method == "post":
                _document_idempotency_key(operation)
                too_large = responses.get("413", {}).get("description", "")
                body_limit = f"The body exceeds {MAX_BODY_BYTES} bytes"
                responses["413"] = _error_response(f"{too_large}; or: {body_limit}" if too_large else body_limit)
                responses["415"] = _error_response("The body is not application/json")
            if path == "/orders/{order_id}":
                _document_order_id(operation)
                responses["404"] = _error_response(
                    "None of the caller's orders has this id (nor was created from an async event with it)"
                )
            retry_after = {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying"}
            responses["503"] = _error_response(
                "A dependency (the database, or the queue for async orders) is unavailable; retry later",
                headers={"Retry-After": retry_after},
            )
    _link_operations(document)
    _drop_unreferenced_schemas(document["components"]["schemas"], document)
    return cast(dict[str, Any], _integral_bounds(document))


def _document_order_id(operation: dict[str, Any]) -> None:
    """State the form ``parse_order_id`` accepts: the route takes the id as text and checks it itself
    (so a wrong one gets its specific message), which the generator documents as any string."""
    from orders.domain import CANONICAL_UUID_PATTERN

    for parameter in operation["parameters"]:
        if parameter["in"] == "path" and parameter["name"] == "order_id":
            parameter["schema"] |= {"format": "uuid", "pattern": CANONICAL_UUID_PATTERN}
            parameter["description"] = "An order_id, or the event_id of an async order: a lowercase, hyphenated UUID"


def _document_idempotency_key(operation: dict[str, Any]) -> None:
    """State what the service accepts as an Idempotency-Key (``service._scoped_key``): 1 to
    IDEMPOTENCY_KEY_MAX printable characters. The pattern is the visible ASCII a header value carries
    (RFC 9110 field values; a space only inside), a subset of what the service accepts."""
    from orders.service import IDEMPOTENCY_KEY_MAX

    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"].lower() == "idempotency-key":
            parameter["schema"] = {
                "type": "string",
                "minLength": 1,
                "maxLength": IDEMPOTENCY_KEY_MAX,
                "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$",
                "title": parameter["schema"].get("title", "Idempotency-Key"),
                "description": parameter.get("description", ""),
            }


def _method_not_allowed(allowed: list[str]) -> dict[str, Any]:
    """The 405 of a path, documented on each of its operations (OpenAPI has no place for the methods a
    path does not serve; schemathesis checks an unlisted method against the path's operations).

    API Gateway sends every method to the function (an ANY method on each resource), which answers
    in the API's error shape with the Allow header RFC 9110 requires (see ``_not_found``).
    """
    methods = ", ".join(allowed)
    return _error_response(
        f"Another method than {methods} on this path (error.code method_not_allowed)",
        headers={
            "Allow": {
                "required": True,
                "schema": {"type": "string", "enum": [methods]},
                "description": "The methods this path serves",
            }
        },
    )


GET_ORDER, LIST_ORDERS = ("/orders/{order_id}", "get"), ("/orders", "get")
LINKS: Final = {
    ("/orders", "post", "201"): {
        "GetCreatedOrder": (GET_ORDER, {"order_id": "$response.body#/order_id"}, "The order just created"),
        "ListCustomersOrders": (
            LIST_ORDERS,
            {"customer_id": "$response.body#/customer_id"},
            "The caller's orders of the same customer (see GET /orders on when a list shows a new order)",
        ),
    },
    ("/orders/batch", "post", "201"): {
        "GetFirstCreatedOrder": (GET_ORDER, {"order_id": "$response.body#/0/order_id"}, "The batch's first order"),
    },
    ("/orders/async", "post", "202"): {
        "GetOrderByEventId": (
            GET_ORDER,
            {"order_id": "$response.body#/event_id"},
            "The order once the worker has created it (404 until then)",
        ),
    },
    ("/orders", "get", "200"): {
        "GetListedOrder": (GET_ORDER, {"order_id": "$response.body#/orders/0/order_id"}, "The page's first order"),
        "NextPage": (LIST_ORDERS, {"cursor": "$response.body#/next_cursor"}, "The next page, when next_cursor is set"),
    },
}
"""OpenAPI links: (path, method, status) -> name -> ((target path, method), parameters, description).

They say which value of a response feeds which request, so a client (and the stateful tests) can
follow an order from its creation to its reads (https://spec.openapis.org/oas/v3.1.0#link-object).
"""


def _link_operations(document: dict[str, Any]) -> None:
    """Add LINKS to the responses, naming each target by the operationId the generator gave it."""
    paths = document["paths"]
    for (path, method, status), links in LINKS.items():
        paths[path][method]["responses"][status]["links"] = {
            name: {
                "operationId": paths[target_path][target_method]["operationId"],
                "parameters": parameters,
                "description": description,
            }
            for name, ((target_path, target_method), parameters, description) in links.items()
        }


API_KEY_SCHEME = "apiKey"
GATEWAY_ERRORS: Final = {
    "429": "Throttled by the usage plan or the stage; retry with backoff",
    "502": "The function failed or answered malformed (API Gateway's own body)",
    "504": "The function did not answer within the integration timeout",
}


def _gateway_error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayError"}}},
    }


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _integral_bounds(node: Any) -> Any:
    """Write whole-number bounds as integers: the generator types them as floats (``1000.0``)."""
    if isinstance(node, dict):
        return {
            key: int(value)
            if key in _BOUNDS and isinstance(value, float) and value.is_integer()
            else _integral_bounds(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_integral_bounds(item) for item in node]
    return node


def _drop_unreferenced_schemas(schemas: dict[str, Any], document: dict[str, Any]) -> None:
    """Remove component schemas nothing refers to any more (the 422 body's), until none is left."""
    while True:
        unused = [
            name
            for name in schemas
            if f'"#/components/schemas/{name}"'
            not in json.dumps(
                {
                    **document,
                    "components": {"schemas": {other: schema for other, schema in schemas.items() if other != name}},
                }
            )
        ]
        if not unused:
            return
        for name in unused:
            del schemas[name]


def openapi_document() -> str:
    """The API's OpenAPI document, generated from the routes above (saved as function/openapi.json)."""
    generated = json.loads(app.get_openapi_json_schema(title="Orders API", version="1.0.0"))
    return json.dumps(_document_errors(generated), indent=2, ensure_ascii=False) + "\n"


__all__ = ["app", "handler", "openapi_document"]
