"""Run the gate: the program under mocks, then the pack over the analyzer protocol, then verdicts.

A finding fails the gate when its policy is mandatory. Suppressions are policy config and are applied
by the pack itself (:mod:`policies.suppressions`), as under ``pulumi preview``: a suppressed
violation comes back from the advisory ``suppressed-findings`` policy and becomes a finding of its
own policy in state ``suppressed``; an expired or unused suppression is a ``policy-suppressions``
violation, which fails. A mandatory policy the SDK could not run because it read a value unknown during
preview is a finding in state ``unknown`` and fails too (fail closed); policies that handle
unknowns themselves never produce one.

Several packs run side by side, as ``pulumi preview --policy-pack A --policy-pack B`` runs them:
each in its own process with its own policy config, every resource sent to each, their findings in
one report (each finding names its pack). A policy tagged ``finding-rule:message-prefix`` reports
findings of many rules (the Checkov pack's ``checkov``: ``CKV_AWS_20: ...``); each such finding is
reported under that rule's id, with the policy's enforcement and the rule's guideline as its URL.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.gate import environment as pack_environment
from offline.gate.analysis import Analysis, PackRun, StackIdentity
from offline.gate.analyzer import PolicyMeta
from offline.gate.program import REPO_ROOT, ProgramResult, check_project, run_project
from policies import suppressions as suppression_config
from policies.governance import SUPPRESSED_FINDINGS

DEFAULT_PACK = REPO_ROOT / "policies"
DEFAULT_TIMEOUT_S = 300.0
FAILING_ENFORCEMENTS = frozenset({"mandatory", "remediate"})
RULE_IN_MESSAGE_TAG = "finding-rule:message-prefix"
_RULE_MESSAGE = re.compile(
    r"^(?P<rule>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+): (?P<name>.*?)"
    r"(?: \(severity (?P<severity>\w+); guideline (?P<url>\S+)\))?$"
)
_EVALUATED = re.compile(r"^evaluated \d+ Checkov checks: (?P<ids>.*)$")


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
    pack: str = ""

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
    checks_evaluated: list[str] = field(default_factory=list)  # what a Checkov pack says it ran

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
            **({"checkov_checks_evaluated": self.checks_evaluated} if self.checks_evaluated else {}),
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
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None  # for StackReference, by stack name
    today: dt.date = field(default_factory=dt.date.today)
    # Packs run beside ``pack``, each with its own policy config (``pulumi preview --policy-pack`` repeated).
    more_packs: tuple[tuple[Path, Mapping[str, Any] | None], ...] = ()

    def all_packs(self) -> list[tuple[Path, Mapping[str, Any] | None]]:
        return [(self.pack, self.policy_config), *self.more_packs]


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


@contextlib.contextmanager
def _prompt_thread_switches() -> Iterator[None]:
    """While the program runs, hand the interpreter lock to the pack's thread within 0.2 ms, not 5 ms.

    The program keeps this process busy; the thread that forwards each resource to the pack needs
    the lock for a moment per resource, and at the default interval it waited up to 5 ms each time,
    so the pack sat idle and only about a quarter of the resources were analysed before the program
    ended. With a short interval most are, and the analysis left after the program shrinks.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run_gate(options: GateOptions, progress: Callable[[str], None] = lambda _: None) -> GateResult:
    """Run the whole gate; raises ProgramRunError, PackError or EnvironmentBuildError when it cannot.

    The pack starts and is configured while the program runs, and analyses each resource as it
    registers (:mod:`offline.gate.analysis`), as during ``pulumi preview``.
    """
    return start_gate(options, progress).finish()


def start_gate(options: GateOptions, progress: Callable[[str], None] = lambda _: None) -> ProgramDone:
    """Run the program with the pack analysing alongside; :meth:`ProgramDone.finish` completes the analysis.

    Split so that several stacks can overlap: one stack's remaining analysis (the pack's work, in
    its own process) runs while the next stack's program does.
    """
    started = time.perf_counter()
    prepared = check_project(options.project, options.stack, options.config_overrides)
    identity = StackIdentity(
        project=prepared.project.name,
        stack=options.stack,
        runtime=prepared.project.runtime,
        config=prepared.config,
        secret_keys=prepared.secret_keys,
    )
    pythons = [
        options.pack_python or str(pack_environment.pack_python(pack, progress)) for pack, _ in options.all_packs()
    ]
    deadline = time.monotonic() + options.timeout
    names = ", ".join(str(pack) for pack, _ in options.all_packs())
    progress(f"running the {options.stack} stack's program under mocks; starting the policy pack {names}")
    packs = [
        PackRun(pack, python=python, identity=identity, user_config=config, deadline=deadline, progress=progress)
        for (pack, config), python in zip(options.all_packs(), pythons, strict=True)
    ]

    def submit(resource: dict[str, Any]) -> None:
        for pack in packs:
            pack.submit(resource)

    try:
        with _prompt_thread_switches():
            program = run_project(
                options.project,
                options.stack,
                options.config_overrides,
                unknowns=options.unknowns,
                in_process=options.in_process,
                progress=progress,
                timeout=options.timeout,
                on_resource=submit,
                stack_outputs=options.stack_outputs,
            )
    except BaseException:
        for pack in packs:
            pack.close()
        raise
    progress(f"{len(program.resources)} resources registered; finishing the analysis")
    return ProgramDone(options, program, packs, started, time.perf_counter() - started)


@dataclass
class ProgramDone:
    """A stack whose program has run, with its pack still analysing."""

    options: GateOptions
    program: ProgramResult
    packs: list[PackRun]
    started: float
    program_s: float

    def finish(self) -> GateResult:
        """Wait for every pack, add the stack analysis and turn their diagnostics into findings."""
        program, options = self.program, self.options
        every = [_stack_resource(program), *program.resources]
        try:  # each pack's process analyses on its own: wait for them together
            with concurrent.futures.ThreadPoolExecutor(len(self.packs), thread_name_prefix="pack-finish") as pool:
                waits = [pool.submit(pack.finish, every, program.stack_urn) for pack in self.packs]
                analyses = [wait.result() for wait in waits]
        finally:
            for pack in self.packs:
                pack.close()
        by_urn = {resource["urn"]: resource for resource in every}
        policies: dict[str, PolicyMeta] = {}
        findings: list[Finding] = []
        suppressions: list[dict[str, Any]] = []
        evaluated: set[str] = set()
        for analysis in analyses:
            found = _findings(analysis, by_urn, policies, evaluated)
            findings += found
            suppressions += _suppression_statuses(analysis.resolved, found, options.today)
        unique = sorted(set(findings), key=Finding.sort_key)
        return GateResult(
            program=program,
            policies=policies,
            findings=unique,
            suppressions=suppressions,
            pack_name=" + ".join(analysis.pack_name for analysis in analyses),
            pack_version=" + ".join(analysis.pack_version for analysis in analyses),
            timings={
                "program_s": self.program_s,
                "pack_start_s": max(analysis.started_s for analysis in analyses),
                "analysis_s": max(analysis.tail_s for analysis in analyses),
                "total_s": time.perf_counter() - self.started,
            },
            checks_evaluated=sorted(evaluated),
        )


def _findings(
    analysis: Analysis, by_urn: Mapping[str, Mapping[str, Any]], policies: dict[str, PolicyMeta], evaluated: set[str]
) -> list[Finding]:
    """One pack's diagnostics as findings; its policies (and the rules reported in messages) join ``policies``."""
    own, resolved = analysis.policies, analysis.resolved
    policies.update(own)
    findings = []
    for diagnostic in analysis.diagnostics:
        policy, message = diagnostic.policy, diagnostic.message
        state = "unknown" if diagnostic.cant_run else "fail"
        meta = own.get(policy)
        enforcement = resolved.get(policy, (diagnostic.enforcement, {}))[0]
        severity = meta.severity if meta is not None else diagnostic.severity
        listed = _EVALUATED.match(message)
        if listed and meta is not None and "kind:audit" in meta.tags:
            evaluated.update(listed["ids"].split())  # a record of what ran, not a finding
            continue
        reporter = meta
        described = suppression_config.read_description(message) if policy == SUPPRESSED_FINDINGS.name else None
        if described is not None:
            policy, message, _justification = described
            state = "suppressed"
            reporter = own.get(policy)
            if reporter is not None:
                enforcement, severity = resolved.get(policy, (reporter.enforcement, {}))[0], reporter.severity
        rule = _RULE_MESSAGE.match(message)
        carries_rules = reporter is not None and RULE_IN_MESSAGE_TAG in reporter.tags
        if rule and (carries_rules or (described is not None and policy == rule["rule"])):
            policies.setdefault(rule["rule"], _rule_meta(rule, reporter, enforcement))
            policy, severity = rule["rule"], rule["severity"] or severity
        resource = by_urn.get(diagnostic.urn, {"type": "", "name": ""})
        findings.append(
            Finding(
                policy=policy,
                enforcement=enforcement,
                severity=severity,
                resource_type=str(resource["type"]),
                resource_name=str(resource["name"]),
                urn=diagnostic.urn,
                message=message,
                state=state,
                pack=analysis.pack_name,
            )
        )
    return findings


def _rule_meta(rule: re.Match[str], reporter: PolicyMeta | None, enforcement: str) -> PolicyMeta:
    """A rule reported inside a policy's messages, as a policy of its own for the table and SARIF."""
    return PolicyMeta(
        name=rule["rule"],
        description=rule["name"],
        enforcement=enforcement,
        severity=rule["severity"] or "unspecified",
        remediation=reporter.remediation if reporter is not None else "",
        tags=tuple(tag for tag in (reporter.tags if reporter is not None else ()) if tag != RULE_IN_MESSAGE_TAG),
        kind="resource",
        url=rule["url"] or (reporter.url if reporter is not None else ""),
    )


def _suppression_statuses(
    resolved: Mapping[str, tuple[str, Mapping[str, Any]]], findings: list[Finding], today: dt.date
) -> list[dict[str, Any]]:
    """Every configured suppression with its status (active, expired, unused), from the same config the pack read."""
    entries = []
    for name in sorted(resolved):
        for entry in resolved[name][1].get(suppression_config.PROPERTY) or ():
            # An entry naming a ``check`` suppresses that rule's findings (the Checkov pack's form).
            rule = str(entry.get("check") or name) if isinstance(entry, Mapping) else name
            for suppression in suppression_config.parse(rule, {suppression_config.PROPERTY: [entry]}):
                hits = [f for f in findings if f.state == "suppressed" and f.policy == rule]
                used = any(suppression.matches(f.urn) for f in hits)
                entries.append(suppression.to_json(today, used))
    return entries
