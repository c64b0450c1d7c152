"""Marshal what a program registered into what the engine sends an analyzer.

The engine marshals a resource's properties for Analyze/AnalyzeStack with unknowns and secrets
kept and resource references and output values flattened: a reference becomes the referenced
resource's ID (its URN for a component, the unknown sentinel while the ID is unknown), an output
value becomes its element (unknown if not known, wrapped as a secret if secret). Internal keys
(``__defaults``...) are dropped. The result is JSON-safe so it can cross a process boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi.runtime import rpc

SIG = rpc._special_sig_key
SECRET_SIG = rpc._special_secret_sig
RESOURCE_SIG = rpc._special_resource_sig
OUTPUT_VALUE_SIG = rpc._special_output_value_sig
ASSET_SIG = rpc._special_asset_sig
ARCHIVE_SIG = rpc._special_archive_sig
UNKNOWN = rpc.UNKNOWN  # the engine's unknown-string sentinel


@dataclass
class WireResource:
    """One resource as the engine describes it to an analyzer (JSON-safe)."""

    type: str
    name: str
    urn: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    source_position: dict[str, Any] | None = None  # {"uri": file URL, "line"}: for SARIF locations

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WireResource:
        return cls(**data)


def engine_value(value: Any) -> Any:
    """A value from the monitor's wire format, as the engine would hand it to an analyzer."""
    if isinstance(value, list):
        return [engine_value(element) for element in value]
    if not isinstance(value, dict):
        return value
    signature = value.get(SIG)
    if signature == RESOURCE_SIG:
        if "id" in value:
            resource_id = value.get("id")
            return UNKNOWN if resource_id in ("", UNKNOWN, None) else resource_id
        return value.get("urn", UNKNOWN)
    if signature == OUTPUT_VALUE_SIG:
        element = engine_value(value["value"]) if "value" in value else UNKNOWN
        return {SIG: SECRET_SIG, "value": element} if value.get("secret") else element
    if signature == SECRET_SIG:
        return {SIG: SECRET_SIG, "value": engine_value(value.get("value"))}
    if signature in (ASSET_SIG, ARCHIVE_SIG):
        return dict(value)
    return {key: engine_value(element) for key, element in value.items()}


def engine_properties(struct: Any) -> dict[str, Any]:
    """A registration's protobuf Struct, marshalled as the engine does for analyzers."""
    if struct is None:
        return {}
    raw = json_format.MessageToDict(struct)
    return {key: engine_value(value) for key, value in raw.items() if not key.startswith("__")}


def python_value(value: Any) -> Any:
    """A deserialized Python value (mock state, component outputs) in wire form."""
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {str(key): python_value(element) for key, element in value.items()}
    if isinstance(value, list | tuple):
        return [python_value(element) for element in value]
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        return {SIG: ASSET_SIG if isinstance(value, pulumi.Asset) else ARCHIVE_SIG, "path": str(value.path)}
    if isinstance(value, pulumi.StringAsset):
        return {SIG: ASSET_SIG, "text": value.text}
    if isinstance(value, pulumi.RemoteAsset | pulumi.RemoteArchive):
        return {SIG: ASSET_SIG if isinstance(value, pulumi.Asset) else ARCHIVE_SIG, "uri": value.uri}
    if isinstance(value, pulumi.AssetArchive):
        return {SIG: ARCHIVE_SIG, "assets": {k: python_value(v) for k, v in value.assets.items()}}
    if isinstance(value, pulumi.Resource):
        return UNKNOWN
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
