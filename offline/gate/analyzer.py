"""Drive a policy pack as the Pulumi engine does: launch it as an analyzer plugin, speak gRPC.

The engine starts a Python pack with ``python -u -m pulumi.policy <engine-address> .`` in the pack
directory, the stack's configuration in ``PULUMI_CONFIG`` and project, stack and dry-run flags in
the environment; the pack prints its port first. The calls are GetPluginInfo, GetAnalyzerInfo,
ConfigureStack, Configure (policy configuration with schema defaults applied), Analyze for each
resource (its inputs), then AnalyzeStack (every resource's outputs, parent, dependencies and
property dependencies).
"""

from __future__ import annotations

import functools
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
    url: str = ""  # where the rule is stated (PolicyInfo.url)


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
        self,
        pack_dir: Path,
        *,
        python: str | None = None,
        environment: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> None:
        self.pack_dir = pack_dir.resolve()
        self.deadline = deadline  # time.monotonic() by which every call must have answered
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
        start_timeout = START_TIMEOUT_S if self.deadline is None else self.deadline - time.monotonic()
        start_timeout = max(min(start_timeout, START_TIMEOUT_S), 0.0)
        deadline = time.monotonic() + start_timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                self.close()
                raise PackError(f"the policy pack printed no port within {start_timeout:.0f} s")
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
        timeout = None if self.deadline is None else max(self.deadline - time.monotonic(), 0.001)
        try:
            return method(request, timeout=timeout)
        except grpc.RpcError as error:
            details = error.details() if hasattr(error, "details") else str(error)
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise PackError(f"the gate's deadline passed waiting for the policy pack's {what}") from error
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
            url=policy.url,
        )
    return found


PolicyConfig = dict[str, tuple[str, dict[str, Any]]]  # policy (or any key the user gave) -> (enforcement, properties)


def parse_policy_config(document: Mapping[str, Any] | None) -> PolicyConfig:
    """A ``--policy-pack-config`` document as the engine reads it; "" stands for "no enforcement level given".

    pulumi/pulumi ``pkg/resource/analyzer/config.go``, ``parsePolicyPackConfig`` and
    ``extractEnforcementLevel``: a string is an enforcement level, an object may hold one under
    ``enforcementLevel`` next to its properties, anything else is an error; empty entries are dropped.
    """
    parsed: PolicyConfig = {}
    for key, value in (document or {}).items():
        if isinstance(value, str):
            level, properties = value, {}
        elif isinstance(value, Mapping):
            properties = {k: v for k, v in value.items() if k != "enforcementLevel"}
            level = value.get("enforcementLevel", "")
            if not isinstance(level, str) or (level and level not in ENFORCEMENT_VALUES):
                raise PackError(f"policy config for {key!r}: {level!r} is not a valid enforcement level")
        else:
            raise PackError(f"policy config for {key!r} must be an enforcement level or an object")
        if level and level not in ENFORCEMENT_VALUES:
            raise PackError(f"policy config for {key!r}: {level!r} is not a valid enforcement level")
        if level or properties:
            parsed[key] = (level, properties)
    return parsed


def _apply(result: PolicyConfig, given: PolicyConfig) -> PolicyConfig:
    """pulumi/pulumi ``pkg/resource/analyzer/config.go``, ``applyConfig``, step for step.

    ``all`` contributes only its enforcement level, to every policy, first; then each entry, ``all``
    and names the pack does not have included, is merged into the result under its own key: its
    level (if given) replaces, its properties are merged over what is there.
    """
    all_level = given.get("all", ("", {}))[0]
    if all_level in ENFORCEMENT_VALUES:
        result = {name: (all_level, properties) for name, (_, properties) in result.items()}
    for key, (level, properties) in given.items():
        current_level, current = result.get(key, ("", {}))
        result[key] = (level if level in ENFORCEMENT_VALUES else current_level, {**current, **properties})
    return result


def resolve_policy_config(
    info: Any, policies: Mapping[str, PolicyMeta], user_config: Mapping[str, Any] | None
) -> PolicyConfig:
    """What the engine sends in Configure: ``ReconcilePolicyPackConfig`` (pkg/resource/analyzer/config.go).

    Schema defaults and each policy's own enforcement level first, then the pack's initial config,
    then the user's file (each through :func:`_apply`), then every policy's properties validated
    against its schema. Keys that are not policies (``all``, unknown names) stay in the result, as
    in the engine; the engine's ``analyzer.Configure`` (sdk/go/common/resource/plugin/
    analyzer_plugin.go) then rejects any entry without a valid enforcement level, so an unknown name
    given only properties is an error while one given a level is passed on and ignored by the pack.
    """
    result: PolicyConfig = {}
    for name, meta in policies.items():
        properties = {
            key: spec["default"]
            for key, spec in dict(meta.config_schema.get("properties", {})).items()
            if isinstance(spec, Mapping) and "default" in spec
        }
        result[name] = (meta.enforcement, properties)
    initial: PolicyConfig = {
        name: (ENFORCEMENT_NAMES.get(entry.enforcementLevel, ""), json_format.MessageToDict(entry.properties))
        for name, entry in info.initialConfig.items()
    }
    result = _apply(result, initial)
    result = _apply(result, parse_policy_config(user_config))
    for name, meta in policies.items():
        schema = {"type": "object", **dict(meta.config_schema)}
        validator = _validator(json.dumps(schema, sort_keys=True))
        error = jsonschema.exceptions.best_match(validator.iter_errors(result[name][1]))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
            raise PackError(f"policy config for {name!r} is invalid at {where}: {error.message}")
    for name, (level, _) in result.items():
        if level not in ENFORCEMENT_VALUES:
            raise PackError(
                f"configuring the policy pack: invalid enforcement level {level!r} for {name!r} "
                "(an entry that is not a policy of the pack needs an enforcement level, as in the engine)"
            )
    return result


@functools.lru_cache(maxsize=256)
def _validator(schema: str) -> Any:
    """A validator for one config schema, the schema itself checked once (most policies share a few schemas)."""
    document = json.loads(schema)
    cls = jsonschema.validators.validator_for(document)
    try:
        cls.check_schema(document)
    except jsonschema.SchemaError as error:
        raise PackError(f"the policy pack declares an invalid config schema: {error.message}") from error
    return cls(document, format_checker=jsonschema.FormatChecker())


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
