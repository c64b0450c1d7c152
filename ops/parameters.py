"""History, labels and rollback of the SSM parameters of a deployed stack.

SSM keeps the last 100 versions of a parameter and cannot delete one, so a rollback writes the old
value back as a new version, with the target version's type and KMS key, and labels it
``rollback-to-v<target>-from-v<previous>`` so the history shows what happened. A category is
checked completely before anything is written: one missing version or label stops it with nothing
changed. Only parameters of :data:`contract.parameters.STORED_PARAMETERS` are accepted (a category's
``settings`` document and its secrets, each stored alone), so a typo cannot touch a parameter the
program does not own.

Values are printed only when asked for: ``--show-values`` prints String values and masks
SecureStrings (every parameter of the hierarchy, settings documents included); SecureStrings are
printed in clear only with ``--decrypt`` as well. Exit codes:
0 done, 1 the operation failed (nothing written unless the output says so), 2 usage error.

    python -m ops.parameters history  --prefix myapp --env dev --parameter database/settings
    python -m ops.parameters label    --prefix myapp --env dev --category database --label known-good
    python -m ops.parameters rollback --prefix myapp --env dev --category database --to-label known-good --dry-run
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final, NoReturn, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from contract.naming import ENVIRONMENTS, REGION
from contract.parameters import PREFIX_PATTERN, Category, StoredParameter, relative_name, stored_parameters_in

SsmClient = Any  # boto3 clients have no type information
T = TypeVar("T")

MASK: Final = "********"
SECURE_STRING: Final = "SecureString"
MAX_LABELS_PER_VERSION: Final = 10  # an SSM limit
# SSM's label rules; SSM would silently return a bad label in InvalidLabels instead of failing.
LABEL_PATTERN: Final = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
RESERVED_LABEL_STARTS: Final = ("aws", "ssm")

# What to do about the errors an operator can meet, by SSM error code.
HINTS: Final[Mapping[str, str]] = {
    "AccessDeniedException": "the caller needs ssm:GetParameterHistory, ssm:GetParameter, ssm:PutParameter and "
    "ssm:LabelParameterVersion on the path, and kms:Decrypt/kms:Encrypt on the category's key",
    "ParameterMaxVersionLimitExceeded": "SSM keeps 100 versions and will not drop the oldest because it has a label; "
    "move or remove that label (aws ssm unlabel-parameter-version) and run the command again",
    "ParameterVersionLabelLimitExceeded": f"a version can carry at most {MAX_LABELS_PER_VERSION} labels",
}


class UsageError(Exception):
    """The command line is wrong; nothing was sent to AWS. Exit code 2."""


class OperationFailed(Exception):
    """AWS refused or the hierarchy is not in the expected state. Exit code 1."""


class Reveal(Enum):
    """How much of a value ``history`` shows: secure by default, clear text only when asked twice."""

    NOTHING = "nothing"
    MASKED = "masked"  # String values; SecureStrings masked
    DECRYPTED = "decrypted"


@dataclass(frozen=True)
class Hierarchy:
    """The ``/{prefix}/{env}/`` root of one stack's parameters."""

    prefix: str
    environment: str

    def path(self, spec: StoredParameter) -> str:
        return spec.path(self.prefix, self.environment)


@dataclass(frozen=True)
class Version:
    """One version as SSM's history describes it. The value is kept only when it is to be shown."""

    number: int
    labels: tuple[str, ...]
    modified: datetime | None
    modified_by: str
    type: str
    key_id: str | None
    tier: str | None
    data_type: str | None
    description: str | None
    shown_value: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Target:
    """The version a rollback returns to: a version number or a label, exactly one of them."""

    version: int | None = None
    label: str | None = None

    def describe(self) -> str:
        return f"version {self.version}" if self.version is not None else f"label {self.label!r}"

    def find(self, versions: Sequence[Version]) -> Version | None:
        for version in versions:
            if version.number == self.version or (self.label is not None and self.label in version.labels):
                return version
        return None


@dataclass(frozen=True)
class Rollback:
    """What a rollback of one parameter will do; ``value`` (secret) is set only when a write is needed."""

    name: str
    current: Version
    target: Version
    target_description: str
    value: str | None = field(repr=False)

    @property
    def needed(self) -> bool:
        return self.value is not None

    @property
    def label(self) -> str:
        """The label of the version the rollback writes: which version it restores, and over which."""
        return f"rollback-to-v{self.target.number}-from-v{self.current.number}"


@dataclass(frozen=True)
class Labelling:
    """What labelling one parameter will do."""

    name: str
    version: int
    label: str
    moved_from: int | None
    already: bool


# --- input -------------------------------------------------------------------------------------
def check_label(label: str) -> str:
    """Reject a label SSM would refuse, before anything is sent (SSM only lists it as invalid)."""
    if not LABEL_PATTERN.match(label):
        raise UsageError(f"label {label!r}: use 1-100 letters, digits, '.', '-' or '_'")
    if label[0].isdigit() or label.lower().startswith(RESERVED_LABEL_STARTS):
        raise UsageError(f"label {label!r}: SSM labels cannot begin with a digit, 'aws' or 'ssm'")
    return label


def check_prefix(prefix: str) -> str:
    """The prefix is one path segment; anything else would address parameters outside the stack."""
    if not PREFIX_PATTERN.match(prefix):
        raise UsageError(f"--prefix {prefix!r}: use 1-64 letters, digits, '_', '.' or '-' (stack parameterPrefix)")
    return prefix


def resolve_region(flag: str | None, environ: Mapping[str, str]) -> str:
    """``--region``, else AWS_REGION, else us-east-1; the project deploys to us-east-1 only."""
    source, region = ("--region", flag) if flag else ("AWS_REGION", environ.get("AWS_REGION") or REGION)
    if region != REGION:
        raise UsageError(f"{source} is {region!r}, but this project deploys to {REGION} only; pass --region {REGION}")
    return region


def resolve_category(text: str) -> Category:
    try:
        return Category(text)
    except ValueError:
        known = ", ".join(category.value for category in Category)
        raise UsageError(f"unknown category {text!r}; the hierarchy has {known}") from None


def resolve_parameter(text: str, hierarchy: Hierarchy) -> StoredParameter:
    """``database/settings`` or ``/myapp/dev/database/settings``, which must be in the hierarchy definition."""
    if text.startswith("/"):
        try:
            category, name = relative_name(text, hierarchy.prefix, hierarchy.environment)
        except ValueError as error:
            raise UsageError(str(error)) from None
    else:
        category_text, _, name = text.partition("/")
        category = resolve_category(category_text)
    for spec in stored_parameters_in(category):
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in stored_parameters_in(category))
    raise UsageError(f"unknown parameter {text!r}: not in the hierarchy; {category.value}/ has {known}")


def selected_specs(args: argparse.Namespace, hierarchy: Hierarchy) -> tuple[StoredParameter, ...]:
    if args.parameter is not None:
        return (resolve_parameter(args.parameter, hierarchy),)
    return stored_parameters_in(resolve_category(args.category))


# --- reading SSM -------------------------------------------------------------------------------
def ssm_client(region: str) -> SsmClient:
    """The SSM client, with the standard retry mode so throttling on a category does not fail it."""
    return boto3.client("ssm", region_name=region, config=Config(retries={"mode": "standard"}))


def _history_entries(ssm: SsmClient, name: str, decrypt: bool) -> Iterator[dict[str, Any]]:
    try:
        for page in ssm.get_paginator("get_parameter_history").paginate(Name=name, WithDecryption=decrypt):
            yield from page["Parameters"]
    except ClientError as error:
        if _code(error) == "ParameterNotFound":
            raise OperationFailed(
                f"{name} does not exist in SSM: is the stack deployed, and are --prefix and --env its own?"
            ) from None
        raise


def _shown_value(entry: Mapping[str, Any], reveal: Reveal) -> str | None:
    if reveal is Reveal.NOTHING:
        return None
    if entry["Type"] == SECURE_STRING and reveal is not Reveal.DECRYPTED:
        return MASK
    return str(entry["Value"])


def _version(entry: Mapping[str, Any], reveal: Reveal) -> Version:
    def optional(key: str) -> str | None:
        return str(entry[key]) if entry.get(key) else None

    modified = entry.get("LastModifiedDate")
    return Version(
        number=int(entry["Version"]),
        labels=tuple(str(label) for label in entry.get("Labels", ())),
        modified=modified if isinstance(modified, datetime) else None,
        modified_by=str(entry.get("LastModifiedUser", "unknown")),
        type=str(entry["Type"]),
        key_id=optional("KeyId"),
        tier=optional("Tier"),
        data_type=optional("DataType"),
        description=optional("Description"),
        shown_value=_shown_value(entry, reveal),
    )


def read_history(ssm: SsmClient, name: str, reveal: Reveal = Reveal.NOTHING) -> list[Version]:
    """Every version SSM still holds (the last 100), oldest first; decrypted only for DECRYPTED."""
    entries = _history_entries(ssm, name, decrypt=reveal is Reveal.DECRYPTED)
    return sorted((_version(entry, reveal) for entry in entries), key=lambda version: version.number)


def read_value(ssm: SsmClient, name: str, version: int) -> str:
    """One version's value, decrypted: read only to compare or restore it, never to print it."""
    response = ssm.get_parameter(Name=f"{name}:{version}", WithDecryption=True)
    return str(response["Parameter"]["Value"])


def _span(versions: Sequence[Version]) -> str:
    labels = sorted(label for version in versions for label in version.labels)
    first, last = versions[0].number, versions[-1].number
    numbers = f"version {last}" if first == last else f"versions {first}-{last}"
    return f"{numbers}, labels: {', '.join(labels) or 'none'}"


# --- planning ----------------------------------------------------------------------------------
def plan_all(specs: Sequence[StoredParameter], plan_one: Callable[[StoredParameter], T]) -> list[T]:
    """Plan every parameter before acting on any, so one bad parameter leaves the category untouched."""
    plans: list[T] = []
    problems: list[str] = []
    for spec in specs:
        try:
            plans.append(plan_one(spec))
        except OperationFailed as problem:
            problems.append(str(problem))
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise OperationFailed(f"nothing was written; {len(problems)} of {len(specs)} parameter(s) failed:\n{listed}")
    return plans


def plan_rollback(ssm: SsmClient, name: str, target: Target) -> Rollback:
    """Find the target version; compare it with the current one (value, type and key) without printing either."""
    versions = read_history(ssm, name)
    current, chosen = versions[-1], target.find(versions)
    if chosen is None:
        raise OperationFailed(f"{name} has no {target.describe()} (it has {_span(versions)})")
    value: str | None = None
    if chosen.number != current.number:
        restored = read_value(ssm, name, chosen.number)
        same_setting = (chosen.type, chosen.key_id) == (current.type, current.key_id)
        if not (same_setting and restored == read_value(ssm, name, current.number)):
            value = restored
    return Rollback(name, current, chosen, target.describe(), value)


def plan_label(ssm: SsmClient, name: str, version: int | None, label: str) -> Labelling:
    """Labelling moves a label SSM already has on another version; say so rather than hide it."""
    versions = read_history(ssm, name)
    chosen = versions[-1] if version is None else Target(version=version).find(versions)
    if chosen is None:
        raise OperationFailed(f"{name} has no version {version} (it has {_span(versions)})")
    holder = next((held for held in versions if label in held.labels), None)
    already = holder is not None and holder.number == chosen.number
    if not already and len(chosen.labels) >= MAX_LABELS_PER_VERSION:
        raise OperationFailed(
            f"{name} version {chosen.number} already has {MAX_LABELS_PER_VERSION} labels, SSM's limit"
        )
    moved_from = holder.number if holder is not None and not already else None
    return Labelling(name, chosen.number, label, moved_from, already)


# --- writing SSM -------------------------------------------------------------------------------
def attach_label(ssm: SsmClient, name: str, version: int, label: str) -> None:
    """SSM answers an invalid label with success and an InvalidLabels list: treat that as the failure it is."""
    response = ssm.label_parameter_version(Name=name, ParameterVersion=version, Labels=[label])
    if response.get("InvalidLabels"):
        raise OperationFailed(f"SSM refused label {label!r} on {name} version {version}")


def _put_arguments(plan: Rollback) -> dict[str, Any]:
    """The target's type, key and data type; the current tier and description, which a rollback must not change."""
    arguments: dict[str, Any] = {"Name": plan.name, "Value": plan.value, "Type": plan.target.type, "Overwrite": True}
    optional = {
        "KeyId": plan.target.key_id if plan.target.type == SECURE_STRING else None,
        "DataType": plan.target.data_type,
        "Tier": plan.current.tier,  # SSM cannot turn an advanced parameter back into a standard one
        "Description": plan.current.description,
    }
    arguments.update({key: value for key, value in optional.items() if value})
    return arguments


def apply_rollback(ssm: SsmClient, plan: Rollback) -> int:
    """Write the target's value as a new version and label it; returns the new version number."""
    new_version = int(ssm.put_parameter(**_put_arguments(plan))["Version"])
    try:
        attach_label(ssm, plan.name, new_version, plan.label)
    except (ClientError, OperationFailed) as error:
        raise OperationFailed(f"wrote version {new_version} but could not label it: {explain(error)}") from None
    return new_version


# --- commands ----------------------------------------------------------------------------------
def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "unknown"


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def history_lines(name: str, versions: Sequence[Version], reveal: Reveal) -> list[str]:
    """One row per version; a value column only when asked for (and then SecureStrings masked unless decrypted)."""
    header = ["version", "modified (UTC)", "modified by", "type", "key id", "labels"]
    rows = [header + (["value"] if reveal is not Reveal.NOTHING else [])]
    for version in versions:
        row = [
            str(version.number),
            _when(version.modified),
            version.modified_by,
            version.type,
            version.key_id or "-",
            ",".join(version.labels) or "-",
        ]
        if version.shown_value is not None:
            row.append(version.shown_value.replace("\n", "\\n"))
        rows.append(row)
    title = f"{name}: {len(versions)} version(s) held by SSM, current version {versions[-1].number}"
    return [title, *_table(rows)]


def run_history(ssm: SsmClient, specs: Sequence[StoredParameter], hierarchy: Hierarchy, reveal: Reveal) -> None:
    """Print what exists; a parameter missing from a category is reported after the others, not instead of them."""
    missing: list[str] = []
    for spec in specs:
        name = hierarchy.path(spec)
        try:
            versions = read_history(ssm, name, reveal)
        except OperationFailed as problem:
            missing.append(str(problem))
            continue
        print("\n".join(history_lines(name, versions, reveal)))
    if missing:
        raise OperationFailed("\n".join(missing))


def run_label(
    ssm: SsmClient, specs: Sequence[StoredParameter], hierarchy: Hierarchy, version: int | None, label: str
) -> None:
    plans = plan_all(specs, lambda spec: plan_label(ssm, hierarchy.path(spec), version, label))
    for plan in plans:
        if plan.already:
            print(f"{plan.name}: version {plan.version} already has label {label}; left alone")
            continue
        attach_label(ssm, plan.name, plan.version, label)
        moved = f" (moved from version {plan.moved_from})" if plan.moved_from is not None else ""
        print(f"{plan.name}: labelled version {plan.version} {label}{moved}")


def _describe(plan: Rollback, new_version: int | None = None) -> str:
    """One line per parameter: left alone, would be written (dry run) or written as ``new_version``."""
    source = f"version {plan.target.number}"
    if plan.target_description != source:
        source += f" ({plan.target_description})"
    if not plan.needed:
        return f"{plan.name}: already has the value, type and key of {source}; left alone"
    setting = plan.target.type + (f", key {plan.target.key_id}" if plan.target.type == SECURE_STRING else "")
    over = f"over version {plan.current.number} ({setting})"
    if new_version is None:
        return f"{plan.name}: would write the value of {source} as a new version {over}"
    return f"{plan.name}: wrote the value of {source} as version {new_version} {over}, labelled {plan.label}"


def run_rollback(
    ssm: SsmClient, specs: Sequence[StoredParameter], hierarchy: Hierarchy, target: Target, dry_run: bool
) -> None:
    """Plan all, then write one by one; a failure part-way says what was written and that a re-run is safe."""
    plans = plan_all(specs, lambda spec: plan_rollback(ssm, hierarchy.path(spec), target))
    pending = [plan for plan in plans if plan.needed]
    written = 0
    for plan in plans:
        if dry_run or not plan.needed:
            print(_describe(plan))
            continue
        try:
            new_version = apply_rollback(ssm, plan)
        except (ClientError, OperationFailed) as error:
            raise OperationFailed(
                f"{plan.name}: {explain(error)}\n{written} of {len(pending)} rollback(s) were written before this one; "
                "running the same command again is safe (parameters already rolled back are left alone)"
            ) from None
        written += 1
        print(_describe(plan, new_version))
    summary = "would change" if dry_run else "rolled back"
    print(
        f"{len(pending)} of {len(plans)} parameter(s) {summary}" + ("; dry run, nothing was written" if dry_run else "")
    )


# --- command line ------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """Usage errors become UsageError, so every error is reported the same way and exits 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a version number (1, 2, ...)")
    return int(text)


def _label(text: str) -> str:
    try:
        return check_label(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _prefix(text: str) -> str:
    try:
        return check_prefix(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_selection(parser: argparse.ArgumentParser) -> None:
    selection = parser.add_mutually_exclusive_group(required=True)
    selection.add_argument("--parameter", help="category/name (database/settings) or the full path")
    selection.add_argument("--category", help=f"every parameter of a category: {', '.join(c.value for c in Category)}")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--prefix", required=True, type=_prefix, help="the stack's parameterPrefix")
    common.add_argument("--env", required=True, choices=ENVIRONMENTS, help="the stack's environment")
    common.add_argument("--region", help=f"default: AWS_REGION, else {REGION} (the only region this project uses)")
    parser = _Parser(
        prog="python -m ops.parameters", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{history,label,rollback}")

    history = commands.add_parser("history", parents=[common], help="every version, its labels, date, author and key")
    _add_selection(history)
    history.add_argument("--show-values", action="store_true", help="add a value column; SecureStrings masked")
    history.add_argument("--decrypt", action="store_true", help="with --show-values: print SecureStrings in clear")

    label = commands.add_parser("label", parents=[common], help="label a version (default: the current one)")
    _add_selection(label)
    label.add_argument("--version", type=_positive, help="the version to label (only with --parameter)")
    label.add_argument("--label", required=True, type=_label, help="letters, digits, . - _; not starting aws/ssm/digit")

    rollback = commands.add_parser("rollback", parents=[common], help="write an earlier version back as a new one")
    _add_selection(rollback)
    to = rollback.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-version", type=_positive, help="version number (per parameter, so with care for a category)")
    to.add_argument("--to-label", type=_label, help="a label set earlier, e.g. with `label --category`")
    rollback.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    return parser


def _reveal(args: argparse.Namespace) -> Reveal:
    if args.decrypt and not args.show_values:
        raise UsageError("--decrypt prints SecureStrings in clear and needs --show-values as well")
    if args.decrypt:
        return Reveal.DECRYPTED
    return Reveal.MASKED if args.show_values else Reveal.NOTHING


def run(args: argparse.Namespace, ssm_factory: Callable[[str], SsmClient]) -> None:
    """Check the whole command line before the first AWS call, then run the command."""
    hierarchy = Hierarchy(args.prefix, args.env)
    specs = selected_specs(args, hierarchy)
    region = resolve_region(args.region, os.environ)
    if args.command == "history":
        reveal = _reveal(args)
        run_history(ssm_factory(region), specs, hierarchy, reveal)
    elif args.command == "label":
        if args.version is not None and args.category is not None:
            raise UsageError("--version applies to one --parameter; a category is labelled at its current versions")
        run_label(ssm_factory(region), specs, hierarchy, args.version, args.label)
    else:
        target = Target(version=args.to_version, label=args.to_label)
        run_rollback(ssm_factory(region), specs, hierarchy, target, args.dry_run)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def explain(error: Exception) -> str:
    """An AWS error as one line, with what to do about it when that is known."""
    if isinstance(error, ClientError):
        message = str(error.response.get("Error", {}).get("Message", error))
        hint = HINTS.get(_code(error))
        return f"{_code(error)}: {message}" + (f" ({hint})" if hint else "")
    return str(error)


def main(argv: Sequence[str] | None = None, ssm_factory: Callable[[str], SsmClient] = ssm_client) -> int:
    """Exit 0 done, 1 failed, 2 usage error; expected errors are one message on stderr, not a traceback."""
    try:
        run(build_parser().parse_args(argv), ssm_factory)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OperationFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"error: AWS: {explain(error)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
