"""The workloads (Lambda functions) and what each of them touches.

The program derives VPC endpoints, key policies and IAM grants from this table; the policy pack
checks that endpoints exist for every service listed here. Keeping it as data means adding an AWS
call to a function is one edit here, and every derived permission follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from contract.parameters import Category


class DatabaseAccess(StrEnum):
    """Which PostgreSQL role a workload connects as."""

    NONE = "none"
    READ_WRITE = "read_write"  # the writer role on the primary, the reader role on the replica
    MASTER = "master"  # the RDS-managed master user (schema migrations only)


@dataclass(frozen=True)
class Workload:
    """One Lambda function of the system."""

    key: str
    description: str
    handler: str  # module.function inside the function archive
    parameter_categories: tuple[Category, ...]
    aws_services: tuple[str, ...]  # endpoint service names, as in com.amazonaws.<region>.<name>
    database_access: DatabaseAccess
    aws_actions: tuple[str, ...]  # every AWS API action the code calls; IAM grants exactly these
    consumes: str | None = None  # the queue an event source mapping feeds it from: "orders" or "orders-dlq"


WORKLOADS: Final[tuple[Workload, ...]] = (
    Workload(
        key="api",
        description="Orders HTTP API behind API Gateway.",
        handler="orders.handlers.api.handler",
        parameter_categories=(Category.DATABASE, Category.API, Category.CACHE),
        aws_services=("ssm", "kms", "sqs", "logs", "xray"),
        database_access=DatabaseAccess.READ_WRITE,
        aws_actions=("ssm:GetParametersByPath", "sqs:SendMessage", "rds-db:connect"),
    ),
    Workload(
        key="worker",
        description="Consumes the orders queue in batches and inserts orders idempotently.",
        handler="orders.handlers.worker.handler",
        parameter_categories=(Category.DATABASE, Category.CACHE),
        aws_services=("ssm", "kms", "sqs", "logs", "xray"),
        database_access=DatabaseAccess.READ_WRITE,
        aws_actions=("ssm:GetParametersByPath", "rds-db:connect"),
        consumes="orders",
    ),
    Workload(
        key="dlq-analyzer",
        description="Classifies dead-lettered messages and publishes one metric per failure class.",
        handler="orders.handlers.dlq_analyzer.handler",
        parameter_categories=(Category.CACHE,),
        aws_services=("ssm", "kms", "sqs", "logs", "monitoring", "xray"),
        database_access=DatabaseAccess.NONE,
        aws_actions=("ssm:GetParametersByPath", "cloudwatch:PutMetricData"),
        consumes="orders-dlq",
    ),
    Workload(
        key="migrator",
        description="Applies schema migrations and creates the application roles at deploy time.",
        handler="orders.handlers.migrator.handler",
        parameter_categories=(Category.DATABASE,),
        aws_services=("ssm", "kms", "secretsmanager", "logs", "xray"),
        database_access=DatabaseAccess.MASTER,
        aws_actions=("ssm:GetParametersByPath", "secretsmanager:GetSecretValue"),
    ),
)

QUEUE_CONSUMER_ACTIONS: Final = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)
"""What the Lambda service does with the function's role when an event source mapping polls a queue."""

PLATFORM_ACTIONS: Final = (
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)
"""What every function's role needs for Lambda itself: logs, traces and its VPC network interfaces."""

GATEWAY_ENDPOINT_SERVICES: Final = ("s3",)
"""Services reached through a gateway endpoint (route-table based, no per-hour charge)."""


def interface_endpoint_services() -> tuple[str, ...]:
    """Every service any workload calls, sorted: one interface endpoint each."""
    services = {service for workload in WORKLOADS for service in workload.aws_services}
    return tuple(sorted(services - set(GATEWAY_ENDPOINT_SERVICES)))


def workload(key: str) -> Workload:
    """Look a workload up by key; a typo is an error, not a silent miss."""
    for candidate in WORKLOADS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"unknown workload {key!r}; expected one of {[w.key for w in WORKLOADS]}")


def readers_of(category: Category) -> tuple[Workload, ...]:
    """The workloads that read a parameter category (and so may decrypt with its key)."""
    return tuple(w for w in WORKLOADS if category in w.parameter_categories)
