"""API Gateway's own answers: throttling and quota 429s, Lambda throttles, and the program's gateway responses.

https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
These run the gateway in-process with a fake function (they need aiohttp; see conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

from local.blueprint import GatewayResponseBlueprint


def _burst_of_one(blueprints, **changes):
    return blueprints.api(method_settings=[blueprints.settings("*/*", rate=1, burst=1)], **changes)


def _key(blueprints, value=None):
    return [("x-api-key", value or blueprints.key_value)]


# -- API Gateway's defaults -------------------------------------------------------------------------------
def test_given_a_drained_stage_bucket_when_a_request_arrives_then_api_gateway_answers_429_too_many_requests(
    blueprints, gateway, call, function
):
    stage = gateway(_burst_of_one(blueprints))
    call(stage, "GET", "/v1/health")

    throttled = call(stage, "GET", "/v1/health")

    assert throttled.status == 429
    assert throttled.body == {"message": "Too Many Requests"}
    assert throttled.header("x-amzn-ErrorType") == "TooManyRequestsException"
    assert throttled.header("Content-Type") == "application/json"
    assert len(function.calls) == 1


def test_given_a_throttled_method_when_a_second_passes_then_the_next_request_reaches_the_function(
    blueprints, gateway, call, clock
):
    stage = gateway(_burst_of_one(blueprints))
    call(stage, "GET", "/v1/health")
    assert call(stage, "GET", "/v1/health").status == 429

    clock.advance(1)

    assert call(stage, "GET", "/v1/health").status == 200


def test_given_a_used_up_quota_when_the_key_calls_again_then_api_gateway_answers_429_limit_exceeded(
    blueprints, gateway, call
):
    stage = gateway(blueprints.api(usage_plans=[blueprints.plan(quota=1, period="DAY")]))
    assert call(stage, "GET", "/v1/orders", headers=_key(blueprints)).status == 200

    exceeded = call(stage, "GET", "/v1/orders", headers=_key(blueprints))

    assert exceeded.status == 429
    assert exceeded.body == {"message": "Limit Exceeded"}
    assert exceeded.header("x-amzn-ErrorType") == "LimitExceededException"


def test_given_two_keys_on_plans_of_their_own_when_one_key_is_throttled_then_the_other_is_served(
    blueprints, gateway, call
):
    api = blueprints.api(
        usage_plans=[
            blueprints.plan(["small"], name="small", rate=1, burst=1),
            blueprints.plan(["large"], name="large", rate=10, burst=10),
        ],
        api_keys=["small", "large"],
    )
    stage = gateway(api, api_keys={"s" * 40: "small", "l" * 40: "large"})
    call(stage, "GET", "/v1/orders", headers=_key(blueprints, "s" * 40))

    assert call(stage, "GET", "/v1/orders", headers=_key(blueprints, "s" * 40)).status == 429
    assert call(stage, "GET", "/v1/orders", headers=_key(blueprints, "l" * 40)).status == 200


def test_given_a_key_in_no_usage_plan_when_it_calls_a_keyed_method_then_api_gateway_answers_403(
    blueprints, gateway, call, function
):
    stage = gateway(blueprints.api(), api_keys={blueprints.key_value: "unplanned-key"})

    refused = call(stage, "GET", "/v1/orders", headers=_key(blueprints))

    assert refused.status == 403
    assert refused.body == {"message": "Forbidden"}
    assert function.calls == []


def test_given_a_method_without_a_key_when_the_usage_plan_throttle_is_tiny_then_it_does_not_apply(
    blueprints, gateway, call
):
    stage = gateway(blueprints.api(usage_plans=[blueprints.plan(rate=0, burst=0)]))

    statuses = [call(stage, "GET", "/v1/health").status for _ in range(3)]

    assert statuses == [200, 200, 200]


def test_given_no_blueprint_when_a_burst_arrives_then_nothing_is_throttled(blueprints, gateway, call):
    stage = gateway(None, methods=blueprints.api().methods)

    statuses = {call(stage, "GET", "/v1/health").status for _ in range(20)}

    assert statuses == {200}


def test_given_a_lambda_throttle_when_no_response_is_declared_then_api_gateway_answers_500_internal_server_error(
    blueprints, gateway, call, function
):
    function.throttled = True
    stage = gateway(blueprints.api())

    answer = call(stage, "GET", "/v1/health")

    assert answer.status == 500
    assert answer.body == {"message": "Internal server error"}
    assert answer.header("x-amzn-ErrorType") == "InternalServerErrorException"


def test_given_a_method_declaring_a_short_integration_timeout_when_the_function_hangs_then_504_answers(
    blueprints, gateway, call, function
):
    function.hangs = True
    api = blueprints.api()
    quick = replace(api.methods[0], integration_timeout_ms=50)
    stage = gateway(replace(api, methods=(quick, *api.methods[1:])))

    answer = call(stage, "GET", "/v1/health")

    assert (answer.status, answer.body) == (504, {"message": "Endpoint request timed out"})


def test_the_stage_is_named_as_the_program_declares_it(blueprints, gateway, call):
    api = blueprints.api()
    stage = gateway(replace(api, stage_name="live"))

    assert call(stage, "GET", "/live/health").status == 200
    assert call(stage, "GET", "/v1/health").status == 403


# -- the program's gateway responses ----------------------------------------------------------------------
def _response(response_type, status_code=None, template=None, **headers):
    return GatewayResponseBlueprint(
        response_type=response_type,
        status_code=status_code,
        response_templates={"application/json": template} if template else {},
        response_parameters={f"gatewayresponse.header.{name}": value for name, value in headers.items()},
    )


def test_given_a_declared_throttled_response_when_throttled_then_its_status_template_and_headers_are_used(
    blueprints, gateway, call
):
    declared = _response(
        "THROTTLED",
        "503",
        '{"error": {"type": "$context.error.responseType", "message": $context.error.messageString}}',
        **{"Retry-After": "'1'"},
    )
    stage = gateway(_burst_of_one(blueprints, responses=[declared]))
    call(stage, "GET", "/v1/health")

    throttled = call(stage, "GET", "/v1/health")

    assert throttled.status == 503
    assert throttled.body == {"error": {"type": "THROTTLED", "message": "Too Many Requests"}}
    assert throttled.header("Retry-After") == "1"


def test_given_a_declared_response_without_status_when_used_then_the_types_default_status_stays(
    blueprints, gateway, call
):
    stage = gateway(_burst_of_one(blueprints, responses=[_response("THROTTLED", template='{"busy": true}')]))
    call(stage, "GET", "/v1/health")

    throttled = call(stage, "GET", "/v1/health")

    assert (throttled.status, throttled.body) == (429, {"busy": True})


def test_given_a_declared_api_configuration_error_when_lambda_throttles_then_that_response_answers(
    blueprints, gateway, call, function
):
    function.throttled = True
    declared = _response("API_CONFIGURATION_ERROR", "503", '{"retry": true}', **{"Retry-After": "'2'"})
    stage = gateway(blueprints.api(responses=[declared]))

    answer = call(stage, "GET", "/v1/health")

    assert (answer.status, answer.body, answer.header("Retry-After")) == (503, {"retry": True}, "2")


def test_given_only_integration_failure_declared_when_lambda_throttles_then_the_default_500_answers(
    blueprints, gateway, call, function
):
    """INTEGRATION_FAILURE's documented default is 504; a Lambda throttle is documented as a 500."""
    function.throttled = True
    stage = gateway(blueprints.api(responses=[_response("INTEGRATION_FAILURE", "503", '{"x": 1}')]))

    answer = call(stage, "GET", "/v1/health")

    assert (answer.status, answer.body) == (500, {"message": "Internal server error"})


def test_given_a_declared_default_5xx_when_lambda_throttles_then_the_fallback_answers_with_its_status(
    blueprints, gateway, call, function
):
    function.throttled = True
    stage = gateway(blueprints.api(responses=[_response("DEFAULT_5XX", "503", '{"message": "try later"}')]))

    answer = call(stage, "GET", "/v1/health")

    assert (answer.status, answer.body) == (503, {"message": "try later"})


def test_given_a_declared_default_4xx_when_a_path_has_no_resource_then_its_template_and_header_apply(
    blueprints, gateway, call
):
    declared = _response(
        "DEFAULT_4XX",
        template='{"message": $context.error.messageString, "requestId": "$context.requestId"}',
        **{"Access-Control-Allow-Origin": "'*'"},
    )
    api = blueprints.api(responses=[declared])
    stage = gateway(replace(api, methods=(blueprints.method("/health", "GET", api_key=False),)))

    missing = call(stage, "GET", "/v1/nowhere")

    assert missing.status == 403
    assert missing.body == {"message": "Missing Authentication Token", "requestId": "request-id"}
    assert missing.header("Access-Control-Allow-Origin") == "*"


def test_given_a_header_mapped_from_the_request_when_the_response_is_sent_then_it_carries_the_requests_value(
    blueprints, gateway, call
):
    declared = _response("INVALID_API_KEY", **{"X-Echo": "method.request.header.X-Client"})
    stage = gateway(blueprints.api(responses=[declared]))

    refused = call(stage, "GET", "/v1/orders", headers=[("X-Client", "mobile"), ("x-api-key", "wrong")])

    assert (refused.status, refused.header("X-Echo")) == (403, "mobile")
