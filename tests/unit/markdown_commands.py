"""Reading the commands a Markdown document tells its reader to run: fenced shell blocks, inline code spans.

The docs-command test (tests/unit/test_docs_commands.py) checks what these name against the
repository; this module only reads: Markdown into prose and fenced blocks, shell lines into simple
commands (continuations joined, ``$(...)`` substitutions included, ``cd`` followed), and a command
into the program it runs (``python -m``, ``nox``, ``pulumi``) and its arguments.
https://spec.commonmark.org/0.31.2/#fenced-code-blocks, https://spec.commonmark.org/0.31.2/#code-spans
"""

from __future__ import annotations

import contextlib
import functools
import posixpath
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tests.unit.support import PROJECT_ROOT

SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "console"})
OPERATORS = frozenset({"&&", "||", "|", ";", "&"})
PYTHON = re.compile(r"python(?:3(?:\.\d+)?)?")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
INLINE_CODE = re.compile(r"(?<!`)`([^`]+)`(?!`)")


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
    return str(document.relative_to(PROJECT_ROOT)) if document.is_relative_to(PROJECT_ROOT) else document.name


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


def logical_lines(lines: Sequence[tuple[int, str]], console: bool) -> Iterator[tuple[int, str]]:
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


def command_substitutions(text: str) -> list[str]:
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
        found += command_substitutions(inner)
        index = text.find("$(", end)
    return found


def simple_commands(text: str) -> list[list[str]]:
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


def commands_in(document: Path, line: int, text: str, cwd: str, fenced: bool) -> tuple[list[Command], str]:
    """The commands of one logical line (and of its substitutions), and the directory after it."""
    commands: list[Command] = []
    for source in (text, *command_substitutions(text)):
        for words in simple_commands(source):
            commands.append(Command(document, line, " ".join(words), tuple(words), cwd, fenced))
            if source is text and words[0] == "cd" and fenced:
                target = words[1] if len(words) > 1 else "."
                cwd = posixpath.normpath(posixpath.join(cwd, target)) if target != "-" else "."
    return commands, cwd


@functools.cache
def documented(documents: tuple[Path, ...]) -> Documented:
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
                for start, text in logical_lines(segment.lines, console=segment.language == "console"):
                    try:
                        found, cwd = commands_in(document, start, text, cwd, fenced=True)
                    except ValueError as error:
                        errors.append(f"{shown(document)}:{start}: `{text}`: {error}")
                        continue
                    commands += found
                continue
            number, line = segment
            links += [(document, number, target) for target in LINK.findall(line)]
        for number, span in inline_spans(document.read_text(encoding="utf-8")):
            spans.append((document, number, span))
            if program_of(span.split()):
                with contextlib.suppress(ValueError):  # prose may abbreviate; only whole commands count
                    commands += commands_in(document, number, span, ".", fenced=False)[0]
    return Documented(tuple(commands), tuple(errors), tuple(spans), tuple(links))


def inline_spans(text: str) -> Iterator[tuple[int, str]]:
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


def without_assignments(words: Sequence[str]) -> list[str]:
    """The command proper: leading ``export`` and ``NAME=value`` words set the environment only."""
    rest = list(words)
    if rest and rest[0] == "export":
        rest = rest[1:]
    while rest and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", rest[0]):
        rest = rest[1:]
    return rest


def program_of(words: Sequence[str]) -> str | None:
    """ "python", "nox" or "pulumi" when a command runs one of them (the programs the docs drive)."""
    rest = without_assignments(words)
    if not rest:
        return None
    name = PurePosixPath(rest[0]).name
    if PYTHON.fullmatch(name):
        return "python"
    return name if name in ("nox", "pulumi") else None


def module_call(command: Command) -> tuple[str, list[str]] | None:
    """(module, its arguments) of ``python -m module ...``, or None."""
    words = without_assignments(command.words)
    if program_of(words) != "python" or "-m" not in words:
        return None
    index = words.index("-m")
    return (words[index + 1], words[index + 2 :]) if index + 1 < len(words) else None


def nox_call(command: Command) -> tuple[list[str], list[str]] | None:
    """(sessions, posargs) of ``nox ...`` or ``python -m nox ...``, or None."""
    words = without_assignments(command.words)
    if program_of(words) == "nox":
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
    words = without_assignments(command.words)
    if program_of(words) != "pulumi":
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


def positional_words(words: Sequence[str], valued: frozenset[str]) -> list[str]:
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


def option_flags(arguments: Sequence[str]) -> list[str]:
    """The option strings in a command's arguments; prose writes optional ones as ``[--json FILE]``."""
    flags = []
    for word in arguments:
        word = word.strip("[]")
        if word != "--" and re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", word):
            flags.append(word.split("=", 1)[0])
    return flags


def is_placeholder(word: str) -> bool:
    """``<key>``, ``KEY`` and ``...`` stand for what the reader fills in; there is nothing to check."""
    return "<" in word or word.isupper() or word.strip(".") == ""
