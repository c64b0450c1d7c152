"""API Gateway (REST): who may call a method, what the stage logs, what it validates and filters.

Methods, integrations, stages and settings are joined through property dependencies (a method's
resource, an integration's method, a setting's stage), which the engine knows even when the IDs are
not. Method paths are rebuilt from
the API resources' path parts, so the public-route allow-list names paths as a reader writes them
(``GET /health``).
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import PolicyResource, Severity

from contract.api import public_methods
from policies.rules import MISSING, UNKNOWN, Anchors, Check, Control, Kind, Stack, get, items, stack_policy

CONCERN = "api-gateway"
REST_API = "aws:apigateway/restApi:RestApi"
API_RESOURCE = "aws:apigateway/resource:Resource"
METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
STAGE = "aws:apigateway/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
REQUEST_VALIDATOR = "aws:apigateway/requestValidator:RequestValidator"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "ANY"})
LOGGING_LEVELS = ("INFO", "ERROR")

# The API's routes without an API key (contract.api: the health checks, and the ANY fallback the program
# adds on each of their paths to answer 405 in the API's error shape).
PUBLIC_METHODS = public_methods()


def resource_path(stack: Stack, resource: PolicyResource, seen: frozenset[str] = frozenset()) -> str | None:
    """The full path of an API resource from its path part and its parents' (None when unknown)."""
    part = get(resource.props, "pathPart")
    if not isinstance(part, str) or resource.urn in seen:
        return None
    parents = stack.deps(resource, "parentId", API_RESOURCE)
    if not parents:
        return f"/{part}"
    parent = resource_path(stack, parents[0], seen | {resource.urn})
    return None if parent is None else f"{parent.rstrip('/')}/{part}"


def method_route(stack: Stack, method: PolicyResource) -> str | None:
    """``"GET /orders/{order_id}"`` for a method (None when its verb or path is unknown)."""
    verb = get(method.props, "httpMethod")
    resources = stack.deps(method, "resourceId", API_RESOURCE)
    path = resource_path(stack, resources[0]) if resources else "/"
    if not isinstance(verb, str) or path is None:
        return None
    return f"{verb.upper()} {path}"


# -- authorization --------------------------------------------------------------------------------
METHOD_AUTHORIZATION = Control(
    name="api-method-authorization",
    concern=CONCERN,
    kind=Kind.SECURITY,
    description=(
        "Every API method requires authorization (IAM, Cognito or a Lambda authorizer) or an API key, except the "
        "routes the publicMethods config lists as public by design (default: the program's health checks)."
    ),
    severity=Severity.HIGH,
    remediation="Set authorization to AWS_IAM / COGNITO_USER_POOLS / CUSTOM, or api_key_required=True; add the "
    "route ('GET /path') to publicMethods only if it is meant for anonymous callers and returns no data.",
    resource_types=(METHOD, API_RESOURCE),
    anchors=Anchors(cdk_nag=("AwsSolutions-APIG4",), checkov=("CKV_AWS_59", "CKV2_AWS_70")),
    config={
        "publicMethods": {
            "type": "array",
            "items": {"type": "string", "pattern": "^(ANY|GET|HEAD|OPTIONS|POST|PUT|PATCH|DELETE) /.*$"},
            "uniqueItems": True,
            "description": "Routes ('VERB /path') that may be called without authorization or an API key.",
            "default": list(PUBLIC_METHODS),
        }
    },
    sources=("https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-to-api.html",),
)


def _method_authorization(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    public = set(control.setting(stack.config, "publicMethods"))
    for method in stack.of_type(METHOD):
        authorization = get(method.props, "authorization")
        key = get(method.props, "apiKeyRequired")
        if authorization is UNKNOWN or key is UNKNOWN:
            yield "authorization or api_key_required is not known during preview", method.urn
            continue
        if (authorization not in (MISSING, "NONE") and isinstance(authorization, str)) or key is True:
            continue
        route = method_route(stack, method)
        if route is None:
            yield "the method needs neither authorization nor an API key, and its route is not known", method.urn
        elif route not in public:
            yield f"{route} needs neither authorization nor an API key and is not listed in publicMethods", method.urn


# -- execution logging ----------------------------------------------------------------------------
EXECUTION_LOGGING = Control(
    name="api-execution-logging",
    concern=CONCERN,
    kind=Kind.SECURITY,
    description=(
        "Every API stage has execution logging on for all methods: a '*/*' method setting with logging_level "
        "INFO or ERROR, and no method setting turning it OFF."
    ),
    severity=Severity.MEDIUM,
    remediation="Add MethodSettings(method_path='*/*', settings={'logging_level': 'ERROR', ...}) for the stage "
    "(keep data_trace_enabled off: it logs request bodies); the account needs the API Gateway CloudWatch role.",
    resource_types=(STAGE, METHOD_SETTINGS),
    anchors=Anchors(cdk_nag=("AwsSolutions-APIG6",), checkov=("CKV2_AWS_4",), security_hub=("APIGateway.1",)),
    sources=("https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html",),
)


def settings_of(stack: Stack, stage: PolicyResource) -> list[PolicyResource]:
    """The method settings of a stage: by dependency on it, or by its API and literal stage name."""
    found = []
    apis = {api.urn for api in stack.deps(stage, "restApi", REST_API)}
    for settings in stack.of_type(METHOD_SETTINGS):
        if any(dep.urn == stage.urn for dep in stack.deps(settings, "stageName")) or (
            not stack.deps(settings, "stageName")
            and apis & {api.urn for api in stack.deps(settings, "restApi", REST_API)}
            and get(settings.props, "stageName") == get(stage.props, "stageName")
        ):
            found.append(settings)
    return found


def _execution_logging(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for stage in stack.of_type(STAGE):
        stage_wide = False
        for settings in settings_of(stack, stage):
            level = get(settings.props, "settings", "loggingLevel")
            if level is UNKNOWN:
                yield "settings.loggingLevel is not known during preview", settings.urn
                stage_wide = True  # reported above; not again as missing
            elif level == "OFF":
                yield "settings.loggingLevel is OFF: the methods it covers write no execution logs", settings.urn
            elif get(settings.props, "methodPath") == "*/*" and level in LOGGING_LEVELS:
                stage_wide = True
        if not stage_wide:
            yield "no '*/*' method setting turns execution logging on (loggingLevel INFO or ERROR)", stage.urn


# -- request validation ---------------------------------------------------------------------------
REQUEST_VALIDATION = Control(
    name="api-request-validation",
    concern=CONCERN,
    kind=Kind.OPERATIONAL,
    description=(
        "Methods that take a body (POST, PUT, PATCH, ANY) have a request validator. Advisory: the program's API "
        "defines no request models, and its function validates every body and answers the documented JSON error "
        "shape; a validator without a model checks nothing, so adopting this means writing the models."
    ),
    severity=Severity.LOW,
    remediation="Add a RequestValidator (validate_request_body, validate_request_parameters) with request models "
    "for the method's content types, and set request_validator_id on the method.",
    resource_types=(METHOD,),
    anchors=Anchors(cdk_nag=("AwsSolutions-APIG2",), checkov=("CKV2_AWS_53",)),
    sources=(
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html",
    ),
)


def _request_validation(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for method in stack.of_type(METHOD):
        verb = get(method.props, "httpMethod")
        if isinstance(verb, str) and verb.upper() not in BODY_METHODS:
            continue
        if get(method.props, "requestValidatorId") is MISSING:
            route = method_route(stack, method) or "the method"
            yield f"{route} accepts a body but has no request validator", method.urn


# -- WAF ------------------------------------------------------------------------------------------
WEB_ACL = Control(
    name="api-stage-web-acl",
    concern=CONCERN,
    kind=Kind.OPERATIONAL,
    description=(
        "API stages are associated with an AWS WAF web ACL. Advisory: the program has none today (API keys, "
        "usage-plan quotas and stage throttling are its abuse controls); a web ACL adds rate-based and managed "
        "rules at a monthly cost the owners decide on."
    ),
    severity=Severity.MEDIUM,
    remediation="Create a wafv2.WebAcl (scope REGIONAL, AWS managed rule groups and a rate-based rule) and a "
    "wafv2.WebAclAssociation with resource_arn set to the stage's ARN.",
    resource_types=(STAGE, WEB_ACL_ASSOCIATION),
    anchors=Anchors(cdk_nag=("AwsSolutions-APIG3",), checkov=("CKV2_AWS_29",), security_hub=("APIGateway.4",)),
    sources=("https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-aws-waf.html",),
)


def _web_acl(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for stage in stack.of_type(STAGE):
        if not stack.referrers(stage, "resourceArn", WEB_ACL_ASSOCIATION):
            yield "the stage is not associated with a WAF web ACL", stage.urn


# -- cache keys -----------------------------------------------------------------------------------
CACHE_KEY_PARAMETERS = Control(
    name="api-cache-key-parameters-declared",
    concern=CONCERN,
    kind=Kind.DEPLOYABILITY,
    description=(
        "Every cache key parameter of an API integration (cacheKeyParameters) is declared in the requestParameters "
        "of the integration's method; API Gateway refuses the integration otherwise. Integrations whose method is "
        "not in the stack are not checked."
    ),
    severity=Severity.HIGH,
    remediation="Add each cache key parameter to the method's request_parameters "
    "({'method.request.header.x-api-key': False}; True makes it required), or drop it from the integration's "
    "cache_key_parameters.",
    resource_types=(INTEGRATION, METHOD),
    sources=(
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html",
        "https://docs.aws.amazon.com/apigateway/latest/api/API_Integration.html",
    ),
)


def _resource_of(stack: Stack, resource: PolicyResource) -> str | None:
    """What a method's or integration's ``resourceId`` names: an API resource (or the API, for its root
    resource) it was computed from, else the literal id; None when neither is known."""
    found = stack.resolve(resource, "resourceId", API_RESOURCE) or stack.deps(resource, "resourceId", REST_API)
    if found:
        return found[0].urn
    literal = get(resource.props, "resourceId")
    return literal if isinstance(literal, str) else None


def method_of(stack: Stack, integration: PolicyResource) -> PolicyResource | None:
    """The method an integration belongs to: the one its httpMethod or resourceId was computed from, else
    the method with the same verb on the same API resource."""
    computed_from = stack.deps(integration, "httpMethod", METHOD) or stack.deps(integration, "resourceId", METHOD)
    if computed_from:
        return computed_from[0]
    verb, resource = get(integration.props, "httpMethod"), _resource_of(stack, integration)
    if not isinstance(verb, str) or resource is None:
        return None
    for method in stack.of_type(METHOD):
        other = get(method.props, "httpMethod")
        if isinstance(other, str) and other.upper() == verb.upper() and _resource_of(stack, method) == resource:
            return method
    return None


def _method_label(stack: Stack, method: PolicyResource) -> str:
    """``GET /orders`` when the method's path is known, else its verb and literal resource id."""
    literal = get(method.props, "resourceId")
    if stack.deps(method, "resourceId") or not isinstance(literal, str):
        return method_route(stack, method) or "its method"
    return f"the {get(method.props, 'httpMethod')} method of resource {literal}"


def _cache_key_parameters(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for integration in stack.of_type(INTEGRATION):
        keys = get(integration.props, "cacheKeyParameters")
        if keys is MISSING:
            continue
        method = method_of(stack, integration)
        if method is None:
            continue
        declared = get(method.props, "requestParameters")
        named = items(keys)
        if keys is UNKNOWN or declared is UNKNOWN or UNKNOWN in named:
            yield (
                "the cache key parameters or the method's requestParameters are not known during preview",
                integration.urn,
            )
            continue
        route = _method_label(stack, method)
        parameters = set() if declared is MISSING else set(declared.keys())
        for key in named:
            if key not in parameters:
                yield f"cache key parameter {key} is not declared in the requestParameters of {route}", integration.urn


CHECKS: list[Check] = [
    stack_policy(METHOD_AUTHORIZATION, _method_authorization),
    stack_policy(EXECUTION_LOGGING, _execution_logging),
    stack_policy(REQUEST_VALIDATION, _request_validation),
    stack_policy(WEB_ACL, _web_acl),
    stack_policy(CACHE_KEY_PARAMETERS, _cache_key_parameters),
]
