"""Tagging: every taggable resource carries the required tags in its own inputs, with valid values.

Provider ``default_tags`` are applied after policies run during preview (and never offline), so
tags must be in each resource's inputs. Which types accept tags is derived from the provider SDK
the pack depends on (``pulumi-aws``, pinned in constraints.txt), the way the program's tagging
transformation decides it: a resource class whose constructor takes ``tags``. A taggable resource
that omits ``tags`` altogether is caught too, not only one with an incomplete map.

Values are checked, not only present: Environment must be the stack's environment (a prod stack
tagging a resource ``dev`` would otherwise mislabel it), CostCenter and Owner must match the
patterns in policy config.

Unknown values: tags are inputs the program sets from configuration, so they are known on every
preview; a tag map or a checked value unknown during preview cannot be verified and is reported.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pulumi.runtime
from pulumi_policy import Severity

from contract.naming import REQUIRED_TAG_KEYS
from policies.rules import MISSING, UNKNOWN, Check, Control, Kind, Resource, environment_of, get, resource_policy

COST_CENTER_PATTERN = r"^cc-[0-9]{4}(-[a-z0-9-]+)?$"
OWNER_PATTERN = r"^([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|[a-z0-9]+(-[a-z0-9]+)*)$"


@cache
def _sdk_classes() -> dict[str, tuple[str, str]]:
    """Type token → (module, class name), from the module table ``pulumi_aws`` registers with Pulumi."""
    importlib.import_module("pulumi_aws")
    found: dict[str, tuple[str, str]] = {}
    for modules in pulumi.runtime.rpc._RESOURCE_MODULES.values():
        for module in modules:
            info = getattr(module, "mod_info", None)
            if isinstance(info, dict) and info.get("pkg") == "aws":
                found.update({token: (info["fqn"], name) for token, name in info.get("classes", {}).items()})
    return found


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


_INTERNAL_INIT = re.compile(r"^    def _internal_init\((?P<parameters>__self__,.*?)\):$", re.S | re.M)


def _signature_takes_tags(source: str, class_name: str) -> bool | None:
    """Whether ``class_name``'s ``_internal_init`` in ``source`` takes ``tags``; None when not found so.

    Parses the signature alone: compiling a whole SDK module (thousands of lines of docstrings) costs
    about 13 ms, which across a stack's resource types was most of the pack's tagging time. None sends
    the caller to the whole-module parse, so an SDK laid out differently is still read correctly.
    """
    start = source.find(f"\nclass {class_name}(")
    found = _INTERNAL_INIT.search(source, start) if start >= 0 else None
    next_class = source.find("\nclass ", start + 1)
    if found is None or (next_class != -1 and found.start() > next_class):
        return None
    try:
        function = ast.parse(f"def _internal_init({found['parameters']}): pass").body[0]
    except SyntaxError:
        return None
    if not isinstance(function, ast.FunctionDef):
        return None
    return any(arg.arg == "tags" for arg in function.args.args + function.args.kwonlyargs)


@cache
def taggable(type_token: str) -> bool:
    """Whether the provider SDK's resource class for ``type_token`` takes ``tags``.

    The same derivation as the program's (``infra/serverless_infra/naming.py``): the class's
    ``_internal_init`` parameters decide. The class is found through the module table the SDK
    registers, and its signature is read from the class's source (importing a service package of
    the SDK takes seconds; reading one file takes milliseconds), by import when the file is not
    where the SDK's layout puts it. A type the SDK does not know is not taggable.
    """
    if type_token not in _sdk_classes():
        return False
    module_name, class_name = _sdk_classes()[type_token]
    spec = importlib.util.find_spec(module_name)
    folders = list(spec.submodule_search_locations or []) if spec else []
    file_name = f"{_snake(type_token.rsplit(':', 2)[1].rsplit('/', 1)[-1])}.py"
    for source in (Path(folder) / file_name for folder in folders):
        if source.is_file():
            text = source.read_text(encoding="utf-8")
            takes_tags = _signature_takes_tags(text, class_name)
            if takes_tags is not None:
                return takes_tags
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.ClassDef) and node.name == class_name:
                    return any(
                        isinstance(item, ast.FunctionDef)
                        and item.name == "_internal_init"
                        and any(arg.arg == "tags" for arg in item.args.args + item.args.kwonlyargs)
                        for item in node.body
                    )
    init = getattr(getattr(importlib.import_module(module_name), class_name, None), "_internal_init", None)
    return init is not None and "tags" in inspect.signature(init).parameters


REQUIRED_TAGS = Control(
    name="required-tags",
    concern="tagging",
    kind=Kind.TAGGING,
    description=(
        "Taggable resources (types whose provider class takes tags) carry every required tag with a non-empty "
        "value; Environment is the stack's environment, CostCenter and Owner match their configured patterns. "
        "An unknown tag map or checked value is reported (fail closed)."
    ),
    severity=Severity.MEDIUM,
    remediation="Set the tags in the resource's own inputs (the program's stack transformation does this for every "
    "taggable type) from the stack's own settings; provider default_tags are not seen by the policy check.",
    resource_types=("*",),
    config={
        "requiredTags": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "uniqueItems": True,
            "description": "Tag keys every taggable resource must carry.",
            "default": list(REQUIRED_TAG_KEYS),
        },
        "tagPatterns": {
            "type": "object",
            "description": "Regular expressions tag values must match (Environment must equal the stack's).",
            "additionalProperties": {"type": "string"},
            "default": {"CostCenter": COST_CENTER_PATTERN, "Owner": OWNER_PATTERN},
        },
    },
)


def _required_tags(control: Control, r: Resource) -> Iterator[str]:
    tags = r.get("tags")
    if tags is MISSING and not taggable(r.type):
        return
    if tags is UNKNOWN:
        yield "the tags are not known during preview, so the required tags cannot be verified"
        return
    for key in control.setting(r.config, "requiredTags"):
        value = get(tags, key)
        if value is MISSING:
            yield f"tag {key} is missing"
        elif value is not UNKNOWN and (not isinstance(value, str) or not value.strip()):
            yield f"tag {key} is empty"
    yield from _tag_values(control, r, tags)


def _tag_values(control: Control, r: Resource, tags: object) -> Iterator[str]:
    checks = {"Environment": None, **control.setting(r.config, "tagPatterns")}
    for key, pattern in checks.items():
        value = get(tags, key)
        if value is MISSING or (isinstance(value, str) and not value.strip()):
            continue  # reported above when required
        if value is UNKNOWN:
            yield f"tag {key} is not known during preview, so its value cannot be verified"
        elif key == "Environment":
            if value != environment_of():
                yield f"tag Environment is {value!r} but the stack's environment is {environment_of()!r}"
        elif not isinstance(value, str) or re.fullmatch(str(pattern), value) is None:
            yield f"tag {key} value {value!r} does not match {pattern}"


CHECKS: list[Check] = [resource_policy(REQUIRED_TAGS, _required_tags)]
