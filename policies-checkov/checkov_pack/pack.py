"""The pack's policies: Checkov's failed checks as CrossGuard violations, enforced per check.

One CrossGuard policy per Checkov check would be the plainest mapping, but the policy SDK decodes a
resource's properties once per policy and resource (pulumi-policy ``policy.py``, ``Analyze``): with
several hundred checks that alone is seconds per stack. And Checkov's graph checks need every
resource at once. So Checkov runs once per stack, in the ``checkov`` stack policy (the engine calls
AnalyzeStack with every resource's properties and property dependencies), and each failure is
reported, on the resource's URN, by one of two policies:

- ``checkov`` (advisory): every failed check the project has not made mandatory;
- ``checkov-mandatory`` (mandatory): failed checks listed under ``checkov``'s ``mandatory`` config.

Both report ``CKV_AWS_n: <check name> (severity ...; guideline ...)``, and the gate reports each
finding under its Checkov id. The SDK runs a pack's stack policies in order within one AnalyzeStack
call, so ``checkov`` hands the mandatory failures to ``checkov-mandatory``, which runs next.
Policy config, the same file format as the main pack's::

    {"checkov": {"mandatory": ["CKV_AWS_20", ...],
                 "suppressions": [{"check": "CKV_AWS_117", "resource": "...", "justification": "...",
                                   "owner": "...", "expires": "YYYY-MM-DD"}]}}

A suppression is the main pack's (``policies.suppressions``: the same schema plus the check it
applies to, the same matching, ledger and ``policy-suppressions`` / ``suppressed-findings``
policies), so an expired or unused one fails the run here too. Checks the main pack answers with a
control of its own (``answered.json``) still run (the coverage shows Checkov's verdict beside the
control's) but are not reported here: the main pack reports them once (``report_main_pack_checks``
reports them too, for a program gated without the main pack). ``checkov-evaluated``
(advisory, one line per stack) records which checks gave a verdict, for the report's coverage.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from checkov_pack import answered, evaluation
from policies import governance, suppressions

PACK_NAME: Final = "checkov-aws"
ADVISORY: Final = "checkov"
MANDATORY: Final = "checkov-mandatory"
EVALUATED: Final = "checkov-evaluated"
CHECK_ID_PATTERN: Final = r"^CKV2?_AWS_[0-9]+$"
RULE_IN_MESSAGE_TAG: Final = "finding-rule:message-prefix"  # the gate reports such findings under the id
CHECKOV_DOCS: Final = "https://www.checkov.io/5.Policy%20Index/terraform.html"


def suppression_schema() -> dict[str, Any]:
    """The main pack's suppression schema, each entry also naming the Checkov check it applies to."""
    schema = copy.deepcopy(dict(suppressions.SCHEMA))
    items = schema["items"]
    items["properties"]["check"] = {"type": "string", "pattern": CHECK_ID_PATTERN}
    items["required"] = [*items["required"], "check"]
    schema["description"] = f"{schema['description']} Each entry also names the Checkov check (check)."
    return schema


CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "mandatory": {
            "type": "array",
            "description": "Checkov check ids whose failure fails the run (reported by checkov-mandatory).",
            "items": {"type": "string", "pattern": CHECK_ID_PATTERN},
            "uniqueItems": True,
            "default": [],
        },
        suppressions.PROPERTY: suppression_schema(),
        "report_main_pack_checks": {
            "type": "boolean",
            "description": "Also report the checks the main pack (policies/) answers: for programs gated without it.",
            "default": False,
        },
    }
)


def declare_suppressions(config: Mapping[str, Any] | None) -> dict[str, tuple[suppressions.Suppression, ...]]:
    """Each check's suppressions, declared in the main pack's ledger under the check's id."""
    by_check: dict[str, list[Any]] = {}
    for entry in (config or {}).get(suppressions.PROPERTY) or ():
        if isinstance(entry, Mapping) and entry.get("check"):
            by_check.setdefault(str(entry["check"]), []).append(entry)
    return {
        check: suppressions.LEDGER.declare(check, {suppressions.PROPERTY: entries})
        for check, entries in by_check.items()
    }


def message(info: evaluation.CheckInfo) -> str:
    return f"{info.id}: {info.name} (severity {info.severity}; guideline {info.guideline})"


@dataclass
class Handoff:
    """Mandatory failures and the checks that ran, from ``checkov`` to the stack policies after it."""

    mandatory: list[tuple[str, str]] = field(default_factory=list)  # (message, URN)
    evaluated: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


HANDOFF: Final = Handoff()


def stack_resources(args: StackValidationArgs) -> list[evaluation.StackResource]:
    return [
        evaluation.StackResource(
            token=resource.resource_type,
            name=resource.name,
            urn=resource.urn,
            props=resource.props,
            dependencies={
                prop: [dep.urn for dep in deps] for prop, deps in (resource.property_dependencies or {}).items()
            },
        )
        for resource in args.resources
    ]


def _validate(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config() or {}
    declared = declare_suppressions(config)
    mandatory = set(config.get("mandatory") or ())
    answered_by_main = {} if config.get("report_main_pack_checks") else answered.load()
    verdicts = evaluation.evaluate(stack_resources(args))
    handed: list[tuple[str, str]] = []
    for verdict in verdicts:
        if verdict.result == evaluation.PASSED or verdict.check.id in answered_by_main:
            continue
        text = message(verdict.check)
        if suppressions.LEDGER.suppresses(declared.get(verdict.check.id, ()), verdict.urn, text):
            continue  # an unknown verdict a suppression covers counts as suppressed: the suppression is in use
        if verdict.result == evaluation.UNKNOWN:
            continue  # may be only a value not known yet: never reported (no false failures)
        if verdict.check.id in mandatory:
            handed.append((text, verdict.urn))
        else:
            report(text, verdict.urn)
    with HANDOFF.lock:
        HANDOFF.mandatory = handed
        HANDOFF.evaluated = sorted({v.check.id for v in verdicts if v.result in (evaluation.PASSED, evaluation.FAILED)})


def _validate_mandatory(args: StackValidationArgs, report: ReportViolation) -> None:
    del args
    with HANDOFF.lock:
        failures, HANDOFF.mandatory = HANDOFF.mandatory, []
    for text, urn in failures:
        report(text, urn)


def _evaluated(args: StackValidationArgs, report: ReportViolation) -> None:
    del args
    with HANDOFF.lock:
        ids = list(HANDOFF.evaluated)
    if ids:
        report(f"evaluated {len(ids)} Checkov checks: {' '.join(ids)}", None)


def _governance() -> Iterator[Policy]:
    for check in governance.CHECKS:
        yield check.policy


def all_policies() -> list[Policy]:
    description = "Checkov's AWS Terraform checks on each AWS resource (failed checks not made mandatory)."
    return [
        StackValidationPolicy(
            name=ADVISORY,
            description=description,
            validate=_validate,
            enforcement_level=EnforcementLevel.ADVISORY,
            config_schema=CONFIG_SCHEMA,
            tags=["concern:checkov", RULE_IN_MESSAGE_TAG],
            remediation_steps="Follow the check's guideline, or suppress it with a justification, owner and expiry.",
            url=CHECKOV_DOCS,
        ),
        StackValidationPolicy(
            name=MANDATORY,
            description="Checkov's AWS Terraform checks the project made mandatory (checkov's `mandatory` config).",
            validate=_validate_mandatory,
            enforcement_level=EnforcementLevel.MANDATORY,
            tags=["concern:checkov", RULE_IN_MESSAGE_TAG],
            remediation_steps="Fix the finding as the check's guideline says; suppress it only with a reviewed reason.",
            url=CHECKOV_DOCS,
        ),
        StackValidationPolicy(
            name=EVALUATED,
            description="Records which Checkov checks gave a verdict on this stack (an audit line; never blocks).",
            validate=_evaluated,
            enforcement_level=EnforcementLevel.ADVISORY,
            tags=["concern:checkov", "kind:audit"],
            url=CHECKOV_DOCS,
        ),
        *_governance(),
    ]
