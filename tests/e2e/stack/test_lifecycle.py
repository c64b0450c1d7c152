"""``python -m local``: prints and writes the endpoint, serves it, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from local.stack import PROJECT_ROOT
from tests.e2e.stack.support import alive


def _descendants(pid: int) -> list[int]:
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def test_ctrl_c_stops_every_process_the_stack_started(tmp_path):
    endpoint = tmp_path / "endpoint.json"
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "local", "--no-database", "--port", "0", "--state-dir", str(tmp_path)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    started = []
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("URL:"), lines
        written = json.loads(endpoint.read_text())
        assert lines[0].split()[-1] == written["url"]
        assert lines[1].split()[-1] == written["api_key"]
        assert httpx.get(f"{written['url']}/orders", timeout=10).status_code == 403
        assert httpx.get(f"{written['url']}/health", timeout=30).status_code == 200  # starts an API runtime
        started = _descendants(process.pid)
        assert len(started) >= 2  # moto and at least one runtime process
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        time.sleep(0.2)
        assert [pid for pid in started if alive(pid)] == []
        assert not endpoint.exists()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
