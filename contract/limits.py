"""AWS limits and formulas the program, the policy pack and the cost model all rely on.

Each fact is written once, here, with the page that states it; settings validation, the
deployability controls and the documentation read it from this module.
"""

from __future__ import annotations

import math
from typing import Final

LAMBDA_DEFAULT_CONCURRENCY_QUOTA: Final = 1000
"""Concurrent executions per account and region until a raise is granted (quota code L-B99A9384).
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"""

LAMBDA_MIN_UNRESERVED_CONCURRENCY: Final = 100
"""Lambda keeps this many executions unreserved: reservations may total at most quota - 100.
https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"""

LAMBDA_CONCURRENCY_QUOTA_CODE: Final = "L-B99A9384"
"""Service Quotas code of "Concurrent executions" (service code lambda)."""

RDS_MAX_CONNECTIONS_DIVISOR: Final = 9_531_392
RDS_MAX_CONNECTIONS_CAP: Final = 5000
"""RDS for PostgreSQL's default max_connections: LEAST({DBInstanceClassMemory/9531392}, 5000).
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections"""

RDS_USABLE_MEMORY_FRACTION: Final = 0.75
"""DBInstanceClassMemory is the class's memory less what RDS keeps for the operating system and its own
processes, which AWS does not publish per class; budgets assume three quarters of the class's memory."""

RDS_RESERVED_SUPERUSER_CONNECTIONS: Final = 3
"""Connections RDS for PostgreSQL keeps for superusers and rdsadmin (superuser_reserved_connections 3,
rds.rds_superuser_reserved_connections 2 out of those): application roles cannot use them."""

RDS_CONNECTION_HEADROOM: Final = 10
"""Connections the budget keeps free for the migrator, operators and monitoring."""

RDS_INSTANCE_MEMORY_GIB: Final[dict[str, float]] = {
    **{f"db.{family}.micro": 1 for family in ("t3", "t4g")},
    **{f"db.{family}.small": 2 for family in ("t3", "t4g")},
    **{f"db.{family}.medium": 4 for family in ("t3", "t4g")},
    **{f"db.{family}.large": 8 for family in ("t3", "t4g")},
    **{f"db.{family}.xlarge": 16 for family in ("t3", "t4g")},
    **{f"db.{family}.2xlarge": 32 for family in ("t3", "t4g")},
    **{f"db.{family}.large": 8 for family in ("m5", "m6g", "m6i", "m7g", "m7i")},
    **{f"db.{family}.xlarge": 16 for family in ("m5", "m6g", "m6i", "m7g", "m7i")},
    **{f"db.{family}.2xlarge": 32 for family in ("m5", "m6g", "m6i", "m7g", "m7i")},
    **{f"db.{family}.4xlarge": 64 for family in ("m5", "m6g", "m6i", "m7g", "m7i")},
    **{f"db.{family}.large": 16 for family in ("r5", "r6g", "r6i", "r7g", "r7i")},
    **{f"db.{family}.xlarge": 32 for family in ("r5", "r6g", "r6i", "r7g", "r7i")},
    **{f"db.{family}.2xlarge": 64 for family in ("r5", "r6g", "r6i", "r7g", "r7i")},
    **{f"db.{family}.4xlarge": 128 for family in ("r5", "r6g", "r6i", "r7g", "r7i")},
}
"""Memory of the RDS instance classes the budget knows, in GiB.
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html"""


def rds_postgres_max_connections(memory_gib: float, usable_fraction: float = RDS_USABLE_MEMORY_FRACTION) -> int:
    """RDS for PostgreSQL's default max_connections for a class with ``memory_gib`` of memory."""
    usable_bytes = memory_gib * 1024**3 * usable_fraction
    return min(math.floor(usable_bytes / RDS_MAX_CONNECTIONS_DIVISOR), RDS_MAX_CONNECTIONS_CAP)


LOG_RETENTION_DAYS: Final = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
"""The retention periods CloudWatch Logs accepts, in days (0, never expire, aside).
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html"""

PERFORMANCE_INSIGHTS_RETENTION_DAYS: Final = (7, *(31 * months for months in range(1, 24)), 731)
"""7 days (free), a number of months (31 days each) up to 23, or 731 days.
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html"""

API_CACHE_CLUSTER_SIZES_GB: Final = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")
"""The API Gateway stage cache sizes, in GB. https://docs.aws.amazon.com/apigateway/latest/api/API_CreateStage.html"""

# -- Lambda SnapStart -------------------------------------------------------------------------------
SNAPSTART_DOC: Final = "https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html"

SNAPSTART_MIN_RUNTIME_VERSIONS: Final[dict[str, tuple[int, ...]]] = {"python": (3, 12), "java": (11,), "dotnet": (8,)}
"""The managed runtimes SnapStart supports: Python 3.12 and later, Java 11 and later, .NET 8 and later (other
managed runtimes, OS-only runtimes and container images are not). SNAPSTART_DOC, "Supported features and
limitations"."""

SNAPSTART_MAX_EPHEMERAL_STORAGE_MB: Final = 512
"""SnapStart does not support provisioned concurrency, Amazon EFS, or ephemeral storage above 512 MB.
SNAPSTART_DOC, "Supported features and limitations"."""


def snap_start_supports_runtime(runtime: str) -> bool:
    """Whether a Lambda runtime identifier (python3.12, java21, dotnet8, ...) is one SnapStart supports."""
    for family, minimum in SNAPSTART_MIN_RUNTIME_VERSIONS.items():
        if runtime.startswith(family):
            digits = runtime[len(family) :].split(".")
            if not all(part.isdigit() for part in digits):
                return False
            return tuple(int(part) for part in digits) >= minimum
    return False


# -- scaling limits the capacity model (costmodel/capacity.py) meets ---------------------------------
LAMBDA_SCALING_DOC: Final = "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"
LAMBDA_BURST_ENVIRONMENTS: Final = 1000
LAMBDA_BURST_WINDOW_S: Final = 10
"""Each function scales by up to 1,000 new execution environments every 10 seconds (until the account's
concurrency is reached), whatever the other functions do. LAMBDA_SCALING_DOC, "Concurrency scaling rate"."""

LAMBDA_CONCURRENCY_DOC: Final = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html"
"""Reserved concurrency caps a function and sets aside that much of the account's quota; provisioned
concurrency keeps initialised environments ready, drawn from the reservation."""

SSM_QUOTAS_DOC: Final = "https://docs.aws.amazon.com/general/latest/gr/ssm.html"
SSM_DEFAULT_TPS: Final = 40
"""Parameter Store's default throughput: 40 transactions per second per account and Region, shared by
GetParameter, GetParameters and GetParametersByPath. SSM_QUOTAS_DOC, "Parameter Store" max throughput."""
SSM_HIGH_THROUGHPUT_TPS: Final[dict[str, int]] = {
    "ssm:GetParameter": 10_000,
    "ssm:GetParameters": 10_000,
    "ssm:GetParametersByPath": 100,
}
"""With higher throughput enabled (the service setting /ssm/parameter-store/high-throughput-enabled, billed per
API interaction): 10,000 TPS for GetParameter and GetParameters, 100 for GetParametersByPath. SSM_QUOTAS_DOC;
https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-throughput.html"""
SSM_HIGH_THROUGHPUT_SETTING: Final = "/ssm/parameter-store/high-throughput-enabled"
SSM_STANDARD_VALUE_MAX_BYTES: Final = 4096
"""A standard-tier parameter's value holds at most 4 KB (advanced: 8 KB, and billed):
https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"""

API_GATEWAY_THROTTLING_DOC: Final = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html"
)
API_GATEWAY_ACCOUNT_RATE: Final = 10_000
API_GATEWAY_ACCOUNT_BURST: Final = 5_000
"""API Gateway throttles all of an account's APIs in a Region at 10,000 requests per second with a burst of
5,000 requests (a token bucket); stage, method and usage-plan limits apply below it, and what exceeds any of
them is answered 429. API_GATEWAY_THROTTLING_DOC."""

RDS_PROXY_DOC: Final = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html"
"""RDS Proxy multiplexes client connections onto a pool of at most max_connections_percent of the instance's
max_connections; clients beyond the pool wait for a borrowed connection (up to connection_borrow_timeout)."""
