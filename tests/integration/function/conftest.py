"""Fixtures for the function's tests: real API Gateway and SQS event shapes, moto for AWS, env vars.

Events are built here and checked against powertools' own event models, so a test can only pass
with an event API Gateway or SQS could really send.
"""

from __future__ import annotations

import base64
import io
import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from contract import api, metrics

# powertools reads these when orders.observability is first imported (at collection time).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "orders-api")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", metrics.NAMESPACE)
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

import boto3
import psycopg2
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, SqsModel
from moto import mock_aws
from orders.observability import logger

from contract.parameters import (
    PARAMETERS,
    STORED_PARAMETERS,
    Category,
    decode_document,
    encode_document,
)
from local.context import LambdaContext
from local.database import DatabaseEndpoint, parse_database_url
from local.postgres import PostgresServer

PREFIX, ENVIRONMENT, REGION = "myapp", "dev", "us-east-1"
APP_PASSWORD = "app-password-0123456789abcdefghij"
CURSOR_KEY = "cursor-signing-key-0123456789abcdefghij"


@pytest.fixture(autouse=True)
def function_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "PARAMETER_PREFIX": PREFIX,
        "ENVIRONMENT": ENVIRONMENT,
        "POWERTOOLS_SERVICE_NAME": "orders-api",
        "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_PARAMETERS_MAX_AGE": "300",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)


def parameter_values(database: dict[str, str] | None = None) -> dict[str, str]:
    """Every parameter of the hierarchy with a test value; ``database`` overrides database/*."""
    values = {
        "database/writer_host": "localhost",
        "database/reader_host": "localhost",
        "database/port": "1",
        "database/name": "orders",
        "database/writer_user": "orders_writer",
        "database/reader_user": "orders_reader",
        "database/iam_auth": "false",
        "database/app_password": APP_PASSWORD,
        "database/statement_timeout_ms": "5000",
        "database/connect_timeout_s": "1",
        "api/default_page_size": "2",
        "api/max_page_size": "50",
        "api/max_batch_orders": "500",
        "api/cursor_signing_key": CURSOR_KEY,
        "cache/parameters_max_age_s": "300",
        "cache/idempotency_ttl_s": "86400",
        "cache/iam_token_refresh_margin_s": "120",
    }
    values.update({f"database/{k}": v for k, v in (database or {}).items()})
    assert set(values) == {f"{s.category.value}/{s.name}" for s in PARAMETERS}
    return values


def stored_values(values: dict[str, str]) -> dict[str, str]:
    """The stored parameters' values ("category/leaf") that hold these settings: documents and secrets."""
    return {
        f"{stored.category.value}/{stored.name}": (
            encode_document({spec.name: values[f"{spec.category.value}/{spec.name}"] for spec in stored.settings})
            if stored.document
            else values[f"{stored.category.value}/{stored.name}"]
        )
        for stored in STORED_PARAMETERS
    }


def set_setting(name: str, value: str, category: Category = Category.DATABASE) -> None:
    """Change one setting in (moto's) SSM where the program stores it: its document, or its own parameter."""
    (stored,) = (s for s in STORED_PARAMETERS if s.category is category and any(x.name == name for x in s.settings))
    ssm = boto3.client("ssm", region_name=REGION)
    full_name = stored.path(PREFIX, ENVIRONMENT)
    if stored.document:
        current = ssm.get_parameter(Name=full_name, WithDecryption=True)["Parameter"]["Value"]
        value = encode_document({**decode_document(full_name, current), name: value})
    ssm.put_parameter(Name=full_name, Value=value, Type="SecureString", Overwrite=True)


class ExternalPostgres:
    """The server ``DATABASE_URL`` names, with the test server's interface; it cannot be restarted."""

    def __init__(self, endpoint: DatabaseEndpoint) -> None:
        self.endpoint = endpoint
        self.host, self.port, self.database = endpoint.host, endpoint.port, endpoint.name
        self.ca_path = endpoint.ca_file
        self.dsn, self.yoyo_uri = endpoint.dsn, endpoint.yoyo_uri

    def restart(self) -> None:
        pytest.skip("DATABASE_URL names a server these tests do not manage: it cannot be restarted")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | ExternalPostgres]:
    """A real PostgreSQL over TLS: DATABASE_URL's, else one started here (per test worker)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield ExternalPostgres(parse_database_url(url))
        return
    with PostgresServer() as server:
        yield server


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the functions log (JSON lines), captured from the powertools logger's own handler."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def seed_parameters(aws: None) -> Callable[..., None]:
    """Write the hierarchy to (moto's) SSM as the program stores it: SecureStrings, one KMS key per category."""

    def seed(**database: str) -> None:
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()  # values cached by an earlier test are not this test's
        kms, ssm = boto3.client("kms", region_name=REGION), boto3.client("ssm", region_name=REGION)
        keys = {category: kms.create_key(Description=category.value)["KeyMetadata"]["KeyId"] for category in Category}
        for name, value in stored_values(parameter_values(database)).items():
            category = Category(name.split("/")[0])
            ssm.put_parameter(
                Name=f"/{PREFIX}/{ENVIRONMENT}/{name}",
                Value=value,
                Type="SecureString",
                KeyId=keys[category],
                Overwrite=True,
            )

    return seed


@pytest.fixture
def migrated(postgres, seed_parameters, monkeypatch, context):
    """Parameters pointing at the server, the migrator run, a fresh API service for the test."""
    seed_parameters(
        writer_host=postgres.host, reader_host=postgres.host, port=str(postgres.port), name=postgres.database
    )
    monkeypatch.setenv("DB_SSLROOTCERT", str(postgres.ca_path))
    monkeypatch.setenv("DB_MASTER_DSN", postgres.yoyo_uri())
    from orders.handlers import api, migrator, worker

    result = migrator.handler({"action": "migrate"}, context)
    assert result["status"] == "ok"
    with psycopg2.connect(postgres.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("TRUNCATE orders")
    monkeypatch.setattr(api, "_service", None)
    monkeypatch.setattr(worker, "_database", None)
    return postgres


@pytest.fixture
def queue_url(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    url = str(boto3.client("sqs", region_name=REGION).create_queue(QueueName="orders")["QueueUrl"])
    monkeypatch.setenv("ORDERS_QUEUE_URL", url)
    return url


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext(remaining_ms=5000)


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    raw_body: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (stage v1), as the service sends it."""
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    all_headers = {"Content-Type": "application/json", "x-api-key": "test-key", **(headers or {})}
    if base64_body and text is not None:
        text = base64.b64encode(text.encode()).decode()
    parts = [p for p in path.strip("/").split("/") if p]
    resource, path_parameters = path, None
    if len(parts) == 2 and parts[0] == "orders" and parts[1] not in ("batch", "async"):
        resource, path_parameters = "/orders/{order_id}", {"order_id": parts[1]}
    request_id = str(uuid.uuid4())
    event = {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "resourceId": "res123",
            "resourcePath": resource,
            "httpMethod": method,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "path": f"/{api.STAGE}{path}",
            "protocol": "HTTP/1.1",
            "stage": api.STAGE,
            "requestTime": "14/Nov/2026:22:13:20 +0000",
            "requestTimeEpoch": 1_700_000_000_000,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "tests", "apiKey": "test-key", "apiKeyId": "key123"},
        },
        "body": text,
        "isBase64Encoded": base64_body,
    }
    APIGatewayProxyEventModel.model_validate(event)
    return event


def sqs_event(bodies: list[str], attributes: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """An SQS event as Lambda's event source mapping delivers it."""
    records = []
    for index, body in enumerate(bodies):
        message_attributes = {
            name: {"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": "String"}
            for name, value in ((attributes or [{}] * len(bodies))[index] or {}).items()
        }
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1700000000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1700000000001",
                },
                "messageAttributes": message_attributes,
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:serverless-infra-dev-queue-orders",
                "awsRegion": REGION,
            }
        )
    event = {"Records": records}
    SqsModel.model_validate(event)
    return event


def refuse_the_application_password(postgres) -> None:
    """The application roles' password is no longer the one in SSM; their open sessions are ended."""
    import psycopg2

    with psycopg2.connect(postgres.dsn()) as connection, connection.cursor() as cursor:
        for role in ("orders_writer", "orders_reader"):
            cursor.execute(f"ALTER ROLE {role} PASSWORD %s", ("not-the-one-in-ssm-0123456789",))
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
    connection.close()
