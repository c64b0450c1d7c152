"""Read a Pulumi project (Pulumi.yaml) and a stack's configuration (Pulumi.<stack>.yaml).

Mirrors what the Pulumi CLI hands a program: keys namespaced ``<namespace>:<key>`` (un-namespaced
keys belong to the project), project-level defaults from the config schema applied where the stack
sets nothing, structured values passed as JSON text, and secure values decrypted. Offline there is
no secrets provider, so each secure value is replaced by a placeholder secret that names its key.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ProjectError(Exception):
    """The project or stack files cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class ConfigKeySchema:
    """One entry of Pulumi.yaml's ``config`` block."""

    key: str  # fully namespaced
    type: str | None
    description: str
    default: Any = None
    has_default: bool = False
    secret: bool = False


@dataclass(frozen=True)
class PulumiProject:
    """The parts of Pulumi.yaml a program run depends on."""

    directory: Path
    name: str
    runtime: str
    runtime_options: Mapping[str, Any]
    main_path: Path
    config_schema: Mapping[str, ConfigKeySchema] = field(default_factory=dict)
    description: str = ""

    @classmethod
    def load(cls, directory: Path | str) -> PulumiProject:
        root = Path(directory).resolve()
        document = _read_yaml(_project_file(root))
        if not isinstance(document, dict) or not isinstance(document.get("name"), str):
            raise ProjectError(f"{_project_file(root)}: 'name' is required")
        runtime = document.get("runtime")
        if isinstance(runtime, dict):
            runtime_name, options = str(runtime.get("name", "")), runtime.get("options") or {}
        else:
            runtime_name, options = str(runtime or ""), {}
        main = root / str(document.get("main") or ".")
        if not main.exists():
            raise ProjectError(f"{_project_file(root)}: main {document.get('main')!r} does not exist")
        name = document["name"]
        schema = {
            entry.key: entry
            for entry in (_schema_entry(name, key, raw) for key, raw in (document.get("config") or {}).items())
        }
        description = document.get("description")
        return cls(root, name, runtime_name, options, main, schema, str(description) if description else "")

    @property
    def descriptor(self) -> Path:
        """The project file itself (Pulumi.yaml or Pulumi.yml)."""
        return _project_file(self.directory)

    def stack_file(self, stack: str) -> Path:
        return self.directory / f"Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class StackConfig:
    """Configuration as the program sees it: ``PULUMI_CONFIG`` entries and the secret keys."""

    values: Mapping[str, str]
    secret_keys: frozenset[str]

    def environment(self) -> dict[str, str]:
        """The environment variables the Pulumi CLI sets for the program."""
        return {
            "PULUMI_CONFIG": json.dumps(dict(self.values), sort_keys=True),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(self.secret_keys)),
        }

    def with_overrides(self, overrides: Mapping[str, Any | None], *, secret: bool = False) -> StackConfig:
        """A copy with keys set (or removed, with None), as ``pulumi config set/rm`` would."""
        values = dict(self.values)
        secret_keys = set(self.secret_keys)
        for key, value in overrides.items():
            if value is None:
                values.pop(key, None)
                secret_keys.discard(key)
            else:
                values[key] = _as_config_text(value)
                if secret:
                    secret_keys.add(key)
        return StackConfig(values, frozenset(secret_keys))


def config_override(text: str) -> tuple[str, str]:
    """``--config KEY=VALUE`` as the command lines take it (like ``pulumi config set KEY VALUE``).

    An argparse ``type``: a value without ``=`` or with an empty key is refused with the option's name,
    never dropped, so a typo cannot run the stack on its own configuration unnoticed.
    """
    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise argparse.ArgumentTypeError(f"takes KEY=VALUE, got {text!r}")
    return key.strip(), value


def add_config_option(parser: argparse.ArgumentParser, help: str = "override a config value for this run") -> None:
    """The ``--config KEY=VALUE`` option every command line that runs a program takes (repeatable)."""
    parser.add_argument("--config", action="append", default=[], type=config_override, metavar="KEY=VALUE", help=help)


def error_line(error: BaseException) -> str:
    """One line for a command line's error exit: the error, and its cause when it adds something."""
    cause = error.__cause__
    return f"error: {error}" + (f" ({cause})" if cause and str(cause) not in str(error) else "")


def placeholder_secret(key: str) -> str:
    """The value a secure config entry takes offline: recognisable, never a real secret."""
    return f"offline-secret-for-{key.replace(':', '-')}"


def load_stack_config(project: PulumiProject, stack: str) -> StackConfig:
    """Read Pulumi.<stack>.yaml (absent: empty, as for a new stack) and apply project defaults."""
    stack_file = project.stack_file(stack)
    document = _read_yaml(stack_file) if stack_file.exists() else {}
    raw = (document or {}).get("config") or {}
    if not isinstance(raw, dict):
        raise ProjectError(f"{stack_file}: 'config' must be a mapping")
    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in raw.items():
        full_key = _namespaced(project.name, str(key))
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full_key] = placeholder_secret(full_key)
            secret_keys.add(full_key)
        else:
            values[full_key] = _as_config_text(value)
    for entry in project.config_schema.values():
        if entry.key not in values and entry.has_default:
            values[entry.key] = _as_config_text(entry.default)
        if entry.secret and entry.key in values:
            secret_keys.add(entry.key)
    return StackConfig(values, frozenset(secret_keys))


def _project_file(root: Path) -> Path:
    for candidate in ("Pulumi.yaml", "Pulumi.yml"):
        if (root / candidate).exists():
            return root / candidate
    raise ProjectError(f"{root}: no Pulumi.yaml (is this a Pulumi project directory?)")


# libyaml's loader when PyYAML was built with it: the same documents, several times faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except OSError as error:
        raise ProjectError(f"{path}: cannot read: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise ProjectError(yaml_error_line(path, error)) from error


def yaml_error_line(path: Path, error: yaml.YAMLError) -> str:
    """A YAML error on one line, ``FILE:LINE:COLUMN: problem``, as compilers print them."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    detail = f"{problem} ({context})" if context else str(problem)
    return f"{where}: invalid YAML: {' '.join(detail.split())}"


def _namespaced(project_name: str, key: str) -> str:
    return key if ":" in key else f"{project_name}:{key}"


def _schema_entry(project_name: str, key: str, raw: Any) -> ConfigKeySchema:
    full_key = _namespaced(project_name, str(key))
    if not isinstance(raw, dict):
        # A plain value in Pulumi.yaml is a project-wide setting, i.e. a default for every stack.
        return ConfigKeySchema(full_key, None, "", raw, has_default=True)
    has_default = "default" in raw or "value" in raw
    default = raw.get("default", raw.get("value"))
    return ConfigKeySchema(
        full_key,
        raw.get("type"),
        str(raw.get("description", "")),
        default,
        has_default,
        bool(raw.get("secret", False)),
    )


def _as_config_text(value: Any) -> str:
    """Config values reach a program as text; structured ones as JSON, booleans as true/false."""
    if isinstance(value, str):
        return value
    return json.dumps(value)
