"""A Pulumi AWS resource's inputs as the Terraform resource configuration Checkov's checks read.

pulumi-aws is bridged from the Terraform AWS provider: each resource token names one Terraform
resource type and each input is a Terraform attribute under a camelCase name (the bridge's
``renames`` in bridge-metadata.json; ``mapping.json`` here, see :mod:`checkov_pack.generate_mapping`).
The result has a Terraform plan's shape (``planned_values`` in ``terraform show -json``), which
Checkov's plan runner reads and wraps into the HCL parser's shape its checks expect (every value in
a list). A nested block is a list of objects in a plan; the bridge flattens a block that may occur
once into an object and pluralises the name of a block that may repeat (``rule`` → ``rules``), so
an object becomes a one-element block list, a list of objects a block list under the singular
name (or the bridge's explicit rename), and a map-typed input (tags and the like, whose keys are
data, not attribute names) stays an object with its keys.

A value not known during preview (the engine's unknown sentinels, or the policy SDK's
``UnknownValueError``) is left out of the configuration and its top-level attribute recorded in
``unknown``, so a check that reads it can be told apart from one that does not
(:mod:`checkov_pack.evaluation`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

MAPPING_FILE: Final = Path(__file__).with_name("mapping.json")

# pulumi-policy's sentinels for values unknown during preview (pulumi_policy/proxy.py).
UNKNOWN_SENTINELS: Final = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)
# Inputs whose value is a map of data (keys chosen by the user), not a nested block.
MAP_ATTRIBUTES: Final = frozenset(
    {
        "tags",
        "tags_all",
        "variables",
        "parameters",
        "request_parameters",
        "request_templates",
        "response_parameters",
        "response_templates",
        "request_models",
        "response_models",
        "stage_variables",
        "environment_variables",
        "labels",
        "metadata",
        "dimensions",
        "options",
        "attributes",
        "policy_document",
    }
)
_CAMEL_BOUNDARY: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class _Unknown:
    """Stands for a value the engine does not know yet."""


UNKNOWN: Final = _Unknown()


@dataclass(frozen=True)
class ProviderMapping:
    """The provider's mapping: resource token → Terraform type, and the renamed properties."""

    resources: Mapping[str, str]
    properties: Mapping[str, Mapping[str, str]]
    pulumi_aws: str
    source: str


@cache
def load_mapping(path: Path = MAPPING_FILE) -> ProviderMapping:
    document = json.loads(path.read_text(encoding="utf-8"))
    return ProviderMapping(
        resources=dict(document["resources"]),
        properties={token: dict(names) for token, names in document.get("properties", {}).items()},
        pulumi_aws=str(document["pulumi_aws"]),
        source=str(document["source"]),
    )


def snake_case(name: str) -> str:
    """``serverSideEncryptionConfiguration`` → ``server_side_encryption_configuration``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def singular(name: str) -> str:
    """The Terraform name of a block the bridge pluralised (``rules`` → ``rule``, ``queries`` → ``query``)."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith(("sses", "xes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


@dataclass
class TerraformResource:
    """One resource as a Terraform plan holds it: type, attribute values, attributes unknown during preview."""

    type: str
    values: dict[str, Any]
    unknown: set[str] = field(default_factory=set)


def terraform_type(token: str, mapping: ProviderMapping | None = None) -> str | None:
    return (mapping or load_mapping()).resources.get(token)


def attribute_name(token: str, prop: str, mapping: ProviderMapping | None = None) -> str:
    """The Terraform attribute a Pulumi property of ``token`` is: the bridge's rename, else snake_case.

    One rule for values (:func:`convert`) and for the references graph checks follow between resources.
    """
    return (mapping or load_mapping()).properties.get(token, {}).get(prop) or snake_case(prop)


def convert(token: str, props: Any, mapping: ProviderMapping | None = None) -> TerraformResource | None:
    """The Terraform form of a resource's properties; None for a token the mapping does not name."""
    mapping = mapping or load_mapping()
    tf_type = mapping.resources.get(token)
    if tf_type is None:
        return None
    renames = mapping.properties.get(token, {})
    resource = TerraformResource(tf_type, {})
    for key in _keys(props):
        value = _read(props, key)
        name = attribute_name(token, key, mapping)
        if value is UNKNOWN:
            resource.unknown.add(name)
            continue
        if value is None:
            continue
        converted, name, has_unknown = _attribute(name, value, explicit=key in renames)
        if has_unknown:
            resource.unknown.add(name)
        resource.values[name] = converted
    return resource


def _keys(value: Any) -> list[str]:
    try:
        return [str(key) for key in value]
    except TypeError:
        return []


def _read(container: Any, key: str | int) -> Any:
    """``container[key]``, or :data:`UNKNOWN` when the engine (or the SDK's proxy) says it is not known."""
    try:
        value = container[key]
    except (KeyError, IndexError, TypeError):
        return None
    except Exception as error:  # pulumi_policy.proxy.UnknownValueError, without importing the SDK here
        if type(error).__name__ == "UnknownValueError":
            return UNKNOWN
        raise
    if isinstance(value, str) and value in UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


def _is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) or (
        hasattr(value, "keys") and hasattr(value, "__getitem__") and not isinstance(value, str | bytes)
    )


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _attribute(name: str, value: Any, *, explicit: bool) -> tuple[Any, str, bool]:
    """(plan-shaped value, Terraform name, whether an unknown was left out inside it).

    A block is a list of objects in a plan, whether it may occur once (the bridge flattened it into
    an object) or several times (the bridge pluralised its name); a map attribute is an object.
    """
    if _is_mapping(value):
        if name in MAP_ATTRIBUTES:
            plain, unknown = _plain(value)
            return plain, name, unknown
        block, unknown = _block(value)
        return [block], name, unknown
    if _is_sequence(value):
        elements = [_read(value, index) for index in range(len(value))]
        if elements and all(_is_mapping(element) for element in elements):
            blocks = [_block(element) for element in elements]
            return [b for b, _ in blocks], name if explicit else singular(name), any(u for _, u in blocks)
        plain, unknown = _plain(value)
        return plain, name, unknown
    return value, name, False


def _block(value: Any) -> tuple[dict[str, Any], bool]:
    """A nested block: each attribute converted as at the top level."""
    block: dict[str, Any] = {}
    unknown = False
    for key in _keys(value):
        element = _read(value, key)
        if element is UNKNOWN:
            unknown = True
            continue
        if element is None:
            continue
        converted, name, inner_unknown = _attribute(snake_case(key), element, explicit=False)
        unknown = unknown or inner_unknown
        block[name] = converted
    return block, unknown


def _plain(value: Any) -> tuple[Any, bool]:
    """A map or list attribute's value as plain data (keys kept); unknown elements left out."""
    if _is_mapping(value):
        result: dict[str, Any] = {}
        unknown = False
        for key in _keys(value):
            element = _read(value, key)
            if element is UNKNOWN:
                unknown = True
                continue
            result[key], inner = _plain(element)
            unknown = unknown or inner
        return result, unknown
    if _is_sequence(value):
        items: list[Any] = []
        unknown = False
        for index in range(len(value)):
            element = _read(value, index)
            if element is UNKNOWN:
                unknown = True
                continue
            plain, inner = _plain(element)
            items.append(plain)
            unknown = unknown or inner
        return items, unknown
    return value, False
