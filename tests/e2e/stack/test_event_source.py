"""The queue path against moto_server: seeding, partial batch responses, redrive to the DLQ, which nothing drains."""

from __future__ import annotations

import asyncio
import json
import time

from aws_lambda_powertools.utilities.parser.models import SqsModel

from contract.parameters import DOCUMENT_NAME, STORED_PARAMETERS, decode_document
from local.aws import MotoServer, seed
from local.database import DatabaseEndpoint
from local.event_source import EventSourceMapping, MappingSpec
from local.runtime import FunctionPool
from tests.e2e.stack.support import fast_redrive_blueprint, spec

SETTINGS = fast_redrive_blueprint()
DATABASE = DatabaseEndpoint("127.0.0.1", 5432, "orders", "orders_admin", "secret-of-the-test")


def test_the_seed_creates_the_hierarchy_encrypted_per_category_and_the_redrive_policy():
    async def main():
        server = MotoServer()
        await server.start()
        try:
            resources = await asyncio.to_thread(seed, server, SETTINGS, DATABASE)
            ssm, sqs = server.client("ssm", SETTINGS.region), server.client("sqs", SETTINGS.region)
            pages = ssm.get_paginator("describe_parameters").paginate()
            described = [parameter for page in pages for parameter in page["Parameters"]]
            values = ssm.get_parameters_by_path(Path="/myapp/dev/database/", WithDecryption=True)["Parameters"]
            attributes = sqs.get_queue_attributes(QueueUrl=resources.queue.url, AttributeNames=["All"])["Attributes"]
            secret = server.client("secretsmanager", SETTINGS.region).get_secret_value(
                SecretId=resources.master_secret_arn
            )
            return resources, described, values, attributes, secret
        finally:
            await server.stop()

    resources, described, values, attributes, secret = asyncio.run(main())
    assert {p["Name"] for p in described} == {s.path("myapp", "dev") for s in STORED_PARAMETERS}
    assert {p["Type"] for p in described} == {"SecureString"}
    declared = {parameter.name: parameter for parameter in SETTINGS.parameters}
    for parameter in described:
        assert parameter["KeyId"] == resources.key_ids[declared[parameter["Name"]].kms_key]
    by_name = {p["Name"].rsplit("/", 1)[1]: p["Value"] for p in values}
    document = decode_document("database/settings", by_name[DOCUMENT_NAME])
    assert document["writer_host"] == "127.0.0.1"
    assert document["writer_user"] == "orders_writer"
    assert len(by_name["app_password"]) >= 40
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": resources.dead_letter_queue.arn,
        "maxReceiveCount": 2,
    }
    master = json.loads(secret["SecretString"])
    assert (master["username"], master["password"]) == ("orders_admin", "secret-of-the-test")


def _read_log(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_only_successful_records_are_deleted_and_failures_redrive_to_the_dead_letter_queue_and_stay(tmp_path):
    log = tmp_path / "probe.jsonl"

    async def main():
        server = MotoServer()
        await server.start()
        pool = None
        mapping = None
        try:
            resources = await asyncio.to_thread(seed, server, SETTINGS, DATABASE)
            sqs = server.client("sqs", SETTINGS.region)
            environment = {"PROBE_LOG": str(log)}
            pool = FunctionPool(spec("probe.sqs", name="worker", environment=environment, concurrency=2))
            queue, dlq = resources.queue, resources.dead_letter_queue
            mapping = EventSourceMapping(MappingSpec(queue.url, queue.arn, 4, 1, 2, SETTINGS.region), pool, sqs)
            for body in ["ok-1", "ok-2", "ok-3", "fail-1", "ok-4", "ok-5"]:
                sqs.send_message(QueueUrl=queue.url, MessageBody=body)
            mapping.start()
            deadline = time.monotonic() + 30  # SQS offers no event for an arrival: poll the DLQ's depth
            while time.monotonic() < deadline:
                dead = sqs.get_queue_attributes(QueueUrl=dlq.url, AttributeNames=["ApproximateNumberOfMessages"])
                if dead["Attributes"]["ApproximateNumberOfMessages"] == "1":
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the failing message did not reach the dead-letter queue in 30 s")
            await mapping.stop()
            left = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
            dead_letters = sqs.receive_message(QueueUrl=dlq.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            return left, mapping.stats, [m["Body"] for m in dead_letters.get("Messages", [])]
        finally:
            if mapping is not None:
                await mapping.stop()
            if pool is not None:
                await pool.close()
            await server.stop()

    left, stats, dead_letters = asyncio.run(main())
    entries = _read_log(log)
    worker_bodies = [body for entry in entries for body in entry["bodies"]]
    for body in ["ok-1", "ok-2", "ok-3", "ok-4", "ok-5"]:
        assert worker_bodies.count(body) == 1, worker_bodies
    assert worker_bodies.count("fail-1") == 2  # maxReceiveCount receives, then the redrive
    assert dead_letters == ["fail-1"]  # nothing drains the dead-letter queue
    assert all(len(entry["ids"]) <= 4 for entry in entries)
    assert stats.deleted == 5
    assert left["ApproximateNumberOfMessages"] == "0"
    assert left["ApproximateNumberOfMessagesNotVisible"] == "0"
    for entry in entries:
        SqsModel.model_validate(entry["event"])
