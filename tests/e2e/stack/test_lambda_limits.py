"""Lambda's own rules on the local runtime and queue mapping, with real processes and moto.

The runtime a function declares is the Python it runs on; payloads are capped at 6 MB each way; an
init that overruns its 10 s is retried within the invocation; a queue function's response that is
not a batch response fails the whole batch, whose messages then redrive to the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from local import interpreters
from local.aws import MotoServer
from local.event_source import EventSourceMapping, MappingSpec
from local.runtime import PAYLOAD_LIMIT_BYTES, FunctionPool, FunctionSpec, RequestTooLargeError
from offline import package
from tests.e2e.stack.support import HANDLERS

REGION = "us-east-1"
HEALTH = {  # API Gateway's REST proxy event for GET /health
    "resource": "/health",
    "path": "/health",
    "httpMethod": "GET",
    "headers": {"Accept": "application/json"},
    "multiValueHeaders": {"Accept": ["application/json"]},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {
        "resourcePath": "/health",
        "httpMethod": "GET",
        "path": "/dev/health",
        "stage": "dev",
        "requestId": "limits-health",
        "accountId": "123456789012",
        "apiId": "limits",
        "identity": {"sourceIp": "127.0.0.1"},
    },
    "body": None,
    "isBase64Encoded": False,
}


def spec(handler: str, **changes) -> FunctionSpec:
    values = {
        "name": "serverless-infra-dev-function-limits",
        "handler": handler,
        "timeout_s": 5.0,
        "memory_mb": 128,
        "concurrency": 1,
        "code_paths": (HANDLERS,),
    }
    values.update(changes)
    return FunctionSpec(**values)


async def _invoke_all(function_spec: FunctionSpec, *payloads: object):
    pool = FunctionPool(function_spec)
    try:
        return [await pool.invoke(payload) for payload in payloads]
    finally:
        await pool.close()


def test_a_python312_function_runs_on_python_312_with_a_runtime_client_built_for_it():
    [result] = asyncio.run(_invoke_all(spec("limits.interpreter", runtime="python3.12"), {}))

    payload = result.json()
    assert result.function_error is None, result.payload
    assert payload["version"] == [3, 12]
    assert payload["execution_env"] == "AWS_Lambda_python3.12"
    runtime_dir = interpreters.runtime_dir("python3.12")
    assert Path(payload["awslambdaric"]).is_relative_to(runtime_dir)
    assert payload["sys_path"].index(str(HANDLERS)) < payload["sys_path"].index(str(runtime_dir))


def _archives(workdir: Path) -> tuple[Path, Path]:
    """``function.zip`` built now (offline); ``layer.zip`` as built for Lambda, built now if absent."""
    function_zip = workdir / "function.zip"
    package.build_function(function_zip)
    if package.LAYER_ZIP.exists():
        return function_zip, package.LAYER_ZIP
    layer_zip = workdir / "layer.zip"
    package.build_layer(layer_zip)
    return function_zip, layer_zip


def test_the_packaged_api_runs_on_python_312_from_the_archives_with_a_layer_built_for_this_machine(tmp_path):
    function_zip, layer_zip = _archives(tmp_path)
    code = interpreters.packaged_code("python3.12", function_zip, layer_zip)
    api = spec(
        "orders.handlers.api.handler",
        runtime="python3.12",
        code_paths=code.code_paths,
        timeout_s=10.0,
        environment={
            "ENVIRONMENT": "dev",
            "POWERTOOLS_SERVICE_NAME": "orders-api",
            "POWERTOOLS_METRICS_NAMESPACE": "T",
        },
    )

    [result] = asyncio.run(_invoke_all(api, HEALTH))

    assert not interpreters.wheel_targets(layer_zip).runs_on((3, 12), interpreters.host_architecture())
    assert result.function_error is None, result.payload
    assert result.json()["statusCode"] == 200
    assert code.task_root.joinpath("orders", "handlers", "api.py").is_file()


def test_a_response_of_exactly_6_mb_is_returned_and_one_byte_more_fails_as_on_lambda():
    at_limit, over, after = asyncio.run(
        _invoke_all(
            spec("limits.sized"),
            {"bytes": PAYLOAD_LIMIT_BYTES},
            {"bytes": PAYLOAD_LIMIT_BYTES + 1},
            {"bytes": 2},
        )
    )

    assert at_limit.function_error is None
    assert len(at_limit.payload) == PAYLOAD_LIMIT_BYTES
    assert over.function_error == "Unhandled"
    assert over.json() == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": f"Response payload size ({PAYLOAD_LIMIT_BYTES + 1} bytes) exceeded maximum allowed "
        f"payload size ({PAYLOAD_LIMIT_BYTES} bytes).",
    }
    assert after.function_error is None
    assert after.payload == b"xx"
    assert after.cold_start  # the runtime client exits on the 413: the next invocation starts it afresh


def test_a_request_over_6_mb_is_refused_before_any_environment_starts():
    async def main():
        pool = FunctionPool(spec("limits.sized"))
        try:
            with pytest.raises(RequestTooLargeError) as refused:
                await pool.invoke(b'"' + b"x" * (PAYLOAD_LIMIT_BYTES - 1) + b'"')
            return refused.value, len(pool.environments)
        finally:
            await pool.close()

    refused, environments = asyncio.run(main())
    assert refused.error_type == "RequestEntityTooLargeException"
    assert refused.status == 413
    assert str(refused) == f"Request must be smaller than {PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation"
    assert environments == 0


def test_an_init_over_the_init_timeout_is_run_again_within_the_invocation_and_the_invocation_succeeds():
    slow = spec("slow_init.handler", init_timeout_s=0.5, timeout_s=5.0, environment={"INIT_SLEEP_S": "1"})

    [result] = asyncio.run(_invoke_all(slow, {}))

    assert result.function_error is None, result.payload
    assert result.cold_start
    assert result.init_retried
    assert result.json()["init_s"] >= 1.0  # the second init ran whole, in the process that answered


def test_a_retried_init_that_overruns_the_function_timeout_times_the_invocation_out():
    """The init never ends: only the function timeout can answer, so a runtime that waited would not answer at all."""
    endless = spec("slow_init.handler", init_timeout_s=0.5, timeout_s=1.0, environment={"INIT_SLEEP_S": "3600"})

    [result] = asyncio.run(asyncio.wait_for(_invoke_all(endless, {}), timeout=60))

    assert result.function_error == "Unhandled"
    assert result.init_retried
    assert result.json()["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result.json()["errorMessage"]


async def _dead_letter_count(sqs, url: str) -> int:
    attributes = await asyncio.to_thread(
        sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_a_worker_response_that_is_not_json_fails_the_whole_batch_until_the_messages_reach_the_dlq(tmp_path):
    log = tmp_path / "batches.jsonl"
    bodies = ["first", "second", "third"]

    async def main():
        server = MotoServer()
        await server.start()
        pool = mapping = None
        try:
            sqs = server.client("sqs", REGION)
            dlq_url = sqs.create_queue(QueueName="limits-dlq")["QueueUrl"]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
            attributes = {"VisibilityTimeout": "1", "RedrivePolicy": redrive}
            queue_url = sqs.create_queue(QueueName="limits", Attributes=attributes)["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            environment = {"PROBE_LOG": str(log), "RESPONSE": "not json at all"}
            pool = FunctionPool(spec("limits.raw", environment=environment))
            mapping_spec = MappingSpec(
                queue_url, queue_arn, 10, 0, 1, REGION, function_response_types=("ReportBatchItemFailures",)
            )
            mapping = EventSourceMapping(mapping_spec, pool, sqs)
            for body in bodies:
                sqs.send_message(QueueUrl=queue_url, MessageBody=body)
            mapping.start()
            deadline = time.monotonic() + 30  # SQS offers no event for an arrival: poll the DLQ's depth
            while await _dead_letter_count(sqs, dlq_url) < len(bodies):
                assert time.monotonic() < deadline, "the messages did not reach the dead-letter queue in 30 s"
                await asyncio.sleep(0.2)
            await mapping.stop()
            left = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
            return mapping.stats, left
        finally:
            if mapping is not None:
                await mapping.stop()
            if pool is not None:
                await pool.close()
            await server.stop()

    stats, left = asyncio.run(main())
    delivered = [body for line in log.read_text().splitlines() for body in json.loads(line)["bodies"]]
    assert sorted(delivered) == sorted(bodies * 2)  # every receive failed whole: maxReceiveCount times each
    assert stats.deleted == 0
    assert stats.failed_batches == stats.invocations >= 2
    assert (left["ApproximateNumberOfMessages"], left["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
