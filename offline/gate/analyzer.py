"""Drive a policy pack as the Pulumi engine does: launch it as an analyzer plugin, speak gRPC.

The engine starts a Python pack with ``python -u -m pulumi.policy <engine-address> .`` in the pack
directory, the stack's configuration in ``PULUMI_CONFIG`` and project, stack and dry-run flags in
the environment; the pack prints its port first. The calls are GetPluginInfo, GetAnalyzerInfo,
ConfigureStack, Configure (policy configuration with schema defaults applied), Analyze for each
resource (its inputs), then AnalyzeStack (every resource's outputs, parent, dependencies and
property dependencies).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import jsonschema  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format, struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, plugin_pb2

START_TIMEOUT_S = 60.0
ENFORCEMENT_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
ENFORCEMENT_VALUES = {name: value for value, name in ENFORCEMENT_NAMES.items()}
SEVERITY_NAMES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "unspecified",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
CANT_RUN_PREFIX = "can't run policy '"


class PackError(Exception):
    """The pack could not start, be configured, or finish an analysis; the message says why."""


@dataclass(frozen=True)
class PolicyMeta:
    """What GetAnalyzerInfo tells about one policy, plus the enforcement the gate configured."""

    name: str
    description: str
    enforcement: str
    severity: str
    remediation: str
    tags: tuple[str, ...]
    kind: str  # resource | stack
    config_schema: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    message: str
    urn: str
    enforcement: str
    severity: str
    cant_run: bool


def _struct(data: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(dict(data))
    return message


def _diagnostics(response: Any, default_urn: str) -> list[Diagnostic]:
    found = []
    for diagnostic in response.diagnostics:
        message = diagnostic.message
        if message.startswith(diagnostic.description):
            message = message[len(diagnostic.description) :].lstrip("\n")
        found.append(
            Diagnostic(
                policy=diagnostic.policyName,
                message=message or diagnostic.description,
                urn=diagnostic.urn or default_urn,
                enforcement=ENFORCEMENT_NAMES.get(diagnostic.enforcementLevel, "advisory"),
                severity=SEVERITY_NAMES.get(diagnostic.severity, "unspecified"),
                cant_run=diagnostic.message.startswith(CANT_RUN_PREFIX),
            )
        )
    return found


class AnalyzerSession:
    """One running pack process and its gRPC channel; use as a context manager."""

    def __init__(
        self, pack_dir: Path, *, python: str | None = None, environment: Mapping[str, str] | None = None
    ) -> None:
        self.pack_dir = pack_dir.resolve()
        if not (self.pack_dir / "PulumiPolicy.yaml").exists():
            raise PackError(f"{self.pack_dir}: no PulumiPolicy.yaml (is this a policy pack directory?)")
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        command = [python or sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."]
        self._process = subprocess.Popen(  # noqa: S603
            command,
            cwd=self.pack_dir,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, **(environment or {})},
        )
        port = self._read_port()
        self._channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)]
        )
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)

    def _read_port(self) -> int:
        if self._process.stdout is None:
            raise PackError("the policy pack's standard output is not connected")
        selector = selectors.DefaultSelector()
        selector.register(self._process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT_S
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                self.close()
                raise PackError(f"the policy pack printed no port within {START_TIMEOUT_S:.0f} s")
            chunk = self._process.stdout.read1(256)  # type: ignore[attr-defined]
            if not chunk:
                self._process.wait()
                raise PackError(f"the policy pack exited before serving: {self.stderr_tail()}")
            line += chunk
        first = line.split(b"\n", 1)[0].strip()
        if not first.isdigit():
            self.close()
            raise PackError(f"the policy pack printed {first[:80]!r} instead of its port")
        return int(first)

    def stderr_tail(self, lines: int = 12) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return "\n".join(text[-lines:]) or "(no output)"

    def close(self) -> None:
        if getattr(self, "_channel", None) is not None:
            self._channel.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> AnalyzerSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def call(self, what: str, method: Any, request: Any) -> Any:
        try:
            return method(request)
        except grpc.RpcError as error:
            details = error.details() if hasattr(error, "details") else str(error)
            raise PackError(f"{what} failed in the policy pack: {details}") from error

    # -- the protocol -----------------------------------------------------------------------------
    def plugin_info(self) -> str:
        response = self.call("GetPluginInfo", self.stub.GetPluginInfo, empty_pb2.Empty())
        return str(response.version)

    def analyzer_info(self) -> Any:
        return self.call("GetAnalyzerInfo", self.stub.GetAnalyzerInfo, empty_pb2.Empty())

    def configure_stack(
        self,
        *,
        project: str,
        stack: str,
        config: Mapping[str, str],
        secret_keys: Iterable[str],
        tags: Mapping[str, str],
    ) -> None:
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack,
            project=project,
            organization="organization",
            dry_run=True,
            config=dict(config),
            config_secret_keys=list(secret_keys),
            tags=dict(tags),
        )
        self.call("ConfigureStack", self.stub.ConfigureStack, request)

    def configure(self, policies: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (enforcement, properties) in policies.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = ENFORCEMENT_VALUES[enforcement]
            entry.properties.update(dict(properties))
        self.call("Configure", self.stub.Configure, request)

    def analyze(self, resource: Mapping[str, Any]) -> list[Diagnostic]:
        request = analyzer_pb2.AnalyzeRequest(
            type=resource["type"],
            urn=resource["urn"],
            name=resource["name"],
            properties=_struct(resource["inputs"]),
            options=analyzer_pb2.AnalyzerResourceOptions(protect=resource["protect"], parent=resource["parent"]),
        )
        response = self.call(f"Analyze of {resource['urn']}", self.stub.Analyze, request)
        return _diagnostics(response, resource["urn"])

    def analyze_stack(self, resources: Iterable[Mapping[str, Any]], stack_urn: str) -> list[Diagnostic]:
        request = analyzer_pb2.AnalyzeStackRequest()
        for resource in resources:
            request.resources.append(
                analyzer_pb2.AnalyzerResource(
                    type=resource["type"],
                    urn=resource["urn"],
                    name=resource["name"],
                    properties=_struct(resource["outputs"]),
                    options=analyzer_pb2.AnalyzerResourceOptions(
                        protect=resource["protect"], parent=resource["parent"]
                    ),
                    parent=resource["parent"],
                    dependencies=list(resource["dependencies"]),
                    propertyDependencies={
                        key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
                        for key, urns in resource["property_dependencies"].items()
                    },
                )
            )
        response = self.call("AnalyzeStack", self.stub.AnalyzeStack, request)
        return _diagnostics(response, stack_urn)


_ = plugin_pb2  # the PluginInfo message comes from here; imported so a protocol mismatch fails early


def policies_from_info(info: Any) -> dict[str, PolicyMeta]:
    """Index GetAnalyzerInfo's policies by name."""
    found = {}
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema) if policy.HasField("configSchema") else {}
        found[policy.name] = PolicyMeta(
            name=policy.name,
            description=policy.description,
            enforcement=ENFORCEMENT_NAMES.get(policy.enforcementLevel, "advisory"),
            severity=SEVERITY_NAMES.get(policy.severity, "unspecified"),
            remediation=policy.remediation_steps,
            tags=tuple(policy.tags),
            kind="stack" if policy.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource",
            config_schema=schema,
        )
    return found


def resolve_policy_config(
    info: Any, policies: Mapping[str, PolicyMeta], user_config: Mapping[str, Any] | None
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each policy's enforcement and properties, as the engine computes them before Configure.

    Start from the pack's defaults and initial config, apply the user's file (``all`` and per
    policy, as ``--policy-pack-config`` takes), fill schema defaults, validate against the schema.
    """
    resolved: dict[str, tuple[str, dict[str, Any]]] = {name: (meta.enforcement, {}) for name, meta in policies.items()}
    for name, initial in info.initialConfig.items():
        if name in resolved:
            level = ENFORCEMENT_NAMES.get(initial.enforcementLevel, resolved[name][0])
            resolved[name] = (level, json_format.MessageToDict(initial.properties))
    for key, value in (user_config or {}).items():
        targets = list(resolved) if key == "all" else [key]
        if key != "all" and key not in resolved:
            raise PackError(f"policy config names {key!r}, which the pack does not have")
        for name in targets:
            level, properties = resolved[name]
            if isinstance(value, str):
                level = value
            elif isinstance(value, Mapping):
                properties = {**properties, **{k: v for k, v in value.items() if k != "enforcementLevel"}}
                level = str(value.get("enforcementLevel", level))
            else:
                raise PackError(f"policy config for {key!r} must be an enforcement level or an object")
            if level not in ENFORCEMENT_VALUES:
                raise PackError(f"policy config for {key!r}: unknown enforcement level {level!r}")
            resolved[name] = (level, properties)
    for name, (level, properties) in resolved.items():
        schema = {"type": "object", **dict(policies[name].config_schema)}
        for key, spec in dict(schema.get("properties", {})).items():
            if key not in properties and isinstance(spec, Mapping) and "default" in spec:
                properties[key] = spec["default"]
        try:
            jsonschema.validate(properties, schema, format_checker=jsonschema.FormatChecker())
        except jsonschema.ValidationError as error:
            where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
            raise PackError(f"policy config for {name!r} is invalid at {where}: {error.message}") from error
        resolved[name] = (level, properties)
    return resolved


def load_policy_config(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PackError(f"{path}: cannot read the policy config: {error}") from error
    if not isinstance(document, dict):
        raise PackError(f"{path}: the policy config must be a JSON object keyed by policy name")
    return document
