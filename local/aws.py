"""AWS on loopback: a ``moto_server`` process seeded with what the program creates.

The seed follows the same definitions the program does: every parameter of
``contract.parameters`` as a SecureString under its category's KMS key (aliased as the program
aliases it), the orders queue and its dead-letter queue with the stack's redrive settings, and a
master-user secret shaped like the one RDS manages, for the migrator.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any, Final

import boto3

from contract.naming import resource_name
from contract.parameters import PARAMETERS, Category, ParameterSpec, Source
from local.database import DatabaseEndpoint
from local.processes import free_port, stop_process, wait_for_port
from local.settings import LocalSettings

DAY_S: Final = 86_400
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
    """What the functions and the event source mappings are pointed at."""

    queue: Queue
    dead_letter_queue: Queue
    master_secret_arn: str | None  # None without a database
    key_ids: Mapping[str, str]  # key purpose (category or "messaging") -> key id


def parameter_values(settings: LocalSettings, database: DatabaseEndpoint | None) -> dict[str, str]:
    """``category/name`` -> value for every non-generated parameter, as the program derives them.

    IAM database authentication is off locally (``database/iam_auth`` false): a local PostgreSQL
    cannot check IAM tokens, so the functions and the migrator use the generated application
    password instead (on RDS, with it true, they use IAM tokens only).
    """
    value = settings.text
    values = {
        "api/default_page_size": value("apiDefaultPageSize"),
        "api/max_page_size": value("apiMaxPageSize"),
        "api/max_batch_orders": value("apiMaxBatchOrders"),
        "cache/parameters_max_age_s": value("parametersMaxAgeS"),
        "cache/idempotency_ttl_s": value("idempotencyTtlS"),
        "cache/iam_token_refresh_margin_s": value("iamTokenRefreshMarginS"),
    }
    if database is not None:
        values |= {
            "database/writer_host": database.host,
            "database/reader_host": database.host,
            "database/port": str(database.port),
            "database/name": database.name,
            "database/writer_user": value("dbWriterUser"),
            "database/reader_user": value("dbReaderUser"),
            "database/iam_auth": "false",
            "database/statement_timeout_ms": value("dbStatementTimeoutMs"),
            "database/connect_timeout_s": value("dbConnectTimeoutS"),
        }
    return values


def _value_of(spec: ParameterSpec, values: Mapping[str, str]) -> str:
    if spec.source is Source.GENERATED:
        return secrets.token_urlsafe(30)  # 40 characters, like the program's RandomPassword
    return values[f"{spec.category.value}/{spec.name}"]


def seed(server: MotoServer, settings: LocalSettings, database: DatabaseEndpoint | None) -> SeededResources:
    """Create the keys, parameters, queues and master secret in a fresh moto server.

    Without a database, its parameters and the master secret are left out, so a function that
    needs them fails naming the missing parameter instead of reaching for a made-up host.
    """
    region, env = settings.region, settings.environment
    kms, ssm = server.client("kms", region), server.client("ssm", region)
    key_ids: dict[str, str] = {}
    for purpose in [category.value for category in Category] + ["messaging"]:
        key_id = kms.create_key(Description=f"{purpose} key of the local stack")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=f"alias/{resource_name(env, purpose)}", TargetKeyId=key_id)
        key_ids[purpose] = key_id
    values = parameter_values(settings, database)
    for spec in PARAMETERS:
        if database is None and spec.category is Category.DATABASE:
            continue
        ssm.put_parameter(
            Name=spec.path(settings.parameter_prefix, env),
            Description=spec.description,
            Value=_value_of(spec, values),
            Type="SecureString",
            KeyId=key_ids[spec.category.value],
            Tier="Standard",
        )
    sqs = server.client("sqs", region)
    dead_letter = _queue(
        sqs,
        resource_name(env, "queue", "orders-dlq"),
        {"MessageRetentionPeriod": str(settings.dlq_retention_days * DAY_S), "KmsMasterKeyId": key_ids["messaging"]},
    )
    redrive = {"deadLetterTargetArn": dead_letter.arn, "maxReceiveCount": settings.queue_max_receive_count}
    queue = _queue(
        sqs,
        resource_name(env, "queue", "orders"),
        {
            "VisibilityTimeout": str(settings.queue_visibility_timeout_s),
            "MessageRetentionPeriod": str(settings.queue_retention_days * DAY_S),
            "ReceiveMessageWaitTimeSeconds": "20",
            "KmsMasterKeyId": key_ids["messaging"],
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    if database is None:
        return SeededResources(queue, dead_letter, None, key_ids)
    secret = server.client("secretsmanager", region).create_secret(
        Name=f"rds!db-{secrets.token_hex(8)}",
        Description="Master user of the local database (shaped like the RDS-managed secret)",
        KmsKeyId=key_ids[Category.DATABASE.value],
        SecretString=json.dumps({"username": database.master_user, "password": database.master_password}),
    )
    return SeededResources(queue, dead_letter, secret["ARN"], key_ids)


def _queue(sqs: Any, name: str, attributes: Mapping[str, str]) -> Queue:
    url: str = sqs.create_queue(QueueName=name, Attributes=dict(attributes))["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queue(url, arn)


def client_environment(server: MotoServer, region: str) -> dict[str, str]:
    """Environment variables that point boto3 in a function at moto, with dummy credentials."""
    return {"AWS_ENDPOINT_URL": server.url, "AWS_REGION": region, "AWS_DEFAULT_REGION": region, **CREDENTIALS}
