"""What the e2e suite talks to: a deployed stack (E2E_BASE_URL, E2E_API_KEY) or a local one.

The local stack runs its own event loop in a background thread, so the black-box tests stay plain
synchronous HTTP clients, as they are against a deployed URL.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass

from local.database import DatabaseStep, ExternalDatabase
from local.postgres import ManagedDatabase
from local.stack import LocalStack, StackOptions


@dataclass(frozen=True)
class Target:
    base_url: str
    api_key: str
    has_database: bool
    stack: LocalStack | None = None


class StackThread:
    """A LocalStack started and stopped on its own loop in a daemon thread."""

    def __init__(self, options: StackOptions) -> None:
        self.stack = LocalStack(options)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.stack.start()
        except BaseException as error:
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.stack.stop()

    def start(self, timeout_s: float = 180) -> LocalStack:
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"the local stack did not start in {timeout_s} s")
        if self._error is not None:
            self._thread.join()
            raise RuntimeError("the local stack did not start") from self._error
        return self.stack

    def stop(self, timeout_s: float = 60) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)


def database_step() -> DatabaseStep:
    """DATABASE_URL's server, else a TLS PostgreSQL the stack starts and stops itself."""
    url = os.environ.get("DATABASE_URL")
    return ExternalDatabase(url) if url else ManagedDatabase()
