"""Settings from the SSM hierarchy (contract.parameters), cached, with a stale fallback.

Each workload loads only its own categories (its IAM role allows no others), by path and with
decryption, through powertools' parameters utility, which caches for ``max_age`` seconds. If SSM
is unreachable after a successful load, the last values are kept and a warning is logged: a
configuration service outage must not take the API down. The SSM client has short connect and
read timeouts and bounded retries (:func:`orders.failures.aws_client_config`): botocore's defaults
(60 s each, legacy retries) would let a slow SSM endpoint outlive the invocation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contract.parameters import Category, category_path
from orders.failures import aws_client_config
from orders.observability import logger

Fetch = Callable[[str, int, bool], Mapping[str, str]]


def ssm_provider() -> Any:
    """powertools' SSM provider, registered as its default so ``parameters.clear_caches()`` still applies.

    A provider powertools made itself (without our client configuration) is replaced.
    """
    from aws_lambda_powertools.utilities.parameters import SSMProvider, base  # first use: keeps cold start short

    providers: dict[str, Any] = getattr(base, "DEFAULT_PROVIDERS")  # noqa: B009 - not in the module's __all__
    provider = providers.get("ssm")
    if provider is None or not getattr(provider, "bounded_timeouts", False):
        provider = SSMProvider(boto_config=aws_client_config())
        setattr(provider, "bounded_timeouts", True)  # noqa: B010 - a marker on powertools' class
        providers["ssm"] = provider
    return provider


def _fetch_from_ssm(path: str, max_age: int, force: bool) -> Mapping[str, str]:
    values = ssm_provider().get_multiple(path, max_age=max_age, decrypt=True, recursive=False, force_fetch=force)
    return {str(name): str(value) for name, value in dict(values).items()}


@dataclass
class SettingsSource:
    """Loads and caches the categories a workload reads."""

    categories: Sequence[Category]
    prefix: str = field(default_factory=lambda: os.environ["PARAMETER_PREFIX"])
    environment: str = field(default_factory=lambda: os.environ["ENVIRONMENT"])
    max_age: int = field(default_factory=lambda: int(os.environ.get("POWERTOOLS_PARAMETERS_MAX_AGE", "300")))
    fetch: Fetch = _fetch_from_ssm
    _last: dict[Category, dict[str, str]] = field(default_factory=dict)

    def load(self, *, force: bool = False) -> Settings:
        """Current settings (``force`` skips the cache, e.g. after credentials were rotated).

        Raises only when a category has never been loaded successfully.
        """
        for category in self.categories:
            path = category_path(self.prefix, self.environment, category)
            try:
                fetched = self.fetch(path, self.max_age, force)
                self._last[category] = {k.rsplit("/", 1)[-1]: v for k, v in fetched.items()}
            except Exception as error:
                if category not in self._last:
                    raise
                logger.warning(
                    "parameter store unreachable; using the last loaded values",
                    extra={"path": path, "error": type(error).__name__},
                )
        return Settings(self._last)


class Settings:
    """Typed access to loaded parameters; a missing or malformed one names its full key."""

    def __init__(self, values: Mapping[Category, Mapping[str, str]]) -> None:
        self._values = values

    def text(self, category: Category, name: str) -> str:
        try:
            return self._values[category][name]
        except KeyError:
            raise KeyError(f"parameter {category.value}/{name} is not set") from None

    def integer(self, category: Category, name: str) -> int:
        raw = self.text(category, name)
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"parameter {category.value}/{name} must be a whole number, got {raw!r}") from None

    def flag(self, category: Category, name: str) -> bool:
        return self.text(category, name).strip().lower() == "true"

    def as_dict(self) -> dict[str, Any]:
        """For tests and diagnostics only; never log it (it holds secrets)."""
        return {f"{c.value}/{k}": v for c, values in self._values.items() for k, v in values.items()}
