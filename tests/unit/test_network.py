"""The network: private app subnets, isolated database subnets, endpoints, and only the allowed paths."""

from __future__ import annotations

import ipaddress

import pytest

from contract.workloads import GATEWAY_ENDPOINT_SERVICES, WORKLOADS, interface_endpoint_services
from offline.harness import run_program
from tests.unit.support import PROJECT_ROOT, resource_by_id

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def subnets(run, tier):
    return [r for r in run.of_type("aws:ec2/subnet:Subnet") if r.name.split("-subnet-")[1].startswith(f"{tier}-")]


def group_role(run, group_id):
    """'function', 'database' or 'endpoints' for a security group id."""
    return resource_by_id(run, group_id).name.rsplit("-security-group-", 1)[1]


def test_the_vpc_spans_three_availability_zones(stack_run):
    for tier in ("app", "db"):
        zones = {s.inputs["availabilityZone"] for s in subnets(stack_run, tier)}
        assert len(zones) == 3, tier


def test_subnets_lie_inside_the_vpc_and_do_not_overlap(stack_run):
    vpc = ipaddress.IPv4Network(stack_run.of_type("aws:ec2/vpc:Vpc")[0].inputs["cidrBlock"])
    blocks = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in stack_run.of_type("aws:ec2/subnet:Subnet")]
    assert all(block.subnet_of(vpc) for block in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_no_subnet_assigns_public_addresses(stack_run):
    assert all(s.inputs.get("mapPublicIpOnLaunch") is False for s in stack_run.of_type("aws:ec2/subnet:Subnet"))


def test_there_is_no_internet_gateway_nat_or_default_route_by_default(stack_run):
    assert stack_run.of_type("aws:ec2/internetGateway:InternetGateway") == []
    assert stack_run.of_type("aws:ec2/natGateway:NatGateway") == []
    assert stack_run.of_type("aws:ec2/route:Route") == []
    for table in stack_run.of_type("aws:ec2/routeTable:RouteTable"):
        assert not table.inputs.get("routes")


def test_database_subnets_use_a_route_table_with_no_endpoints_and_no_routes(stack_run):
    db_table = stack_run.named("aws:ec2/routeTable:RouteTable", f"serverless-infra-{stack_run.stack}-route-table-db")
    associations = stack_run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    db_subnet_ids = {s.id for s in subnets(stack_run, "db")}
    assert {a.inputs["subnetId"] for a in associations if a.inputs["routeTableId"] == db_table.id} == db_subnet_ids
    for endpoint in stack_run.of_type(ENDPOINT):
        assert db_table.id not in (endpoint.inputs.get("routeTableIds") or [])


def test_every_service_a_function_calls_has_a_private_interface_endpoint(stack_run):
    region = stack_run.config.values["aws:region"]
    app_subnet_ids = {s.id for s in subnets(stack_run, "app")}
    interface = {
        e.inputs["serviceName"]: e for e in stack_run.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"
    }
    assert set(interface) == {f"com.amazonaws.{region}.{s}" for s in interface_endpoint_services()}
    for endpoint in interface.values():
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert set(endpoint.inputs["subnetIds"]) <= app_subnet_ids
        assert [group_role(stack_run, g) for g in endpoint.inputs["securityGroupIds"]] == ["endpoints"]


def test_s3_is_reached_through_a_gateway_endpoint_on_the_app_route_table(stack_run):
    region = stack_run.config.values["aws:region"]
    app_table = stack_run.named("aws:ec2/routeTable:RouteTable", f"serverless-infra-{stack_run.stack}-route-table-app")
    gateways = [e for e in stack_run.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    assert {e.inputs["serviceName"] for e in gateways} == {
        f"com.amazonaws.{region}.{s}" for s in GATEWAY_ENDPOINT_SERVICES
    }
    assert all(e.inputs["routeTableIds"] == [app_table.id] for e in gateways)


def test_endpoint_zone_count_follows_config(stack_run):
    configured = int(stack_run.config.values["serverless-infra:endpointAvailabilityZoneCount"])
    for endpoint in stack_run.of_type(ENDPOINT):
        if endpoint.inputs["vpcEndpointType"] == "Interface":
            assert len(endpoint.inputs["subnetIds"]) == configured


def rule_set(run, type_token):
    rules = set()
    for rule in run.of_type(type_token):
        peer = rule.inputs.get("referencedSecurityGroupId")
        target = (
            group_role(run, peer)
            if peer
            else rule.inputs.get("cidrIpv4") or ("prefix-list" if rule.inputs.get("prefixListId") else None)
        )
        rules.add(
            (
                group_role(run, rule.inputs["securityGroupId"]),
                rule.inputs["ipProtocol"],
                int(rule.inputs["fromPort"]),
                int(rule.inputs["toPort"]),
                target,
            )
        )
    return rules


PROXY_INGRESS = {("db-proxy", "tcp", 5432, 5432, "function"), ("database", "tcp", 5432, 5432, "db-proxy")}
PROXY_EGRESS = {("function", "tcp", 5432, 5432, "db-proxy"), ("db-proxy", "tcp", 5432, 5432, "database")}


def with_proxy(run):
    return bool(run.of_type("aws:rds/proxy:Proxy"))


def test_ingress_is_exactly_postgres_and_https_from_the_functions(stack_run):
    assert rule_set(stack_run, INGRESS) == {
        ("database", "tcp", 5432, 5432, "function"),
        ("endpoints", "tcp", 443, 443, "function"),
    } | (PROXY_INGRESS if with_proxy(stack_run) else set())


def test_function_egress_reaches_only_the_database_endpoints_and_s3(stack_run):
    assert rule_set(stack_run, EGRESS) == {
        ("function", "tcp", 5432, 5432, "database"),
        ("function", "tcp", 443, 443, "endpoints"),
        ("function", "tcp", 443, 443, "prefix-list"),
    } | (PROXY_EGRESS if with_proxy(stack_run) else set())


def test_prod_routes_functions_to_the_database_through_the_proxy_group(runs):
    prod = runs["prod"]
    assert rule_set(prod, INGRESS) >= PROXY_INGRESS
    assert rule_set(prod, EGRESS) >= PROXY_EGRESS
    assert not any(rule[0] == "db-proxy" for rule in rule_set(runs["dev"], INGRESS) | rule_set(runs["dev"], EGRESS))


def test_interface_endpoints_are_the_services_the_code_calls_and_those_the_requirement_names(stack_run):
    """Lambda ships logs and traces itself: no logs or xray endpoint; SSM, KMS and CloudWatch are required."""
    region = stack_run.config.values["aws:region"]
    interface = {
        e.inputs["serviceName"] for e in stack_run.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"
    }
    expected = ("kms", "monitoring", "secretsmanager", "sqs", "ssm")
    assert interface == {f"com.amazonaws.{region}.{s}" for s in expected}
    for workload_entry in WORKLOADS:
        assert not {"logs", "xray"} & set(workload_entry.aws_services), workload_entry.key


def test_security_groups_declare_no_inline_rules(stack_run):
    for group in stack_run.of_type(SG):
        assert not group.inputs.get("ingress")
        assert not group.inputs.get("egress")


def test_the_default_security_group_is_emptied(stack_run):
    default = stack_run.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert len(default) == 1
    assert not default[0].inputs.get("ingress")
    assert not default[0].inputs.get("egress")


def test_vpc_flow_logs_capture_all_traffic_to_an_encrypted_log_group(stack_run):
    (flow_log,) = stack_run.of_type("aws:ec2/flowLog:FlowLog")
    log_group = next(
        g
        for g in stack_run.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.outputs["arn"] == flow_log.inputs["logDestination"]
    )
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["vpcId"] == stack_run.of_type("aws:ec2/vpc:Vpc")[0].id
    assert log_group.inputs["kmsKeyId"]


@pytest.fixture(scope="module")
def nat_run(archive_overrides):
    return run_program(PROJECT_ROOT, "dev", config_overrides={**archive_overrides, "serverless-infra:natGateway": True})


def test_opting_into_nat_adds_public_subnets_an_internet_gateway_and_one_nat(nat_run):
    assert len(nat_run.of_type("aws:ec2/internetGateway:InternetGateway")) == 1
    assert len(nat_run.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert len(subnets(nat_run, "public")) == 3
    routes = {
        (r.name.rsplit("-route-", 1)[1], r.inputs["destinationCidrBlock"])
        for r in nat_run.of_type("aws:ec2/route:Route")
    }
    assert routes == {("public-internet", "0.0.0.0/0"), ("app-nat", "0.0.0.0/0")}


def test_opting_into_nat_lets_functions_reach_https_on_the_internet_only(nat_run):
    assert ("function", "tcp", 443, 443, "0.0.0.0/0") in rule_set(nat_run, EGRESS)
    assert all(rule[4] != "0.0.0.0/0" for rule in rule_set(nat_run, INGRESS))


def test_database_subnets_stay_isolated_even_with_nat(nat_run):
    db_table = nat_run.named("aws:ec2/routeTable:RouteTable", "serverless-infra-dev-route-table-db")
    assert all(r.inputs["routeTableId"] != db_table.id for r in nat_run.of_type("aws:ec2/route:Route"))
