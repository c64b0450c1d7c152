"""The functions as the program defines them: handler, size, timeout, concurrency, environment.

Sizes and environment variables follow ``infra/serverless_infra/components/functions.py``
(``_size`` and ``_environment``), derived from the same workload table (``contract.workloads``)
and stack settings; a unit test runs the program offline and compares. Standard library only, so
that test needs nothing but the program's own dependencies.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from contract.naming import resource_name
from contract.workloads import WORKLOADS, DatabaseAccess, Workload
from local.settings import LocalSettings

ACCOUNT_ID: Final = "123456789012"
ALIAS: Final = "live"
METRICS_NAMESPACE: Final = "ServerlessInfra"


@dataclass(frozen=True)
class FunctionSpec:
    """What Lambda knows about a function: its code, handler, limits and environment variables."""

    name: str
    handler: str
    timeout_s: float
    memory_mb: int
    concurrency: int
    code_paths: tuple[Path, ...]
    environment: Mapping[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    python: str = sys.executable
    init_timeout_s: float = 10.0  # Lambda's limit on an on-demand environment's init phase
    log_path: Path | None = None  # where the environments' stdout/stderr go; None inherits ours

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}:{ALIAS}"


@dataclass(frozen=True)
class Size:
    memory_mb: int
    timeout_s: int
    concurrency: int


def size_of(workload: Workload, settings: LocalSettings) -> Size:
    """Memory, timeout and reserved concurrency, as the program sizes each workload."""
    sizes = {
        "api": Size(settings.function_memory_mb, settings.function_timeout_s, settings.reserved_concurrency),
        "worker": Size(settings.worker_memory_mb, settings.worker_timeout_s, settings.worker_max_concurrency),
        "dlq-analyzer": Size(256, 60, 2),
        "migrator": Size(512, settings.migrator_timeout_s, 1),
    }
    return sizes[workload.key]


def program_environment(
    workload: Workload,
    settings: LocalSettings,
    *,
    queue_url: str,
    master_secret_arn: str | None,
    dead_letter_queue_url: str | None = None,
) -> dict[str, str]:
    """The environment variables the program gives ``workload``'s function."""
    variables = {
        "ENVIRONMENT": settings.environment,
        "PARAMETER_PREFIX": settings.parameter_prefix,
        "POWERTOOLS_SERVICE_NAME": f"orders-{workload.key}",
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_PARAMETERS_MAX_AGE": str(settings.parameters_max_age_s),
    }
    if "sqs:SendMessage" in workload.aws_actions:
        variables["ORDERS_QUEUE_URL"] = queue_url
    if "sqs:ReceiveMessage" in workload.aws_actions and dead_letter_queue_url is not None:
        variables["DEAD_LETTER_QUEUE_URL"] = dead_letter_queue_url  # the DLQ analyzer peeks at it
    if workload.database_access is DatabaseAccess.MASTER and master_secret_arn is not None:
        variables["DB_MASTER_SECRET_ARN"] = master_secret_arn
    return variables


def function_specs(
    settings: LocalSettings,
    *,
    code_paths: tuple[Path, ...],
    queue_url: str,
    master_secret_arn: str | None,
    platform_environment: Mapping[str, str],
    dead_letter_queue_url: str | None = None,
    log_dir: Path | None = None,
    handlers: Mapping[str, str] | None = None,
) -> dict[str, FunctionSpec]:
    """One spec per workload; ``platform_environment`` adds what the local platform needs (moto, CA)."""
    specs: dict[str, FunctionSpec] = {}
    for workload in WORKLOADS:
        size = size_of(workload, settings)
        environment = dict(platform_environment)
        environment.update(
            program_environment(
                workload,
                settings,
                queue_url=queue_url,
                master_secret_arn=master_secret_arn,
                dead_letter_queue_url=dead_letter_queue_url,
            )
        )
        specs[workload.key] = FunctionSpec(
            name=resource_name(settings.environment, "function", workload.key),
            handler=(handlers or {}).get(workload.key, workload.handler),
            timeout_s=size.timeout_s,
            memory_mb=size.memory_mb,
            concurrency=size.concurrency,
            code_paths=code_paths,
            environment=environment,
            region=settings.region,
            log_path=log_dir / f"{workload.key}.log" if log_dir else None,
        )
    return specs
