"""The stack configuration the local stack runs with: the same files and defaults the program reads.

Values come from Pulumi.yaml's config schema and Pulumi.<stack>.yaml through
:mod:`offline.project` (which reads them as the Pulumi CLI does), so the local stack's queue
settings, timeouts, batch sizes and parameter values are the deployed stack's. ``overrides`` lets
a test shorten a timeout without editing a stack file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contract.naming import APPLICATION, REGION
from offline.project import PulumiProject, load_stack_config


@dataclass(frozen=True)
class LocalSettings:
    """Every configuration value the local stack uses, typed."""

    environment: str
    region: str
    parameter_prefix: str
    function_memory_mb: int
    function_timeout_s: int
    reserved_concurrency: int
    worker_memory_mb: int
    worker_timeout_s: int
    worker_batch_size: int
    worker_batching_window_s: int
    worker_max_concurrency: int
    migrator_timeout_s: int
    queue_visibility_timeout_s: int
    queue_max_receive_count: int
    queue_retention_days: int
    dlq_retention_days: int
    parameters_max_age_s: int
    values: Mapping[str, str]  # every config value by bare key, for the parameter seed

    def text(self, key: str) -> str:
        return self.values[key]


def load(project_root: Path, stack: str = "dev", overrides: Mapping[str, str | int] | None = None) -> LocalSettings:
    """Read ``stack``'s configuration with project defaults applied, then ``overrides`` (bare keys)."""
    project = PulumiProject.load(project_root)
    config = load_stack_config(project, stack)
    prefix = f"{APPLICATION}:"
    values = {key[len(prefix) :]: value for key, value in config.values.items() if key.startswith(prefix)}
    values.update({key: str(value) for key, value in (overrides or {}).items()})

    def integer(key: str) -> int:
        return int(values[key])

    return LocalSettings(
        environment=values["environment"],
        region=config.values.get("aws:region", REGION),
        parameter_prefix=values["parameterPrefix"],
        function_memory_mb=integer("functionMemoryMb"),
        function_timeout_s=integer("functionTimeoutS"),
        reserved_concurrency=integer("reservedConcurrency"),
        worker_memory_mb=integer("workerMemoryMb"),
        worker_timeout_s=integer("workerTimeoutS"),
        worker_batch_size=integer("workerBatchSize"),
        worker_batching_window_s=integer("workerBatchingWindowS"),
        worker_max_concurrency=integer("workerMaxConcurrency"),
        migrator_timeout_s=integer("migratorTimeoutS"),
        queue_visibility_timeout_s=integer("queueVisibilityTimeoutS"),
        queue_max_receive_count=integer("queueMaxReceiveCount"),
        queue_retention_days=integer("queueRetentionDays"),
        dlq_retention_days=integer("dlqRetentionDays"),
        parameters_max_age_s=integer("parametersMaxAgeS"),
        values=values,
    )
