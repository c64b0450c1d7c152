"""Cost: the monthly budget (mandatory in the environments held to it, prod by default) and cost advice
(advisory: small database classes outside prod, at most one NAT gateway, Graviton functions).

The budget check prices the resources the stack registers with :mod:`costmodel`, the same model
``nox -s cost`` prints, under the same figures: the stack's own budget (``monthlyBudgetUsd``, the
amount its AWS Budget alarms on) and traffic profile (the ``cost*`` keys), read from the stack's
configuration the engine hands the pack (``PULUMI_CONFIG``) and parsed by :mod:`contract.settings`.
So every figure has one definition, Pulumi.yaml's default or the stack's value. The pack's own
configuration only chooses the environments held to their budget and may override the figures
(``budgetsUsd``, ``trafficProfile``) for a project that declares none.

The check fails closed: a registered resource type the model has no pricing rule for (and no reason
to be free) fails it, naming the type, rather than counting $0; so does a usage plan or stage
throttle that would refuse the traffic the estimate prices (the estimate would then price requests
the stack never serves), and a budget or traffic figure that is malformed, or a traffic figure missing
where a budget is declared. A project that declares no budget (nor the pack one for it) is not checked.
The project's own component resources register nothing billable themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict
from typing import Any

from pulumi_policy import PolicyResource, Severity
from pulumi_policy.proxy import UnknownValueError

from contract.naming import APPLICATION, ENVIRONMENTS
from contract.settings import TRAFFIC_KEYS, parse_budget, parse_traffic
from costmodel.estimate import Resource as PricedResource
from costmodel.estimate import TrafficProfile, admission_problems, estimate, max_peak_hours_per_day
from policies.rules import (
    UNKNOWN,
    Check,
    Control,
    Kind,
    Resource,
    Stack,
    environment_of,
    items,
    resource_policy,
    stack_config,
    stack_policy,
)

STACK_TYPE = "pulumi:pulumi:Stack"
BUDGET_KEY = "monthlyBudgetUsd"

MONTHLY_BUDGET = Control(
    name="monthly-budget",
    concern="cost",
    kind=Kind.BUDGET,
    description=(
        "The stack's estimated monthly bill (its registered resources priced by costmodel under the stack's "
        f"traffic profile, the {APPLICATION}:cost* keys) stays within the stack's budget ({APPLICATION}:"
        f"{BUDGET_KEY}, the amount its AWS Budget alarms on), in the environments held to it (the stack's name or "
        f"{APPLICATION}:environment, never a resource tag). Values unknown during preview are priced as absent."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Run `nox -s cost -- --stack <stack>` for the itemised estimate and its levers; lower provisioned "
        f"concurrency, instance classes or endpoint zones, or agree a higher budget ({BUDGET_KEY})."
    ),
    resource_types=(STACK_TYPE,),
    config={
        "environments": {
            "type": "array",
            "description": "Environments whose stacks are held to their budget.",
            "items": {"enum": list(ENVIRONMENTS)},
            "default": ["prod"],
        },
        "budgetsUsd": {
            "type": "object",
            "description": f"Monthly budget in USD per environment, instead of the stack's {BUDGET_KEY} (for a "
            "project that declares none); an environment given one here is checked.",
            "properties": {env: {"type": "number", "minimum": 0} for env in ENVIRONMENTS},
            "additionalProperties": False,
            "default": {},
        },
        "trafficProfile": {
            "type": "object",
            "description": "costmodel.TrafficProfile fields instead of the stack's cost* keys.",
            "properties": {name: {"type": "number", "minimum": 0} for name in TRAFFIC_KEYS},
            "additionalProperties": False,
            "default": {},
        },
    },
)


def _stack_figures(overrides: Mapping[str, Any]) -> Mapping[str, str]:
    """The stack's budget and traffic keys from its configuration, with the pack's traffic overrides."""
    keys = (BUDGET_KEY, *TRAFFIC_KEYS.values())
    figures = {f"{APPLICATION}:{key}": value for key in keys if (value := stack_config(key)) is not None}
    return figures | {f"{APPLICATION}:{TRAFFIC_KEYS[name]}": _text(value) for name, value in overrides.items()}


def _text(number: Any) -> str:
    """A pack config number (JSON numbers arrive as floats) as configuration text: 2.0 is "2"."""
    return str(int(number)) if float(number).is_integer() else str(number)


def plain(value: Any) -> Any:
    """A property bag as plain data; a value unknown during preview becomes None (priced as absent)."""
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in value:
            try:
                result[key] = plain(value[key])
            except UnknownValueError:
                result[key] = None
        return result
    if isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and hasattr(value, "__getitem__")):
        if isinstance(value, (str, bytes)):
            return value
        elements: list[Any] = []
        for index in range(len(value)):
            try:
                elements.append(plain(value[index]))
            except UnknownValueError:
                elements.append(None)
        return elements
    return value


def _project(resources: list[PolicyResource]) -> str:
    """The project's name from a URN (``urn:pulumi:<stack>::<project>::<type>::<name>``)."""
    parts = resources[0].urn.split("::") if resources else []
    return parts[1] if len(parts) > 2 else ""


def _is_component(resource: PolicyResource, project: str) -> bool:
    """The project's own component resources (``<project>:index:Api``): their children are priced."""
    return bool(project) and resource.resource_type.split(":", 1)[0] == project


def _monthly_budget(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    environment = environment_of()  # the stack's, never a tag a resource carries
    budgets = control.setting(stack.config, "budgetsUsd")
    if environment not in budgets and environment not in control.setting(stack.config, "environments"):
        return
    figures = _stack_figures(control.setting(stack.config, "trafficProfile"))
    if environment not in budgets and f"{APPLICATION}:{BUDGET_KEY}" not in figures:
        return  # a project that declares no budget (the blueprint always does: Pulumi.yaml's default)
    anchor = next((r for r in stack.resources if r.resource_type == STACK_TYPE), None) or stack.resources[0]
    try:
        budget = float(budgets[environment]) if environment in budgets else float(parse_budget(figures))
        profile = TrafficProfile(**asdict(parse_traffic(figures)))
    except ValueError as error:  # a SettingsError names the key; TrafficProfile the field
        yield (
            f"the budget cannot be checked: {error} (the stack's configuration; the pack's budgetsUsd and "
            "trafficProfile can stand in for a project that declares none)",
            anchor.urn,
        )
        return
    project = _project(stack.resources)
    priced = [
        PricedResource(r.resource_type, r.name, plain(r.props))
        for r in stack.resources
        if not _is_component(r, project)
    ]
    try:
        result = estimate(priced, profile)
    except ValueError as error:  # a resource the price table cannot price: fail closed, saying which
        yield f"the estimate cannot be made, so the budget cannot be checked: {error}", anchor.urn
        return
    for problem in admission_problems(priced, profile):
        yield f"the stack would refuse the traffic the budget is checked against: {problem}", anchor.urn
    if result.total <= budget:
        return
    largest = ", ".join(f"{service} ${usd:,.0f}" for service, usd in list(result.by_service().items())[:3])
    hours = max_peak_hours_per_day(priced, profile, budget)
    bound = "no busy hours at all" if hours is None else f"at most {hours:.1f} busy hours a day"
    yield (
        f"estimated ${result.total:,.0f}/month exceeds the {environment} budget of ${budget:,.0f} "
        f"(largest: {largest}; the budget allows {bound}; prices as of {result.as_of})",
        anchor.urn,
    )


BURSTABLE_OUTSIDE_PROD = Control(
    name="rds-burstable-outside-prod",
    concern="cost",
    kind=Kind.COST,
    description="Databases (RDS instances, Aurora cluster instances) outside prod use burstable (db.t*) instance "
    "classes. Unknown class: not reported.",
    severity=Severity.LOW,
    remediation="Use a db.t4g class for dev and staging (dbInstanceClass).",
    resource_types=("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"),
)


def _burstable(_: Control, r: Resource) -> Iterator[str]:
    instance_class = r.get("instanceClass")
    if environment_of() != "prod" and isinstance(instance_class, str) and not instance_class.startswith("db.t"):
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
    stack_policy(MONTHLY_BUDGET, _monthly_budget),
    resource_policy(BURSTABLE_OUTSIDE_PROD, _burstable),
    stack_policy(NAT_GATEWAYS, _nat_gateways),
    resource_policy(ARM_FUNCTIONS, _arm),
]
