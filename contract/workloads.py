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


FUNCTION_RESOURCE_TYPE: Final = "function"
"""The resource type in each function's name: ``serverless-infra-{env}-function-{workload key}`` (contract.naming)."""


@dataclass(frozen=True)
class Workload:
    """One Lambda function of the system."""

    key: str
    description: str
    handler: str  # module.function inside the function archive
    parameter_categories: tuple[Category, ...]
    # Interface endpoint service names (com.amazonaws.<region>.<name>) of the AWS APIs the code itself
    # calls from inside the VPC. Not logs or xray: Lambda ships the function's logs and (through the
    # X-Ray daemon it runs) its traces itself. Not kms when the code only reaches KMS through another
    # service (SSM, SQS, Secrets Manager decrypt on the caller's behalf, kms:ViaService).
    aws_services: tuple[str, ...]
    database_access: DatabaseAccess
    aws_actions: tuple[str, ...]  # every AWS API action the code calls; IAM grants exactly these
    consumes: str | None = None  # the queue an event source mapping feeds it from: "orders" or "orders-dlq"

    @property
    def name_suffix(self) -> str:
        """How its function's name ends in every environment (``-function-api``): the cost model and the
        tools find a function by it, whatever the environment."""
        return f"-{FUNCTION_RESOURCE_TYPE}-{self.key}"


WORKLOADS: Final[tuple[Workload, ...]] = (
    Workload(
        key="api",
        description="Orders HTTP API behind API Gateway.",
        handler="orders.handlers.api.handler",
        parameter_categories=(Category.DATABASE, Category.API, Category.CACHE),
        aws_services=("ssm", "sqs"),  # GetParameters; SendMessage (POST /orders/async)
        database_access=DatabaseAccess.READ_WRITE,
        aws_actions=("ssm:GetParameters", "sqs:SendMessage", "rds-db:connect"),
    ),
    Workload(
        key="worker",
        description="Consumes the orders queue in batches and inserts orders idempotently.",
        handler="orders.handlers.worker.handler",
        parameter_categories=(Category.DATABASE, Category.CACHE),
        aws_services=("ssm",),  # GetParameters; the event source mapping polls SQS, not the code
        database_access=DatabaseAccess.READ_WRITE,
        aws_actions=("ssm:GetParameters", "rds-db:connect"),
        consumes="orders",
    ),
    Workload(
        key="dlq-analyzer",
        description="Peeks at the dead-letter queue on a schedule and reports what it holds; never deletes.",
        handler="orders.handlers.dlq_analyzer.handler",
        parameter_categories=(),
        aws_services=("sqs",),  # ReceiveMessage/ChangeMessageVisibility; metrics are EMF log lines
        database_access=DatabaseAccess.NONE,
        # On the dead-letter queue only (its URL in DEAD_LETTER_QUEUE_URL), and kms:Decrypt of its key;
        # no sqs:DeleteMessage: the dead letters stay for redrive. Invoked by a schedule, not a mapping.
        aws_actions=("sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"),
    ),
    Workload(
        key="migrator",
        description="Applies schema migrations and creates the application roles at deploy time.",
        handler="orders.handlers.migrator.handler",
        parameter_categories=(Category.DATABASE,),
        aws_services=("ssm", "secretsmanager"),  # GetParameters; GetSecretValue (the master secret)
        database_access=DatabaseAccess.MASTER,
        aws_actions=("ssm:GetParameters", "secretsmanager:GetSecretValue"),
    ),
)

ALIAS: Final = "live"
"""The alias of every function: API Gateway, the event source mappings, provisioned concurrency and the
schedule invoke it, never $LATEST, so a deploy switches traffic to a published version at once."""

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

REQUIRED_INTERFACE_ENDPOINT_SERVICES: Final = ("kms", "monitoring", "ssm")
"""The endpoints the product requirement names (SSM, KMS, CloudWatch), kept even where no function calls the
service directly today: Lambda ships logs and traces itself, and SSM, SQS and Secrets Manager call KMS on the
caller's behalf (docs/design.md, "VPC endpoints")."""


def interface_endpoint_services() -> tuple[str, ...]:
    """Every service any workload calls, and those the requirement names, sorted: one interface endpoint each."""
    services = {service for workload in WORKLOADS for service in workload.aws_services}
    services |= set(REQUIRED_INTERFACE_ENDPOINT_SERVICES)
    return tuple(sorted(services - set(GATEWAY_ENDPOINT_SERVICES)))


APPLICATION_DATABASE_USERS: Final = tuple(w.key for w in WORKLOADS if w.database_access is DatabaseAccess.READ_WRITE)
"""The workloads that connect to the database as the application, with IAM-authenticated connections as
the writer and the reader roles (the migrator connects as the master user, at deploy time)."""


def workload(key: str) -> Workload:
    """Look a workload up by key; a typo is an error, not a silent miss."""
    for candidate in WORKLOADS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"unknown workload {key!r}; expected one of {[w.key for w in WORKLOADS]}")


def readers_of(category: Category) -> tuple[Workload, ...]:
    """The workloads that read a parameter category (and so may decrypt with its key)."""
    return tuple(w for w in WORKLOADS if category in w.parameter_categories)
