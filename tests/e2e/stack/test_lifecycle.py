"""``python -m local``: prints and writes the endpoint, serves it, and Ctrl-C leaves no process behind.

Also: every API key the program declares is written (mode 0600) and accepted; a taken port is one
clear error; prod's configuration starts, scaled down to this machine and saying so.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from stat import S_IMODE

import httpx
import pytest

from local.stack import PROJECT_ROOT
from tests.e2e.stack.support import alive
from tests.e2e.target import Target
from tests.process_exit import still_running_after


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


def _local(*arguments: str, stderr: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "local", *arguments],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )


def _printed(process: subprocess.Popen[str]) -> list[str]:
    """What the stack prints once started, up to its last line ("Written to ...")."""
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Written to"):
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
    return lines


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_ctrl_c_stops_every_process_the_stack_started(tmp_path):
    endpoint = tmp_path / "endpoint.json"
    process = _local("--no-database", "--port", "0", "--state-dir", str(tmp_path))
    started = []
    try:
        lines = _printed(process)
        assert lines[0].startswith("URL:"), lines
        written = json.loads(endpoint.read_text())
        assert lines[0].split()[-1] == written["url"]
        assert lines[1].split()[-1] == written["api_key"]
        (port,) = [line.split()[-1] for line in lines if line.startswith("Port:")]
        assert written["url"].startswith(f"http://127.0.0.1:{port}/")  # --port 0 chose it and said which
        assert httpx.get(f"{written['url']}/orders", timeout=10).status_code == 403
        assert httpx.get(f"{written['url']}/health", timeout=30).status_code == 200  # starts an API runtime
        started = _descendants(process.pid)
        assert len(started) >= 2  # moto and at least one runtime process
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert still_running_after(started, timeout_s=30) == []
        assert not endpoint.exists()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_given_a_local_stack_then_endpoint_json_lists_every_key_readable_only_by_its_owner(target: Target):
    if target.stack is None:
        pytest.skip("a deployed target has no endpoint.json")
    written = json.loads(target.stack.endpoint_file.read_text())
    assert len(written["api_keys"]) == len(target.stack.blueprint.api.api_keys) >= 2
    assert written["api_keys"][0] == written["api_key"] == target.api_key
    assert len(set(written["api_keys"])) == len(written["api_keys"])
    assert S_IMODE(target.stack.endpoint_file.stat().st_mode) == 0o600


def test_given_each_written_key_when_it_calls_a_keyed_route_then_the_api_accepts_it(target: Target):
    if target.stack is None:
        pytest.skip("a deployed target has no endpoint.json")
    keys = json.loads(target.stack.endpoint_file.read_text())["api_keys"]
    for key in keys:
        response = httpx.get(f"{target.base_url}/orders/no-such-order", headers={"x-api-key": key}, timeout=35)
        assert response.status_code != 403, (key[:4], response.text)
    refused = httpx.get(f"{target.base_url}/orders/no-such-order", headers={"x-api-key": keys[0] + "x"}, timeout=35)
    assert refused.status_code == 403


def test_given_a_taken_port_when_the_stack_starts_then_it_exits_2_with_one_line_naming_the_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _local("--no-database", "--port", str(port), "--state-dir", str(tmp_path), stderr=subprocess.PIPE)
        try:
            _, stderr = process.communicate(timeout=60)
        finally:
            _stop(process)
    assert process.returncode == 2
    assert stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use; choose another with --port"
    ]


def test_given_the_prod_stack_then_it_starts_scaled_to_this_machine_and_says_so(tmp_path):
    process = _local("--stack", "prod", "--no-database", "--port", "0", "--state-dir", str(tmp_path))
    try:
        lines = _printed(process)
        notes = [line for line in lines if line.startswith("Note:")]
        assert any("serverless-infra-prod-function-api" in note and "capped" in note for note in notes), lines
        written = json.loads((tmp_path / "endpoint.json").read_text())
        assert "/v1" in written["url"]
        assert httpx.get(f"{written['url']}/health", timeout=30).status_code == 200
    finally:
        _stop(process)
