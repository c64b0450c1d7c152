"""Child processes that always die with the stack: each in its own session, stopped by process group.

A worker or moto may start children of its own; signalling the group rather than the pid is what
makes "stops every process it started" true even then.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time

STOP_GRACE_S = 3.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, for servers that cannot report the port they bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def kill_group(pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    """Signal a process group led by ``pid``; a group that is already gone is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def stop_process(process: asyncio.subprocess.Process, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace_s``, and reap the leader."""
    if process.returncode is None:
        kill_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            kill_group(process.pid, signal.SIGKILL)
            await process.wait()
    kill_group(process.pid, signal.SIGKILL)  # anything the leader left behind in its group


async def wait_for_port(host: str, port: int, timeout_s: float, process: asyncio.subprocess.Process) -> None:
    """Wait until ``host:port`` accepts connections; fail early if ``process`` exits first."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.returncode is not None:
            raise RuntimeError(f"process {process.pid} exited with {process.returncode} before listening on {port}")
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s} s") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
