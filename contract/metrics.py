"""Custom metrics the functions publish that the program alarms on: one name, read by both sides.

The functions publish them through powertools (namespace ``ServerlessInfra``, dimension ``service``);
infra/serverless_infra/components/observability.py creates the alarms on them.
"""

from __future__ import annotations

from typing import Final

DATABASE_CONFIGURATION_ERRORS: Final = "DatabaseConfigurationErrors"
"""Counted once per database failure no retry can fix (refused credentials, TLS, configuration)."""

DATABASE_READER_FALLBACKS: Final = "DatabaseReaderFallbacks"
"""Counted each time a read ran on the writer because the reader endpoint could not be reached."""

DATABASE_WORKLOADS: Final = ("api", "worker")
"""The workloads that connect to the database as the application (the migrator runs at deploy time)."""
