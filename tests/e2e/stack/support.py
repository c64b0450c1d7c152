"""Helpers for the local stack's own tests: tiny handlers' location, the program's blueprint, process accounting."""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from local import routing
from local.blueprint import Blueprint, MethodBlueprint
from local.materialize import materialize
from local.runtime import FunctionSpec
from local.stack import PROJECT_ROOT

HANDLERS = Path(__file__).parent / "handlers"
# The shortest redrive the program accepts: a 1 s worker timeout allows a 6 s visibility timeout.
FAST_REDRIVE = {
    "workerTimeoutS": "1",
    "queueVisibilityTimeoutS": "6",
    "queueMaxReceiveCount": "2",
    "workerBatchSize": "4",
}


@functools.cache
def dev_blueprint() -> Blueprint:
    """The dev stack as the program declares it (materialized once per test process)."""
    return materialize(PROJECT_ROOT, "dev")


@functools.cache
def fast_redrive_blueprint() -> Blueprint:
    """The dev stack with FAST_REDRIVE: a failed message reaches the dead-letter queue in seconds."""
    return materialize(PROJECT_ROOT, "dev", FAST_REDRIVE)


def dev_methods() -> Sequence[MethodBlueprint]:
    return dev_blueprint().api.methods


def match(path: str, http_method: str) -> routing.Match | None:
    """The dev stack's method a request reaches (``local.routing.match`` over the program's methods)."""
    return routing.match(path, http_method, dev_methods())


def spec(handler: str = "probe.handler", **changes) -> FunctionSpec:
    values = {
        "name": "serverless-infra-dev-function-probe",
        "handler": handler,
        "timeout_s": 3.0,
        "memory_mb": 128,
        "concurrency": 2,
        "code_paths": (HANDLERS,),
        "alias": dev_blueprint().function("api").alias,  # invoked through the alias, as the program's are
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


def move_messages(sqs, source_url: str, destination_url: str) -> int:
    """What ``aws sqs start-message-move-task --source-arn <dlq>`` does, for moto, which lacks it.

    Each message is received from the dead-letter queue, sent to the queue it came from with its
    body and message attributes, then deleted from the dead-letter queue. Returns how many moved.
    """
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=source_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            attributes = message.get("MessageAttributes")
            sqs.send_message(
                QueueUrl=destination_url,
                MessageBody=message["Body"],
                **({"MessageAttributes": attributes} if attributes else {}),
            )
            sqs.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
