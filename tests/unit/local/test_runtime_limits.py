"""The local Lambda runtime's limits and its choice of interpreter, with a fake runtime client in place of
the awslambdaric process: 6 MB payloads, the init retried within the invocation, the runtime's Python."""

from __future__ import annotations

import asyncio
import json
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from local import interpreters
from local.runtime import (
    PAYLOAD_LIMIT_BYTES,
    ExecutionEnvironment,
    FunctionPool,
    FunctionSpec,
    RequestTooLargeError,
    check_request_size,
)


def spec(**changes: object) -> FunctionSpec:
    values: dict[str, object] = {
        "name": "serverless-infra-dev-function-fake",
        "handler": "fake.handler",
        "timeout_s": 1.0,
        "memory_mb": 128,
        "concurrency": 1,
        "code_paths": (Path("/var/task"),),
        "init_timeout_s": 0.1,
    }
    values.update(changes)
    return FunctionSpec(**values)


class FakeRuntime(ExecutionEnvironment):
    """An environment whose "process" is a coroutine playing the runtime client against the Runtime API rules.

    Its init takes ``init_s``; each invocation is answered with ``answer(event)`` posted as the response.
    """

    def __init__(self, function: FunctionSpec, init_s: float, answer) -> None:
        super().__init__(function, 0)
        self.init_s = init_s
        self.answer = answer
        self.posted: list[tuple[int, dict[str, str]]] = []
        self._client: asyncio.Task[None] | None = None

    async def _start_process(self) -> None:
        self._inbox = asyncio.Queue()
        self.process = SimpleNamespace(returncode=None)
        self.starts += 1
        self._client = asyncio.create_task(self._serve())

    async def _stop_process(self) -> None:
        self.process = None
        if self._client is not None:
            self._client.cancel()
            await asyncio.gather(self._client, return_exceptions=True)
            self._client = None

    async def _serve(self) -> None:
        await asyncio.sleep(self.init_s)  # the init phase: importing the handler's module
        while True:
            headers, event = await self.next_invocation()
            body = self.answer(event)
            self.posted.append(self.accept_response(headers["Lambda-Runtime-Aws-Request-Id"], body, len(body)))


def invoke(environment: FakeRuntime, *payloads: bytes):
    async def main():
        try:
            return [await environment.invoke(payload) for payload in payloads]
        finally:
            await environment.close()

    return asyncio.run(main())


def echo(event: bytes) -> bytes:
    return event


# -- request size ---------------------------------------------------------------------------------------
def test_a_request_of_exactly_6_mb_is_accepted():
    check_request_size(b"x" * PAYLOAD_LIMIT_BYTES)


def test_a_request_one_byte_over_6_mb_is_refused_as_lambdas_invoke_refuses_it():
    with pytest.raises(RequestTooLargeError) as refused:
        check_request_size(b"x" * (PAYLOAD_LIMIT_BYTES + 1))

    assert refused.value.error_type == "RequestEntityTooLargeException"
    assert refused.value.status == 413
    assert "smaller than 6291456 bytes" in str(refused.value)


def test_the_pool_refuses_an_oversize_request_without_creating_an_environment():
    pool = FunctionPool(spec())

    with pytest.raises(RequestTooLargeError):
        asyncio.run(pool.invoke(b"x" * (PAYLOAD_LIMIT_BYTES + 1)))
    assert pool.environments == []


# -- response size --------------------------------------------------------------------------------------
def test_a_response_of_exactly_6_mb_is_the_invocations_result():
    environment = FakeRuntime(spec(), init_s=0, answer=lambda event: b"x" * PAYLOAD_LIMIT_BYTES)

    [result] = invoke(environment, b"{}")

    assert result.function_error is None
    assert len(result.payload) == PAYLOAD_LIMIT_BYTES
    assert environment.posted == [(202, {"status": "OK"})]


def test_a_response_over_6_mb_fails_the_invocation_with_response_size_too_large_and_the_runtime_gets_413():
    environment = FakeRuntime(spec(), init_s=0, answer=lambda event: b"x" * (PAYLOAD_LIMIT_BYTES + 10))

    [result] = invoke(environment, b"{}")

    assert result.function_error == "Unhandled"
    assert json.loads(result.payload) == {
        "errorMessage": "Response payload size (6291466 bytes) exceeded maximum allowed payload size (6291456 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    assert environment.posted[0][0] == 413


def test_after_an_oversize_response_the_next_invocation_starts_the_runtime_afresh():
    answers = iter([b"x" * (PAYLOAD_LIMIT_BYTES + 1), b'"small"'])
    environment = FakeRuntime(spec(), init_s=0, answer=lambda event: next(answers))

    failed, after = invoke(environment, b"{}", b"{}")

    assert failed.function_error == "Unhandled"
    assert after.function_error is None
    assert after.cold_start
    assert environment.starts == 2


# -- init -------------------------------------------------------------------------------------------------
def test_an_init_within_the_init_timeout_is_not_retried():
    environment = FakeRuntime(spec(init_timeout_s=0.5), init_s=0.01, answer=echo)

    [result] = invoke(environment, b'{"n": 1}')

    assert result.payload == b'{"n": 1}'
    assert not result.init_retried
    assert environment.starts == 1


def test_an_init_over_the_init_timeout_is_run_again_within_the_invocation_which_then_succeeds():
    environment = FakeRuntime(spec(init_timeout_s=0.05, timeout_s=1.0), init_s=0.1, answer=echo)

    [result] = invoke(environment, b'{"n": 1}')

    assert result.function_error is None
    assert result.payload == b'{"n": 1}'
    assert result.cold_start
    assert result.init_retried
    assert environment.starts == 2


def test_a_retried_init_longer_than_the_function_timeout_times_the_invocation_out():
    environment = FakeRuntime(spec(init_timeout_s=0.05, timeout_s=0.2), init_s=0.5, answer=echo)

    [result] = invoke(environment, b"{}")

    assert result.function_error == "Unhandled"
    assert result.init_retried
    assert json.loads(result.payload)["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.20 seconds" in json.loads(result.payload)["errorMessage"]


def test_the_retried_init_and_the_handler_share_the_function_timeout():
    slow_handler = FakeRuntime(spec(init_timeout_s=0.05, timeout_s=0.3), init_s=0.2, answer=echo)

    async def slow_answer(environment: FakeRuntime) -> None:
        await asyncio.sleep(environment.init_s)
        headers, event = await environment.next_invocation()
        await asyncio.sleep(0.2)  # 0.2 s of init + 0.2 s of handler: over the 0.3 s timeout
        environment.accept_response(headers["Lambda-Runtime-Aws-Request-Id"], event, len(event))

    slow_handler._serve = lambda: slow_answer(slow_handler)
    [result] = invoke(slow_handler, b"{}")

    assert json.loads(result.payload)["errorType"] == "Sandbox.Timedout"


# -- the runtime's Python ---------------------------------------------------------------------------------
def _fake_python(root: Path, version: str, reports: str) -> Path:
    """A pyenv-style install whose "python" prints ``reports`` as sys.version_info[:2] would be printed."""
    major_minor = ".".join(version.split(".")[:2])
    executable = root / "versions" / version / "bin" / f"python{major_minor}"
    executable.parent.mkdir(parents=True)
    executable.write_text(f"#!/bin/sh\necho {reports}\n")
    executable.chmod(0o755)
    return executable


def test_without_a_runtime_the_function_runs_on_the_toolings_python():
    assert interpreters.resolve_interpreter(None) == sys.executable


def test_a_runtime_resolves_to_the_newest_pyenv_install_of_that_minor_version(tmp_path):
    _fake_python(tmp_path, "3.12.1", "3 12")
    newest = _fake_python(tmp_path, "3.12.10", "3 12")
    _fake_python(tmp_path, "3.13.0", "3 13")

    assert interpreters.resolve_interpreter("python3.12", pyenv_root=tmp_path) == str(newest)


def test_an_install_that_is_not_the_runtimes_version_is_never_used(tmp_path):
    _fake_python(tmp_path, "3.12.1", "3 11")

    with pytest.raises(interpreters.InterpreterNotFoundError, match=r"^python3\.12 is not installed: "):
        interpreters.resolve_interpreter("python3.12", pyenv_root=tmp_path)


def test_a_missing_interpreter_is_an_error_naming_it_when_the_pool_is_made():
    with pytest.raises(interpreters.InterpreterNotFoundError, match=r"^python3\.99 is not installed: .*3\.99"):
        FunctionPool(spec(runtime="python3.99"))


def test_a_runtime_that_is_not_python_is_refused():
    with pytest.raises(ValueError, match=r"nodejs20\.x"):
        interpreters.resolve_interpreter("nodejs20.x")


# -- the layer's wheels ------------------------------------------------------------------------------------
def _layer(path: Path, *tags: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for index, tag in enumerate(tags):
            archive.writestr(f"python/dist{index}-1.0.dist-info/WHEEL", f"Wheel-Version: 1.0\nTag: {tag}\n")
    return path


def test_a_layer_of_arm64_wheels_for_312_does_not_run_on_x86_64_but_does_on_arm64(tmp_path):
    layer = _layer(tmp_path / "layer.zip", "py3-none-any", "cp312-cp312-manylinux_2_17_aarch64")

    targets = interpreters.wheel_targets(layer)

    assert not targets.runs_on((3, 12), "x86_64")
    assert targets.runs_on((3, 12), "aarch64")
    assert not targets.runs_on((3, 13), "aarch64")


def test_a_layer_of_pure_python_wheels_runs_anywhere(tmp_path):
    targets = interpreters.wheel_targets(_layer(tmp_path / "layer.zip", "py3-none-any"))

    assert targets.runs_on((3, 13), "x86_64")


def test_the_packaged_import_path_is_the_task_root_then_the_layers_two_python_paths(tmp_path):
    code = interpreters.PackagedCode(tmp_path / "task", tmp_path / "opt", tmp_path / "runtime", (3, 12))

    assert code.code_paths == (
        tmp_path / "task",
        tmp_path / "opt" / "python" / "lib" / "python3.12" / "site-packages",
        tmp_path / "opt" / "python",
    )
