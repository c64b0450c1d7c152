"""Render a gate result: a table like ``pulumi preview``'s, JSON, and SARIF 2.1.0.

Nothing here prints a property value: the engine hands policies secrets in plaintext, so only
types, names, URNs, policy metadata and the policies' own messages appear.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from offline.gate.gate import Finding, GateResult
from offline.gate.program import REPO_ROOT
from policies.suppressions import covers

STATE_MARK = {"fail": "✖", "unknown": "?", "suppressed": "~"}
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
DOCS_PATH = "docs/policies.md"  # repository-relative; each policy has an anchor named after it
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "unspecified": "1.0"}


def _verdict(findings: list[Finding]) -> str:
    if not findings:
        return "ok"
    blocking = sum(1 for f in findings if f.blocking)
    others = len(findings) - blocking
    parts = [f"{blocking} mandatory" if blocking else "", f"{others} advisory/suppressed" if others else ""]
    return ", ".join(part for part in parts if part)


def render_table(result: GateResult) -> str:
    """Resources by component with a verdict each, then the findings by policy, then a summary."""
    program = result.program
    by_urn: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_urn[finding.urn].append(finding)
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in program.resources:
        children[resource["parent"]].append(resource)
    lines = [f"Previewing {program.project} / {program.stack} with policy pack {result.pack_name}", ""]
    lines.append(f"     {'Type':<58} {'Name':<60} Policies")
    stack_name = f"{program.project}-{program.stack}"
    lines.append(f" +   {'pulumi:pulumi:Stack':<58} {stack_name:<60} {_verdict(by_urn.get(program.stack_urn, []))}")

    def walk(parent: str, depth: int) -> None:
        for resource in children.get(parent, []):
            indent = "   " * depth
            label = f"{indent}{resource['type']}"
            lines.append(f" +   {label:<58} {resource['name']:<60} {_verdict(by_urn.get(resource['urn'], []))}")
            walk(resource["urn"], depth + 1)

    walk(program.stack_urn, 1)
    if result.findings:
        lines += ["", "Policy findings:"]
        by_policy: dict[str, list[Finding]] = defaultdict(list)
        for finding in result.findings:
            by_policy[finding.policy].append(finding)
        for policy in sorted(by_policy):
            meta = result.policies.get(policy)
            first = by_policy[policy][0]
            lines.append(f"    [{first.enforcement}]  {policy}  ({first.severity})")
            if meta is not None:
                lines.append(f"        {meta.description}")
            for finding in by_policy[policy]:
                mark = STATE_MARK.get(finding.state, "-")
                lines.append(f"        {mark} {finding.state:<10} {finding.resource_name} ({finding.resource_type})")
                lines.append(f"                   {finding.message}")
    if result.program.warnings:
        lines += ["", "Program warnings (as `pulumi preview` prints them; they do not change the verdict):"]
        lines += [f"    warning: {warning}" for warning in result.program.warnings]
    if result.suppressions:
        lines += ["", "Suppressions:"]
        for entry in result.suppressions:
            until = f" until {entry['expires']}" if entry["expires"] else ""
            lines.append(
                f"    [{entry['status']}] {entry['policy']} on {entry['resource']}{until} "
                f"(owner {entry['owner']}): {entry['justification']}"
            )
    summary = result.summary()
    lines += [
        "",
        f"Resources: {summary['resources']}   Policies: {summary['policies']}",
        f"Mandatory violations: {summary['mandatory_violations']}   "
        f"Unknown (mandatory): {summary['unknown_mandatory']}   "
        f"Advisory: {summary['advisory']}   Suppressed: {summary['suppressed']}",
        "Verdict: " + ("PASSED" if summary["passed"] else "FAILED (mandatory policies violated)"),
    ]
    return "\n".join(lines)


def _artifact(result: GateResult, root: Path) -> str:
    program = result.program
    candidates = [Path(f"Pulumi.{program.stack}.yaml"), Path("Pulumi.yaml")]
    for candidate in candidates:
        if (root / candidate).exists():
            return candidate.as_posix()
    return "Pulumi.yaml"


def _source_region(resource: dict[str, Any] | None) -> tuple[str, int] | None:
    """The repository-relative file and line the program registered the resource at, when the run recorded it.

    The Python SDK sends it as ``RegisterResourceRequest.sourcePosition`` (``uri`` a file URL, ``line``);
    the run keeps it as ``source_position`` when its monitor records it.
    """
    position = (resource or {}).get("source_position") or (resource or {}).get("sourcePosition")
    if not isinstance(position, dict) or not position.get("uri"):
        return None
    path = Path(str(position["uri"]).removeprefix("file://"))
    try:
        relative = path.resolve().relative_to(REPO_ROOT)
    except (OSError, ValueError):
        return None
    return relative.as_posix(), max(int(position.get("line") or 1), 1)


def _justification(result: GateResult, finding: Finding) -> str:
    """The justification of the active suppression that covers a suppressed finding."""
    for entry in result.suppressions:
        if entry["policy"] == finding.policy and entry["status"] == "active" and covers(entry["resource"], finding.urn):
            return str(entry["justification"])
    return ""


def docs_url(environment: Mapping[str, str]) -> str | None:
    """The absolute address of docs/policies.md at the commit being gated, when CI says where that is.

    SARIF's ``helpUri`` must be an absolute URI (SARIF 2.1.0, section 3.49.12). GitHub Actions sets
    GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_SHA; elsewhere ``--docs-url`` gives it.
    """
    parts = [environment.get(name, "") for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA")]
    if not all(parts):
        return None
    server, repository, commit = parts
    return f"{server.rstrip('/')}/{repository}/blob/{commit}/{DOCS_PATH}"


def render_sarif(result: GateResult, project_dir: Path, docs: str | None = None) -> dict[str, Any]:
    """SARIF 2.1.0 for GitHub code scanning: one rule per policy, one result per finding.

    A rule's ``helpUri`` is the page that states it (the policy's URL); for the project's own rules
    it is ``docs`` (the absolute address of docs/policies.md) with the rule's anchor, and without
    that it is left out and the help text names the section.
    """
    names = sorted(result.policies)
    index = {name: position for position, name in enumerate(names)}
    rules = []
    for name in names:
        meta = result.policies[name]
        level = "error" if meta.enforcement in ("mandatory", "remediate") else "warning"
        tags = {*meta.tags, "infrastructure"} | ({"security"} if "kind:security" in meta.tags else set())
        help_uri = meta.url or (f"{docs}#{name}" if docs else "")
        advice = meta.remediation or meta.description
        if not help_uri:
            advice = f"{advice} (see {DOCS_PATH}, section {name})"
        rule: dict[str, Any] = {
            "id": name,
            "name": "".join(part.capitalize() for part in name.split("-")),
            "shortDescription": {"text": meta.description},
            "fullDescription": {"text": meta.description},
            "help": {"text": advice, "markdown": advice},
            "defaultConfiguration": {"level": level},
            "properties": {
                "tags": sorted(tags),
                "enforcement": meta.enforcement,
                "severity": meta.severity,
                "security-severity": SECURITY_SEVERITY.get(meta.severity, "1.0"),
                "policyType": meta.kind,
            },
        }
        if help_uri:
            rule["helpUri"] = help_uri
        rules.append(rule)
    artifact = _artifact(result, project_dir)
    resources = {resource["urn"]: resource for resource in result.program.resources}
    results = []
    for finding in sorted(result.findings, key=Finding.sort_key):
        level = (
            "error"
            if finding.blocking or (finding.state == "suppressed" and finding.enforcement == "mandatory")
            else "warning"
        )
        uri, line = _source_region(resources.get(finding.urn)) or (artifact, 1)
        entry: dict[str, Any] = {
            "ruleId": finding.policy,
            "level": level,
            "message": {"text": f"{finding.resource_name} ({finding.resource_type}): {finding.message}"},
            "locations": [
                {
                    "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}},
                    "logicalLocations": [
                        {"name": finding.resource_name, "fullyQualifiedName": finding.urn, "kind": "resource"}
                    ],
                }
            ],
            # Stable across runs and message wording: the control and the resource it judged.
            "partialFingerprints": {
                "policyFinding/v2": hashlib.sha256(f"{finding.policy}|{finding.urn}".encode()).hexdigest()
            },
            "properties": {"state": finding.state, "enforcement": finding.enforcement},
        }
        if finding.policy in index:
            entry["ruleIndex"] = index[finding.policy]
        if finding.state == "suppressed":
            justification = _justification(result, finding)
            entry["suppressions"] = [{"kind": "external", "status": "accepted", "justification": justification}]
        results.append(entry)
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "serverless-infra-policy-gate",
                        "version": result.pack_version,
                        "semanticVersion": result.pack_version,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"policy-gate/{result.program.project}/{result.program.stack}/"},
                "results": results,
            }
        ],
    }
