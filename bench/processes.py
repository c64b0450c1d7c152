"""Child processes of the benchmark: a measuring process per scenario, always bounded and reaped.

In-process handler calls and the HTTP load generator run in a child of their own so that (a) the
handler sees a clean interpreter with only its function's environment variables, as in Lambda,
and (b) on 2 cores the load generator does not share a GIL with the local API Gateway it is
measuring. A child gets its parameters as JSON and writes its samples to a JSON file; its output
(the handlers' JSON logs and EMF metrics) goes to a log file whose tail is shown if it fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.processes import stop_process

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CODE_PATHS = (PROJECT_ROOT / "function", PROJECT_ROOT)


class ChildError(RuntimeError):
    """A measuring child failed or ran out of time; the message holds the end of its log."""


def base_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What every child needs: PATH, locale, the function code and the repository on PYTHONPATH."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - only a fallback for libraries that read it
        "PYTHONPATH": os.pathsep.join(str(path) for path in CODE_PATHS),
    }
    environment.update(extra or {})
    return environment


def _tail(path: Path, limit: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


async def run_child(
    module: str,
    params: Mapping[str, Any],
    *,
    workdir: Path,
    name: str,
    timeout_s: float,
    environment: Mapping[str, str] | None = None,
    python: str = sys.executable,
) -> Any:
    """Run ``python -m module --params JSON --result FILE`` and return the JSON it wrote.

    The child runs in a process group of its own and is stopped (SIGTERM, then SIGKILL) on a
    timeout, on an error here or on Ctrl-C, so no measuring process outlives its group.
    """
    result_path = workdir / f"{name}.json"
    log_path = workdir / f"{name}.log"
    result_path.unlink(missing_ok=True)
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            python,
            "-m",
            module,
            "--params",
            json.dumps(params),
            "--result",
            str(result_path),
            cwd=PROJECT_ROOT,
            env=base_environment(environment),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            code = await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            raise ChildError(f"{name} did not finish in {timeout_s:.0f} s; log: {_tail(log_path)}") from None
        finally:
            if process.returncode is None:
                await stop_process(process, grace_s=2)
    if code != 0 or not result_path.exists():
        raise ChildError(f"{name} exited with {code}; log: {_tail(log_path)}")
    return json.loads(result_path.read_text())


async def run_timed(command: list[str], *, environment: Mapping[str, str], timeout_s: float) -> tuple[int, str, str]:
    """Run a command to its end (bounded), returning its exit code, stdout and stderr as text."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=PROJECT_ROOT,
        env=dict(environment),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        raise ChildError(f"{' '.join(command[:4])} did not finish in {timeout_s:.0f} s") from None
    finally:
        if process.returncode is None:
            await stop_process(process, grace_s=2)
    return process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
