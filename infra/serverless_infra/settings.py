"""The program's settings: the stack's configuration, read from the Pulumi runtime, parsed once.

Parsing and validation live in :mod:`contract.settings` (pure, no Pulumi runtime: the cost estimate
and the tests call the same parser). This module hands it the configuration the CLI gave the program
and turns a bad value into a :class:`ConfigError`, a ``pulumi.RunError``, which the CLI prints
without a traceback. The settings types are re-exported so the components import them from here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pulumi
from pulumi.runtime import config as runtime_config

from contract.settings import (
    DATABASE_CONNECTORS,
    DLQ_ANALYZER_CONCURRENCY,
    DLQ_ANALYZER_TIMEOUT_S,
    MIGRATOR_CONCURRENCY,
    ApiGatewaySettings,
    ApiSettings,
    ArtifactSettings,
    CacheSettings,
    ComputeSettings,
    ConfigReader,
    DatabaseSettings,
    NetworkSettings,
    ObservabilitySettings,
    QueueSettings,
    Settings,
    SettingsError,
    TagSettings,
    WorkerSettings,
    parse_settings,
)

__all__ = [
    "DATABASE_CONNECTORS",
    "DLQ_ANALYZER_CONCURRENCY",
    "DLQ_ANALYZER_TIMEOUT_S",
    "MIGRATOR_CONCURRENCY",
    "ApiGatewaySettings",
    "ApiSettings",
    "ArtifactSettings",
    "CacheSettings",
    "ComputeSettings",
    "ConfigError",
    "DatabaseSettings",
    "NetworkSettings",
    "ObservabilitySettings",
    "QueueSettings",
    "Settings",
    "TagSettings",
    "WorkerSettings",
    "load_settings",
    "runtime_reader",
]


class ConfigError(SettingsError, pulumi.RunError):
    """A configuration value is missing or wrong. RunError makes the CLI print it without a traceback."""


class RuntimeConfig(Mapping[str, str]):
    """The stack's configuration as the Pulumi runtime holds it (``PULUMI_CONFIG``), namespaced keys to text.

    Each value is read through ``pulumi.Config``, so every source the SDK honours is honoured here.
    """

    def __getitem__(self, key: str) -> str:
        namespace, _, name = key.partition(":")
        value = pulumi.Config(namespace).get(name) if name else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({*runtime_config.get_config_env(), *runtime_config.CONFIG.get()}))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def load_settings() -> Settings:
    """Read and validate the current stack's configuration."""
    try:
        return parse_settings(RuntimeConfig())
    except SettingsError as error:
        raise ConfigError(error.key, error.message) from None


def runtime_reader(namespace: str) -> ConfigReader:
    """A reader of one namespace of the runtime configuration whose errors are ConfigErrors (bootstrap/)."""
    return ConfigReader(namespace, RuntimeConfig(), ConfigError)
