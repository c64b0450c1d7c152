"""The policy pack analysing a stack while its program runs, as the engine's analyzers do.

``pulumi preview`` starts the analyzer plugins with the deployment and calls Analyze on each
resource as the program registers it (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``),
then AnalyzeStack once the program has finished. :class:`PackRun` does the same: the pack process
starts and is configured on a worker thread while the program runs on the main thread, each
resource is analysed as it arrives, and :meth:`PackRun.finish` adds the stack analysis. The pack
works on the other core, so most of the analysis is done by the time the program ends.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.gate.analyzer import (
    AnalyzerSession,
    Diagnostic,
    PackError,
    PolicyConfig,
    PolicyMeta,
    policies_from_info,
    resolve_policy_config,
)

_DONE = object()  # the end of the resources


@dataclass(frozen=True)
class StackIdentity:
    """What ConfigureStack and the pack's environment say about the stack being previewed."""

    project: str
    stack: str
    runtime: str
    config: Mapping[str, str]
    secret_keys: list[str]

    def environment(self) -> dict[str, str]:
        """The variables the CLI sets for a policy pack (config, project, stack, dry run)."""
        import json

        return {
            "PULUMI_CONFIG": json.dumps(dict(self.config), sort_keys=True),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(self.secret_keys),
            "PULUMI_PROJECT": self.project,
            "PULUMI_STACK": self.stack,
            "PULUMI_DRY_RUN": "true",
        }


@dataclass
class Analysis:
    """What the pack said: its identity, its policies, the configuration it ran with, the diagnostics."""

    pack_name: str
    pack_version: str
    policies: dict[str, PolicyMeta]
    resolved: PolicyConfig
    diagnostics: list[Diagnostic]
    started_s: float  # from the start of the run until the pack was configured
    tail_s: float  # from the end of the program until the last answer


class PackRun:
    """One pack process analysing one stack; submit resources as they come, then :meth:`finish`."""

    def __init__(
        self,
        pack_dir: Path,
        *,
        python: str,
        identity: StackIdentity,
        user_config: Mapping[str, Any] | None,
        deadline: float,
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._pack_dir = pack_dir
        self._python = python
        self._identity = identity
        self._user_config = user_config
        self._deadline = deadline
        self._progress = progress
        self._started = time.perf_counter()
        self._queue: queue.Queue[object] = queue.Queue()
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._session: AnalyzerSession | None = None
        self._error: BaseException | None = None
        self._info: Any = None
        self._policies: dict[str, PolicyMeta] = {}
        self._resolved: PolicyConfig = {}
        self._configured_s = 0.0
        self._diagnostics: list[Diagnostic] = []
        self._closed = threading.Event()
        self._worker = threading.Thread(target=self._work, name="policy-pack", daemon=True)
        self._worker.start()

    # -- producer side (any thread) -----------------------------------------------------------------
    def submit(self, resource: Mapping[str, Any]) -> None:
        """Queue one marshalled resource for Analyze; a URN already queued is not analysed twice."""
        with self._lock:
            if resource["urn"] in self._seen:
                return
            self._seen.add(str(resource["urn"]))
        self._queue.put(resource)

    def finish(self, resources: Sequence[Mapping[str, Any]], stack_urn: str) -> Analysis:
        """Analyse what was not streamed, wait for every answer, then AnalyzeStack over ``resources``."""
        ended = time.perf_counter()
        for resource in resources:
            self.submit(resource)
        self._queue.put(_DONE)
        self._worker.join(max(self._deadline - time.monotonic(), 0.0) + 5.0)
        if self._worker.is_alive():
            raise PackError("the gate's deadline passed waiting for the policy pack to analyse the resources")
        if self._error is not None:
            raise self._error
        if self._session is None:  # the worker ends without a session only through an error
            raise PackError("the policy pack did not start")
        self._diagnostics.extend(self._session.analyze_stack(resources, stack_urn))
        return Analysis(
            pack_name=str(self._info.name),
            pack_version=str(self._info.version),
            policies=self._policies,
            resolved=self._resolved,
            diagnostics=self._diagnostics,
            started_s=self._configured_s,
            tail_s=time.perf_counter() - ended,
        )

    def close(self) -> None:
        """Stop the pack process (also when the program failed before :meth:`finish`)."""
        self._closed.set()
        self._queue.put(_DONE)
        self._worker.join(10.0)
        if self._session is not None:
            self._session.close()

    def __enter__(self) -> PackRun:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the worker thread --------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            self._start()
            while True:
                item = self._queue.get()
                if item is _DONE or self._closed.is_set():
                    return
                if self._session is not None and isinstance(item, Mapping):
                    self._diagnostics.extend(self._session.analyze(item))
        except BaseException as error:  # handed to the main thread by finish()
            self._error = error
        finally:
            if self._closed.is_set() and self._session is not None:
                self._session.close()  # closed while starting: do not leave the process behind

    def _start(self) -> None:
        identity = self._identity
        self._session = AnalyzerSession(
            self._pack_dir, python=self._python, environment=identity.environment(), deadline=self._deadline
        )
        session = self._session
        session.plugin_info()
        self._info = session.analyzer_info()
        self._policies = policies_from_info(self._info)
        session.configure_stack(
            project=identity.project,
            stack=identity.stack,
            config=identity.config,
            secret_keys=identity.secret_keys,
            tags={"pulumi:project": identity.project, "pulumi:runtime": identity.runtime or "python"},
        )
        self._resolved = resolve_policy_config(self._info, self._policies, self._user_config)
        session.configure(self._resolved)
        self._configured_s = time.perf_counter() - self._started
        self._progress(f"policy pack ready: {len(self._policies)} policies")
