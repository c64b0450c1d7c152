"""API Gateway (REST, regional) in front of the API function's alias.

Every route is declared explicitly so each can have its own throttling, caching and key
requirement; an ANY method on every resource and a {proxy+} catch-all send everything else to the
function, which answers 404/405 in the documented JSON error shape. Health routes need no API key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from contract.api import ROUTES, STAGE, fallback_routes
from serverless_infra.iam import AccountContext, statement
from serverless_infra.naming import Namer
from serverless_infra.service_role import service_role
from serverless_infra.settings import ApiGatewaySettings

ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "xrayTraceId": "$context.xrayTraceId",
    "ip": "$context.identity.sourceIp",
    "apiKeyId": "$context.identity.apiKeyId",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "errorMessage": "$context.error.message",
    "cacheStatus": "$context.integration.cacheStatus",
}


@dataclass(frozen=True)
class ApiArgs:
    namer: Namer
    settings: ApiGatewaySettings
    account: AccountContext
    function_name: pulumi.Input[str]
    alias_name: pulumi.Input[str]
    alias_invoke_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    manage_account_settings: bool


class Api(pulumi.ComponentResource):
    """REST API, stage, usage plan and its keys (apiKeyCount), access logs, optional custom domain."""

    def __init__(self, name: str, args: ApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Api", name, None, opts)
        namer, settings = args.namer, args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.rest_api = aws.apigateway.RestApi(
            namer.name("rest-api"),
            name=namer.name("rest-api"),
            description="Orders API",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            api_key_source="HEADER",
            disable_execute_api_endpoint=bool(settings.custom_domain_name),
            opts=child,
        )
        methods = self._routes(args)
        deployment = aws.apigateway.Deployment(
            namer.name("deployment"),
            rest_api=self.rest_api.id,
            description="Redeployed whenever a route changes",
            triggers={"routes": hashlib.sha256(repr(ROUTES).encode()).hexdigest()},
            opts=pulumi.ResourceOptions(parent=self, depends_on=methods),
        )
        log_group = aws.cloudwatch.LogGroup(
            namer.name("log-group", "api-access"),
            name=f"/aws/apigateway/{namer.name('rest-api')}/access",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )
        account_settings = self._account_settings(args) if args.manage_account_settings else []
        self.stage = aws.apigateway.Stage(
            namer.name("stage"),
            rest_api=self.rest_api.id,
            deployment=deployment.id,
            stage_name=STAGE,
            xray_tracing_enabled=True,
            cache_cluster_enabled=True,
            cache_cluster_size=settings.cache_size_gb,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=log_group.arn, format=json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":"))
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=account_settings),
        )
        self._method_settings(args)
        self._usage_plan(args)
        aws.lambda_.Permission(
            namer.name("permission", "api-invoke"),
            action="lambda:InvokeFunction",
            function=args.function_name,
            qualifier=args.alias_name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(self.rest_api.execution_arn, f"/{STAGE}/*/*"),
            opts=child,
        )
        self.url = pulumi.Output.concat(
            "https://", self.rest_api.id, f".execute-api.{args.account.region}.amazonaws.com/{STAGE}"
        )
        if settings.custom_domain_name:
            self.url = self._custom_domain(args)
        self.register_outputs({"url": self.url})

    def _routes(self, args: ApiArgs) -> list[pulumi.Resource]:
        namer, child = args.namer, pulumi.ResourceOptions(parent=self)
        resources: dict[str, aws.apigateway.Resource] = {}

        def resource_for(path: str) -> pulumi.Input[str]:
            if path in resources:
                return resources[path].id
            parent_path, _, part = path.rpartition("/")
            parent_id = resource_for(parent_path) if parent_path else self.rest_api.root_resource_id
            resources[path] = aws.apigateway.Resource(
                namer.name("api-resource", _slug(path)),
                rest_api=self.rest_api.id,
                parent_id=parent_id,
                path_part=part,
                opts=child,
            )
            return resources[path].id

        created: list[pulumi.Resource] = []
        for route in (*ROUTES, *fallback_routes()):
            parameters = {f"method.request.{p}": True for p in route.cache_key if p.startswith("path.")}
            parameters |= {f"method.request.{p}": False for p in route.cache_key if not p.startswith("path.")}
            method = aws.apigateway.Method(
                namer.name("api-method", f"{_slug(route.path)}-{route.method.lower()}"),
                rest_api=self.rest_api.id,
                resource_id=resource_for(route.path),
                http_method=route.method,
                authorization="NONE",
                api_key_required=route.api_key,
                request_parameters=parameters or None,
                opts=child,
            )
            integration = aws.apigateway.Integration(
                namer.name("api-integration", f"{_slug(route.path)}-{route.method.lower()}"),
                rest_api=self.rest_api.id,
                resource_id=method.resource_id,
                http_method=method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=args.alias_invoke_arn,
                cache_key_parameters=[f"method.request.{p}" for p in route.cache_key] or None,
                timeout_milliseconds=29_000,
                opts=child,
            )
            created += [method, integration]
        return created

    def _method_settings(self, args: ApiArgs) -> None:
        settings, namer = args.settings, args.namer
        # Every MethodSettings is an UpdateStage call on the same stage: one at a time, the stage-wide
        # settings first, so concurrent updates cannot conflict and the overrides are applied last.
        previous: pulumi.Resource = aws.apigateway.MethodSettings(
            namer.name("api-settings", "all"),
            rest_api=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                # Detailed per-method metrics are billed as custom metrics; the stage's default API
                # metrics (Count, Latency, 4XX/5XX, cache hits) and the access logs remain.
                # https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html
                metrics_enabled=False,
                logging_level="ERROR",
                data_trace_enabled=False,  # full request logging would write bodies (customer data) to logs
                throttling_rate_limit=settings.rate_limit,
                throttling_burst_limit=settings.burst_limit,
                caching_enabled=False,
                cache_data_encrypted=True,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for route in ROUTES:
            if not (route.cached or route.write):
                continue
            previous = aws.apigateway.MethodSettings(
                namer.name("api-settings", f"{_slug(route.path)}-{route.method.lower()}"),
                rest_api=self.rest_api.id,
                stage_name=self.stage.stage_name,
                method_path=route.method_path,
                settings=aws.apigateway.MethodSettingsSettingsArgs(
                    metrics_enabled=False,
                    logging_level="ERROR",
                    data_trace_enabled=False,
                    throttling_rate_limit=settings.write_rate_limit if route.write else settings.rate_limit,
                    throttling_burst_limit=min(settings.burst_limit, 2 * settings.write_rate_limit)
                    if route.write
                    else settings.burst_limit,
                    caching_enabled=route.cached,
                    cache_ttl_in_seconds=settings.cache_ttl_s if route.cached else 0,
                    cache_data_encrypted=True,
                    require_authorization_for_cache_control=True,
                    unauthorized_cache_control_header_strategy="FAIL_WITH_403",
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
            )

    def _usage_plan(self, args: ApiArgs) -> None:
        settings, namer = args.settings, args.namer
        child = pulumi.ResourceOptions(parent=self)
        plan = aws.apigateway.UsagePlan(
            namer.name("usage-plan"),
            name=namer.name("usage-plan"),
            description="Throttle and quota for API key holders",
            api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=self.rest_api.id, stage=self.stage.stage_name)],
            throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
                rate_limit=settings.rate_limit, burst_limit=settings.burst_limit
            ),
            quota_settings=aws.apigateway.UsagePlanQuotaSettingsArgs(limit=settings.quota_per_day, period="DAY"),
            opts=child,
        )
        # One key per caller, so each can be rotated or revoked alone. The first keeps the name (and the
        # resource name) stacks created before apiKeyCount had, so they do not replace it.
        self.api_keys: list[aws.apigateway.ApiKey] = []
        for index in range(settings.api_key_count):
            suffix = None if index == 0 else str(index + 1)
            key = aws.apigateway.ApiKey(
                namer.name("api-key", suffix),
                name=namer.name("api-key", suffix),
                description="Key for the orders API" if index == 0 else f"Key {index + 1} for the orders API",
                enabled=True,
                opts=child,
            )
            aws.apigateway.UsagePlanKey(
                namer.name("usage-plan-key", suffix),
                key_id=key.id,
                key_type="API_KEY",
                usage_plan_id=plan.id,
                opts=child,
            )
            self.api_keys.append(key)
        self.api_key = self.api_keys[0]

    def _account_settings(self, args: ApiArgs) -> list[pulumi.Resource]:
        namer, account = args.namer, args.account
        logs_arn = f"arn:{account.partition}:logs:{account.region}:{account.account_id}:log-group:"
        logs = service_role(
            namer,
            "apigateway-logs",
            service="apigateway.amazonaws.com",
            account=account,
            description="Lets API Gateway write access and execution logs in this region",
            statements=(
                statement(
                    "WriteApiGatewayLogs",
                    (
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                        "logs:GetLogEvents",
                        "logs:FilterLogEvents",
                    ),
                    [f"{logs_arn}/aws/apigateway/*", f"{logs_arn}API-Gateway-Execution-Logs_*"],
                ),
            ),
            parent=self,
        )
        account_settings = aws.apigateway.Account(
            namer.name("apigateway-account"),
            cloudwatch_role_arn=logs.role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs.policy]),
        )
        return [account_settings]

    def _custom_domain(self, args: ApiArgs) -> pulumi.Output[str]:
        settings, namer = args.settings, args.namer
        child = pulumi.ResourceOptions(parent=self)
        certificate = aws.acm.Certificate(
            namer.name("certificate", "api"),
            domain_name=settings.custom_domain_name,
            validation_method="DNS",
            opts=child,
        )
        option = certificate.domain_validation_options[0]
        validation_record = aws.route53.Record(
            namer.name("dns-record", "api-validation"),
            zone_id=settings.custom_domain_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=child,
        )
        validated = aws.acm.CertificateValidation(
            namer.name("certificate-validation", "api"),
            certificate_arn=certificate.arn,
            validation_record_fqdns=[validation_record.fqdn],
            opts=child,
        )
        domain = aws.apigateway.DomainName(
            namer.name("api-domain"),
            domain_name=settings.custom_domain_name,
            regional_certificate_arn=validated.certificate_arn,
            endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(types="REGIONAL"),
            security_policy="TLS_1_2",
            opts=child,
        )
        aws.apigateway.BasePathMapping(
            namer.name("api-base-path"),
            rest_api=self.rest_api.id,
            stage_name=self.stage.stage_name,
            domain_name=domain.domain_name,
            opts=child,
        )
        aws.route53.Record(
            namer.name("dns-record", "api"),
            zone_id=settings.custom_domain_zone_id,
            name=settings.custom_domain_name,
            type="A",
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=domain.regional_domain_name, zone_id=domain.regional_zone_id, evaluate_target_health=False
                )
            ],
            opts=child,
        )
        return pulumi.Output.concat("https://", settings.custom_domain_name)


def _slug(path: str) -> str:
    slug = path.replace("{proxy+}", "proxy").replace("{", "").replace("}", "").replace("/", "-").replace("_", "-")
    return slug or "root"
