"""Custom metrics the functions publish that the program alarms on: one name, read by both sides.

The functions publish them through powertools (namespace ``ServerlessInfra``, dimension ``service``);
infra/serverless_infra/components/observability.py creates the alarms on them.
"""

from __future__ import annotations

from typing import Final

from contract.workloads import APPLICATION_DATABASE_USERS

NAMESPACE: Final = "ServerlessInfra"
"""The CloudWatch namespace of every custom metric: the functions' POWERTOOLS_METRICS_NAMESPACE, the alarms'
and dashboard's metrics, and the condition of the functions' cloudwatch:PutMetricData grant."""

DATABASE_CONFIGURATION_ERRORS: Final = "DatabaseConfigurationErrors"
"""Counted once per database failure no retry can fix (refused credentials, TLS, configuration)."""

DATABASE_READER_FALLBACKS: Final = "DatabaseReaderFallbacks"
"""Counted each time a read ran on the writer because the reader endpoint could not be reached."""

DATABASE_WORKLOADS: Final = APPLICATION_DATABASE_USERS
"""The workloads that publish DatabaseConfigurationErrors: those that connect as the application."""
