"""Run Checkov's AWS Terraform checks on a stack's resources, as a Terraform plan.

The stack's AWS resources become a plan document (``terraform show -json``'s shape: each
resource's values under ``planned_values``, and under ``configuration`` the references one
resource's attribute makes to others, taken from Pulumi's property dependencies), and Checkov's
plan runner (``checkov.terraform.plan_runner.Runner``) runs on it: its Python resource checks and
its graph checks (the YAML policies, e.g. CKV2_AWS_11 "VPC flow logging", that follow references
between resources). Only AWS checks run; the ones the main pack answers are skipped.

Verdicts per (check, resource):

- ``passed`` / ``failed``: Checkov's own answer;
- ``unknown``: a failure on a resource whose values were not all known during preview (a first
  preview, computed outputs), where the check read one of the unknown attributes, or did not say
  what it read, or (a graph check) a resource it follows had unknown values: the failure may be only
  the missing value, so it is never reported as a violation (no false failures) and the coverage
  table lists it as not evaluated.

Checkov's open-source checks carry no severity (severities come from its commercial platform) and,
offline, no guideline URL: a finding then says ``severity unspecified`` and links the check's
source at the pinned Checkov version, which states exactly what it tests.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from checkov_pack.terraform import TerraformResource, attribute_name, convert

SOURCE_URL: Final = "https://github.com/bridgecrewio/checkov/blob/{version}/{path}"
PASSED: Final = "passed"
FAILED: Final = "failed"
UNKNOWN: Final = "unknown"
AWS_PROVIDER: Final = "registry.terraform.io/hashicorp/aws"


@dataclass(frozen=True)
class CheckInfo:
    """What a finding says about a Checkov check."""

    id: str
    name: str
    severity: str
    guideline: str
    resource_types: tuple[str, ...] = ()  # the Terraform types it applies to


@dataclass(frozen=True)
class Verdict:
    check: CheckInfo
    urn: str
    tf_type: str
    result: str  # passed | failed | unknown
    detail: str = ""


@dataclass(frozen=True)
class StackResource:
    """What the pack needs of one registered resource."""

    token: str
    name: str
    urn: str
    props: Any
    dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)  # property → URNs it came from


def checkov_version() -> str:
    return importlib.metadata.version("checkov")


@cache
def load_checks() -> dict[str, CheckInfo]:
    """Every AWS Terraform check Checkov has (Python resource checks and YAML graph checks), by id."""
    logging.getLogger("checkov").setLevel(logging.ERROR)
    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    version = checkov_version()
    found: dict[str, CheckInfo] = {}
    for resource_type, checks in resource_registry.checks.items():
        if not resource_type.startswith("aws_"):
            continue
        for check in checks:
            path = f"{type(check).__module__.replace('.', '/')}.py"
            found[check.id] = _info(check, SOURCE_URL.format(version=version, path=path))
    graph = get_graph_checks_registry("terraform")
    graph.load_checks()
    for check in graph.checks:
        if not any(str(t).startswith("aws_") for t in getattr(check, "resource_types", None) or ()):
            continue
        located = str(getattr(check, "check_path", "") or "")
        path = located[located.rindex("checkov/terraform/") :] if "checkov/terraform/" in located else "checkov"
        found.setdefault(check.id, _info(check, SOURCE_URL.format(version=version, path=path)))
    return dict(sorted(found.items()))


def _info(check: Any, source: str) -> CheckInfo:
    severity = getattr(check, "severity", None)
    return CheckInfo(
        id=str(check.id),
        name=str(check.name),
        severity=str(getattr(severity, "name", severity) or "unspecified").lower(),
        guideline=str(getattr(check, "guideline", None) or source),
        resource_types=tuple(sorted(str(t) for t in _types(check) if str(t).startswith("aws_"))),
    )


def _types(check: Any) -> list[str]:
    return list(getattr(check, "supported_resources", None) or getattr(check, "resource_types", None) or ())


def checks_for(tf_type: str) -> list[CheckInfo]:
    """The AWS checks (resource and graph) that apply to a Terraform type."""
    return [info for info in load_checks().values() if tf_type in info.resource_types]


@dataclass
class Plan:
    """The plan document and how its addresses map back to URNs."""

    document: dict[str, Any]
    urns: dict[str, str]  # address → URN
    resources: dict[str, TerraformResource]  # URN → converted resource
    follows: dict[str, set[str]]  # URN → URNs its properties reference


def build_plan(stack: Iterable[StackResource]) -> Plan:
    """The plan document for the resources the mapping names (others have no Terraform counterpart)."""
    converted: list[tuple[StackResource, TerraformResource, str]] = []
    address_of: dict[str, str] = {}
    for index, resource in enumerate(stack):
        terraform = convert(resource.token, resource.props)
        if terraform is None:
            continue
        address = f"{terraform.type}.r{index}_{re.sub(r'[^A-Za-z0-9_]', '_', resource.name)}"
        converted.append((resource, terraform, address))
        address_of[resource.urn] = address
    planned, configured = [], []
    plan = Plan({}, {}, {}, {})
    for resource, terraform, address in converted:
        tf_type, name = address.split(".", 1)
        plan.urns[address] = resource.urn
        plan.resources[resource.urn] = terraform
        planned.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": AWS_PROVIDER,
                "schema_version": 0,
                "values": terraform.values,
            }
        )
        expressions: dict[str, Any] = {}
        plan.follows[resource.urn] = set()
        for prop, urns in resource.dependencies.items():
            known = [address_of[urn] for urn in urns if urn in address_of]
            references = [ref for address in known for ref in (f"{address}.id", address)]
            plan.follows[resource.urn] |= {urn for urn in urns if urn in address_of}
            if references:
                expressions[attribute_name(resource.token, prop)] = {"references": references}
        configured.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_config_key": "aws",
                "expressions": expressions,
                "schema_version": 0,
            }
        )
    plan.document = {
        "format_version": "1.2",
        "terraform_version": "1.6.0",
        "planned_values": {"root_module": {"resources": planned}},
        "configuration": {"provider_config": {"aws": {"name": "aws"}}, "root_module": {"resources": configured}},
    }
    return plan


def evaluate(stack: Iterable[StackResource], skip: Iterable[str] = ()) -> list[Verdict]:
    """Checkov's verdict for each AWS check on each resource of the stack it applies to."""
    checks = load_checks()
    plan = build_plan(stack)
    if not plan.urns:
        return []
    from checkov.runner_filter import RunnerFilter
    from checkov.terraform.plan_runner import Runner

    skipped = set(skip)
    with tempfile.TemporaryDirectory(prefix="checkov-plan-") as directory:
        path = Path(directory) / "plan.json"
        path.write_text(json.dumps(plan.document, default=str), encoding="utf-8")
        report = Runner().run(
            root_folder=None,
            files=[str(path)],
            runner_filter=RunnerFilter(framework=["terraform_plan"]),
        )
    reports = report if isinstance(report, list) else [report]
    verdicts: list[Verdict] = []
    for each in reports:
        for record, result in [(r, PASSED) for r in each.passed_checks] + [(r, FAILED) for r in each.failed_checks]:
            urn = plan.urns.get(str(record.resource))
            info = checks.get(str(record.check_id))
            if urn is None or info is None or info.id in skipped:
                continue
            verdicts.append(_verdict(info, urn, plan, result, record))
    return sorted(verdicts, key=lambda v: (v.check.id, v.urn))


def warm_up() -> None:
    """Load Checkov's checks and run the plan runner once (its first run imports most of what it uses)."""
    load_checks()
    evaluate([StackResource("aws:s3/bucket:Bucket", "warm-up", "urn:warm-up", {"bucket": "warm-up"})])


def _verdict(info: CheckInfo, urn: str, plan: Plan, result: str, record: Any) -> Verdict:
    resource = plan.resources[urn]
    if result != FAILED:
        return Verdict(info, urn, resource.type, result)
    keys = (record.check_result or {}).get("evaluated_keys") or []
    read = {re.split(r"[/\[.]", str(key), maxsplit=1)[0] for key in keys}
    touched = resource.unknown & read if read else set(resource.unknown)
    followed = [other for other in plan.follows.get(urn, ()) if plan.resources[other].unknown]
    if info.id.startswith("CKV2_") and followed:
        touched |= {f"a referenced {plan.resources[other].type}'s values" for other in followed}
    if touched:
        return Verdict(info, urn, resource.type, UNKNOWN, f"depends on {', '.join(sorted(touched))}, not known yet")
    return Verdict(info, urn, resource.type, FAILED)
