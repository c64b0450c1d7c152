"""Fixtures for the policy pack's tests: run the real gate (pack process + gRPC) in-process.

``gate(...)`` runs ``python -m offline.gate`` with arguments and returns its exit code, the printed
report and the JSON it wrote; every run starts its own pack process, so tests are xdist-safe.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from offline.gate.__main__ import main as gate_main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SYNTHETIC = FIXTURES / "synthetic"


@dataclass
class GateRun:
    code: int
    out: str
    err: str
    report: dict[str, Any]
    sarif: dict[str, Any]

    def failing(self) -> set[str]:
        """Policies with a blocking finding (mandatory, not suppressed)."""
        return {
            f["policy"]
            for f in self.report.get("findings", [])
            if f["state"] in ("fail", "unknown") and f["enforcement"] in ("mandatory", "remediate")
        }

    def policies(self, state: str = "fail") -> set[str]:
        return {f["policy"] for f in self.report.get("findings", []) if f["state"] == state}


@pytest.fixture
def gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., GateRun]:
    def run(*args: str, config: dict[str, str] | None = None) -> GateRun:
        json_file, sarif_file = tmp_path / "gate.json", tmp_path / "gate.sarif"
        json_file.unlink(missing_ok=True)
        sarif_file.unlink(missing_ok=True)
        argv = [*args, "--json", str(json_file), "--sarif", str(sarif_file)]
        if "--pack-python" not in args:
            # The pack runs in this interpreter, which has its requirements (the suite's dependencies
            # are installed with the same constraints); the pack's own virtualenv is tested separately.
            argv += ["--pack-python", "current"]
        for key, value in (config or {}).items():
            argv += ["--config", f"{key}={value}"]
        code = gate_main(argv)
        captured = capsys.readouterr()
        report = json.loads(json_file.read_text()) if json_file.exists() else {}
        sarif = json.loads(sarif_file.read_text()) if sarif_file.exists() else {}
        return GateRun(code, captured.out, captured.err, report, sarif)

    return run


@pytest.fixture
def synthetic(gate: Callable[..., GateRun]) -> Callable[..., GateRun]:
    """Gate the synthetic fixture project with ``case`` broken (``none``: fully compliant)."""

    def run(case: str = "none", *args: str, environment: str = "prod") -> GateRun:
        return gate(
            "--project",
            str(SYNTHETIC),
            "--stack",
            "test",
            "--in-process",
            *args,
            # The pack takes the environment from the stack (named "test" here): its environment config.
            config={
                "policy-fixture:case": case,
                "policy-fixture:environment": environment,
                "serverless-infra:environment": environment,
            },
        )

    return run


@pytest.fixture
def real(gate: Callable[..., GateRun], archive_overrides: dict[str, str]) -> Callable[..., GateRun]:
    """Gate this repository's program for a stack, with config overrides (short keys allowed)."""

    def run(stack: str, *args: str, **overrides: str) -> GateRun:
        config = dict(archive_overrides)
        config.update({key if ":" in key else f"serverless-infra:{key}": value for key, value in overrides.items()})
        return gate("--stack", stack, *args, config=config)

    return run
