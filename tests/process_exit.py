"""Waiting for processes to end: on the exit itself (a pidfd), with a deadline, never a fixed sleep.

A pidfd becomes readable when its process terminates, whether or not its parent has reaped it yet,
and works for processes that are not our children (a stack's runtimes, a server's postmaster).
https://man7.org/linux/man-pages/man2/pidfd_open.2.html
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterable


def still_running_after(pids: Iterable[int], timeout_s: float) -> list[int]:
    """Wait until every process in ``pids`` has exited or ``timeout_s`` has passed; the ones still running."""
    deadline = time.monotonic() + timeout_s
    running = []
    for pid in pids:
        try:
            descriptor = os.pidfd_open(pid)
        except ProcessLookupError:
            continue  # already gone and reaped
        try:
            ready, _, _ = select.select([descriptor], [], [], max(deadline - time.monotonic(), 0.0))
        finally:
            os.close(descriptor)
        if not ready:
            running.append(pid)
    return running
