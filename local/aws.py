"""AWS on loopback: a ``moto_server`` process seeded with what the program creates.

The seed is the blueprint (:func:`local.materialize.materialize`): every KMS key with its aliases,
every SSM parameter with its type, key and value, every queue with its attributes and redrive
policy, every bucket and the database's master secret. Values only a deployment knows are made
here: a generated password gets a fresh random value, and the database's address, port and name
in the database settings document come from the local database.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Final

import boto3

from contract.parameters import DOCUMENT_NAME, Category, decode_document, encode_document
from local.blueprint import Blueprint, ParameterBlueprint, QueueBlueprint
from local.database import DatabaseEndpoint
from local.processes import free_port, stop_process, wait_for_port

CREDENTIALS: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class MotoServer:
    """``python -m moto.server`` on a loopback port, in its own process group."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, log: IO[bytes] | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._log = log
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, timeout_s: float = 30.0) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "moto.server",
            "-H",
            self.host,
            "-p",
            str(self.port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log or asyncio.subprocess.DEVNULL,  # its access log is noise unless kept in a file
            stderr=self._log or asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        await wait_for_port(self.host, self.port, timeout_s, self._process)

    async def stop(self) -> None:
        if self._process is not None:
            await stop_process(self._process)
            self._process = None

    def client(self, service: str, region: str) -> Any:
        """A boto3 client for ``service`` on this server, with the stack's dummy credentials."""
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
        )


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str


@dataclass(frozen=True)
class SeededResources:
    """What the functions and the event source mappings are pointed at, by the program's names."""

    queues: Mapping[str, Queue]  # queue name -> the local queue
    master_secret_arn: str | None  # None without a database
    key_ids: Mapping[str, str]  # KeyBlueprint.logical_name -> local key id
    secret_arns: Mapping[str, str]  # secret name -> local ARN
    parameters: Mapping[str, str]  # parameter name -> the value seeded
    references: Mapping[str, str]  # the program's queue URLs/ARNs and secret ARNs -> the local ones
    redrives: Mapping[str, str] = field(default_factory=dict)  # queue name -> its dead-letter queue's name

    @property
    def queue(self) -> Queue:
        """The (first) queue that has a dead-letter queue: the orders queue."""
        return self.queues[self._redriven()[0]]

    @property
    def dead_letter_queue(self) -> Queue:
        """That queue's dead-letter queue."""
        return self.queues[self._redriven()[1]]

    def _redriven(self) -> tuple[str, str]:
        for queue, dead_letters in self.redrives.items():
            return queue, dead_letters
        raise KeyError("the program declares no queue with a dead-letter queue (redrive policy)")


LOCAL_DATABASE_PARAMETERS: Final = ("writer_host", "reader_host", "port", "name", "iam_auth")
"""The database settings whose values are the local database's (fields of the database settings document)."""


def local_value(parameter: ParameterBlueprint, database: DatabaseEndpoint | None) -> str | None:
    """The value a parameter gets locally, where the program's is not usable here (else None).

    In the database settings document, the address, port and name are the local database's. IAM
    database authentication is off locally (``iam_auth`` false): a local PostgreSQL cannot check IAM
    tokens, so the functions use the generated application password instead (on RDS, with it true,
    they use IAM tokens only: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html).
    The document's other fields are the program's. A value only a deployment knows (a generated
    password) gets a fresh random one, 40 characters like the program's RandomPassword.
    """
    *_, category, leaf = parameter.name.strip("/").split("/")
    if leaf == DOCUMENT_NAME:
        return _local_document(parameter, database if category == Category.DATABASE.value else None)
    if parameter.value is None:
        return secrets.token_urlsafe(30)
    return None


def _local_document(parameter: ParameterBlueprint, database: DatabaseEndpoint | None) -> str:
    """A settings document as the program declares it, with the local database's fields when given one."""
    text = parameter.value if parameter.value is not None else parameter.stand_in
    document = decode_document(parameter.name, text) if text is not None else {}
    if database is not None:
        local = {
            "writer_host": database.host,
            "reader_host": database.host,
            "port": str(database.port),
            "name": database.name,
            "iam_auth": "false",
        }
        document.update({name: local[name] for name in LOCAL_DATABASE_PARAMETERS})
    return encode_document(document)


def seed(server: MotoServer, blueprint: Blueprint, database: DatabaseEndpoint | None) -> SeededResources:
    """Create the keys, parameters, queues, buckets and master secret in a fresh moto server.

    Without a database, the database's parameters and the master secret are left out, so a function
    that needs them fails naming the missing parameter instead of reaching for a made-up host.
    """
    region = blueprint.region
    kms, ssm = server.client("kms", region), server.client("ssm", region)
    key_ids: dict[str, str] = {}
    for key in blueprint.keys:
        key_id = kms.create_key(Description=key.description or key.logical_name)["KeyMetadata"]["KeyId"]
        for alias in key.aliases:
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        key_ids[key.logical_name] = key_id
    parameters: dict[str, str] = {}
    for parameter in blueprint.parameters:
        if database is None and "/database/" in parameter.name:
            continue
        value = local_value(parameter, database) or parameter.value or ""
        extra = {"KeyId": key_ids[parameter.kms_key]} if parameter.type == "SecureString" and parameter.kms_key else {}
        ssm.put_parameter(
            Name=parameter.name,
            Description=parameter.description,
            Value=value,
            Type=parameter.type,
            Tier="Standard",
            **extra,
        )
        parameters[parameter.name] = value
    queues, references = _seed_queues(server.client("sqs", region), blueprint, key_ids)
    s3 = server.client("s3", region)
    for bucket in blueprint.buckets:
        s3.create_bucket(Bucket=bucket) if region == "us-east-1" else s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
        )
    secret_arns: dict[str, str] = {}
    master: str | None = None
    if database is not None and blueprint.database is not None:
        manager = server.client("secretsmanager", region)
        for name in blueprint.secrets:
            arn = manager.create_secret(
                Name=name,
                Description="Master user of the local database (shaped like the program's master secret)",
                SecretString=json.dumps(
                    {
                        "engine": "postgres",
                        "host": database.host,
                        "port": database.port,
                        "dbname": database.name,
                        "username": database.master_user,
                        "password": database.master_password,
                    }
                ),
            )["ARN"]
            secret_arns[name] = arn
            if name in blueprint.secret_arns:
                references[blueprint.secret_arns[name]] = arn
        master = next(iter(secret_arns.values()), None)
    redrives = {queue.name: queue.redrive.dead_letter_queue for queue in blueprint.queues if queue.redrive}
    return SeededResources(queues, master, key_ids, secret_arns, parameters, references, redrives)


def _seed_queues(sqs: Any, blueprint: Blueprint, key_ids: Mapping[str, str]) -> tuple[dict[str, Queue], dict[str, str]]:
    """Every queue, dead-letter queues first so a redrive policy can name its target's local ARN."""
    queues: dict[str, Queue] = {}
    references: dict[str, str] = {}
    ordered = sorted(blueprint.queues, key=lambda queue: queue.redrive is not None)
    for queue in ordered:
        queues[queue.name] = _queue(sqs, queue.name, queue_attributes(queue, queues, key_ids))
        references |= {queue.url: queues[queue.name].url, queue.arn: queues[queue.name].arn}
    references.pop("", None)
    return queues, references


def queue_attributes(queue: QueueBlueprint, created: Mapping[str, Queue], key_ids: Mapping[str, str]) -> dict[str, str]:
    """CreateQueue attributes for ``queue``:
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"""
    attributes = {
        "VisibilityTimeout": str(queue.visibility_timeout_s),
        "MessageRetentionPeriod": str(queue.message_retention_s),
        "DelaySeconds": str(queue.delay_s),
        "ReceiveMessageWaitTimeSeconds": str(queue.receive_wait_s),
        "MaximumMessageSize": str(queue.max_message_bytes),
    }
    if queue.fifo:
        attributes["FifoQueue"] = "true"
    if queue.kms_key is not None:
        attributes["KmsMasterKeyId"] = key_ids[queue.kms_key]
    if queue.redrive is not None:
        target = created[queue.redrive.dead_letter_queue]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": target.arn, "maxReceiveCount": queue.redrive.max_receive_count}
        )
    return attributes


def _queue(sqs: Any, name: str, attributes: Mapping[str, str]) -> Queue:
    url: str = sqs.create_queue(QueueName=name, Attributes=dict(attributes))["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queue(url, arn)


def client_environment(server: MotoServer, region: str) -> dict[str, str]:
    """Environment variables that point boto3 in a function at moto, with dummy credentials."""
    return {"AWS_ENDPOINT_URL": server.url, "AWS_REGION": region, "AWS_DEFAULT_REGION": region, **CREDENTIALS}
