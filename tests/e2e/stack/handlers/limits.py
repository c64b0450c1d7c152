"""Handlers for the Lambda limits tests: what the interpreter is, responses of a chosen size or shape."""

import json
import os
import sys


def interpreter(event, context):
    """Reports the Python it runs on and where its runtime client and import path come from."""
    import awslambdaric

    return {
        "version": list(sys.version_info[:2]),
        "executable": sys.executable,
        "awslambdaric": awslambdaric.__file__,
        "sys_path": sys.path,
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
    }


def sized(event, context):
    """Returns exactly ``event["bytes"]`` bytes (awslambdaric posts a bytes result as it is)."""
    return b"x" * event["bytes"]


def raw(event, context):
    """Queue handler: records the batch to PROBE_LOG and returns RESPONSE's bytes as the response."""
    with open(os.environ["PROBE_LOG"], "a") as log:
        log.write(json.dumps({"bodies": [record["body"] for record in event["Records"]]}) + "\n")
    return os.environ["RESPONSE"].encode()
