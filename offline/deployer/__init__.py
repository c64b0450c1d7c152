"""The IAM policies of the deployer role and of the operator (on-call) role, generated from the program.

The deployer's policy comes from what a stack's program registers under the mocks: every resource
type and invoke is looked up in ``actions.json`` (the IAM actions the provider calls to create,
read, update and delete it, and where each action may be scoped), and the actions are grouped into
statements by service and scope. The operator's policy comes from ``operator.json``: what each
runbook of docs/operations.md calls, scoped to the stack's own log groups, queues, DB instances,
alarms and parameters as the same run names them.

Resources are scoped to the stack's name prefix (``serverless-infra-{env}-``) wherever the ARN
carries a name, to the account and region where it carries only an ID, and ``*`` only where the
action supports no resource-level permission. The account appears as the policy variable
``${aws:PrincipalAccount}`` unless an account ID is given. Documents are split into several
managed policies when one would exceed IAM's 6,144-character limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from contract.naming import APPLICATION
from contract.settings import parse_settings
from offline.harness import ProgramRun

DATA_DIR: Final = Path(__file__).resolve().parent
ACTIONS_FILE: Final = DATA_DIR / "actions.json"
OPERATOR_FILE: Final = DATA_DIR / "operator.json"
DOCS_DIR: Final = DATA_DIR.parents[1] / "docs" / "iam"

VERSION: Final = "2012-10-17"
MANAGED_POLICY_LIMIT: Final = 6144
"""IAM's limit on a managed policy document, in characters, white space not counted."""
ACCOUNT_VARIABLE: Final = "${aws:PrincipalAccount}"
"""The account of the principal making the request: the deployer's or operator's own account."""
UNSCOPED: Final = "*"
ROLES: Final = ("deployer", "operator")


@dataclass(frozen=True)
class ManagedPolicy:
    """One managed policy: its suggested name and its document."""

    name: str
    document: dict[str, Any]

    @property
    def size(self) -> int:
        return document_size(self.document)


@dataclass(frozen=True)
class StackContext:
    """What the ARN templates of the data files refer to, for one stack."""

    environment: str
    region: str
    partition: str
    account: str
    parameter_path: str  # /{parameterPrefix}/{env}/
    hosted_zone: str

    @property
    def prefix(self) -> str:
        return f"{APPLICATION}-{self.environment}-"

    def fill(self, template: str) -> str:
        return template.format(
            partition=self.partition,
            region=self.region,
            account=self.account,
            prefix=self.prefix,
            parameter_path=self.parameter_path,
            hosted_zone=self.hosted_zone or "*",
        )

    def via(self, service: str) -> str:
        """The value of kms:ViaService for a service in this region."""
        return f"{service}.{self.region}.amazonaws.com"


@cache
def load_mapping() -> dict[str, Any]:
    """actions.json: resource types and invokes to IAM actions, and the scopes' ARN patterns."""
    loaded: dict[str, Any] = json.loads(ACTIONS_FILE.read_text(encoding="utf-8"))
    return loaded


@cache
def load_operator_needs() -> dict[str, Any]:
    """operator.json: what each runbook calls, and where."""
    loaded: dict[str, Any] = json.loads(OPERATOR_FILE.read_text(encoding="utf-8"))
    return loaded


def context_of(run: ProgramRun, account: str = ACCOUNT_VARIABLE) -> StackContext:
    """The stack's environment, region and parameter path, as the run resolved them (contract.settings parses
    the configuration the run had)."""
    settings = parse_settings(run.config.values)
    root = f"/{settings.parameter_prefix}/{settings.environment}/"
    return StackContext(
        environment=settings.environment,
        region=settings.region,
        partition="aws",
        account=account,
        parameter_path=str(run.outputs.get("parameterPrefix") or root),
        hosted_zone=settings.gateway.custom_domain_zone_id,
    )


def registered(run: ProgramRun) -> tuple[set[str], set[str]]:
    """The custom resource types and the invoke tokens the run registered."""
    return {r.type for r in run.resources if r.custom}, {token for token, _ in run.invokes}


def missing_entries(run: ProgramRun) -> list[str]:
    """Resource types and invokes the run registered that actions.json does not map."""
    mapping = load_mapping()
    types, invokes = registered(run)
    known_types = set(mapping["types"]) | set(mapping["free_of_aws_calls"])
    return sorted(types - known_types) + sorted(f"invoke {token}" for token in invokes - set(mapping["invokes"]))


# --- statements ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Grant:
    """Actions of one service on one set of scopes, under one condition."""

    service: str
    scopes: tuple[str, ...]
    condition: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    label: str = ""


def _scope_keys(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(sorted(value))


def _pascal(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace(":", "-").replace("_", "-").split("-") if part)


def _statements(
    grants: Mapping[_Grant, set[str]], scopes: Mapping[str, Mapping[str, Any]], context: StackContext
) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    sids: set[str] = set()
    for grant in sorted(grants, key=lambda g: (g.service, g.scopes != (UNSCOPED,), g.scopes, g.label)):
        if grant.scopes == (UNSCOPED,):
            resources: list[str] = [UNSCOPED]
            suffix = "Unscoped"
        else:
            resources = sorted({context.fill(arn) for key in grant.scopes for arn in scopes[key]["arns"]})
            suffix = "".join(_pascal(key.removeprefix(grant.service).lstrip("-") or key) for key in grant.scopes)
        sid = _pascal(grant.service) + (grant.label or suffix)
        base, number = sid, 2
        while sid in sids:
            sid, number = f"{base}{number}", number + 1
        sids.add(sid)
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": sorted(grants[grant]),
            "Resource": resources[0] if len(resources) == 1 else resources,
        }
        if grant.condition:
            condition: dict[str, dict[str, Any]] = {}
            for test, key, values in grant.condition:
                condition.setdefault(test, {})[key] = values[0] if len(values) == 1 else list(values)
            statement["Condition"] = condition
        statements.append(statement)
    return statements


def _add(grants: dict[_Grant, set[str]], grant: _Grant, actions: Iterable[str]) -> None:
    grants.setdefault(grant, set()).update(actions)


def _grants_of(entries: Iterable[Mapping[str, Any]], context: StackContext) -> dict[_Grant, set[str]]:
    grants: dict[_Grant, set[str]] = {}
    passed_to: set[str] = set()
    linked: set[str] = set()
    via: dict[str, set[str]] = {}
    for entry in entries:
        for action, scope in entry["actions"].items():
            _add(grants, _Grant(action.split(":", 1)[0], _scope_keys(scope)), [action])
        passed_to.update(entry.get("pass_role_to", ()))
        linked.update(entry.get("service_linked_roles", ()))
        for service, actions in entry.get("kms_via", {}).items():
            via.setdefault(service, set()).update(actions)
    if passed_to:
        condition = (("StringEquals", "iam:PassedToService", tuple(sorted(passed_to))),)
        _add(grants, _Grant("iam", ("iam-role",), condition, "PassStackRoles"), ["iam:PassRole"])
    if linked:
        condition = (("StringEquals", "iam:AWSServiceName", tuple(sorted(linked))),)
        _add(
            grants,
            _Grant("iam", ("iam-service-linked-role",), condition, "ServiceLinkedRoles"),
            ["iam:CreateServiceLinkedRole"],
        )
    for service, actions in via.items():
        condition = (("StringEquals", "kms:ViaService", (context.via(service),)),)
        _add(grants, _Grant("kms", ("kms-key",), condition, f"Through{_pascal(service)}"), actions)
    return grants


def split(statements: Sequence[dict[str, Any]], limit: int = MANAGED_POLICY_LIMIT) -> list[dict[str, Any]]:
    """Pack statements, in order, into as few documents as fit under ``limit`` characters each.

    A statement too large on its own is cut into several with fewer actions each.
    """
    pieces: list[dict[str, Any]] = []
    for statement in statements:
        pieces.extend(_cut(statement, limit))
    documents: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    for piece in pieces:
        if current and document_size(_document([*current, piece])) > limit:
            documents.append(_document(current))
            current = []
        current.append(piece)
    if current:
        documents.append(_document(current))
    return documents


def _cut(statement: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    if document_size(_document([statement])) <= limit or len(statement["Action"]) < 2:
        return [statement]
    half = len(statement["Action"]) // 2
    first = {**statement, "Sid": f"{statement['Sid']}A", "Action": statement["Action"][:half]}
    second = {**statement, "Sid": f"{statement['Sid']}B", "Action": statement["Action"][half:]}
    return _cut(first, limit) + _cut(second, limit)


def _document(statements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def document_size(document: Mapping[str, Any]) -> int:
    """Characters IAM counts against its limits: the document without white space."""
    return len(json.dumps(document, separators=(",", ":")))


def _managed(role: str, context: StackContext, statements: Sequence[dict[str, Any]]) -> list[ManagedPolicy]:
    documents = split(statements)
    base = f"{APPLICATION}-{role}-{context.environment}"
    if len(documents) == 1:
        return [ManagedPolicy(base, documents[0])]
    return [ManagedPolicy(f"{base}-{index}", document) for index, document in enumerate(documents, start=1)]


# --- the two roles -------------------------------------------------------------------------------
def deployer_policies(run: ProgramRun, account: str = ACCOUNT_VARIABLE) -> list[ManagedPolicy]:
    """What the deploying role needs to preview, deploy, refresh and destroy the run's stack."""
    missing = missing_entries(run)
    if missing:
        raise KeyError(f"offline/deployer/actions.json does not map: {', '.join(missing)}")
    mapping = load_mapping()
    context = context_of(run, account)
    types, invokes = registered(run)
    entries = [mapping["types"][t] for t in sorted(types) if t in mapping["types"]]
    entries += [mapping["invokes"][token] for token in sorted(invokes)]
    return _managed("deployer", context, _statements(_grants_of(entries, context), mapping["scopes"], context))


def operator_policies(run: ProgramRun, account: str = ACCOUNT_VARIABLE) -> list[ManagedPolicy]:
    """What the on-call operator needs for the runbooks of docs/operations.md, on this stack only."""
    context = context_of(run, account)
    needs = load_operator_needs()
    scopes = {**load_mapping()["scopes"], **needs["scopes"], **_stack_scopes(run, context)}
    entries = needs["runbooks"].values()
    return _managed("operator", context, _statements(_grants_of(entries, context), scopes, context))


def _stack_scopes(run: ProgramRun, context: StackContext) -> dict[str, dict[str, Any]]:
    """Scopes that name the run's own resources exactly (operator.json refers to them by key)."""

    def names(type_token: str, key: str) -> list[str]:
        return sorted(str(r.inputs[key]) for r in run.of_type(type_token) if key in r.inputs)

    def queue(output: str) -> str:
        return str(run.outputs[output]).rsplit("/", 1)[-1]

    arn = "arn:{partition}"
    log_groups = names("aws:cloudwatch/logGroup:LogGroup", "name")
    migrator = str(run.outputs["functionNames"]["migrator"])
    return {
        # A group's name followed by * covers the group and its streams (log-group:NAME:log-stream:...).
        "stack-log-groups": {"arns": [f"{arn}:logs:{{region}}:{{account}}:log-group:{name}*" for name in log_groups]},
        "stack-dead-letter-queue": {"arns": [f"{arn}:sqs:{{region}}:{{account}}:{queue('deadLetterQueueUrl')}"]},
        "stack-orders-queue": {"arns": [f"{arn}:sqs:{{region}}:{{account}}:{queue('queueUrl')}"]},
        "stack-db-instances": {
            "arns": [
                f"{arn}:rds:{{region}}:{{account}}:db:{name}"
                for name in names("aws:rds/instance:Instance", "identifier")
            ]
        },
        "stack-migrator": {
            "arns": [
                f"{arn}:lambda:{{region}}:{{account}}:function:{migrator}",
                f"{arn}:lambda:{{region}}:{{account}}:function:{migrator}:*",
            ]
        },
    }


def policies_for(role: str, run: ProgramRun, account: str = ACCOUNT_VARIABLE) -> list[ManagedPolicy]:
    if role == "deployer":
        return deployer_policies(run, account)
    if role == "operator":
        return operator_policies(run, account)
    raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")


def render(role: str, stack: str, policies: Sequence[ManagedPolicy]) -> str:
    """The JSON file docs/iam/<role>-<stack>.json: every managed policy of the role, with its size."""
    flag = " --operator" if role == "operator" else ""
    body = {
        "role": role,
        "stack": stack,
        "generatedBy": f"python -m offline.deployer --stack {stack}{flag} --write",
        "limit": MANAGED_POLICY_LIMIT,
        "policies": [{"name": p.name, "size": p.size, "document": p.document} for p in policies],
    }
    return json.dumps(body, indent=2) + "\n"


def path_of(role: str, stack: str) -> Path:
    return DOCS_DIR / f"{role}-{stack}.json"


def expected_files(runs: Mapping[str, ProgramRun]) -> dict[Path, str]:
    """Every committed policy file and the text it should have."""
    return {
        path_of(role, stack): render(role, stack, policies_for(role, run))
        for stack, run in runs.items()
        for role in ROLES
    }
