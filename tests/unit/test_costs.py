"""The cost model prices what the program registers, and prod fits its budget."""

from __future__ import annotations

import ast
import json
from dataclasses import replace

import pytest

from costmodel.estimate import (
    EMF_METRICS,
    FREE_TYPES,
    Resource,
    UnpricedResourceError,
    admission_problems,
    estimate,
    max_peak_hours_per_day,
    max_sustained_requests_per_minute,
    rest_api_requests,
    unpriced_types,
)
from offline.cost import main as cost_main
from offline.cost import profile_of, resources_of
from offline.project import PulumiProject, load_stack_config
from tests.unit.support import PROJECT_ROOT

SHIPPED_TRAFFIC = profile_of(load_stack_config(PulumiProject.load(PROJECT_ROOT), "prod").values)
"""The traffic profile prod prices: Pulumi.yaml's cost* defaults (the prod stack sets none of them)."""


def cost_args(archive_overrides, *extra):
    return [*(f"--config={k}={v}" for k, v in archive_overrides.items()), *extra]


@pytest.fixture(scope="module")
def prod(runs):
    run = runs["prod"]
    resources = resources_of(run)
    return run, resources, estimate(resources, profile_of(run.config.values))


def test_prod_with_the_shipped_configuration_is_under_500_dollars(prod):
    _, _, result = prod
    assert 300 < result.total < 500


def test_every_line_is_positive_and_named(prod):
    _, _, result = prod
    assert all(line.monthly_usd >= 0 and line.resource and line.service for line in result.lines)


def test_the_estimate_follows_the_registered_resources(prod):
    _, resources, result = prod
    without_endpoints = [r for r in resources if r.type != "aws:ec2/vpcEndpoint:VpcEndpoint"]
    assert estimate(without_endpoints, result.profile).total < result.total - 50


def test_sustained_10000_requests_per_minute_cost_about_1450_in_rest_api_requests_alone():
    monthly = SHIPPED_TRAFFIC.sustained(10_000).monthly_requests
    assert rest_api_requests(monthly) == pytest.approx(1450, abs=15)


def test_the_highest_sustained_rate_is_where_the_budget_runs_out(prod):
    _, resources, result = prod
    rate = max_sustained_requests_per_minute(resources, result.profile, 500)
    assert estimate(resources, result.profile.sustained(rate)).total <= 500
    assert estimate(resources, result.profile.sustained(rate * 1.02)).total > 500


def test_an_unpriced_instance_class_is_an_error_that_names_it():
    database = Resource("aws:rds/instance:Instance", "db", {"instanceClass": "db.x9.huge", "allocatedStorage": 20})
    with pytest.raises(ValueError, match=r"db\.x9\.huge"):
        estimate([database], SHIPPED_TRAFFIC)


def test_a_bad_traffic_value_names_its_key(shipped_configs):
    config = shipped_configs["prod"].with_overrides({"serverless-infra:costAsyncShare": "lots"})
    with pytest.raises(ValueError, match="serverless-infra:costAsyncShare"):
        profile_of(config.values)


def test_an_impossible_profile_is_refused():
    with pytest.raises(ValueError, match="peak_hours_per_day"):
        replace(SHIPPED_TRAFFIC, peak_hours_per_day=25)


def test_the_cost_command_passes_prod_and_writes_json(archive_overrides, tmp_path, capsys):
    output = tmp_path / "cost.json"
    assert cost_main(cost_args(archive_overrides, "--stack", "prod", "--json", str(output))) == 0
    document = json.loads(output.read_text())
    assert document["within_budget"] is True
    assert document["total_usd"] == pytest.approx(sum(line["monthly_usd"] for line in document["lines"]), abs=0.5)
    assert "Levers" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change",
    [
        "serverless-infra:provisionedConcurrencyMin=100",
        "serverless-infra:dbInstanceClass=db.r7g.xlarge",
    ],
)
def test_raising_provisioned_concurrency_or_instance_size_breaks_the_budget(archive_overrides, change, capsys):
    assert cost_main(cost_args(archive_overrides, "--stack", "prod", f"--config={change}")) == 1
    assert "OVER the $500 budget" in capsys.readouterr().out


# --- Each charge, priced from a few resources; expected figures are computed here from the price
# --- table's numbers (PRICES), never from the model's output.

PRICES = json.loads((PROJECT_ROOT / "costmodel" / "prices-us-east-1.json").read_text())
HOURS = PRICES["hours_per_month"]
SECONDS = HOURS * 3600
DAYS = HOURS / 24
QUIET = replace(SHIPPED_TRAFFIC, peak_requests_per_minute=0, peak_hours_per_day=0, baseline_requests_per_minute=0)


def lines_of(resources, profile=QUIET, service=None):
    result = estimate(resources, profile)
    return [line for line in result.lines if service is None or line.service == service]


def usd(lines):
    return sum(line.monthly_usd for line in lines)


def api_function(**inputs):
    return Resource(
        "aws:lambda/function:Function",
        "api",
        {"name": "s-function-api", "memorySize": 512, "architectures": ["arm64"], **inputs},
    )


def test_every_price_section_names_its_source_and_date():
    # GIVEN the price table WHEN its sections are listed THEN each one has a source URL and a date
    sections = {key for key, value in PRICES.items() if isinstance(value, dict) and key != "sources"}
    assert sections <= set(PRICES["sources"])
    for source in PRICES["sources"].values():
        assert source["url"].startswith("https://")
        assert len(source["as_of"]) == 10


def test_given_an_unknown_resource_type_the_estimate_fails_naming_it():
    # GIVEN a type with neither a pricing rule nor a reason to be free
    unknown = Resource("aws:opensearch/domain:Domain", "search", {})
    # WHEN it is priced THEN the estimate refuses, naming the type (it does not count $0)
    with pytest.raises(UnpricedResourceError, match=r"aws:opensearch/domain:Domain"):
        estimate([unknown], SHIPPED_TRAFFIC)


def test_every_free_type_says_why_it_costs_nothing():
    assert all(reason.strip() for reason in FREE_TYPES.values())
    assert not set(FREE_TYPES) & {"aws:rds/proxy:Proxy", "aws:secretsmanager/secret:Secret", "aws:kms/key:Key"}


def test_the_incoming_program_changes_are_priced_or_declared_free():
    # GIVEN the types the proxy, the generated secret, the schedule and the uploads register
    incoming = [
        "aws:rds/proxy:Proxy",
        "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup",
        "aws:rds/proxyTarget:ProxyTarget",
        "aws:secretsmanager/secret:Secret",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "random:index/randomPassword:RandomPassword",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:lambda/permission:Permission",
        "aws:scheduler/schedule:Schedule",
        "aws:s3/bucketObjectv2:BucketObjectv2",
    ]
    # WHEN checked THEN none is unpriced
    assert unpriced_types(Resource(t, "r", {}) for t in incoming) == []


def test_kms_rotation_prices_the_steady_state_of_two_billed_versions():
    # GIVEN a key with rotation on WHEN priced THEN the key and its two billed rotated versions: $3
    key = Resource("aws:kms/key:Key", "k", {"enableKeyRotation": True, "rotationPeriodInDays": 365})
    assert usd(lines_of([key], service="kms")) == pytest.approx(1.00 + 2 * 1.00)


def test_a_key_without_rotation_costs_one_dollar():
    key = Resource("aws:kms/key:Key", "k", {"enableKeyRotation": False})
    assert usd(lines_of([key], service="kms")) == pytest.approx(1.00)


def test_detailed_metrics_on_all_methods_are_custom_metrics():
    # GIVEN 3 methods, a stage with a cache, and */* settings with metrics on
    methods = [Resource("aws:apigateway/method:Method", f"m{i}", {}) for i in range(3)]
    stage = Resource("aws:apigateway/stage:Stage", "stage", {"cacheClusterEnabled": False})
    settings = Resource(
        "aws:apigateway/methodSettings:MethodSettings",
        "all",
        {"methodPath": "*/*", "settings": {"metricsEnabled": True}},
    )
    # WHEN priced THEN 3 methods x 5 metrics (no cache metrics) x $0.30
    assert usd(lines_of([*methods, stage, settings], service="cloudwatch")) == pytest.approx(3 * 5 * 0.30)


def test_detailed_metrics_off_cost_nothing():
    settings = Resource(
        "aws:apigateway/methodSettings:MethodSettings",
        "all",
        {"methodPath": "*/*", "settings": {"metricsEnabled": False}},
    )
    method = Resource("aws:apigateway/method:Method", "m", {})
    assert usd(lines_of([method, settings], service="cloudwatch")) == 0


def test_a_cached_stage_adds_the_two_cache_metrics_per_method():
    method = Resource("aws:apigateway/method:Method", "m", {})
    stage = Resource("aws:apigateway/stage:Stage", "stage", {"cacheClusterEnabled": True, "cacheClusterSize": "0.5"})
    settings = Resource(
        "aws:apigateway/methodSettings:MethodSettings",
        "get",
        {"methodPath": "a/GET", "settings": {"metricsEnabled": True}},
    )
    lines = [line for line in lines_of([method, stage, settings], service="cloudwatch") if line.resource == "get"]
    assert usd(lines) == pytest.approx(7 * 0.30)


def test_emf_metrics_are_priced_per_metric_and_dimension_set():
    # GIVEN the DLQ analyzer (3 classes of one metric, and the oldest age) WHEN priced THEN 4 x $0.30
    analyzer = Resource("aws:lambda/function:Function", "dlq", {"name": "s-function-dlq-analyzer"})
    assert usd(lines_of([analyzer], service="cloudwatch")) == pytest.approx(4 * 0.30)


def test_the_emf_table_names_exactly_the_metrics_the_handlers_emit():
    """GIVEN the handlers' add_metric/single_metric calls THEN the model prices exactly those names."""
    handlers = PROJECT_ROOT / "function" / "orders" / "handlers"
    for module, role in (
        ("api", "-function-api"),
        ("worker", "-function-worker"),
        ("dlq_analyzer", "-function-dlq-analyzer"),
    ):
        tree = ast.parse((handlers / f"{module}.py").read_text())
        names = {
            keyword.value.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("add_metric", "single_metric")
            for keyword in node.keywords
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant)
        }
        if "capture_cold_start_metric=True" in ast.unparse(tree):
            names.add("ColdStart")
        assert names == set(EMF_METRICS[role]), module


def test_worker_traces_are_sampled_per_invocation():
    # GIVEN a traced worker fed by a queue with a 1 s batching window, and 60 requests/s all day,
    # 10% async: 6 messages/s, fewer than 5 pollers / 1 s can batch -> 5 invocations/s
    worker = Resource(
        "aws:lambda/function:Function", "worker", {"name": "s-function-worker", "tracingConfig": {"mode": "Active"}}
    )
    queue = Resource("aws:sqs/queue:Queue", "q", {})
    mapping = Resource(
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "esm",
        {"functionName": "s-function-worker:live", "batchSize": 100, "maximumBatchingWindowInSeconds": 1},
    )
    profile = SHIPPED_TRAFFIC.sustained(3600)
    # WHEN priced THEN 1 trace/s plus 5% of the other 4 invocations/s, less the free 100,000
    traced = SECONDS * (1 + 0.05 * 4)
    expected = (traced - 100_000) / 1e6 * 5.00
    assert usd(lines_of([worker, queue, mapping], profile, service="xray")) == pytest.approx(expected)


def test_securestring_reads_cost_one_kms_request_per_parameter_per_refresh():
    # GIVEN one worker environment refreshing 3 SecureStrings every 300 s, 1 message a second
    worker = Resource(
        "aws:lambda/function:Function",
        "worker",
        {
            "name": "s-function-worker",
            "environment": {"variables": {"PARAMETER_PREFIX": "p", "POWERTOOLS_PARAMETERS_MAX_AGE": "300"}},
        },
    )
    secure = [Resource("aws:ssm/parameter:Parameter", f"p{i}", {"type": "SecureString"}) for i in range(3)]
    plain_parameter = Resource("aws:ssm/parameter:Parameter", "plain", {"type": "String"})
    queue = Resource("aws:sqs/queue:Queue", "q", {})
    # WHEN priced THEN (month / 300 s) x 3 decrypts, less the free 20,000, at $0.03 per 10,000
    decrypts = SECONDS / 300 * 3
    expected = (decrypts - 20_000) / 10_000 * 0.03
    profile = SHIPPED_TRAFFIC.sustained(600)
    assert usd(lines_of([worker, *secure, plain_parameter, queue], profile, service="kms")) == pytest.approx(expected)


def test_config_rules_are_priced_per_evaluation():
    # GIVEN a periodic rule over 2 keys and a change-triggered rule over 1 instance
    keys = [Resource("aws:kms/key:Key", f"k{i}", {}) for i in range(2)]
    database = Resource("aws:rds/instance:Instance", "db", {"instanceClass": "db.m7g.large", "allocatedStorage": 20})
    rules = [
        Resource("aws:cfg/rule:Rule", "rotation", {"source": {"sourceIdentifier": "CMK_BACKING_KEY_ROTATION_ENABLED"}}),
        Resource("aws:cfg/rule:Rule", "encrypted", {"source": {"sourceIdentifier": "RDS_STORAGE_ENCRYPTED"}}),
    ]
    # WHEN priced THEN 2 keys daily + 1 instance 4 times a month, at $0.001 each
    expected = (2 * DAYS + 1 * 4) * 0.001
    assert usd(lines_of([*keys, database, *rules], service="config")) == pytest.approx(expected)


def test_configuration_items_are_priced_only_with_a_recorder():
    vpc = Resource("aws:ec2/vpc:Vpc", "vpc", {})
    assert lines_of([vpc], service="config") == []
    recorder = Resource("aws:cfg/recorder:Recorder", "recorder", {})
    # 2 recorded resources x 4 changes a month x $0.003
    assert usd(lines_of([vpc, recorder], service="config")) == pytest.approx(2 * 4 * 0.003)


def test_function_to_database_traffic_across_zones_is_billed_both_ways():
    # GIVEN functions in 3 zones and a database, 1 KB responses, 60 requests/s all day
    subnets = [Resource("aws:ec2/subnet:Subnet", f"app-{z}", {"availabilityZone": f"us-east-1{z}"}) for z in "abc"]
    function = api_function(vpcConfig={"subnetIds": [f"app-{z}-123" for z in "abc"]})
    database = Resource("aws:rds/instance:Instance", "db", {"instanceClass": "db.m7g.large", "allocatedStorage": 20})
    profile = SHIPPED_TRAFFIC.sustained(3600)
    # WHEN priced THEN 2/3 of (0.5 KB query + 1 KB response) per request, $0.01/GB each way
    gb = profile.monthly_requests * 1.5 / 1024**2 * 2 / 3
    lines = [line for line in lines_of([*subnets, function, database], profile) if line.resource == "inter-az"]
    assert usd(lines) == pytest.approx(gb * 0.02)


def test_backups_beyond_the_provisioned_storage_are_billed():
    # GIVEN a 20 GB primary keeping 35 days, 100 requests/s all day, a quarter of them writing 2 KB
    database = Resource(
        "aws:rds/instance:Instance",
        "db",
        {"instanceClass": "db.m7g.large", "allocatedStorage": 20, "backupRetentionPeriod": 35},
    )
    profile = SHIPPED_TRAFFIC.sustained(6000)
    daily_gb = 6000 * 60 * 24 * 0.25 * 2 / 1024**2
    expected = (20 + 35 * daily_gb - 20) * 0.095
    lines = [line for line in lines_of([database], profile, service="rds") if "backups" in line.item]
    assert usd(lines) == pytest.approx(expected)


def test_a_burstable_instance_above_its_baseline_pays_surplus_credits():
    # GIVEN a db.t4g.micro (2 vCPUs, 10% baseline) and 1,000 requests/s at 2 ms of CPU each
    database = Resource("aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.micro", "allocatedStorage": 20})
    profile = SHIPPED_TRAFFIC.sustained(60_000)
    used = profile.monthly_requests * 0.002 / 3600 + 0.03 * 2 * HOURS
    earned = 0.10 * 2 * HOURS
    lines = [line for line in lines_of([database], profile, service="rds") if "CPU credits" in line.item]
    assert usd(lines) == pytest.approx((used - earned) * 0.075)


def test_a_burstable_instance_within_its_baseline_pays_no_credits():
    database = Resource("aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.small", "allocatedStorage": 20})
    lines = [line for line in lines_of([database], SHIPPED_TRAFFIC, service="rds") if "CPU credits" in line.item]
    assert usd(lines) == 0


def test_rds_proxy_bills_its_targets_vcpus():
    # GIVEN a proxy targeting a db.m7g.xlarge (4 vCPUs) by identifier
    database = Resource(
        "aws:rds/instance:Instance",
        "db",
        {"identifier": "db-1", "instanceClass": "db.m7g.xlarge", "allocatedStorage": 20},
    )
    proxy = Resource("aws:rds/proxy:Proxy", "proxy", {"name": "proxy-1"})
    target = Resource(
        "aws:rds/proxyTarget:ProxyTarget", "target", {"dbProxyName": "proxy-1", "dbInstanceIdentifier": "db-1"}
    )
    lines = [line for line in lines_of([database, proxy, target], service="rds") if line.resource == "proxy"]
    assert usd(lines) == pytest.approx(4 * 0.015 * HOURS)


def test_rds_proxy_bills_at_least_two_vcpus_even_when_its_target_is_unknown():
    database = Resource("aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.micro", "allocatedStorage": 20})
    proxy = Resource("aws:rds/proxy:Proxy", "proxy", {"name": None})
    target = Resource("aws:rds/proxyTarget:ProxyTarget", "target", {"dbProxyName": None, "dbInstanceIdentifier": None})
    lines = [line for line in lines_of([database, proxy, target], service="rds") if line.resource == "proxy"]
    assert usd(lines) == pytest.approx(2 * 0.015 * HOURS)


def test_a_secrets_manager_secret_bills_monthly_and_per_call():
    secret = Resource("aws:secretsmanager/secret:Secret", "secret", {})
    assert usd(lines_of([secret], service="secretsmanager")) == pytest.approx(0.40 + 10_000 / 10_000 * 0.05)


def test_a_scheduled_analyzer_is_invoked_by_its_rate():
    # GIVEN a rule every 5 minutes and the 256 MB analyzer WHEN priced THEN runs x (request + 1 s)
    rule = Resource("aws:cloudwatch/eventRule:EventRule", "rule", {"scheduleExpression": "rate(5 minutes)"})
    analyzer = Resource(
        "aws:lambda/function:Function",
        "dlq",
        {"name": "s-function-dlq-analyzer", "memorySize": 256, "architectures": ["arm64"]},
    )
    runs = SECONDS / 300
    expected = runs / 1e6 * 0.20 + runs * 1.0 * 0.25 * 0.0000133334
    assert usd(lines_of([rule, analyzer], service="lambda")) == pytest.approx(expected)


def test_an_archive_upload_is_priced_by_its_size_and_one_older_version(tmp_path):
    archive = tmp_path / "layer.zip"
    archive.write_bytes(b"x" * 1024**2 * 10)
    upload = Resource("aws:s3/bucketObjectv2:BucketObjectv2", "layer", {"source": {"path": str(archive)}})
    assert usd(lines_of([upload], service="s3")) == pytest.approx(2 * 10 / 1024 * 0.023)


def test_a_sampling_rule_sets_the_api_traces():
    # GIVEN a traced API at 60 requests/s and a rule keeping 1/s and 1% WHEN priced THEN those traces
    function = api_function(tracingConfig={"mode": "Active"})
    rule = Resource(
        "aws:xray/samplingRule:SamplingRule",
        "rule",
        {"reservoirSize": 1, "fixedRate": 0.01, "serviceType": "*", "priority": 100},
    )
    profile = SHIPPED_TRAFFIC.sustained(3600)
    traced = SECONDS * (1 + 0.01 * 59)
    assert usd(lines_of([function, rule], profile, service="xray")) == pytest.approx((traced - 100_000) / 1e6 * 5.00)


def test_a_single_metric_alarm_costs_one_alarm_metric():
    alarm = Resource("aws:cloudwatch/metricAlarm:MetricAlarm", "cpu", {"metricName": "CPUUtilization"})
    assert usd(lines_of([alarm], service="cloudwatch")) == pytest.approx(0.10)


def test_a_metric_math_alarm_pays_for_each_metric_it_reads():
    # GIVEN an alarm on errors / answers (two metrics and one expression)
    alarm = Resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "ratio",
        {
            "metricQueries": [
                {"id": "errors", "metric": {"metricName": "5XXError"}},
                {"id": "answers", "metric": {"metricName": "Count"}},
                {"id": "ratio", "expression": "errors / answers", "returnData": True},
            ]
        },
    )
    # WHEN priced THEN 2 alarm metrics x $0.10 (the expression is not a metric)
    assert usd(lines_of([alarm], service="cloudwatch")) == pytest.approx(2 * 0.10)


def test_a_composite_alarm_costs_fifty_cents():
    composite = Resource("aws:cloudwatch/compositeAlarm:CompositeAlarm", "burn", {"alarmRule": "ALARM(a) AND ALARM(b)"})
    assert usd(lines_of([composite], service="cloudwatch")) == pytest.approx(0.50)


def test_a_budget_costs_two_cents_a_day():
    # The account's two free budgets are assumed used by others: $0.02 x 730/24 days
    budget = Resource("aws:budgets/budget:Budget", "budget", {"budgetType": "COST"})
    assert usd(lines_of([budget], service="budgets")) == pytest.approx(0.02 * 730 / 24)


def test_the_slo_alarms_and_the_budget_add_what_they_cost_to_prod(prod):
    # GIVEN prod's four burn-rate windows (5XXError and Count each), two composites and one budget
    _, _, result = prod
    slo = [line for line in result.lines if "-alarm-api-slo-" in line.resource]
    budget = [line for line in result.lines if line.service == "budgets"]
    # THEN 4 x 2 x $0.10 + 2 x $0.50 = $1.80, and $0.02 a day for the budget
    assert usd(slo) == pytest.approx(4 * 2 * 0.10 + 2 * 0.50)
    assert usd(budget) == pytest.approx(0.02 * 730 / 24)


# --- Peak hours and the traffic the stack admits.


def test_the_peak_hours_bound_is_where_the_budget_runs_out():
    # GIVEN a REST API alone, 10,000 req/min peak and 300 off-peak, and a $200 budget
    api = Resource("aws:apigateway/restApi:RestApi", "api", {})
    profile = SHIPPED_TRAFFIC
    hours = max_peak_hours_per_day([api], profile, 200)
    # THEN by hand: requests a month at h peak hours cost 3.50/M; solve for $200
    off_peak_per_day = 300 * 60 * 24
    extra_per_peak_hour = (10_000 - 300) * 60
    expected = (200 / 3.50 * 1e6 / DAYS - off_peak_per_day) / extra_per_peak_hour
    assert hours == pytest.approx(expected, abs=0.01)


def test_the_peak_hours_bound_is_24_when_a_whole_busy_day_fits():
    api = Resource("aws:apigateway/restApi:RestApi", "api", {})
    assert max_peak_hours_per_day([api], SHIPPED_TRAFFIC, 10_000) == 24


def test_a_usage_plan_quota_below_the_priced_traffic_is_reported():
    # GIVEN 1,596,000 requests a day priced and a quota of 100,000 a day
    plan = Resource(
        "aws:apigateway/usagePlan:UsagePlan", "plan", {"quotaSettings": {"limit": 100_000, "period": "DAY"}}
    )
    problems = admission_problems([plan], SHIPPED_TRAFFIC)
    assert len(problems) == 1
    assert "1,596,000" in problems[0]
    assert "apiQuotaPerDay" in problems[0]


def test_a_quota_that_admits_the_priced_traffic_is_no_problem():
    plan = Resource(
        "aws:apigateway/usagePlan:UsagePlan",
        "plan",
        {"quotaSettings": {"limit": 2_000_000, "period": "DAY"}, "throttleSettings": {"rateLimit": 200}},
    )
    assert admission_problems([plan], SHIPPED_TRAFFIC) == []


def test_a_stage_rate_limit_below_the_priced_peak_is_reported():
    # GIVEN a peak of 10,000 requests/min (167/s) and a stage-wide limit of 100/s
    settings = Resource(
        "aws:apigateway/methodSettings:MethodSettings",
        "all",
        {"methodPath": "*/*", "settings": {"throttlingRateLimit": 100}},
    )
    assert any("167 requests/s" in problem for problem in admission_problems([settings], SHIPPED_TRAFFIC))


def test_unknown_limits_are_not_problems():
    plan = Resource("aws:apigateway/usagePlan:UsagePlan", "plan", {"quotaSettings": {"limit": None}})
    assert admission_problems([plan], SHIPPED_TRAFFIC) == []


def test_prod_admits_the_traffic_it_is_priced_for(prod):
    _, resources, result = prod
    assert admission_problems(resources, result.profile) == []


def test_prod_states_how_many_busy_hours_its_budget_allows(prod):
    _, resources, result = prod
    hours = max_peak_hours_per_day(resources, result.profile, 500)
    assert hours is not None
    assert hours >= result.profile.peak_hours_per_day


# --- SnapStart: the cache of the active version and a charge per GB restored
SNAP = {"snapStart": {"applyOn": "PublishedVersions"}}


def _snap_lines(resources, profile):
    return [line for line in lines_of(resources, profile, "lambda") if "SnapStart" in line.item]


def test_given_snap_start_off_then_nothing_is_charged_for_it():
    assert _snap_lines([api_function()], SHIPPED_TRAFFIC) == []


def test_given_snap_start_on_then_its_active_version_is_cached_all_month_per_gb_of_memory():
    # GIVEN a 512 MB function with SnapStart and no traffic WHEN priced
    [cache] = [line for line in _snap_lines([api_function(**SNAP)], QUIET) if "cache" in line.item]
    # THEN the cache bills 0.5 GB for every second of the month
    assert cache.monthly_usd == pytest.approx(0.5 * SECONDS * PRICES["lambda"]["snapstart_cache_gb_second"])


def test_given_a_busy_peak_then_each_new_environment_is_a_restore_per_gb_of_memory():
    # GIVEN 6,000 req/min for 2 h a day and none otherwise, 50 ms per request (5 busy, at 70% utilisation: 8)
    profile = replace(
        SHIPPED_TRAFFIC,
        peak_requests_per_minute=6000,
        peak_hours_per_day=2,
        baseline_requests_per_minute=0,
        api_duration_ms=50,
    )
    [restores] = [line for line in _snap_lines([api_function(**SNAP)], profile) if "restores" in line.item]
    # THEN the daily growth from 1 to 8 environments, plus each environment replaced every 2 hours, is restored
    peak_s, quiet_s = 2 * 3600 * DAYS, SECONDS - 2 * 3600 * DAYS
    expected = (8 - 1) * DAYS + (8 * peak_s + 1 * quiet_s) / (2 * 3600)
    assert restores.monthly_usd == pytest.approx(expected * 0.5 * PRICES["lambda"]["snapstart_restore_gb"])
    assert f"{expected:,.0f} restores" in restores.item


def test_given_twice_the_memory_then_snap_start_costs_twice_as_much():
    small = usd(_snap_lines([api_function(**SNAP)], SHIPPED_TRAFFIC))
    large = usd(_snap_lines([api_function(memorySize=1024, **SNAP)], SHIPPED_TRAFFIC))
    assert large == pytest.approx(2 * small)
