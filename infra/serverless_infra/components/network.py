"""The VPC: private application subnets, isolated database subnets, endpoints, flow logs.

There are no public subnets and no internet gateway unless ``natGateway`` is set: the functions
reach AWS APIs only through VPC endpoints, so a compromised function has no path to the internet.
Security groups are the only way in: the database and the endpoints admit only the function
security group, on 5432 and 443 respectively. With RDS Proxy (``dbProxy``) the proxy has a group of
its own: functions → proxy on 5432 → database on 5432; the functions keep their direct path to the
database for the migrator (the proxy admits only IAM-authenticated application roles).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from contract.workloads import GATEWAY_ENDPOINT_SERVICES, interface_endpoint_services
from serverless_infra.iam import AccountContext, statement
from serverless_infra.naming import Namer
from serverless_infra.service_role import service_role
from serverless_infra.settings import NetworkSettings

POSTGRES_PORT = 5432
HTTPS_PORT = 443


@dataclass(frozen=True)
class SubnetPlan:
    """CIDR blocks per tier, carved from the VPC range: /20s for apps (Lambda ENIs), /24s for data."""

    application: tuple[str, ...]
    database: tuple[str, ...]
    public: tuple[str, ...]


def plan_subnets(vpc_cidr: str, zones: int) -> SubnetPlan:
    """Split the VPC into four equal quarters: application, database, public, spare.

    Each tier gets one block per zone from its own quarter, so adding a zone later never
    renumbers an existing subnet.
    """
    network = ipaddress.IPv4Network(vpc_cidr)
    quarters = list(network.subnets(prefixlen_diff=2))
    per_zone_prefix = quarters[0].prefixlen + 3  # 8 blocks per quarter: room for up to 6 zones + spare

    def blocks(quarter: ipaddress.IPv4Network) -> tuple[str, ...]:
        return tuple(str(block) for block in list(quarter.subnets(new_prefix=per_zone_prefix))[:zones])

    return SubnetPlan(application=blocks(quarters[0]), database=blocks(quarters[1]), public=blocks(quarters[2]))


@dataclass(frozen=True)
class NetworkArgs:
    namer: Namer
    settings: NetworkSettings
    account: AccountContext
    availability_zones: tuple[str, ...]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    database_proxy: bool = False  # a security group for RDS Proxy, between the functions and the database


class Network(pulumi.ComponentResource):
    """VPC, subnets, route tables, security groups, VPC endpoints and flow logs."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Network", name, None, opts)
        namer, settings = args.namer, args.settings
        child = pulumi.ResourceOptions(parent=self)
        zones = args.availability_zones[: settings.availability_zone_count]
        plan = plan_subnets(settings.vpc_cidr, len(zones))

        self.vpc = aws.ec2.Vpc(
            namer.name("vpc"),
            cidr_block=settings.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # required for private DNS on interface endpoints
            opts=child,
        )
        # Take over the default security group and leave it without rules (FSBP EC2.2).
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            namer.name("security-group", "default"), vpc_id=self.vpc.id, opts=child
        )

        self.application_route_table = aws.ec2.RouteTable(
            namer.name("route-table", "app"), vpc_id=self.vpc.id, opts=child
        )
        self.database_route_table = aws.ec2.RouteTable(namer.name("route-table", "db"), vpc_id=self.vpc.id, opts=child)
        self.application_subnets = self._subnets(namer, "app", zones, plan.application, self.application_route_table)
        self.database_subnets = self._subnets(namer, "db", zones, plan.database, self.database_route_table)
        if settings.nat_gateway:
            self._internet_egress(namer, zones, plan.public)

        self.function_security_group = aws.ec2.SecurityGroup(
            namer.name("security-group", "function"),
            name=namer.name("security-group", "function"),
            description="Lambda functions: egress only, to the database, the endpoints and S3",
            vpc_id=self.vpc.id,
            opts=child,
        )
        self.database_security_group = aws.ec2.SecurityGroup(
            namer.name("security-group", "database"),
            name=namer.name("security-group", "database"),
            description="PostgreSQL: reachable only from the function security group",
            vpc_id=self.vpc.id,
            opts=child,
        )
        self.endpoint_security_group = aws.ec2.SecurityGroup(
            namer.name("security-group", "endpoints"),
            name=namer.name("security-group", "endpoints"),
            description="Interface VPC endpoints: HTTPS only from the function security group",
            vpc_id=self.vpc.id,
            opts=child,
        )
        self.proxy_security_group: aws.ec2.SecurityGroup | None = None
        if args.database_proxy:
            self.proxy_security_group = aws.ec2.SecurityGroup(
                namer.name("security-group", "db-proxy"),
                name=namer.name("security-group", "db-proxy"),
                description="RDS Proxy: PostgreSQL from the functions, to the database only",
                vpc_id=self.vpc.id,
                opts=child,
            )
        self.gateway_endpoints = {
            service: aws.ec2.VpcEndpoint(
                namer.name("vpc-endpoint", service),
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{args.account.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[self.application_route_table.id],
                opts=child,
            )
            for service in GATEWAY_ENDPOINT_SERVICES
        }
        endpoint_subnets = [
            subnet.id for subnet in self.application_subnets[: settings.endpoint_availability_zone_count]
        ]
        self.interface_endpoints = {
            service: aws.ec2.VpcEndpoint(
                namer.name("vpc-endpoint", service),
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{args.account.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=endpoint_subnets,
                security_group_ids=[self.endpoint_security_group.id],
                opts=child,
            )
            for service in interface_endpoint_services()
        }
        self._security_group_rules(namer, settings.nat_gateway)
        self._flow_logs(namer, args)
        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "applicationSubnetIds": [s.id for s in self.application_subnets],
                "databaseSubnetIds": [s.id for s in self.database_subnets],
            }
        )

    def _subnets(
        self,
        namer: Namer,
        tier: str,
        zones: tuple[str, ...],
        blocks: tuple[str, ...],
        route_table: aws.ec2.RouteTable,
    ) -> list[aws.ec2.Subnet]:
        subnets = []
        for zone, block in zip(zones, blocks, strict=True):
            suffix = f"{tier}-{zone[-1]}"
            subnet = aws.ec2.Subnet(
                namer.name("subnet", suffix),
                vpc_id=self.vpc.id,
                cidr_block=block,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.ec2.RouteTableAssociation(
                namer.name("route-table-association", suffix),
                subnet_id=subnet.id,
                route_table_id=route_table.id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            subnets.append(subnet)
        return subnets

    def _internet_egress(self, namer: Namer, zones: tuple[str, ...], blocks: tuple[str, ...]) -> None:
        """Opt-in: public subnets with an internet gateway and one NAT gateway for the app tier.

        One NAT gateway (not one per zone) keeps the cost at ~$33/month plus data; the app tier
        loses internet egress if that zone fails, which is acceptable for an opt-in escape hatch.
        """
        child = pulumi.ResourceOptions(parent=self)
        gateway = aws.ec2.InternetGateway(namer.name("internet-gateway"), vpc_id=self.vpc.id, opts=child)
        public_table = aws.ec2.RouteTable(namer.name("route-table", "public"), vpc_id=self.vpc.id, opts=child)
        aws.ec2.Route(
            namer.name("route", "public-internet"),
            route_table_id=public_table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
            opts=child,
        )
        self.public_subnets = self._subnets(namer, "public", zones, blocks, public_table)
        address = aws.ec2.Eip(namer.name("eip", "nat"), domain="vpc", opts=child)
        nat = aws.ec2.NatGateway(
            namer.name("nat-gateway"),
            allocation_id=address.id,
            subnet_id=self.public_subnets[0].id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )
        aws.ec2.Route(
            namer.name("route", "app-nat"),
            route_table_id=self.application_route_table.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
            opts=child,
        )

    def _security_group_rules(self, namer: Namer, internet_egress: bool) -> None:
        """Every permitted path, as data: (rule name, group, direction, port, peer, description).

        A peer is another security group, a prefix list (the S3 gateway) or, only with NAT, the
        internet. Nothing else is ever opened.
        """
        function_sg, database_sg, endpoint_sg = (
            self.function_security_group,
            self.database_security_group,
            self.endpoint_security_group,
        )
        rules: list[tuple[str, aws.ec2.SecurityGroup, str, int, dict[str, Any], str]] = [
            (
                "database-from-function",
                database_sg,
                "ingress",
                POSTGRES_PORT,
                {"referenced_security_group_id": function_sg.id},
                "PostgreSQL from the functions",
            ),
            (
                "endpoints-from-function",
                endpoint_sg,
                "ingress",
                HTTPS_PORT,
                {"referenced_security_group_id": function_sg.id},
                "HTTPS to AWS APIs from the functions",
            ),
            (
                "function-to-database",
                function_sg,
                "egress",
                POSTGRES_PORT,
                {"referenced_security_group_id": database_sg.id},
                "PostgreSQL",
            ),
            (
                "function-to-endpoints",
                function_sg,
                "egress",
                HTTPS_PORT,
                {"referenced_security_group_id": endpoint_sg.id},
                "AWS APIs through interface endpoints",
            ),
        ]
        rules += [
            (
                f"function-to-{service}",
                function_sg,
                "egress",
                HTTPS_PORT,
                {"prefix_list_id": endpoint.prefix_list_id},
                f"{service} through the gateway endpoint",
            )
            for service, endpoint in self.gateway_endpoints.items()
        ]
        if self.proxy_security_group is not None:
            proxy_sg = self.proxy_security_group
            rules += [
                (
                    "db-proxy-from-function",
                    proxy_sg,
                    "ingress",
                    POSTGRES_PORT,
                    {"referenced_security_group_id": function_sg.id},
                    "PostgreSQL from the functions",
                ),
                (
                    "function-to-db-proxy",
                    function_sg,
                    "egress",
                    POSTGRES_PORT,
                    {"referenced_security_group_id": proxy_sg.id},
                    "PostgreSQL through RDS Proxy",
                ),
                (
                    "db-proxy-to-database",
                    proxy_sg,
                    "egress",
                    POSTGRES_PORT,
                    {"referenced_security_group_id": database_sg.id},
                    "PostgreSQL to the database",
                ),
                (
                    "database-from-db-proxy",
                    database_sg,
                    "ingress",
                    POSTGRES_PORT,
                    {"referenced_security_group_id": proxy_sg.id},
                    "PostgreSQL from RDS Proxy",
                ),
            ]
        if internet_egress:
            rules.append(
                (
                    "function-to-internet",
                    function_sg,
                    "egress",
                    HTTPS_PORT,
                    {"cidr_ipv4": "0.0.0.0/0"},
                    "HTTPS to the internet through the NAT gateway",
                )
            )
        for rule_name, group, direction, port, peer, description in rules:
            rule_type = aws.vpc.SecurityGroupIngressRule if direction == "ingress" else aws.vpc.SecurityGroupEgressRule
            rule_type(
                namer.name("sg-rule", rule_name),
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=description,
                opts=pulumi.ResourceOptions(parent=self),
                **peer,
            )

    def _flow_logs(self, namer: Namer, args: NetworkArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            namer.name("log-group", "flow-logs"),
            name=f"/aws/vpc-flow-logs/{namer.name('vpc')}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )
        flow_logs = service_role(
            namer,
            "flow-logs",
            service="vpc-flow-logs.amazonaws.com",
            account=args.account,
            description="Lets VPC Flow Logs write to its own log group",
            statements=(
                statement(
                    "WriteFlowLogs",
                    ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
                    [log_group.arn, pulumi.Output.concat(log_group.arn, ":log-stream:*")],
                ),
            ),
            parent=self,
        )
        aws.ec2.FlowLog(
            namer.name("flow-log"),
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=flow_logs.role.arn,
            max_aggregation_interval=60,
            opts=child,
        )
