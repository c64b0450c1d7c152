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
import inspect
import io
import posixpath
import re
import shlex
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

import pytest

from offline.project import ProjectError, PulumiProject
from tests.unit.support import PROJECT_ROOT

ROOT = PROJECT_ROOT
DOCUMENTS: tuple[Path, ...] = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "console"})
OPERATORS = frozenset({"&&", "||", "|", ";", "&"})
PYTHON = re.compile(r"python(?:3(?:\.\d+)?)?")
# Modules the docs may run that are tools, not part of this repository.
EXTERNAL_MODULES = frozenset({"pip", "nox", "venv", "pytest"})
# A backticked span is taken for a repository path when it has a slash, only path characters, and
# either starts with an existing top-level entry or ends in a file suffix (so `ops/new.py` is
# checked even before ops/ exists, while `alias/name` or `10.40.0.0/16` are not paths).
PATH_SPAN = re.compile(r"[A-Za-z0-9_.][\w.\-/]*")
FILE_SUFFIXES = frozenset(
    {".py", ".md", ".yaml", ".yml", ".txt", ".json", ".toml", ".sql", ".cfg", ".ini", ".sh", ".zip", ".pem"}
)
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
INLINE_CODE = re.compile(r"(?<!`)`([^`]+)`(?!`)")

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


@dataclass(frozen=True)
class Command:
    """One simple command the docs tell a reader to run, with where it was written."""

    document: Path
    line: int
    text: str
    words: tuple[str, ...]
    cwd: str  # the directory it runs in, relative to the repository root ("." for the root)
    fenced: bool  # from a shell block (runnable as written) rather than an inline span (may abbreviate)

    def where(self) -> str:
        return f"{shown(self.document)}:{self.line}: `{self.text}`"


def shown(document: Path) -> str:
    """A document's name in messages: relative to the repository root when it is in it."""
    return str(document.relative_to(ROOT)) if document.is_relative_to(ROOT) else document.name


@dataclass(frozen=True)
class Documented:
    """Everything extracted from the docs, parsed once per test worker."""

    commands: tuple[Command, ...]
    shell_errors: tuple[str, ...]
    spans: tuple[tuple[Path, int, str], ...]  # inline code spans outside fenced blocks
    links: tuple[tuple[Path, int, str], ...]  # relative link targets outside fenced blocks


# --- reading the docs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language ("text" when none is given) and its numbered lines."""

    language: str
    lines: tuple[tuple[int, str], ...]


def segments(text: str) -> Iterator[tuple[int, str] | Block]:
    """A document as prose lines (numbered, 1-based) and fenced blocks, in order."""
    block: Block | None = None
    fence = ""
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if block is None:
            if match:
                fence, block = match.group(1), Block(match.group(2).lower() or "text", ())
            else:
                yield number, line
        elif line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
            yield block
            block = None
        else:
            block = Block(block.language, (*block.lines, (number, line)))
    if block is not None:
        yield block  # an unclosed fence runs to the end of the document, as on GitHub


def _logical_lines(lines: Sequence[tuple[int, str]], console: bool) -> Iterator[tuple[int, str]]:
    """Shell lines with backslash continuations joined, numbered by their first physical line."""
    pending: list[str] = []
    start = 0
    for number, line in lines:
        if console and not pending:
            if not line.lstrip().startswith("$ "):
                continue  # console output, not a command
            line = line.lstrip()[2:]
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending.append(line.rstrip()[:-1])
            continue
        pending.append(line)
        yield start, " ".join(part.strip() for part in pending)
        pending = []
    if pending:
        yield start, " ".join(part.strip() for part in pending)


def _substitutions(text: str) -> list[str]:
    """The commands inside ``$(...)``, nested ones too: they run as well, so they are checked too."""
    found: list[str] = []
    index = text.find("$(")
    while index != -1:
        depth, end = 0, index + 1
        while end < len(text):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
            end += 1
        inner = text[index + 2 : end]
        found.append(inner)
        found += _substitutions(inner)
        index = text.find("$(", end)
    return found


def _simple_commands(text: str) -> list[list[str]]:
    """Split a shell line into simple commands (on && || | ; &), as words with quotes removed."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[list[str]] = [[]]
    for word in lexer:
        if word in OPERATORS:
            commands.append([])
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


def _commands_in(document: Path, line: int, text: str, cwd: str, fenced: bool) -> tuple[list[Command], str]:
    """The commands of one logical line (and of its substitutions), and the directory after it."""
    commands: list[Command] = []
    for source in (text, *_substitutions(text)):
        for words in _simple_commands(source):
            commands.append(Command(document, line, " ".join(words), tuple(words), cwd, fenced))
            if source is text and words[0] == "cd" and fenced:
                target = words[1] if len(words) > 1 else "."
                cwd = posixpath.normpath(posixpath.join(cwd, target)) if target != "-" else "."
    return commands, cwd


@functools.cache
def documented(documents: tuple[Path, ...] = DOCUMENTS) -> Documented:
    """Commands, shell errors, inline code spans and links of the documents, parsed once per worker."""
    commands: list[Command] = []
    errors: list[str] = []
    spans: list[tuple[Path, int, str]] = []
    links: list[tuple[Path, int, str]] = []
    for document in documents:
        for segment in segments(document.read_text(encoding="utf-8")):
            if isinstance(segment, Block):
                if segment.language not in SHELL_LANGUAGES:
                    continue
                cwd = "."  # every block starts at the repository root, as the guides say
                for start, text in _logical_lines(segment.lines, console=segment.language == "console"):
                    try:
                        found, cwd = _commands_in(document, start, text, cwd, fenced=True)
                    except ValueError as error:
                        errors.append(f"{shown(document)}:{start}: `{text}`: {error}")
                        continue
                    commands += found
                continue
            number, line = segment
            links += [(document, number, target) for target in LINK.findall(line)]
        for number, span in _inline_spans(document.read_text(encoding="utf-8")):
            spans.append((document, number, span))
            if _program(span.split()):
                with contextlib.suppress(ValueError):  # prose may abbreviate; only whole commands count
                    commands += _commands_in(document, number, span, ".", fenced=False)[0]
    return Documented(tuple(commands), tuple(errors), tuple(spans), tuple(links))


def _inline_spans(text: str) -> Iterator[tuple[int, str]]:
    """Inline code spans of the prose, with the line each starts on. A span may wrap onto the next line of
    its paragraph (Markdown reads the line break as a space), so spans are found per paragraph."""
    paragraph: list[tuple[int, str]] = []
    for segment in [*segments(text), Block("end", ())]:
        if not isinstance(segment, Block) and segment[1].strip():
            paragraph.append(segment)
            continue
        if paragraph:
            joined = "\n".join(line for _, line in paragraph)
            for match in INLINE_CODE.finditer(joined):
                line = paragraph[0][0] + joined.count("\n", 0, match.start())
                yield line, " ".join(match.group(1).split())
        paragraph = []


# --- what a command invokes -----------------------------------------------------------------------


def _without_assignments(words: Sequence[str]) -> list[str]:
    """The command proper: leading ``export`` and ``NAME=value`` words set the environment only."""
    rest = list(words)
    if rest and rest[0] == "export":
        rest = rest[1:]
    while rest and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", rest[0]):
        rest = rest[1:]
    return rest


def _program(words: Sequence[str]) -> str | None:
    """ "python", "nox" or "pulumi" when a command runs one of them (the programs the docs drive)."""
    rest = _without_assignments(words)
    if not rest:
        return None
    name = PurePosixPath(rest[0]).name
    if PYTHON.fullmatch(name):
        return "python"
    return name if name in ("nox", "pulumi") else None


def module_call(command: Command) -> tuple[str, list[str]] | None:
    """(module, its arguments) of ``python -m module ...``, or None."""
    words = _without_assignments(command.words)
    if _program(words) != "python" or "-m" not in words:
        return None
    index = words.index("-m")
    return (words[index + 1], words[index + 2 :]) if index + 1 < len(words) else None


def nox_call(command: Command) -> tuple[list[str], list[str]] | None:
    """(sessions, posargs) of ``nox ...`` or ``python -m nox ...``, or None."""
    words = _without_assignments(command.words)
    if _program(words) == "nox":
        arguments = words[1:]
    else:
        call = module_call(command)
        if call is None or call[0] != "nox":
            return None
        arguments = call[1]
    sessions: list[str] = []
    index = 0
    while index < len(arguments):
        word = arguments[index]
        if word == "--":
            return sessions, arguments[index + 1 :]
        index += 1
        if word in ("-s", "-e", "--session", "--sessions"):
            while index < len(arguments) and not arguments[index].startswith("-"):
                sessions.append(arguments[index])
                index += 1
    return sessions, []


def pulumi_call(command: Command) -> tuple[list[str], str] | None:
    """(the words after ``pulumi`` without its -C/--cwd option, the project directory), or None."""
    words = _without_assignments(command.words)
    if _program(words) != "pulumi":
        return None
    rest, cwd = [], command.cwd
    index = 1
    while index < len(words):
        word = words[index]
        if word in ("-C", "--cwd") and index + 1 < len(words):
            cwd = posixpath.normpath(posixpath.join(cwd, words[index + 1]))
            index += 2
            continue
        if word.startswith("--cwd="):
            cwd = posixpath.normpath(posixpath.join(cwd, word.split("=", 1)[1]))
        else:
            rest.append(word)
        index += 1
    return rest, cwd


def _positionals(words: Sequence[str], valued: frozenset[str]) -> list[str]:
    """Positional words, skipping flags and the values of the flags in ``valued``."""
    found: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word.startswith("-"):
            if word in valued:
                index += 1
            continue
        found.append(word)
    return found


def _flags(arguments: Sequence[str]) -> list[str]:
    """The option strings in a command's arguments; prose writes optional ones as ``[--json FILE]``."""
    flags = []
    for word in arguments:
        word = word.strip("[]")
        if word != "--" and re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", word):
            flags.append(word.split("=", 1)[0])
    return flags


def _is_placeholder(word: str) -> bool:
    """``<key>``, ``KEY`` and ``...`` stand for what the reader fills in; there is nothing to check."""
    return "<" in word or word.isupper() or word.strip(".") == ""


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


class _ParserBuilt(Exception):
    """Raised in place of parsing, to hand back the parser a module's main() built."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__(parser.prog)
        self.parser = parser


@functools.cache
def parser_of(module: str) -> argparse.ArgumentParser | None:
    """The argparse parser ``python -m module`` uses, built by calling its main() and stopping at parsing.

    The offline commands build their parser inside main(), so this is the only way to test the real
    one. None when the module cannot be imported in this virtualenv (it needs other dependencies).
    """
    file = module_file(module)
    if file is None:
        return None
    entry = f"{module}.__main__" if file.name == "__main__.py" and not module.endswith("__main__") else module
    try:
        imported = importlib.import_module(entry)
    except ImportError:
        return None
    main = getattr(imported, "main", None)
    if main is None:
        return None

    def stop(self: argparse.ArgumentParser, *_args: object, **_kwargs: object) -> None:
        raise _ParserBuilt(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_known_args", stop)
        patch.setattr(sys, "argv", [module])
        try:
            main([]) if inspect.signature(main).parameters else main()
        except _ParserBuilt as built:
            return built.parser
    return None


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
            if session not in sessions and not _is_placeholder(session):
                known = ", ".join(sessions)
                problems.append(f"{command.where()}: no nox session {session!r} in noxfile.py (it has: {known})")
    return problems


def module_problems(docs: Documented) -> list[str]:
    """``python -m pkg.module`` must name a module of this repository, or a known tool such as pip."""
    problems = []
    for command in docs.commands:
        call = module_call(command)
        if call is None or call[0] in EXTERNAL_MODULES or _is_placeholder(call[0]):
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
        for flag in _flags(arguments):
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
    positionals = _positionals(words[2:], frozenset({"--stack", "-s", "--config-file"}))
    return (positionals[0], "--path" in words) if positionals else None


def _undeclared(key: str, path: bool, project: PulumiProject | None) -> str | None:
    """Why a config key is not declared, or None when it is (or is a placeholder)."""
    if _is_placeholder(key):
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
        names = _positionals(call[0][2:], frozenset({"--stack", "-s"}))
        exported = exported_outputs(call[1])
        if names and not _is_placeholder(names[0]) and names[0] not in exported:
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
        return "pulumi", subcommand, _flags(call[0]), None if known is None else known | PULUMI_GLOBAL_FLAGS
    words = _without_assignments(command.words)
    if words and PurePosixPath(words[0]).name == "aws":
        service_operation = (words[1], words[2]) if len(words) > 2 else (" ".join(words[1:]), "")
        known = AWS_FLAGS.get(service_operation)
        flags = _flags(words[1:])
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
    commands = documented().commands
    assert any(c.document.name == "deployment.md" and c.fenced for c in commands)
    assert any(nox_call(c) for c in commands)
    assert any(pulumi_call(c) for c in commands)
    assert any(c for c in commands if not c.fenced and nox_call(c))


def test_every_shell_block_line_is_valid_shell() -> None:
    """A line the shell cannot split (an unclosed quote) cannot be pasted into a terminal either."""
    assert not documented().shell_errors, "\n".join(documented().shell_errors)


def test_every_nox_session_the_docs_name_exists() -> None:
    problems = session_problems(documented())
    assert not problems, "\n".join(problems)


def test_every_python_module_the_docs_run_exists() -> None:
    problems = module_problems(documented())
    assert not problems, "\n".join(problems)


def test_every_flag_the_docs_pass_to_a_repository_command_is_declared() -> None:
    problems = flag_problems(documented())
    assert not problems, "\n".join(problems)


def test_every_fenced_repository_command_parses_with_its_real_parser() -> None:
    problems = parse_problems(documented())
    assert not problems, "\n".join(problems)


def test_every_config_key_the_docs_set_is_declared() -> None:
    problems = config_key_problems(documented())
    assert not problems, "\n".join(problems)


def test_every_stack_output_the_docs_read_is_exported() -> None:
    problems = output_problems(documented())
    assert not problems, "\n".join(problems)


def test_every_policy_pack_the_docs_pass_is_a_pack_directory() -> None:
    problems = policy_pack_problems(documented())
    assert not problems, "\n".join(problems)


def test_every_pulumi_and_aws_flag_is_one_their_references_list() -> None:
    problems = cli_flag_problems(documented())
    assert not problems, "\n".join(problems)


def test_every_repository_path_in_backticks_exists() -> None:
    problems = path_problems(documented())
    assert not problems, "\n".join(problems)


def test_every_relative_link_resolves_to_a_file_and_heading() -> None:
    problems = link_problems(documented())
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
