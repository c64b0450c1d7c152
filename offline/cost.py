"""Monthly cost estimate of a stack, from what its program registers: ``python -m offline.cost``.

Runs the program under the mocks, prices every resource with :mod:`costmodel` under the traffic
profile in the stack's configuration (``cost*`` keys), and prints an itemised table by resource
and by service, the budget verdict, the highest sustained request rate the budget allows, and
the most busy hours a day the budget allows, whether the usage plan and the stage's throttle admit
the traffic priced, and what the main levers would change. Exit 0 within budget with the traffic
admitted, 1 over budget or refusing the traffic priced, 2 when the program cannot run or a registered
resource type has no pricing rule.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pulumi.runtime import rpc

from contract.parameters import STORED_PARAMETERS
from contract.settings import parse_settings, parse_traffic
from costmodel.estimate import (
    Estimate,
    Resource,
    TrafficProfile,
    admission_problems,
    estimate,
    max_peak_hours_per_day,
    max_sustained_requests_per_minute,
    rest_api_requests,
)
from offline.harness import ProgramError, ProgramRun, run_program
from offline.project import ProjectError, add_config_option, error_line

SENSITIVE_PARAMETERS = frozenset(stored.name for stored in STORED_PARAMETERS if stored.sensitive)
"""Leaf names of the parameters that hold a secret alone (a settings document holds none)."""


@dataclass(frozen=True)
class Lever:
    """A change to the registered resources whose effect on the bill is worth knowing."""

    description: str
    change: Callable[[list[Resource]], list[Resource]]


def resources_of(run: ProgramRun) -> list[Resource]:
    return [
        Resource(r.type, r.name, {k: rpc.unwrap_rpc_secret(v) for k, v in r.inputs.items()})
        for r in run.resources
        if r.custom
    ]


def profile_of(config: Mapping[str, str]) -> TrafficProfile:
    """The traffic profile from stack configuration (contract.settings parses it); a bad value names its key."""
    return TrafficProfile(**asdict(parse_traffic(config)))


def _with_inputs(
    type_token: str, update: Callable[[Mapping[str, Any]], Mapping[str, Any]]
) -> Callable[[list[Resource]], list[Resource]]:
    def change(resources: list[Resource]) -> list[Resource]:
        return [Resource(r.type, r.name, update(r.inputs)) if r.type == type_token else r for r in resources]

    return change


def _without(*type_tokens: str) -> Callable[[list[Resource]], list[Resource]]:
    return lambda resources: [r for r in resources if r.type not in type_tokens]


LEVERS = (
    Lever(
        "no provisioned concurrency (cold starts on the first requests after idle)",
        _without(
            "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "aws:appautoscaling/target:Target"
        ),
    ),
    Lever(
        "interface endpoints in one zone fewer",
        _with_inputs(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            lambda i: {**i, "subnetIds": list(i.get("subnetIds") or [])[:-1] or list(i.get("subnetIds") or [])},
        ),
    ),
    Lever("no API cache", _with_inputs("aws:apigateway/stage:Stage", lambda i: {**i, "cacheClusterEnabled": False})),
    Lever("single-AZ primary database", _with_inputs("aws:rds/instance:Instance", lambda i: {**i, "multiAz": False})),
    Lever(
        "API Gateway detailed metrics on",
        _with_inputs(
            "aws:apigateway/methodSettings:MethodSettings",
            lambda i: {**i, "settings": {**(i.get("settings") or {}), "metricsEnabled": True}},
        ),
    ),
    Lever(
        "SecureString only for the sensitive parameters (contract.parameters)",
        _with_inputs(
            "aws:ssm/parameter:Parameter",
            lambda i: {
                **i,
                "type": "SecureString"
                if str(i.get("name", "")).rsplit("/", 1)[-1] in SENSITIVE_PARAMETERS
                else "String",
            },
        ),
    ),
)


def levers(resources: list[Resource], profile: TrafficProfile, baseline: float) -> list[tuple[str, float]]:
    """Each lever's monthly change against the baseline (negative saves)."""
    return [(lever.description, estimate(lever.change(resources), profile).total - baseline) for lever in LEVERS]


def render(
    run: ProgramRun,
    result: Estimate,
    budget: float,
    max_rpm: float,
    lever_effects: list[tuple[str, float]],
    peak_hours: float | None = None,
    problems: list[str] | None = None,
) -> str:
    profile = result.profile
    lines = [
        f"Monthly cost estimate for {run.project.name} / {run.stack} (us-east-1 prices as of {result.as_of})",
        f"Traffic: {profile.peak_requests_per_minute:,.0f} req/min for {profile.peak_hours_per_day:g} h/day, "
        f"{profile.baseline_requests_per_minute:,.0f} req/min otherwise "
        f"= {profile.monthly_requests / 1e6:,.1f}M requests/month",
        "",
        f"{'service':<15} {'resource':<58} {'item':<36} {'USD/month':>10}",
    ]
    for line in sorted(result.lines, key=lambda item: (item.service, -item.monthly_usd)):
        lines.append(f"{line.service:<15} {line.resource[:58]:<58} {line.item[:36]:<36} {line.monthly_usd:>10.2f}")
    lines += ["", "By service:"]
    lines += [f"  {service:<15} {usd:>10.2f}" for service, usd in result.by_service().items()]
    verdict = "within" if result.total <= budget else "OVER"
    lines += [
        "",
        f"Total: ${result.total:,.2f}/month, {verdict} the ${budget:,.0f} budget (monthlyBudgetUsd)",
        f"Highest sustained rate within budget: {max_rpm:,.0f} requests/minute all day",
        "Most busy hours a day within budget: "
        + (
            "none (even a day at the baseline rate is over budget)"
            if peak_hours is None
            else f"{peak_hours:.2f} h at {profile.peak_requests_per_minute:,.0f} req/min "
            f"(priced: {profile.peak_hours_per_day:g} h; costPeakHoursPerDay)"
        ),
        f"For scale: a sustained {profile.peak_requests_per_minute:,.0f} requests/minute would cost "
        f"${rest_api_requests(profile.sustained(profile.peak_requests_per_minute).monthly_requests):,.0f}/month "
        "in REST API requests alone",
        "",
        "Traffic admitted by the stack's limits: "
        + ("yes (usage plan quota and rate limits)" if not problems else "NO"),
        *(f"  {problem}" for problem in problems or []),
        "",
        "Levers (change per month):",
    ]
    lines += [f"  {usd:>+9.2f}  {description}" for description, usd in lever_effects]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", default=".", type=Path)
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--json", type=Path, help="also write the estimate as JSON to this file")
    add_config_option(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    overrides = dict(options.config)
    try:
        run = run_program(options.project, options.stack, config_overrides=overrides, preview=True)
        profile = profile_of(run.config.values)
        budget = float(parse_settings(run.config.values).observability.monthly_budget_usd)
    except (ProjectError, ProgramError, ValueError) as error:
        print(error_line(error), file=sys.stderr)
        return 2
    resources = resources_of(run)
    try:
        result = estimate(resources, profile)
    except ValueError as error:  # fails closed: a type or an instance class the model cannot price
        print(f"error: the estimate cannot be made: {error}", file=sys.stderr)
        return 2
    max_rpm = max_sustained_requests_per_minute(resources, profile, budget)
    peak_hours = max_peak_hours_per_day(resources, profile, budget)
    problems = admission_problems(resources, profile)
    effects = levers(resources, profile, result.total)
    print(render(run, result, budget, max_rpm, effects, peak_hours, problems))
    if options.json:
        document = result.as_json() | {
            "project": run.project.name,
            "stack": run.stack,
            "budget_usd": budget,
            "within_budget": result.total <= budget,
            "max_sustained_requests_per_minute": round(max_rpm),
            "max_peak_hours_per_day": None if peak_hours is None else round(peak_hours, 2),
            "traffic_admitted": not problems,
            "admission_problems": problems,
            "levers": [{"change": d, "monthly_usd": round(u, 2)} for d, u in effects],
        }
        options.json.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0 if result.total <= budget and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
