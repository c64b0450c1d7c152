"""Network isolation: private subnets, closed security groups, endpoints instead of the internet.

Which subnet a function uses, which route table a subnet follows and which security group a rule
opens are relations between resources. They are read from property dependencies, which the engine
knows during preview even where the IDs themselves are still unknown.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from pulumi_policy import PolicyResource, Severity

from contract.workloads import GATEWAY_ENDPOINT_SERVICES, interface_endpoint_services
from policies.rules import (
    MISSING,
    UNKNOWN,
    Anchors,
    Check,
    Control,
    Kind,
    Resource,
    Stack,
    get,
    items,
    resource_policy,
    stack_policy,
)

FUNCTION = "aws:lambda/function:Function"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"  # Aurora: the cluster holds the security groups of its instances
SUBNET = "aws:ec2/subnet:Subnet"
SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
PROXY = "aws:rds/proxy:Proxy"
PROXY_TARGET = "aws:rds/proxyTarget:ProxyTarget"
NO_PUBLIC_INGRESS = Control(
    name="no-public-ingress",
    concern="network",
    kind=Kind.SECURITY,
    description=(
        "No security group admits the whole internet: no rule's CIDR is the whole IPv4 or IPv6 space in any "
        "spelling (0.0.0.0/0, ::/0, 0:0::0/0 ...), and a group's rules together do not cover it either "
        "(0.0.0.0/1 + 128.0.0.0/1)."
    ),
    severity=Severity.CRITICAL,
    remediation="Admit traffic only from another security group (referenced_security_group_id) or a narrow CIDR.",
    resource_types=(INGRESS_RULE, LEGACY_RULE, SECURITY_GROUP),
    anchors=Anchors(
        cdk_nag=("AwsSolutions-EC23",), checkov=("CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260"), security_hub=("EC2.18",)
    ),
)
WHOLE_SPACE = (ipaddress.IPv4Network("0.0.0.0/0"), ipaddress.IPv6Network("::/0"))


def _networks(values: object) -> tuple[list[ipaddress.IPv4Network | ipaddress.IPv6Network], list[str]]:
    """The CIDRs of a property, parsed (host bits allowed, as EC2 accepts them), and the unparseable ones."""
    parsed, bad = [], []
    for value in items(values):
        if value is UNKNOWN or value is MISSING:
            continue
        try:
            parsed.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            bad.append(str(value))
    return parsed, bad


def _rule_cidrs(rule: PolicyResource) -> tuple[list[ipaddress.IPv4Network | ipaddress.IPv6Network], list[str]]:
    props = rule.props
    if rule.resource_type == INGRESS_RULE:
        v4, bad4 = _networks(get(props, "cidrIpv4"))
        v6, bad6 = _networks(get(props, "cidrIpv6"))
        return v4 + v6, bad4 + bad6
    if get(props, "type") != "ingress":
        return [], []
    v4, bad4 = _networks(get(props, "cidrBlocks"))
    v6, bad6 = _networks(get(props, "ipv6CidrBlocks"))
    return v4 + v6, bad4 + bad6


def _covers_whole_space(networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Whether the networks, merged, include all of IPv4 or all of IPv6."""
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    return WHOLE_SPACE[0] in ipaddress.collapse_addresses(v4) or WHOLE_SPACE[1] in ipaddress.collapse_addresses(v6)


def _no_public_ingress(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    by_group: dict[str, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
    for rule in stack.of_type(INGRESS_RULE, LEGACY_RULE):
        networks, bad = _rule_cidrs(rule)
        for value in bad:
            yield f"the rule's CIDR {value!r} is not an IP network", rule.urn
        if _covers_whole_space(networks):
            yield "the rule admits the whole internet", rule.urn
            continue
        groups = stack.resolve(rule, "securityGroupId", SECURITY_GROUP)
        for group in groups or [rule]:
            by_group.setdefault(group.urn, []).extend(networks)
    for group in stack.of_type(SECURITY_GROUP):
        inline: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in items(get(group.props, "ingress")):
            v4, _bad4 = _networks(get(entry, "cidrBlocks"))
            v6, _bad6 = _networks(get(entry, "ipv6CidrBlocks"))
            if _covers_whole_space(v4 + v6):
                yield "an inline ingress rule admits the whole internet", group.urn
            inline += v4 + v6
        admitted = by_group.get(group.urn, []) + inline
        if not _covers_whole_space(inline) and _covers_whole_space(admitted):
            yield "the group's ingress rules together admit the whole internet", group.urn


RDS_NOT_PUBLIC = Control(
    name="rds-not-public",
    concern="network",
    kind=Kind.SECURITY,
    description="RDS instances, Aurora cluster instances and Multi-AZ DB clusters are not publicly accessible. "
    "Unknown setting: reported (fail closed).",
    severity=Severity.CRITICAL,
    remediation="Set publicly_accessible=False (the default) and place the instance in isolated subnets.",
    resource_types=(RDS_INSTANCE, "aws:rds/clusterInstance:ClusterInstance", "aws:rds/cluster:Cluster"),
    anchors=Anchors(checkov=("CKV_AWS_17",), security_hub=("RDS.2",)),
)


def _rds_not_public(_: Control, r: Resource) -> Iterator[str]:
    public = r.get("publiclyAccessible")
    if public is True or public is UNKNOWN:
        yield "publiclyAccessible is true" if public is True else "publiclyAccessible is not known during preview"


LAMBDA_IN_VPC = Control(
    name="lambda-in-vpc",
    concern="network",
    kind=Kind.SECURITY,
    description="Lambda functions run inside the VPC, in subnets with a security group.",
    severity=Severity.HIGH,
    remediation="Set vpc_config with the application subnets and the function security group.",
    resource_types=(FUNCTION,),
    anchors=Anchors(checkov=("CKV_AWS_117",), security_hub=("Lambda.3",)),
)


def _nonempty(value: object) -> bool:
    return value is UNKNOWN or bool(items(value))


def _lambda_in_vpc(_: Control, r: Resource) -> Iterator[str]:
    if not _nonempty(r.get("vpcConfig", "subnetIds")) or not _nonempty(r.get("vpcConfig", "securityGroupIds")):
        yield "vpcConfig has no subnets or no security groups (the function would run outside the VPC)"


PRIVATE_SUBNETS = Control(
    name="private-subnets-no-internet-route",
    concern="network",
    kind=Kind.SECURITY,
    description="Subnets used by functions and databases are private: no public IPs, no route to an internet gateway.",
    severity=Severity.HIGH,
    remediation="Associate the subnet with a route table that has no internet-gateway route (egress, if needed, "
    "goes through a NAT gateway or VPC endpoints) and set map_public_ip_on_launch=False.",
    resource_types=(FUNCTION, SUBNET_GROUP, SUBNET, ROUTE_TABLE, ROUTE, ASSOCIATION),
    anchors=Anchors(security_hub=("EC2.15",)),
)


def _route_tables_with_igw(stack: Stack) -> set[str]:
    tables: set[str] = set()
    for route in stack.of_type(ROUTE):
        if stack.resolve(route, "gatewayId", INTERNET_GATEWAY):
            tables.update(table.urn for table in stack.resolve(route, "routeTableId", ROUTE_TABLE))
    for table in stack.of_type(ROUTE_TABLE):
        if stack.resolve(table, "routes", INTERNET_GATEWAY):
            tables.add(table.urn)
    return tables


def _private_subnets(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    used: dict[str, tuple[PolicyResource, str]] = {}
    for function in stack.of_type(FUNCTION):
        for subnet in stack.resolve(function, "vpcConfig", SUBNET):
            used.setdefault(subnet.urn, (subnet, "a function"))
    for group in stack.of_type(SUBNET_GROUP):
        for subnet in stack.resolve(group, "subnetIds", SUBNET):
            used.setdefault(subnet.urn, (subnet, "a database"))
    public_tables = _route_tables_with_igw(stack)
    for subnet, user in used.values():
        if get(subnet.props, "mapPublicIpOnLaunch") is True:
            yield f"subnet used by {user} assigns public IPs on launch", subnet.urn
        associations = stack.referrers(subnet, "subnetId", ASSOCIATION)
        if not associations:
            yield (
                f"subnet used by {user} has no explicit route table (it would follow the VPC's main table)",
                subnet.urn,
            )
        for association in associations:
            if any(table.urn in public_tables for table in stack.resolve(association, "routeTableId", ROUTE_TABLE)):
                yield f"subnet used by {user} routes to an internet gateway", subnet.urn


DATABASE_INGRESS = Control(
    name="database-ingress-from-functions-only",
    concern="network",
    kind=Kind.SECURITY,
    description=(
        "A database's (an RDS instance's or an Aurora cluster's) security groups admit traffic only from the "
        "functions' security group, or from the security group of an RDS Proxy in front of it, which in turn "
        "admits only the functions."
    ),
    severity=Severity.CRITICAL,
    remediation="Replace CIDR-based or other-group ingress on the database (or proxy) security group with one rule "
    "whose referenced_security_group_id is the function (or proxy) security group.",
    resource_types=(RDS_INSTANCE, RDS_CLUSTER, SECURITY_GROUP, INGRESS_RULE, LEGACY_RULE, FUNCTION, PROXY),
)


def _proxy_groups(stack: Stack, database: PolicyResource) -> list[PolicyResource]:
    """The security groups of the RDS Proxies whose target is ``database`` (an instance or a cluster)."""
    proxies = [
        proxy
        for target in stack.of_type(PROXY_TARGET)
        if any(
            db.urn == database.urn
            for db in [
                *stack.resolve(target, "dbInstanceIdentifier", RDS_INSTANCE),
                *stack.resolve(target, "dbClusterIdentifier", RDS_CLUSTER),
            ]
        )
        for proxy in stack.resolve(target, "dbProxyName", PROXY)
    ]
    return [group for proxy in proxies for group in stack.resolve(proxy, "vpcSecurityGroupIds", SECURITY_GROUP)]


def _database_ingress(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    function_groups = {
        group.urn for f in stack.of_type(FUNCTION) for group in stack.resolve(f, "vpcConfig", SECURITY_GROUP)
    }
    # A group shared by a primary and its replicas may admit the proxy in front of any of them.
    allowed: dict[str, set[str]] = {}
    database_groups: dict[str, PolicyResource] = {}
    for database in stack.of_type(RDS_INSTANCE, RDS_CLUSTER):
        proxy_groups = _proxy_groups(stack, database)
        yield from _ingress_only_from(stack, proxy_groups, function_groups, "the proxy")
        groups = stack.resolve(database, "vpcSecurityGroupIds", SECURITY_GROUP)
        if not groups and not items(get(database.props, "vpcSecurityGroupIds")):
            yield "the database has no security group of its own (it would use the VPC default group)", database.urn
        for group in groups:
            database_groups[group.urn] = group
            allowed.setdefault(group.urn, set(function_groups)).update(g.urn for g in proxy_groups)
    for urn, group in database_groups.items():
        yield from _ingress_only_from(stack, [group], allowed[urn], "the database")


def _ingress_only_from(
    stack: Stack, groups: list[PolicyResource], allowed: set[str], what: str
) -> Iterator[tuple[str, str]]:
    for group in groups:
        for rule in stack.referrers(group, "securityGroupId", INGRESS_RULE, LEGACY_RULE):
            if rule.resource_type == LEGACY_RULE and get(rule.props, "type") != "ingress":
                continue
            prop = "referencedSecurityGroupId" if rule.resource_type == INGRESS_RULE else "sourceSecurityGroupId"
            sources = stack.resolve(rule, prop, SECURITY_GROUP)
            if not sources or any(source.urn not in allowed for source in sources):
                yield (
                    f"an ingress rule on {what} security group admits a source other than the functions",
                    rule.urn,
                )
        for rule in items(get(group.props, "ingress")):
            if rule is not MISSING:
                yield f"{what} security group has inline ingress rules; use one rule per source", group.urn


ENDPOINTS = Control(
    name="vpc-endpoints-for-services",
    concern="network",
    kind=Kind.SECURITY,
    description="A VPC endpoint exists for every AWS service the functions call, so no call needs the internet.",
    severity=Severity.HIGH,
    remediation="Add an interface endpoint (private DNS on) for each listed service, and a gateway endpoint for S3; "
    "the services come from contract/workloads.py.",
    resource_types=(VPC_ENDPOINT, FUNCTION),
    config={
        "requiredServices": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z0-9.-]+$"},
            "uniqueItems": True,
            "description": "Endpoint service names (the part after com.amazonaws.<region>.) the functions use.",
            "default": sorted({*interface_endpoint_services(), *GATEWAY_ENDPOINT_SERVICES}),
        }
    },
)


def _endpoints(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    functions = stack.of_type(FUNCTION)
    if not functions:
        return
    present: set[str] = set()
    for endpoint in stack.of_type(VPC_ENDPOINT):
        service = get(endpoint.props, "serviceName")
        if service is UNKNOWN:
            yield "an endpoint's service name is not known during preview", endpoint.urn
        elif isinstance(service, str):
            present.add(service.rsplit(".", 1)[-1])
    for service in control.setting(stack.config, "requiredServices"):
        if service not in present:
            yield f"no VPC endpoint for {service}", functions[0].urn


DEFAULT_SG_CLOSED = Control(
    name="default-security-group-closed",
    concern="network",
    kind=Kind.SECURITY,
    description="The VPC's default security group has no rules.",
    severity=Severity.MEDIUM,
    remediation="Manage the default security group with aws.ec2.DefaultSecurityGroup and no ingress or egress.",
    resource_types=("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",),
    anchors=Anchors(checkov=("CKV2_AWS_12",), security_hub=("EC2.2",)),
)


def _default_sg(_: Control, r: Resource) -> Iterator[str]:
    if items(r.get("ingress")) or items(r.get("egress")):
        yield "the default security group has rules"


CHECKS: list[Check] = [
    stack_policy(NO_PUBLIC_INGRESS, _no_public_ingress),
    resource_policy(RDS_NOT_PUBLIC, _rds_not_public),
    resource_policy(LAMBDA_IN_VPC, _lambda_in_vpc),
    stack_policy(PRIVATE_SUBNETS, _private_subnets),
    stack_policy(DATABASE_INGRESS, _database_ingress),
    stack_policy(ENDPOINTS, _endpoints),
    resource_policy(DEFAULT_SG_CLOSED, _default_sg),
]
