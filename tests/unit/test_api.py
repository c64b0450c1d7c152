"""API Gateway: routes, keys, throttling, caching, logs, tracing, and the scoped invoke permission."""

from __future__ import annotations

import json

from offline.harness import run_program
from tests.unit.support import PROJECT_ROOT, resource_by_id

METHOD = "aws:apigateway/method:Method"


def methods(run):
    """(path, HTTP method) -> method record, with each resource's full path rebuilt."""
    resources = {r.id: r for r in run.of_type("aws:apigateway/resource:Resource")}

    def path_of(resource_id):
        resource = resources.get(resource_id)
        if resource is None:
            return ""
        parent = path_of(resource.inputs["parentId"])
        return f"{parent}/{resource.inputs['pathPart']}" if parent else resource.inputs["pathPart"]

    return {(path_of(m.inputs["resourceId"]), m.inputs["httpMethod"]): m for m in run.of_type(METHOD)}


def test_the_api_is_regional(stack_run):
    (api,) = stack_run.of_type("aws:apigateway/restApi:RestApi")
    assert api.inputs["endpointConfiguration"]["types"] == "REGIONAL"


def test_every_documented_route_exists(stack_run):
    assert set(methods(stack_run)) >= {
        ("health", "GET"),
        ("health/ready", "GET"),
        ("orders", "GET"),
        ("orders", "POST"),
        ("orders/{order_id}", "GET"),
        ("orders/batch", "POST"),
        ("orders/async", "POST"),
        ("{proxy+}", "ANY"),
    }


def test_only_health_routes_are_open_without_an_api_key(stack_run):
    open_routes = {path for (path, _), m in methods(stack_run).items() if not m.inputs["apiKeyRequired"]}
    assert open_routes == {"health", "health/ready"}


def test_every_method_proxies_to_the_api_alias(stack_run):
    alias = stack_run.named("aws:lambda/alias:Alias", f"serverless-infra-{stack_run.stack}-alias-api")
    integrations = stack_run.of_type("aws:apigateway/integration:Integration")
    assert len(integrations) == len(stack_run.of_type(METHOD))
    for integration in integrations:
        assert integration.inputs["type"] == "AWS_PROXY"
        assert integration.inputs["uri"] == alias.outputs["invokeArn"]


def test_the_invoke_permission_is_scoped_to_this_apis_stage(stack_run):
    (api,) = stack_run.of_type("aws:apigateway/restApi:RestApi")
    (permission,) = [
        p
        for p in stack_run.of_type("aws:lambda/permission:Permission")
        if p.inputs["principal"] == "apigateway.amazonaws.com"
    ]
    assert permission.inputs["sourceArn"] == f"{api.outputs['executionArn']}/v1/*/*"
    assert permission.inputs["qualifier"] == "live"


def test_the_stage_traces_caches_and_writes_json_access_logs(stack_run):
    (stage,) = stack_run.of_type("aws:apigateway/stage:Stage")
    assert stage.inputs["xrayTracingEnabled"] is True
    assert stage.inputs["cacheClusterEnabled"] is True
    log_format = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert log_format["requestId"] == "$context.requestId"
    destination = stage.inputs["accessLogSettings"]["destinationArn"]
    group = next(g for g in stack_run.of_type("aws:cloudwatch/logGroup:LogGroup") if g.outputs["arn"] == destination)
    assert group.inputs["kmsKeyId"]


def method_settings(run):
    return {
        m.inputs["methodPath"]: m.inputs["settings"]
        for m in run.of_type("aws:apigateway/methodSettings:MethodSettings")
    }


def test_the_stage_throttles_every_method(stack_run):
    settings = method_settings(stack_run)["*/*"]
    config = stack_run.config.values
    assert int(settings["throttlingRateLimit"]) == int(config["serverless-infra:apiThrottleRateLimit"])
    assert int(settings["throttlingBurstLimit"]) == int(config["serverless-infra:apiThrottleBurstLimit"])
    assert settings["dataTraceEnabled"] is False


def test_no_method_settings_bill_detailed_per_method_metrics(stack_run):
    """Detailed CloudWatch metrics are billed as custom metrics; the stage's default metrics remain."""
    enabled = {path for path, settings in method_settings(stack_run).items() if settings["metricsEnabled"] is not False}
    assert enabled == set()
    assert "*/*" in method_settings(stack_run)


def escaped(path, method):
    """A method's stage-settings path: the resource path with '/' escaped as '~1'."""
    return f"{path.replace('/', '~1')}/{method}"


def test_every_method_settings_path_names_an_existing_method(stack_run):
    """UpdateStage paths escape '/' inside the resource path as '~1'; anything else names no method."""
    known = {escaped(f"/{path}", method) for path, method in methods(stack_run)}
    paths = set(method_settings(stack_run)) - {"*/*"}
    assert paths
    assert paths <= known


def test_method_settings_apply_one_after_another_after_the_stage_wide_ones(stack_run):
    records = {m.inputs["methodPath"]: m for m in stack_run.of_type("aws:apigateway/methodSettings:MethodSettings")}
    (stage,) = stack_run.of_type("aws:apigateway/stage:Stage")
    assert records["*/*"].inputs["stageName"] == stage.outputs["stageName"]
    for path, record in records.items():
        if path != "*/*":
            assert len(set(record.dependencies) & {r.urn for r in records.values()}) == 1, path


def test_write_routes_have_their_own_lower_limit(stack_run):
    settings = method_settings(stack_run)
    limit = int(stack_run.config.values["serverless-infra:apiWriteThrottleRateLimit"])
    for path in ("~1orders/POST", "~1orders~1batch/POST", "~1orders~1async/POST"):
        assert int(settings[path]["throttlingRateLimit"]) == limit, path
        assert settings[path]["cachingEnabled"] is False


def test_get_routes_are_cached_encrypted_and_keyed_by_their_parameters(stack_run):
    settings = method_settings(stack_run)
    for path in ("~1orders/GET", "~1orders~1{order_id}/GET"):
        assert settings[path]["cachingEnabled"] is True
        assert settings[path]["cacheDataEncrypted"] is True
    integrations = {
        (resource_by_id(stack_run, i.inputs["resourceId"]).inputs["pathPart"], i.inputs["httpMethod"]): i
        for i in stack_run.of_type("aws:apigateway/integration:Integration")
    }
    assert integrations[("{order_id}", "GET")].inputs["cacheKeyParameters"] == [
        "method.request.header.x-api-key",
        "method.request.path.order_id",
    ]
    assert "method.request.querystring.cursor" in integrations[("orders", "GET")].inputs["cacheKeyParameters"]


def test_given_two_callers_then_no_cached_read_is_shared_between_their_keys(stack_run):
    """Orders are scoped to the caller's key, and the stage cache is shared: the key must be in the cache key.

    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html (cache keys)
    """
    for integration in stack_run.of_type("aws:apigateway/integration:Integration"):
        if integration.inputs.get("cacheKeyParameters"):
            assert "method.request.header.x-api-key" in integration.inputs["cacheKeyParameters"]


API_KEY = "aws:apigateway/apiKey:ApiKey"
USAGE_PLAN_KEY = "aws:apigateway/usagePlanKey:UsagePlanKey"


def test_api_key_holders_are_on_a_usage_plan(stack_run):
    (plan,) = stack_run.of_type("aws:apigateway/usagePlan:UsagePlan")
    keys = stack_run.of_type(API_KEY)
    links = {(link.inputs["keyId"], link.inputs["usagePlanId"]) for link in stack_run.of_type(USAGE_PLAN_KEY)}
    assert links == {(key.id, plan.id) for key in keys}
    assert plan.inputs["quotaSettings"]["period"] == "DAY"


def test_given_the_default_configuration_then_two_callers_each_have_a_key(stack_run):
    assert len(stack_run.of_type(API_KEY)) == 2  # apiKeyCount's default in Pulumi.yaml
    assert len(stack_run.of_type(USAGE_PLAN_KEY)) == 2


def test_given_api_key_count_3_then_three_keys_and_the_first_keeps_the_name_existing_stacks_have(archive_overrides):
    run = run_program(PROJECT_ROOT, "dev", config_overrides={**archive_overrides, "serverless-infra:apiKeyCount": "3"})
    keys = run.of_type(API_KEY)
    assert len(keys) == len(run.of_type(USAGE_PLAN_KEY)) == 3
    first = run.named(API_KEY, "serverless-infra-dev-api-key")  # its resource name: not replaced on upgrade
    assert first.inputs["name"] == "serverless-infra-dev-api-key"
    assert len({key.name for key in keys}) == 3
    (exported,) = [output for name, output in run.outputs.items() if name == "apiKeyId"]
    assert exported == first.id  # apiKey/apiKeyId stay the first key's


def test_the_api_key_value_is_exported_only_as_a_secret(stack_run):
    assert "apiKey" in stack_run.secret_outputs
    assert stack_run.outputs["apiUrl"].endswith("/v1")


def test_a_custom_domain_gets_a_validated_certificate_mapping_and_alias_record(archive_overrides):
    run = run_program(
        PROJECT_ROOT,
        "dev",
        config_overrides={
            **archive_overrides,
            "serverless-infra:customDomainName": "orders.example.com",
            "serverless-infra:customDomainZoneId": "Z0123456789ABC",
        },
    )
    (domain,) = run.of_type("aws:apigateway/domainName:DomainName")
    assert domain.inputs["securityPolicy"] == "TLS_1_2"
    assert len(run.of_type("aws:acm/certificateValidation:CertificateValidation")) == 1
    assert len(run.of_type("aws:apigateway/basePathMapping:BasePathMapping")) == 1
    assert {r.inputs["type"] for r in run.of_type("aws:route53/record:Record")} == {"CNAME", "A"}
    assert run.outputs["apiUrl"] == "https://orders.example.com"
    (api,) = run.of_type("aws:apigateway/restApi:RestApi")
    assert api.inputs["disableExecuteApiEndpoint"] is True
