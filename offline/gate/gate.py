"""Run the gate: the program under mocks, then the pack over the analyzer protocol, then verdicts.

A finding fails the gate when its policy is mandatory. Suppressions are policy config and are applied
by the pack itself (:mod:`policies.suppressions`), as under ``pulumi preview``: a suppressed
violation comes back from the advisory ``suppressed-findings`` policy and becomes a finding of its
own policy in state ``suppressed``; an expired or unused suppression is a ``policy-suppressions``
violation, which fails. A mandatory policy the SDK could not run because it read a value unknown during
preview is a finding in state ``unknown`` and fails too (fail closed); policies that handle
unknowns themselves never produce one.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.gate import environment as pack_environment
from offline.gate.analyzer import AnalyzerSession, Diagnostic, PolicyMeta, policies_from_info, resolve_policy_config
from offline.gate.program import REPO_ROOT, ProgramResult, run_project
from policies import suppressions as suppression_config
from policies.governance import SUPPRESSED_FINDINGS

DEFAULT_PACK = REPO_ROOT / "policies"
DEFAULT_TIMEOUT_S = 300.0
FAILING_ENFORCEMENTS = frozenset({"mandatory", "remediate"})


@dataclass(frozen=True)
class Finding:
    policy: str
    enforcement: str
    severity: str
    resource_type: str
    resource_name: str
    urn: str
    message: str
    state: str  # fail | suppressed | unknown

    @property
    def blocking(self) -> bool:
        return self.state in ("fail", "unknown") and self.enforcement in FAILING_ENFORCEMENTS

    def sort_key(self) -> tuple[str, ...]:
        return (self.urn, self.policy, self.message, self.state)

    def to_json(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class GateResult:
    program: ProgramResult
    policies: dict[str, PolicyMeta]
    findings: list[Finding]
    suppressions: list[dict[str, Any]]
    pack_name: str
    pack_version: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if any(finding.blocking for finding in self.findings) else 0

    def summary(self) -> dict[str, Any]:
        def count(predicate: Callable[[Finding], bool]) -> int:
            return sum(1 for finding in self.findings if predicate(finding))

        return {
            "resources": len(self.program.resources),
            "policies": len(self.policies),
            "mandatory_violations": count(lambda f: f.blocking and f.state == "fail"),
            "unknown_mandatory": count(lambda f: f.blocking and f.state == "unknown"),
            "advisory": count(lambda f: f.state != "suppressed" and not f.blocking),
            "suppressed": count(lambda f: f.state == "suppressed"),
            "passed": self.exit_code == 0,
            "suppressions": self.suppressions,
        }

    def to_json(self) -> dict[str, Any]:
        resources = [{"type": r["type"], "name": r["name"], "urn": r["urn"]} for r in self.program.resources]
        return {
            "project": self.program.project,
            "stack": self.program.stack,
            "resources": sorted(resources, key=lambda r: r["urn"]),
            "findings": [finding.to_json() for finding in sorted(self.findings, key=Finding.sort_key)],
            "warnings": list(self.program.warnings),  # what the program logged as warnings, as preview prints them
            "summary": self.summary(),
        }


@dataclass
class GateOptions:
    project: Path = REPO_ROOT
    stack: str = "dev"
    pack: Path = DEFAULT_PACK
    config_overrides: Mapping[str, str] = field(default_factory=dict)
    policy_config: Mapping[str, Any] | None = None
    unknowns: bool = False
    in_process: bool | None = None
    timeout: float = DEFAULT_TIMEOUT_S  # the whole run: program and pack (environments are built first)
    pack_python: str | None = None  # None: the pack's own virtualenv, as the CLI runs it
    today: dt.date = field(default_factory=dt.date.today)


def _stack_resource(program: ProgramResult) -> dict[str, Any]:
    """The root stack resource, whose outputs are the stack outputs (analysed like the engine does)."""
    return {
        "type": "pulumi:pulumi:Stack",
        "name": f"{program.project}-{program.stack}",
        "urn": program.stack_urn,
        "custom": False,
        "parent": "",
        "inputs": {},
        "outputs": program.stack_outputs,
        "dependencies": [],
        "property_dependencies": {},
        "protect": False,
    }


def run_gate(options: GateOptions, progress: Callable[[str], None] = lambda _: None) -> GateResult:
    """Run the whole gate; raises ProgramRunError, PackError or SuppressionError when it cannot."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    progress(f"running the {options.stack} stack's program under mocks")
    program = run_project(
        options.project,
        options.stack,
        options.config_overrides,
        unknowns=options.unknowns,
        in_process=options.in_process,
        progress=progress,
        timeout=options.timeout,
    )
    timings["program_s"] = time.perf_counter() - started
    progress(f"{len(program.resources)} resources registered; starting the policy pack {options.pack}")
    mark = time.perf_counter()
    environment = {
        "PULUMI_CONFIG": json.dumps(program.config, sort_keys=True),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps(program.secret_keys),
        "PULUMI_PROJECT": program.project,
        "PULUMI_STACK": program.stack,
        "PULUMI_DRY_RUN": "true",
    }
    every = [_stack_resource(program), *program.resources]
    diagnostics: list[tuple[Diagnostic, Mapping[str, Any] | None]] = []
    pack_python = options.pack_python or str(pack_environment.pack_python(options.pack, progress))
    deadline = time.monotonic() + max(options.timeout - timings["program_s"], 1.0)
    with AnalyzerSession(options.pack, python=pack_python, environment=environment, deadline=deadline) as session:
        session.plugin_info()
        info = session.analyzer_info()
        policies = policies_from_info(info)
        session.configure_stack(
            project=program.project,
            stack=program.stack,
            config=program.config,
            secret_keys=program.secret_keys,
            tags={"pulumi:project": program.project, "pulumi:runtime": program.runtime or "python"},
        )
        resolved = resolve_policy_config(info, policies, options.policy_config)
        session.configure(resolved)
        timings["pack_start_s"] = time.perf_counter() - mark
        progress(f"analysing {len(every)} resources with {len(policies)} policies")
        mark = time.perf_counter()
        for resource in every:
            diagnostics.extend((diagnostic, resource) for diagnostic in session.analyze(resource))
        diagnostics.extend((d, None) for d in session.analyze_stack(every, program.stack_urn))
        timings["analysis_s"] = time.perf_counter() - mark
    by_urn = {resource["urn"]: resource for resource in every}
    findings = []
    for diagnostic, _ in diagnostics:
        policy, message, state = diagnostic.policy, diagnostic.message, "unknown" if diagnostic.cant_run else "fail"
        described = suppression_config.read_description(message) if policy == SUPPRESSED_FINDINGS.name else None
        if described is not None:
            policy, message, _justification = described
            state = "suppressed"
        enforcement = resolved.get(policy, (diagnostic.enforcement, {}))[0]
        resource = by_urn.get(diagnostic.urn, {"type": "", "name": ""})
        findings.append(
            Finding(
                policy=policy,
                enforcement=enforcement,
                severity=policies[policy].severity if policy in policies else diagnostic.severity,
                resource_type=str(resource["type"]),
                resource_name=str(resource["name"]),
                urn=diagnostic.urn,
                message=message,
                state=state,
            )
        )
    unique = sorted(set(findings), key=Finding.sort_key)
    timings["total_s"] = time.perf_counter() - started
    return GateResult(
        program=program,
        policies=policies,
        findings=unique,
        suppressions=_suppression_statuses(resolved, findings, options.today),
        pack_name=str(info.name),
        pack_version=str(info.version),
        timings=timings,
    )


def _suppression_statuses(
    resolved: Mapping[str, tuple[str, Mapping[str, Any]]], findings: list[Finding], today: dt.date
) -> list[dict[str, Any]]:
    """Every configured suppression with its status (active, expired, unused), from the same config the pack read."""
    entries = []
    for name in sorted(resolved):
        for suppression in suppression_config.parse(name, resolved[name][1]):
            used = any(f.state == "suppressed" and f.policy == name and suppression.matches(f.urn) for f in findings)
            entries.append(suppression.to_json(today, used))
    return entries
