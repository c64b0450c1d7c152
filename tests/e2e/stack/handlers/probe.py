"""Tiny Lambda handlers the local stack's own tests run: they report what the runtime gave them."""

import base64
import json
import os
import time

INVOCATIONS = 0


def handler(event, context):
    """Runtime probe: counts warm invocations, sleeps, raises or exits on request."""
    global INVOCATIONS
    INVOCATIONS += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("raise"):
        raise ValueError(event["raise"])
    if event.get("exit") is not None:
        os._exit(event["exit"])
    return {
        "pid": os.getpid(),
        "invocations": INVOCATIONS,
        "request_id": context.aws_request_id,
        "function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "environment": {key: os.environ.get(key) for key in event.get("env", [])},
    }


def api(event, context):
    """API probe: the path says what to return."""
    path = event["path"]
    if path == "/echo":
        return {"statusCode": 200, "body": json.dumps(event)}
    if path == "/malformed":
        return {"statusCode": 200, "body": "{}", "unexpected": True}
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/slow":
        time.sleep(float(event["queryStringParameters"]["s"]))
        return {"statusCode": 200, "body": "late"}
    if path == "/binary":
        return {
            "statusCode": 201,
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Content-Type": ["application/octet-stream"]},
            "headers": {"X-Single": "yes"},
            "body": base64.b64encode(bytes(range(256))).decode(),
            "isBase64Encoded": True,
        }
    return {"statusCode": 404, "body": json.dumps({"path": path})}


def sqs(event, context):
    """Queue probe: records each batch to PROBE_LOG and fails the records whose body starts with 'fail'."""
    ids = [record["messageId"] for record in event["Records"]]
    bodies = [record["body"] for record in event["Records"]]
    with open(os.environ["PROBE_LOG"], "a") as log:
        log.write(json.dumps({"function": context.function_name, "ids": ids, "bodies": bodies, "event": event}) + "\n")
    failures = [
        {"itemIdentifier": record["messageId"]} for record in event["Records"] if record["body"].startswith("fail")
    ]
    return {"batchItemFailures": failures}


def echo(event, context):
    """Returns the event it was given."""
    return event
