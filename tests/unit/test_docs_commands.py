"""The commands, paths and links the docs give a reader exist in this repository, as written.

A guide whose commands have drifted from the code fails its reader in the middle of a deployment,
where a typo costs the most. Every shell command in a fenced ``sh``/``bash`` block of README.md and
docs/*.md, and every command in an inline code span of their prose, is checked against what it
names: nox sessions against noxfile.py, ``python -m`` modules against the source tree, flags against
the real argparse parsers, ``pulumi config`` keys against the projects' config schemas (and the
pinned AWS provider's keys), ``pulumi stack output`` names against the programs' exports. Paths in
backticks and relative links must resolve in the checkout.

Everything here is static or in-process (no network, no AWS, no Pulumi CLI) and takes a few seconds,
most of it importing the offline commands to build their parsers. ``python -m offline.reference
--check`` is not run from here: it runs the prod program and took 8 to 30 s on this machine;
tests/unit/test_generated_docs.py makes the same comparison on the suite's shared runs. A failure
names the document, the line and the command.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import importlib
import importlib.util
import io
import re
from collections.abc import Iterator, Sequence
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

import pytest

from offline.project import ProjectError, PulumiProject
from tests.unit.markdown_commands import (
    Block,
    Command,
    Documented,
    documented,
    is_placeholder,
    module_call,
    nox_call,
    option_flags,
    positional_words,
    pulumi_call,
    segments,
    shown,
    without_assignments,
)
from tests.unit.support import PROJECT_ROOT

ROOT = PROJECT_ROOT
DOCUMENTS: tuple[Path, ...] = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
# Modules the docs may run that are tools, not part of this repository.
EXTERNAL_MODULES = frozenset({"pip", "nox", "venv", "pytest"})
# A backticked span is taken for a repository path when it has a slash, only path characters, and
# either starts with an existing top-level entry or ends in a file suffix (so `ops/new.py` is
# checked even before ops/ exists, while `alias/name` or `10.40.0.0/16` are not paths).
PATH_SPAN = re.compile(r"[A-Za-z0-9_.][\w.\-/]*")
FILE_SUFFIXES = frozenset(
    {".py", ".md", ".yaml", ".yml", ".txt", ".json", ".toml", ".sql", ".cfg", ".ini", ".sh", ".zip", ".pem"}
)

# --- what the external CLIs accept ---------------------------------------------------------------
# The Pulumi and AWS CLIs are not installed here, so their options are data: each entry lists only
# flags confirmed on the command's reference page, cited beside it. A documented command outside
# these tables, or a flag missing from its entry, fails until someone confirms it and adds it here.

# Options every pulumi command inherits ("Options inherited from parent commands" on each page).
PULUMI_GLOBAL_FLAGS = frozenset({"--color", "-C", "--cwd", "--non-interactive", "-v", "--verbose"})
PULUMI_COMMAND_GROUPS = frozenset({"config", "policy", "plugin", "stack", "state"})
PULUMI_FLAGS: dict[str, frozenset[str]] = {
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_cancel/
    "cancel": frozenset({"-s", "--stack", "-y", "--yes"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_config/
    "config": frozenset({"--config-file", "-j", "--json", "--show-secrets", "-s", "--stack"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/
    # (-s/--stack and --config-file are inherited from pulumi config)
    "config set": frozenset({"--path", "--plaintext", "--secret", "--type", "-s", "--stack", "--config-file"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_destroy/
    "destroy": frozenset(
        {"--continue-on-error", "--diff", "-r", "--refresh", "--remove", "-s", "--stack", "-y", "--yes"}
    ),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_install/
    "install": frozenset({"--no-dependencies", "--no-plugins", "--reinstall", "--use-language-version-tools"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_login/
    "login": frozenset({"-c", "--cloud-url", "--default-org", "-l", "--local"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_preview/
    "preview": frozenset(
        {
            "--diff",
            "--expect-no-changes",
            "-j",
            "--json",
            "--policy-pack",
            "--policy-pack-config",
            "-r",
            "--refresh",
            "--replace",
            "-s",
            "--stack",
            "-t",
            "--target",
        }
    ),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_refresh/
    "refresh": frozenset(
        {
            "--clear-pending-creates",
            "--diff",
            "--expect-no-changes",
            "--import-pending-creates",
            "--preview-only",
            "--skip-pending-creates",
            "-s",
            "--stack",
            "-y",
            "--yes",
        }
    ),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack/
    "stack": frozenset({"-i", "--show-ids", "--show-name", "--show-secrets", "-u", "--show-urns", "-s", "--stack"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_change-secrets-provider/
    "stack change-secrets-provider": frozenset({"-s", "--stack"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_export/
    "stack export": frozenset({"--file", "--show-secrets", "-s", "--stack", "--version"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_history/
    "stack history": frozenset({"--full-dates", "-j", "--json", "--show-secrets", "-s", "--stack"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_import/
    "stack import": frozenset({"--file", "-f", "--force", "-s", "--stack"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_init/
    "stack init": frozenset({"--copy-config-from", "--no-select", "--secrets-provider", "-s", "--stack"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_ls/
    "stack ls": frozenset({"-a", "--all", "-j", "--json"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_output/
    "stack output": frozenset({"-j", "--json", "--shell", "--show-secrets", "-s", "--stack"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_rm/
    "stack rm": frozenset({"-f", "--force", "--preserve-config", "-s", "--stack", "-y", "--yes"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_select/
    "stack select": frozenset({"-c", "--create", "--secrets-provider", "-s", "--stack"}),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_up/
    "up": frozenset(
        {
            "--continue-on-error",
            "--diff",
            "--expect-no-changes",
            "-j",
            "--json",
            "--policy-pack",
            "--policy-pack-config",
            "-r",
            "--refresh",
            "--replace",
            "-s",
            "--stack",
            "-t",
            "--target",
            "--target-replace",
            "-y",
            "--yes",
        }
    ),
    # https://www.pulumi.com/docs/iac/cli/commands/pulumi_version/ (no options of its own)
    "version": frozenset(),
}

# Global options, listed in every command's synopsis (e.g. https://awscli.amazonaws.com/v2/documentation/api/latest/reference/kms/cancel-key-deletion.html).
AWS_GLOBAL_FLAGS = frozenset({"--region", "--query", "--output", "--profile", "--cli-binary-format", "--no-cli-pager"})
AWS_FLAGS: dict[tuple[str, str], frozenset[str]] = {
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/apigateway/get-account.html
    # (no options of its own)
    ("apigateway", "get-account"): frozenset(),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/ce/update-cost-allocation-tags-status.html
    # (API_UpdateCostAllocationTagsStatus: CostAllocationTagsStatus, its only parameter)
    ("ce", "update-cost-allocation-tags-status"): frozenset({"--cost-allocation-tags-status"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/configservice/describe-configuration-recorders.html
    # (names are optional)
    ("configservice", "describe-configuration-recorders"): frozenset({"--configuration-recorder-names"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/ec2/describe-availability-zones.html
    # (only global options used)
    ("ec2", "describe-availability-zones"): frozenset(),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/iam/attach-role-policy.html
    ("iam", "attach-role-policy"): frozenset({"--role-name", "--policy-arn"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/iam/create-policy.html
    ("iam", "create-policy"): frozenset({"--policy-name", "--policy-document", "--path", "--description", "--tags"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/iam/create-role.html
    ("iam", "create-role"): frozenset(
        {
            "--role-name",
            "--assume-role-policy-document",
            "--path",
            "--description",
            "--max-session-duration",
            "--permissions-boundary",
            "--tags",
        }
    ),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/kms/cancel-key-deletion.html
    ("kms", "cancel-key-deletion"): frozenset({"--key-id"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/kms/enable-key.html
    # (KeyId, the EnableKey API's only parameter)
    ("kms", "enable-key"): frozenset({"--key-id"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/lambda/invoke.html
    ("lambda", "invoke"): frozenset({"--function-name", "--invocation-type", "--log-type", "--payload", "--qualifier"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/lambda/list-versions-by-function.html
    # (API_ListVersionsByFunction: FunctionName)
    ("lambda", "list-versions-by-function"): frozenset({"--function-name"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/lambda/update-alias.html
    ("lambda", "update-alias"): frozenset({"--function-name", "--name", "--function-version", "--description"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/rds/describe-db-instances.html
    # (API_DescribeDBInstances: DBInstanceIdentifier)
    ("rds", "describe-db-instances"): frozenset({"--db-instance-identifier"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/rds/describe-db-snapshots.html
    ("rds", "describe-db-snapshots"): frozenset(
        {"--db-instance-identifier", "--db-snapshot-identifier", "--snapshot-type"}
    ),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/route53/get-hosted-zone.html
    # (API_GetHostedZone: Id)
    ("route53", "get-hosted-zone"): frozenset({"--id"}),
    # https://docs.aws.amazon.com/cli/latest/userguide/using-s3-commands.html (aws s3 ls/rm PATH)
    ("s3", "ls"): frozenset(),
    ("s3", "rm"): frozenset(),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/service-quotas/get-service-quota.html
    ("service-quotas", "get-service-quota"): frozenset({"--service-code", "--quota-code"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/sqs/get-queue-attributes.html
    # (API_GetQueueAttributes: QueueUrl, AttributeNames)
    ("sqs", "get-queue-attributes"): frozenset({"--queue-url", "--attribute-names"}),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/sqs/start-message-move-task.html
    ("sqs", "start-message-move-task"): frozenset(
        {"--source-arn", "--destination-arn", "--max-number-of-messages-per-second"}
    ),
    # https://awscli.amazonaws.com/v2/documentation/api/latest/reference/sts/get-caller-identity.html
    # (no options of its own)
    ("sts", "get-caller-identity"): frozenset(),
}


# --- what the repository declares -----------------------------------------------------------------


@functools.cache
def nox_sessions() -> dict[str, str | None]:
    """Session name -> the ``python -m`` module it forwards its posargs to, read from noxfile.py's AST.

    Parsed, not imported: importing noxfile.py would need nox in this virtualenv.
    """
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    sessions: dict[str, str | None] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Attribute) and target.attr == "session":
                name = node.name
                if isinstance(decorator, ast.Call):
                    for keyword in decorator.keywords:
                        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                            name = str(keyword.value.value)
                sessions[name] = _forwarded_module(node)
    return sessions


def _forwarded_module(function: ast.FunctionDef) -> str | None:
    """The module of a ``session.run("python", "-m", MODULE, *session.posargs)`` call, if any."""
    for call in ast.walk(function):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "run"):
            continue
        literals = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        forwards = any(
            isinstance(a, ast.Starred) and isinstance(a.value, ast.Attribute) and a.value.attr == "posargs"
            for a in call.args
        )
        if forwards and len(literals) >= 3 and literals[1] == "-m":
            return literals[2]
    return None


def module_file(module: str, cwd: str = ".") -> Path | None:
    """The file ``python -m module`` runs from ``cwd``, if the repository has it."""
    base = ROOT / cwd / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__main__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def parser_of(module: str) -> argparse.ArgumentParser | None:
    """The parser ``python -m module`` parses its command line with: the module's ``build_parser()``.

    None when the module cannot be imported in this virtualenv (it needs other dependencies);
    test_every_command_line_entry_point_builds_its_parser_in_build_parser sees that every one has it.
    """
    file = module_file(module)
    if file is None:
        return None
    entry = f"{module}.__main__" if file.name == "__main__.py" and not module.endswith("__main__") else module
    try:
        imported = importlib.import_module(entry)
    except ImportError:
        return None
    build_parser = getattr(imported, "build_parser", None)
    return build_parser() if callable(build_parser) else None


def _declared_in_source(module: str) -> set[str]:
    """Option strings of every ``add_argument`` call in a module's file, for parsers we cannot build."""
    file = module_file(module)
    if file is None:
        return set()
    options = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
            options |= {a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("-")}
    return options


def accepted_options(module: str, arguments: Sequence[str]) -> set[str]:
    """Every option string ``python -m module ARGUMENTS`` accepts, including the chosen subcommand's.

    argparse has no public API for its option table; ``_option_string_actions`` is the mapping
    argparse itself consults.
    """
    parser = parser_of(module)
    if parser is None:
        return _declared_in_source(module)
    return _options_of(parser, [word.strip("[]") for word in arguments])


def _options_of(parser: argparse.ArgumentParser, arguments: Sequence[str]) -> set[str]:
    options = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = next((word for word in arguments if word in action.choices), None)
            if chosen is not None:
                options |= _options_of(action.choices[chosen], arguments)
    return options


@functools.cache
def project_at(directory: str) -> PulumiProject | None:
    try:
        return PulumiProject.load(ROOT / directory)
    except ProjectError:
        return None


@functools.cache
def projects_by_name() -> dict[str, PulumiProject]:
    """Every Pulumi project in the repository (the main one and bootstrap/), by project name."""
    found = [ROOT / "Pulumi.yaml", *sorted(ROOT.glob("*/Pulumi.yaml"))]
    projects = [PulumiProject.load(path.parent) for path in found if path.is_file()]
    return {project.name: project for project in projects}


@functools.cache
def aws_provider_keys() -> frozenset[str]:
    """The config keys of the pinned pulumi-aws provider (``aws:<key>``), read from its generated SDK."""
    spec = importlib.util.find_spec("pulumi_aws")
    assert spec is not None, "pulumi-aws is installed with infra/requirements.txt"
    assert spec.origin is not None
    source = (Path(spec.origin).parent / "config" / "vars.py").read_text(encoding="utf-8")
    return frozenset(re.findall(r"__config__\.get\w*\('([A-Za-z0-9]+)'\)", source))


@functools.cache
def exported_outputs(directory: str) -> frozenset[str]:
    """The stack outputs a project's program exports: every literal ``pulumi.export("name", ...)``."""
    project = project_at(directory)
    if project is None:
        return frozenset()
    main = project.main_path
    files = [main] if main.is_file() else sorted(main.rglob("*.py"))
    names: set[str] = set()
    for file in files:
        if {"venv", ".venv", "__pycache__"} & set(file.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "export"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "pulumi"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(str(node.args[0].value))
    return frozenset(names)


@functools.cache
def ignored_directories() -> tuple[str, ...]:
    """Directory patterns of .gitignore: paths under them are produced by a command, never committed."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip().endswith("/") and not line.startswith("#"))


@functools.cache
def ignored_files() -> tuple[str, ...]:
    """File patterns of .gitignore with a directory part (``bench/results.json``): written by a command."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return tuple(
        line.strip().lstrip("/")
        for line in lines
        if "/" in line.strip().rstrip("/") and not line.strip().endswith("/") and not line.startswith("#")
    )


def _is_ignored(path: str) -> bool:
    if any(fnmatch(path, pattern) for pattern in ignored_files()):
        return True
    parts = PurePosixPath(path.rstrip("/")).parts
    directories = parts if path.endswith("/") else parts[:-1]
    for pattern in ignored_directories():
        stripped = pattern.rstrip("/")
        if "/" in stripped:
            if path.rstrip("/") == stripped or path.startswith(stripped + "/"):
                return True
        elif any(fnmatch(part, stripped) for part in directories):
            return True
    return False


def _looks_like_repo_path(span: str) -> bool:
    if "/" not in span or not PATH_SPAN.fullmatch(span):
        return False
    first = span.split("/", 1)[0]
    return (ROOT / first).exists() or PurePosixPath(span.rstrip("/")).suffix in FILE_SUFFIXES


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@functools.cache
def anchors(document: Path) -> frozenset[str]:
    """The anchors of a document's headings; GitHub numbers repeated ones (-1, -2, ...)."""
    found: list[str] = []
    seen: dict[str, int] = {}
    for segment in segments(document.read_text(encoding="utf-8")):
        if not isinstance(segment, Block) and re.match(r"#{1,6} ", segment[1]):
            slug = _slug(segment[1].lstrip("#"))
            found.append(f"{slug}-{seen[slug]}" if slug in seen else slug)
            seen[slug] = seen.get(slug, 0) + 1
    return frozenset(found)


# --- the checks: each returns one message per problem, naming document, line and command -----------


def session_problems(docs: Documented) -> list[str]:
    """``nox -s NAME`` must name a session of noxfile.py; nox itself would only say "Sessions not found"."""
    sessions = nox_sessions()
    problems = []
    for command in docs.commands:
        call = nox_call(command)
        for session in call[0] if call else []:
            if session not in sessions and not is_placeholder(session):
                known = ", ".join(sessions)
                problems.append(f"{command.where()}: no nox session {session!r} in noxfile.py (it has: {known})")
    return problems


def module_problems(docs: Documented) -> list[str]:
    """``python -m pkg.module`` must name a module of this repository, or a known tool such as pip."""
    problems = []
    for command in docs.commands:
        call = module_call(command)
        if call is None or call[0] in EXTERNAL_MODULES or is_placeholder(call[0]):
            continue
        if module_file(call[0], command.cwd) is None:
            problems.append(f"{command.where()}: no module {call[0]!r} in {command.cwd}/ of the repository")
    return problems


def _repository_module_calls(docs: Documented) -> Iterator[tuple[Command, str, list[str]]]:
    """Each (command, module, arguments) that runs a repository module: directly, or as the posargs of
    a nox session that forwards them to ``python -m MODULE`` (preview, cost, plan, package, ...)."""
    sessions = nox_sessions()
    for command in docs.commands:
        direct = module_call(command)
        if direct and direct[0] not in EXTERNAL_MODULES and module_file(direct[0], command.cwd):
            yield command, direct[0], direct[1]
        through_nox = nox_call(command)
        for session in through_nox[0] if through_nox else []:
            module = sessions.get(session)
            if through_nox and module and module_file(module):
                yield command, module, through_nox[1]


def flag_problems(docs: Documented) -> list[str]:
    """Flags are compared exactly: argparse would also take an abbreviation, which a guide should not teach."""
    problems = []
    for command, module, arguments in _repository_module_calls(docs):
        accepted = accepted_options(module, arguments)
        for flag in option_flags(arguments):
            if flag not in accepted:
                problems.append(f"{command.where()}: python -m {module} has no option {flag} ({sorted(accepted)})")
    return problems


def parse_problems(docs: Documented) -> list[str]:
    """Each fenced argument list through its command's own parser: a missing value, a missing required
    option or two exclusive options show up here, not in the reader's shell. Inline spans are left out:
    prose abbreviates (``history|label|rollback``)."""
    problems = []
    for command, module, arguments in _repository_module_calls(docs):
        parser = parser_of(module)
        if not command.fenced or parser is None:
            continue
        words = [word.strip("[]") for word in arguments if word != "..."]
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            try:
                parser.parse_args(words)
            except SystemExit as exit_:
                if exit_.code not in (0, None):
                    message = errors.getvalue().strip().splitlines()[-1:] or ["(no message)"]
                    problems.append(f"{command.where()}: python -m {module} rejects it: {message[0]}")
            except Exception as error:  # a type function that crashes fails the reader too
                problems.append(f"{command.where()}: python -m {module} crashed parsing it: {error!r}")
    return problems


def _config_key(words: Sequence[str]) -> tuple[str, bool] | None:
    """(key, whether --path is given) of ``pulumi config set|get|rm KEY ...``."""
    if len(words) < 3 or words[0] != "config" or words[1] not in ("set", "get", "rm"):
        return None
    positionals = positional_words(words[2:], frozenset({"--stack", "-s", "--config-file"}))
    return (positionals[0], "--path" in words) if positionals else None


def _undeclared(key: str, path: bool, project: PulumiProject | None) -> str | None:
    """Why a config key is not declared, or None when it is (or is a placeholder)."""
    if is_placeholder(key):
        return None
    namespace, separator, name = key.partition(":")
    if not separator:
        if project is None:
            return "the command does not run in a Pulumi project directory"
        namespace, name = project.name, key
    if path:
        name = re.split(r"[.\[]", name, maxsplit=1)[0]
    if namespace == "aws":
        return None if name in aws_provider_keys() else f"pulumi-aws has no config key 'aws:{name}'"
    owner = projects_by_name().get(namespace)
    if owner is None:
        return f"no project named {namespace!r} (projects: {', '.join(projects_by_name())})"
    if f"{namespace}:{name}" not in owner.config_schema:
        return f"{owner.directory.relative_to(ROOT) / 'Pulumi.yaml'} declares no config key {name!r}"
    return None


def config_key_problems(docs: Documented) -> list[str]:
    """A key outside the schema is stored and never read: the reader believes they changed something.
    A bare key belongs to the project the command runs in (``cd bootstrap``, ``-C bootstrap``)."""
    problems = []
    for command in docs.commands:
        call = pulumi_call(command)
        found = _config_key(call[0]) if call else None
        reason = _undeclared(found[0], found[1], project_at(call[1])) if call and found else None
        if reason:
            problems.append(f"{command.where()}: {reason}")
    return problems


def output_problems(docs: Documented) -> list[str]:
    """``pulumi stack output NAME`` of a name the program does not export fails only against a real stack."""
    problems = []
    for command in docs.commands:
        call = pulumi_call(command)
        if not call or call[0][:2] != ["stack", "output"]:
            continue
        names = positional_words(call[0][2:], frozenset({"--stack", "-s"}))
        exported = exported_outputs(call[1])
        if names and not is_placeholder(names[0]) and names[0] not in exported:
            problems.append(
                f"{command.where()}: the program in {call[1]}/ exports no {names[0]!r} ({sorted(exported)})"
            )
    return problems


def policy_pack_problems(docs: Documented) -> list[str]:
    """``--policy-pack DIR`` must be a directory with PulumiPolicy.yaml, or the CLI stops before previewing."""
    problems = []
    for command in docs.commands:
        call = pulumi_call(command)
        words = call[0] if call else []
        for index, word in enumerate(words[:-1]):
            if (
                call
                and word == "--policy-pack"
                and not (ROOT / call[1] / words[index + 1] / "PulumiPolicy.yaml").is_file()
            ):
                problems.append(f"{command.where()}: {words[index + 1]}/ is not a policy pack (no PulumiPolicy.yaml)")
    return problems


def path_problems(docs: Documented) -> list[str]:
    """Paths .gitignore names (build/, bench/results.json) are made by commands, so they need not exist."""
    return [
        f"{shown(document)}:{line}: `{span}` does not exist in the repository"
        for document, line, span in docs.spans
        if _looks_like_repo_path(span) and not _is_ignored(span) and not (ROOT / span).exists()
    ]


def link_problems(docs: Documented) -> list[str]:
    """A link to a moved file or a renamed heading is a dead end on GitHub; anchors use GitHub's slugs."""
    problems = []
    for document, line, target in docs.links:
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto: and the like
        file_part, _, anchor = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        where = f"{shown(document)}:{line}: ({target})"
        if not linked.exists():
            problems.append(f"{where}: {file_part} does not exist")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{where}: {shown(linked)} has no heading with anchor #{anchor}")
    return problems


def _leading_words(words: Sequence[str]) -> list[str]:
    """The words before the first option: a command's subcommand path and its first positionals."""
    leading = []
    for word in words:
        if word.startswith("-"):
            break
        leading.append(word)
    return leading


def external_cli_call(command: Command) -> tuple[str, str, list[str], frozenset[str] | None] | None:
    """("pulumi"/"aws", the subcommand, its flags, the flags known for it or None) for a pulumi or aws command."""
    call = pulumi_call(command)
    if call is not None:
        leading = _leading_words(call[0])
        if not leading:
            return None  # prose naming the program, not a command
        # A command group's second word is its subcommand (`pulumi stack rename`), anything else's is
        # an argument (`pulumi login s3://...`).
        subcommand = " ".join(leading[:2] if leading[0] in PULUMI_COMMAND_GROUPS else leading[:1])
        known = PULUMI_FLAGS.get(subcommand)
        return "pulumi", subcommand, option_flags(call[0]), None if known is None else known | PULUMI_GLOBAL_FLAGS
    words = without_assignments(command.words)
    if words and PurePosixPath(words[0]).name == "aws":
        service_operation = (words[1], words[2]) if len(words) > 2 else (" ".join(words[1:]), "")
        known = AWS_FLAGS.get(service_operation)
        flags = option_flags(words[1:])
        return "aws", " ".join(service_operation), flags, None if known is None else known | AWS_GLOBAL_FLAGS
    return None


def cli_flag_problems(docs: Documented) -> list[str]:
    """``pulumi`` and ``aws`` commands use only options confirmed in their CLI references (PULUMI_FLAGS,
    AWS_FLAGS): a misspelt or invented flag fails only against a real account, mid-deployment."""
    problems = []
    for command in docs.commands:
        call = external_cli_call(command)
        if call is None:
            continue
        program, subcommand, flags, known = call
        if known is None:
            problems.append(
                f"{command.where()}: `{program} {subcommand}` has no confirmed options here; add it to "
                f"{'PULUMI_FLAGS' if program == 'pulumi' else 'AWS_FLAGS'} with its reference URL"
            )
            continue
        problems += [
            f"{command.where()}: {program} {subcommand} has no option {flag} (confirmed: {sorted(known)})"
            for flag in flags
            if flag not in known
        ]
    return problems


def all_problems(docs: Documented) -> list[str]:
    return [
        *docs.shell_errors,
        *session_problems(docs),
        *module_problems(docs),
        *flag_problems(docs),
        *parse_problems(docs),
        *config_key_problems(docs),
        *output_problems(docs),
        *policy_pack_problems(docs),
        *cli_flag_problems(docs),
        *path_problems(docs),
        *link_problems(docs),
    ]


# --- the tests: the repository's docs -------------------------------------------------------------


def test_the_docs_have_commands_to_check() -> None:
    """Guards the extraction: a parser that found nothing would make every other test pass."""
    commands = documented(DOCUMENTS).commands
    assert any(c.document.name == "deployment.md" and c.fenced for c in commands)
    assert any(nox_call(c) for c in commands)
    assert any(pulumi_call(c) for c in commands)
    assert any(c for c in commands if not c.fenced and nox_call(c))


def test_every_shell_block_line_is_valid_shell() -> None:
    """A line the shell cannot split (an unclosed quote) cannot be pasted into a terminal either."""
    assert not documented(DOCUMENTS).shell_errors, "\n".join(documented(DOCUMENTS).shell_errors)


def test_every_nox_session_the_docs_name_exists() -> None:
    problems = session_problems(documented(DOCUMENTS))
    assert not problems, "\n".join(problems)


def test_every_python_module_the_docs_run_exists() -> None:
    problems = module_problems(documented(DOCUMENTS))
    assert not problems, "\n".join(problems)


def test_every_flag_the_docs_pass_to_a_repository_command_is_declared() -> None:
    problems = flag_problems(documented(DOCUMENTS))
    assert not problems, "\n".join(problems)


def test_every_fenced_repository_command_parses_with_its_real_parser() -> None:
    problems = parse_problems(documented(DOCUMENTS))
    assert not problems, "\n".join(problems)


def test_every_repository_command_the_docs_run_has_its_parser_here() -> None:
    """The flag and parse checks read each command's build_parser(); one that cannot be built would be skipped."""
    modules = {module for _, module, _ in _repository_module_calls(documented(DOCUMENTS))}

    unbuilt = sorted(module for module in modules if parser_of(module) is None)

    assert modules
    assert unbuilt == []


CODE_PACKAGES = (
    "bench",
    "bootstrap",
    "contract",
    "costmodel",
    "function",
    "infra",
    "local",
    "offline",
    "ops",
    "policies",
)


def _parser_problems(file: Path, root: Path = ROOT) -> list[str]:
    """What keeps a command-line module's parser out of reach: none built by a module-level ``build_parser()``."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    builders = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "build_parser" and not node.args.args
    ]
    inside = {id(node) for builder in builders for node in ast.walk(builder)}
    constructed = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("argparse.ArgumentParser", "ArgumentParser")
    ]
    where = file.relative_to(root)
    if constructed and not builders:
        return [f"{where}: builds an argparse parser but has no module-level build_parser()"]
    return [
        f"{where}:{node.lineno}: builds a parser outside build_parser()"
        for node in constructed
        if id(node) not in inside
    ]


def test_every_command_line_entry_point_builds_its_parser_in_build_parser() -> None:
    """GIVEN the repository's modules WHEN one builds an argparse parser THEN it does so in ``build_parser()``,
    so the docs' commands are checked against the parser main() really uses."""
    files = [
        file
        for package in CODE_PACKAGES
        for file in sorted((ROOT / package).rglob("*.py"))
        if not {"venv", ".venv", "site-packages"} & set(file.relative_to(ROOT).parts)
    ]
    entry_points = [file for file in files if "argparse" in file.read_text(encoding="utf-8")]

    problems = [problem for file in entry_points for problem in _parser_problems(file)]

    assert len(entry_points) >= 10
    assert not problems, "\n".join(problems)


def test_given_a_parser_built_inside_main_then_the_entry_point_check_names_it(tmp_path: Path) -> None:
    module = tmp_path / "tool.py"
    module.write_text("import argparse\n\ndef main():\n    return argparse.ArgumentParser().parse_args()\n")

    assert _parser_problems(module, tmp_path) == [
        "tool.py: builds an argparse parser but has no module-level build_parser()"
    ]


def test_every_config_key_the_docs_set_is_declared() -> None:
    problems = config_key_problems(documented(DOCUMENTS))
    assert not problems, "\n".join(problems)


def test_every_stack_output_the_docs_read_is_exported() -> None:
    problems = output_problems(documented(DOCUMENTS))
    assert not problems, "\n".join(problems)


def test_every_policy_pack_the_docs_pass_is_a_pack_directory() -> None:
    problems = policy_pack_problems(documented(DOCUMENTS))
    assert not problems, "\n".join(problems)


def test_every_pulumi_and_aws_flag_is_one_their_references_list() -> None:
    problems = cli_flag_problems(documented(DOCUMENTS))
    assert not problems, "\n".join(problems)


def test_every_repository_path_in_backticks_exists() -> None:
    problems = path_problems(documented(DOCUMENTS))
    assert not problems, "\n".join(problems)


def test_every_relative_link_resolves_to_a_file_and_heading() -> None:
    problems = link_problems(documented(DOCUMENTS))
    assert not problems, "\n".join(problems)


# --- the tests: the checks catch what they are for ------------------------------------------------

FENCE_MARK = "`" * 3  # written out so this file's own text holds no fence


def _sh(*lines: str) -> str:
    return "\n".join([f"{FENCE_MARK}sh", *lines, FENCE_MARK, ""])


BROKEN = {
    "unknown-session": (_sh("python3 -m nox -s previwe -- --stack dev"), "no nox session 'previwe'"),
    "unknown-module": (_sh("python -m offline.plann --stack dev"), "no module 'offline.plann'"),
    "unknown-flag-via-nox": (_sh("python3 -m nox -s preview -- --stak dev"), "has no option --stak"),
    "abbreviated-flag": (_sh("python3 -m nox -s cost -- --sta prod"), "has no option --sta"),
    "unknown-session-wrapped-inline": (
        "Text.\nRun `python3 -m nox -s\npreviwe` here.\n",
        "2: `python3 -m nox -s previwe`",
    ),
    "unknown-flag-inline": ("Run `python -m offline.package --rds-bundle x.pem`.\n", "has no option --rds-bundle"),
    "exclusive-flags": (_sh("python -m offline.reference --write --check"), "rejects it"),
    "missing-flag-value": (_sh("python3 -m nox -s preview -- --stack"), "rejects it"),
    "unknown-config-key": (_sh("pulumi config set logRetentionDay 14 --stack dev"), "no config key 'logRetentionDay'"),
    "old-aws-key": (
        _sh("pulumi config set --path 'aws:assumeRole.roleArn' arn:aws:iam::1:role/x"),
        "pulumi-aws has no config key 'aws:assumeRole'",
    ),
    "key-of-the-other-project": (
        _sh("cd bootstrap", "pulumi config set vpcCidr 10.0.0.0/16"),
        "bootstrap/Pulumi.yaml declares no config key 'vpcCidr'",
    ),
    "unknown-output": (_sh("pulumi stack output apiURL"), "exports no 'apiURL'"),
    "unknown-output-in-substitution": (
        _sh('export E2E_BASE_URL="$(pulumi stack output apiUri --stack dev)"'),
        "exports no 'apiUri'",
    ),
    "output-of-the-other-project": (_sh("pulumi -C bootstrap stack output apiUrl"), "exports no 'apiUrl'"),
    "unknown-pulumi-flag": (_sh("pulumi up --policy-packs policies"), "pulumi up has no option --policy-packs"),
    "pulumi-flag-of-another-subcommand": (
        _sh("pulumi preview --clear-pending-creates"),
        "pulumi preview has no option --clear-pending-creates",
    ),
    "unknown-pulumi-subcommand": (_sh("pulumi stack rename dev2"), "`pulumi stack rename` has no confirmed options"),
    "unknown-aws-flag": (
        _sh("aws lambda invoke --function serverless-infra-dev-function-migrator out.json"),
        "aws lambda invoke has no option --function",
    ),
    "unknown-aws-flag-in-substitution": (
        _sh('echo "$(aws s3 ls s3://bucket/ --recursve)"'),
        "aws s3 ls has no option --recursve",
    ),
    "not-a-policy-pack": (_sh("pulumi preview --policy-pack infra"), "infra/ is not a policy pack"),
    "missing-path": (
        "See `infra/serverless_infra/nothing.py`.\n",
        "`infra/serverless_infra/nothing.py` does not exist",
    ),
    "missing-link": ("[guide](nowhere.md)\n", "nowhere.md does not exist"),
    "missing-anchor": ("# Title\n\n[up](#no-such-heading)\n", "has no heading with anchor #no-such-heading"),
    "unclosed-quote": (_sh('pulumi config set owner "unclosed'), "No closing quotation"),
}


@pytest.mark.parametrize(("markdown", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_document_is_reported_naming_the_problem(tmp_path: Path, markdown: str, expected: str) -> None:
    document = tmp_path / "broken.md"
    document.write_text(markdown, encoding="utf-8")
    problems = all_problems(documented((document,)))
    assert any(expected in problem and problem.startswith("broken.md:") for problem in problems), problems


def test_a_sound_document_is_not_reported(tmp_path: Path) -> None:
    """What is legitimately not in the checkout (build outputs, AWS names, placeholders) passes."""
    document = tmp_path / "sound.md"
    document.write_text(
        "# Sound\n\n`build/layer.zip`, `policies/venv/`, `10.40.0.0/16`, `alias/serverless-infra-dev-secrets`,\n"
        "`/aws/lambda/serverless-infra-dev-function-api`, `pulumi config set serverless-infra:<key> <value>`,\n"
        "`python3 -m nox -s preview -- --stack prod [--json FILE] [--sarif FILE]`, [top](#sound).\n\n"
        + _sh(
            "python3 -m pip install -c constraints.txt nox uv && python3 -m nox -s package preview",
            "cd bootstrap",
            "pulumi config set environment dev",
            "pulumi stack output secretsProvider",
            "cd ..",
            'E2E_API_KEY="$(pulumi stack output apiKey --show-secrets --stack dev)" python3 -m nox -s e2e',
            "pulumi config set --path 'aws:assumeRoles[0].roleArn' arn:aws:iam::<id>:role/<role> --stack dev",
            "python3 -m nox -s package -- --rds-ca-bundle build/rds-global-bundle.pem  # a comment",
            "pulumi refresh --clear-pending-creates --stack dev",
            "aws s3 ls s3://serverless-infra-dev-state-<account-id>/.pulumi/locks/ --region us-east-1",
        ),
        encoding="utf-8",
    )
    assert all_problems(documented((document,))) == []
