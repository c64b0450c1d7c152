"""Helpers for the local stack's own tests: tiny handlers' location and process accounting."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from local.functions import FunctionSpec

HANDLERS = Path(__file__).parent / "handlers"


def spec(handler: str = "probe.handler", **changes) -> FunctionSpec:
    values = {
        "name": "serverless-infra-dev-function-probe",
        "handler": handler,
        "timeout_s": 3.0,
        "memory_mb": 128,
        "concurrency": 2,
        "code_paths": (HANDLERS,),
    }
    values.update(changes)
    return FunctionSpec(**values)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ", 1)[1].startswith("Z"))


def kill_if_alive(pids: list[int]) -> None:
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
