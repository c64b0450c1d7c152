"""The API front: REST proxy events powertools parses, API keys, and API Gateway's own answers."""

from __future__ import annotations

import asyncio
import base64
import json
import socket

import httpx
from aiohttp import web
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from local.gateway import ApiGateway, IncomingRequest, build_event
from local.runtime import FunctionPool
from tests.e2e.stack.support import dev_blueprint, dev_methods, match, spec

KEY = "k" * 40
STAGE = dev_blueprint().api.stage_name  # the program's stage


async def _serve(gateway: ApiGateway) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(gateway.application())
    await runner.setup()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    await web.SockSite(runner, listener).start()
    return runner, f"http://127.0.0.1:{listener.getsockname()[1]}"


def _exchange(calls, *, integration_timeout_s: float = 29.0, concurrency: int = 2):
    """Run ``calls(client, base_url)`` against a gateway in front of the API probe."""

    async def main():
        pool = FunctionPool(spec("probe.api", concurrency=concurrency, timeout_s=10.0))
        gateway = ApiGateway(
            pool.invoke, KEY, stage=STAGE, integration_timeout_s=integration_timeout_s, methods=dev_methods()
        )
        runner, base = await _serve(gateway)
        try:
            async with httpx.AsyncClient(base_url=f"{base}/{STAGE}", timeout=30) as client:
                return await calls(client)
        finally:
            await runner.cleanup()
            await pool.close()

    return asyncio.run(main())


def test_the_event_parses_with_powertools_and_carries_the_request():
    async def calls(client):
        return await client.post(
            "/echo?tag=a&tag=b&single=x",
            content=b'{"a": 1}',
            headers=[("x-api-key", KEY), ("Content-Type", "application/json"), ("X-Multi", "1"), ("X-Multi", "2")],
        )

    response = _exchange(calls)
    assert response.status_code == 200
    event = json.loads(response.text)
    parsed = APIGatewayProxyEventModel.model_validate(event)
    assert parsed.resource == "/{proxy+}"
    assert parsed.path == "/echo"
    assert parsed.pathParameters == {"proxy": "echo"}
    assert parsed.httpMethod == "POST"
    assert parsed.requestContext.stage == "v1"
    assert parsed.requestContext.path == "/v1/echo"
    assert parsed.requestContext.requestId == response.headers["x-amzn-RequestId"]
    assert parsed.multiValueQueryStringParameters == {"tag": ["a", "b"], "single": ["x"]}
    assert parsed.queryStringParameters == {"tag": "b", "single": "x"}
    assert parsed.multiValueHeaders["X-Multi"] == ["1", "2"]
    assert parsed.headers["x-api-key"] == KEY
    assert parsed.body == '{"a": 1}'
    assert parsed.isBase64Encoded is False


def test_path_parameters_and_literal_resources_match_as_api_gateway_matches_them():
    assert match("/orders/42", "GET").method.resource == "/orders/{order_id}"
    assert match("/orders/42", "GET").path_parameters == {"order_id": "42"}
    assert match("/orders/batch", "POST").method.resource == "/orders/batch"
    assert match("/orders/batch", "GET").method.http_method == "ANY"
    assert match("/orders/42/items", "GET").method.resource == "/{proxy+}"
    assert match("/health", "GET").method.api_key is False
    assert match("/health", "DELETE").method.api_key is False
    assert match("/", "GET") is None


def test_binary_media_types_arrive_base64_encoded():
    matched = match("/orders", "POST")
    request = IncomingRequest(
        "POST", "/orders", [], [("Content-Type", "application/octet-stream")], b"\x00\xff", "127.0.0.1", "h"
    )
    event = build_event(
        request, matched, request_id="r", api_id="a", stage=STAGE, binary_media_types=("application/*",)
    )
    parsed = APIGatewayProxyEventModel.model_validate(event)
    assert parsed.isBase64Encoded is True
    assert base64.b64decode(parsed.body) == b"\x00\xff"


def test_keys_are_enforced_except_on_health_routes():
    async def calls(client):
        return (
            await client.get("/orders"),
            await client.get("/orders", headers={"x-api-key": "wrong"}),
            await client.get("/health"),
            await client.get("/orders", headers={"x-api-key": KEY}),
            await client.get("/", headers={"x-api-key": KEY}),
        )

    missing, wrong, health, good, root = _exchange(calls)
    assert (missing.status_code, missing.json()) == (403, {"message": "Forbidden"})
    assert wrong.status_code == 403
    assert health.status_code == 404  # reached the function (the probe knows no /health)
    assert good.status_code == 404
    assert (root.status_code, root.json()) == (403, {"message": "Missing Authentication Token"})


def test_function_errors_and_malformed_results_are_502():
    async def calls(client):
        headers = {"x-api-key": KEY}
        return await client.get("/malformed", headers=headers), await client.get("/boom", headers=headers)

    malformed, boom = _exchange(calls)
    assert (malformed.status_code, malformed.json()) == (502, {"message": "Internal server error"})
    assert (boom.status_code, boom.json()) == (502, {"message": "Internal server error"})


def test_a_slow_integration_is_504_at_the_integration_timeout():
    async def calls(client):
        return await client.get("/slow?s=3", headers={"x-api-key": KEY})

    response = _exchange(calls, integration_timeout_s=1.0)
    assert (response.status_code, response.json()) == (504, {"message": "Endpoint request timed out"})


def test_a_throttled_function_is_500():
    async def calls(client):
        headers = {"x-api-key": KEY}
        return await asyncio.gather(client.get("/slow?s=1", headers=headers), client.get("/slow?s=1", headers=headers))

    responses = _exchange(calls, concurrency=1)
    assert sorted(r.status_code for r in responses) == [200, 500]


def test_results_become_http_with_multi_value_headers_and_base64_bodies():
    async def calls(client):
        return await client.get("/binary", headers={"x-api-key": KEY})

    response = _exchange(calls)
    assert response.status_code == 201
    assert response.content == bytes(range(256))
    assert response.headers.get_list("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["X-Single"] == "yes"
    assert response.headers["Content-Type"] == "application/octet-stream"


def test_a_body_over_10_mib_is_413():
    async def calls(client):
        return await client.post("/echo", content=b"x" * (10 * 1024 * 1024 + 1), headers={"x-api-key": KEY})

    response = _exchange(calls)
    assert response.status_code == 413
