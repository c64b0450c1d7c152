"""Cost advice (advisory): small database classes outside prod, at most one NAT gateway, Graviton
functions. These never block a deployment; they flag choices that weigh on the monthly budget.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from policies.rules import UNKNOWN, Check, Control, Kind, Resource, Stack, items, resource_policy, stack_policy

BURSTABLE_OUTSIDE_PROD = Control(
    name="rds-burstable-outside-prod",
    concern="cost",
    kind=Kind.COST,
    description="Databases outside prod use burstable (db.t*) instance classes.",
    severity=Severity.LOW,
    remediation="Use a db.t4g class for dev and staging (dbInstanceClass).",
    resource_types=("aws:rds/instance:Instance",),
)


def _burstable(_: Control, r: Resource) -> Iterator[str]:
    instance_class = r.get("instanceClass")
    if r.environment != "prod" and isinstance(instance_class, str) and not instance_class.startswith("db.t"):
        yield "a non-burstable instance class outside prod"


NAT_GATEWAYS = Control(
    name="nat-gateway-count",
    concern="cost",
    kind=Kind.COST,
    description="A stack runs at most the configured number of NAT gateways (about $33/month each plus data).",
    severity=Severity.LOW,
    remediation="Prefer VPC endpoints; if internet egress is needed, share one NAT gateway.",
    resource_types=("aws:ec2/natGateway:NatGateway",),
    config={"maximum": {"type": "integer", "minimum": 0, "description": "Most NAT gateways per stack.", "default": 1}},
)


def _nat_gateways(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    gateways = stack.of_type("aws:ec2/natGateway:NatGateway")
    maximum = int(control.setting(stack.config, "maximum"))  # config numbers arrive as floats
    for gateway in gateways[maximum:]:
        yield f"more than {maximum} NAT gateway(s) in the stack", gateway.urn


ARM_FUNCTIONS = Control(
    name="lambda-arm64",
    concern="cost",
    kind=Kind.COST,
    description="Lambda functions run on arm64 (Graviton), about 20% cheaper per GB-second.",
    severity=Severity.LOW,
    remediation="Set architectures=['arm64'] and build the layer for arm64.",
    resource_types=("aws:lambda/function:Function",),
)


def _arm(_: Control, r: Resource) -> Iterator[str]:
    architectures = r.get("architectures")
    if architectures is not UNKNOWN and "arm64" not in items(architectures):
        yield "the function runs on x86_64 (the default)"


CHECKS: list[Check] = [
    resource_policy(BURSTABLE_OUTSIDE_PROD, _burstable),
    stack_policy(NAT_GATEWAYS, _nat_gateways),
    resource_policy(ARM_FUNCTIONS, _arm),
]
