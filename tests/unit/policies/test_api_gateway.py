"""API Gateway: method authorization with a public-route allow-list, execution logging, request
validation and WAF (the last two advisory), cache key parameters declared on their method."""

from __future__ import annotations

import pytest
from pulumi_policy import EnforcementLevel

from policies import api_gateway as a
from tests.unit.policies.conftest import UNKNOWN_STRING, Finder, Resources

AUTH = next(c for c in a.CHECKS if c.control.name == "api-method-authorization")
LOGGING = next(c for c in a.CHECKS if c.control.name == "api-execution-logging")
VALIDATION = next(c for c in a.CHECKS if c.control.name == "api-request-validation")
WAF = next(c for c in a.CHECKS if c.control.name == "api-stage-web-acl")
CACHE_KEYS = next(c for c in a.CHECKS if c.control.name == "api-cache-key-parameters-declared")


def api(resources: Resources, *parts: str):
    rest = resources.add(a.REST_API, "api", {})
    parent = None
    for part in parts:
        deps = {"restApi": [rest]} | ({"parentId": [parent]} if parent else {})
        parent = resources.add(a.API_RESOURCE, f"resource-{part}", {"pathPart": part}, deps=deps)
    return rest, parent


def method(resources: Resources, rest, resource, verb: str, **props):
    return resources.add(
        a.METHOD,
        f"method-{verb.lower()}",
        {"httpMethod": verb, **props},
        deps={"restApi": [rest], "resourceId": [resource]},
    )


@pytest.mark.parametrize(
    "props",
    [{"authorization": "AWS_IAM"}, {"authorization": "NONE", "apiKeyRequired": True}, {"authorization": "CUSTOM"}],
)
def test_given_a_method_with_authorization_or_an_api_key_then_no_finding(resources: Resources, findings: Finder, props):
    rest, orders = api(resources, "orders")
    method(resources, rest, orders, "GET", **props)
    assert findings(AUTH, resources) == []


def test_given_an_open_method_on_an_allow_listed_route_then_no_finding(resources, findings):
    rest, ready = api(resources, "health", "ready")
    method(resources, rest, ready, "GET", authorization="NONE", apiKeyRequired=False)
    assert findings(AUTH, resources) == []


def test_given_an_open_method_elsewhere_then_it_is_refused(resources, findings):
    rest, order = api(resources, "orders", "{order_id}")
    method(resources, rest, order, "DELETE", authorization="NONE")
    assert findings(AUTH, resources) == [
        (
            "DELETE /orders/{order_id} needs neither authorization nor an API key and is not listed in publicMethods",
            "method-delete",
        )
    ]


def test_given_a_configured_allow_list_then_it_replaces_the_default(resources, findings):
    rest, health = api(resources, "health")
    method(resources, rest, health, "GET", authorization="NONE")
    assert findings(AUTH, resources, {"publicMethods": []})


def test_given_unknown_authorization_then_it_is_not_passed(resources, findings):
    rest, orders = api(resources, "orders")
    method(resources, rest, orders, "GET", authorization=UNKNOWN_STRING)
    assert findings(AUTH, resources) == [
        ("authorization or api_key_required is not known during preview", "method-get")
    ]


def stage(resources: Resources):
    rest = resources.add(a.REST_API, "api", {})
    return rest, resources.add(a.STAGE, "stage", {"stageName": "v1"}, deps={"restApi": [rest]})


def settings(resources: Resources, rest, on_stage, name: str, path: str, **values):
    return resources.add(
        a.METHOD_SETTINGS,
        name,
        {"methodPath": path, "stageName": "v1", "settings": values},
        deps={"restApi": [rest], "stageName": [on_stage]},
    )


@pytest.mark.parametrize("level", ["ERROR", "INFO"])
def test_given_stage_wide_execution_logging_then_no_finding(resources, findings, level):
    rest, s = stage(resources)
    settings(resources, rest, s, "all", "*/*", loggingLevel=level)
    settings(resources, rest, s, "one", "~1orders/GET", cachingEnabled=True)
    assert findings(LOGGING, resources) == []


def test_given_a_stage_without_method_settings_then_it_logs_nothing(resources, findings):
    stage(resources)
    assert findings(LOGGING, resources) == [
        ("no '*/*' method setting turns execution logging on (loggingLevel INFO or ERROR)", "stage")
    ]


def test_given_a_method_setting_turning_logging_off_then_it_is_refused(resources, findings):
    rest, s = stage(resources)
    settings(resources, rest, s, "all", "*/*", loggingLevel="ERROR")
    settings(resources, rest, s, "one", "~1orders/GET", loggingLevel="OFF")
    assert findings(LOGGING, resources) == [
        ("settings.loggingLevel is OFF: the methods it covers write no execution logs", "one")
    ]


def test_given_stage_settings_matched_by_literal_stage_name_then_they_count(resources, findings):
    rest, _ = stage(resources)
    resources.add(
        a.METHOD_SETTINGS,
        "all",
        {"methodPath": "*/*", "stageName": "v1", "settings": {"loggingLevel": "ERROR"}},
        deps={"restApi": [rest]},
    )
    assert findings(LOGGING, resources) == []


def test_given_an_unknown_logging_level_then_it_is_reported(resources, findings):
    rest, s = stage(resources)
    settings(resources, rest, s, "all", "*/*", loggingLevel=UNKNOWN_STRING)
    assert findings(LOGGING, resources) == [("settings.loggingLevel is not known during preview", "all")]


def test_request_validation_and_waf_are_advisory():
    assert VALIDATION.control.enforcement == EnforcementLevel.ADVISORY
    assert WAF.control.enforcement == EnforcementLevel.ADVISORY


def test_given_a_body_method_without_a_validator_then_it_is_reported(resources, findings):
    rest, orders = api(resources, "orders")
    method(resources, rest, orders, "POST", authorization="NONE", apiKeyRequired=True)
    method(resources, rest, orders, "GET", authorization="NONE", apiKeyRequired=True)
    assert findings(VALIDATION, resources) == [
        ("POST /orders accepts a body but has no request validator", "method-post")
    ]


@pytest.mark.parametrize("validator", ["validator-id", UNKNOWN_STRING])
def test_given_a_body_method_with_a_validator_then_no_finding(resources, findings, validator):
    rest, orders = api(resources, "orders")
    method(resources, rest, orders, "POST", requestValidatorId=validator)
    assert findings(VALIDATION, resources) == []


def test_given_a_stage_with_a_web_acl_association_then_no_finding(resources, findings):
    _, s = stage(resources)
    resources.add(a.WEB_ACL_ASSOCIATION, "waf", {"resourceArn": UNKNOWN_STRING}, deps={"resourceArn": [s]})
    assert findings(WAF, resources) == []


def test_given_a_stage_without_a_web_acl_then_it_is_reported(resources, findings):
    stage(resources)
    assert findings(WAF, resources) == [("the stage is not associated with a WAF web ACL", "stage")]


def integration(resources: Resources, rest, on_method, *keys: str, deps=None, **props):
    return resources.add(
        a.INTEGRATION,
        "integration",
        {"type": "AWS_PROXY", "cacheKeyParameters": list(keys), **props},
        deps=deps if deps is not None else {"restApi": [rest], "resourceId": [on_method], "httpMethod": [on_method]},
    )


def test_cache_keys_are_a_mandatory_deployability_control():
    assert CACHE_KEYS.control.enforcement == EnforcementLevel.MANDATORY


def test_given_cache_keys_declared_on_the_method_then_no_finding(resources, findings):
    rest, orders = api(resources, "orders")
    get = method(resources, rest, orders, "GET", requestParameters={"method.request.header.x-api-key": False})
    integration(resources, rest, get, "method.request.header.x-api-key")
    assert findings(CACHE_KEYS, resources) == []


def test_given_an_integration_without_cache_keys_then_no_finding(resources, findings):
    rest, orders = api(resources, "orders")
    post = method(resources, rest, orders, "POST")
    resources.add(a.INTEGRATION, "integration", {"type": "AWS_PROXY"}, deps={"httpMethod": [post]})
    assert findings(CACHE_KEYS, resources) == []


def test_given_a_cache_key_the_method_does_not_declare_then_it_is_refused(resources, findings):
    rest, orders = api(resources, "orders")
    get = method(resources, rest, orders, "GET", requestParameters={"method.request.header.x-api-key": False})
    integration(resources, rest, get, "method.request.header.x-api-key", "method.request.querystring.cursor")
    assert findings(CACHE_KEYS, resources) == [
        (
            "cache key parameter method.request.querystring.cursor is not declared in the requestParameters of "
            "GET /orders",
            "integration",
        )
    ]


def test_given_a_method_without_request_parameters_then_each_cache_key_is_refused(resources, findings):
    rest, order = api(resources, "orders", "{order_id}")
    get = method(resources, rest, order, "GET")
    integration(resources, rest, get, "method.request.path.order_id", "method.request.header.x-api-key")
    assert [message for message, _ in findings(CACHE_KEYS, resources)] == [
        "cache key parameter method.request.path.order_id is not declared in the requestParameters of "
        "GET /orders/{order_id}",
        "cache key parameter method.request.header.x-api-key is not declared in the requestParameters of "
        "GET /orders/{order_id}",
    ]


@pytest.mark.parametrize(
    ("keys", "parameters"),
    [
        ([UNKNOWN_STRING], {"method.request.path.order_id": True}),
        (["method.request.path.order_id"], UNKNOWN_STRING),
    ],
)
def test_given_unknown_cache_keys_or_parameters_then_they_are_not_passed(resources, findings, keys, parameters):
    rest, order = api(resources, "orders", "{order_id}")
    get = method(resources, rest, order, "GET", requestParameters=parameters)
    integration(resources, rest, get, *keys)
    assert findings(CACHE_KEYS, resources) == [
        ("the cache key parameters or the method's requestParameters are not known during preview", "integration")
    ]


def test_given_an_integration_naming_its_method_by_literal_resource_and_verb_then_it_is_checked(resources, findings):
    rest = resources.add(a.REST_API, "api", {})
    resources.add(
        a.METHOD,
        "method-get",
        {"httpMethod": "GET", "resourceId": "abc123", "requestParameters": {"method.request.path.id": True}},
        deps={"restApi": [rest]},
    )
    resources.add(a.METHOD, "method-post", {"httpMethod": "POST", "resourceId": "abc123"}, deps={"restApi": [rest]})
    integration(
        resources,
        rest,
        None,
        "method.request.path.id",
        "method.request.querystring.page",
        deps={"restApi": [rest]},
        resourceId="abc123",
        httpMethod="get",
    )
    assert [message for message, _ in findings(CACHE_KEYS, resources)] == [
        "cache key parameter method.request.querystring.page is not declared in the requestParameters of the GET "
        "method of resource abc123"
    ]


def test_given_an_integration_whose_method_is_not_in_the_stack_then_it_is_not_checked(resources, findings):
    rest = resources.add(a.REST_API, "api", {})
    integration(
        resources, rest, None, "method.request.path.id", deps={"restApi": [rest]}, resourceId="xyz", httpMethod="GET"
    )
    assert findings(CACHE_KEYS, resources) == []
