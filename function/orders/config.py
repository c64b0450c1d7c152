"""Settings from the SSM hierarchy (contract.parameters), cached, with a stale fallback.

Each workload loads only its own categories (its IAM role allows no others), by name and with
decryption, caching in powertools' parameters utility for ``max_age`` seconds (the entries its
``get_parameters_by_name`` keeps, so ``parameters.clear_caches()`` applies). If SSM is unreachable
after a successful load, the last values are kept and a warning is logged: a configuration service
outage must not take the API down. The SSM client has short connect and read timeouts and bounded
retries (:func:`orders.failures.aws_client_config`): botocore's defaults (60 s each, legacy
retries) would let a slow SSM endpoint outlive the invocation.

One round trip for the settings: the parameters' names are known (``contract.parameters``), so they
are asked for with GetParameters, at most 10 names a call
(https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html). A category
is stored as one settings document (a JSON object of strings) and one parameter per secret, so the
API's three categories are five names: one call, where one parameter per setting was 17 names and two
calls (served one after the other by a slow endpoint), and one call per cold start instead of two
against Parameter Store's default 40 TPS (https://docs.aws.amazon.com/general/latest/gr/ssm.html).
The documents are expanded into the settings they hold, so :class:`Settings` reads every setting by
category and name whichever parameter stores it; a document that is not a JSON object of strings
makes each of its settings a ValueError naming the document. Loads of more than 10 names are still
batched, whole categories per call where they fit, and those calls go out at once on a small thread
pool (boto3 clients are thread-safe:
https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients).
GetParametersByPath, one per category, would be three calls in sequence, and its throughput with
higher throughput enabled is 100 TPS against 10,000 for GetParameters
(https://docs.aws.amazon.com/general/latest/gr/ssm.html): a wave of cold starts would hit it first.
When the cache answers every parameter the calls stay on the caller's thread and a document already
expanded is not parsed again: a warm invocation pays microseconds, never a thread hand-off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contract.parameters import Category, category_path, decode_document, stored_parameters_in
from orders.failures import aws_client_config
from orders.observability import logger

Fetch = Callable[[tuple[str, ...], int, bool], Mapping[str, str]]
"""(full parameter names, max age in seconds, skip the cache) -> the values of those that exist, by full name."""
Fresh = Callable[[tuple[str, ...]], bool]
"""Whether the cache answers for every one of these names."""

MAX_NAMES_PER_CALL = 10
"""GetParameters' limit on ``Names``: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html"""

_FETCHERS = ThreadPoolExecutor(max_workers=len(Category), thread_name_prefix="settings")
"""The calls after a load's first (which runs on the caller's thread); threads start on first use and stay."""


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


def prepare_client() -> None:
    """Create the SSM client now, in the init phase, so the first request does not pay for it.

    Without a region (a test importing the handler outside any AWS environment) the client is
    left for the first load to create, which then fails with botocore's own message.
    """
    from botocore.exceptions import NoRegionError

    try:
        ssm_provider()
    except NoRegionError:
        return


def _cache_key(name: str) -> tuple[str, None]:
    """The key powertools' ``get_parameters_by_name`` caches an untransformed parameter under."""
    return (name, None)


_ABSENT = None
"""Cached for a name SSM does not have, so a missing parameter is not asked for on every invocation."""


def _cached(names: tuple[str, ...]) -> dict[str, Any] | None:
    """powertools' cached values for every one of ``names``, or None when any is missing or expired.

    Read from the provider's ``store`` with one clock reading, as its ``has_not_expired_in_cache``
    compares each entry's ``ttl`` with now: a warm load checks a handful of entries, so this stays in microseconds.
    """
    store = ssm_provider().store
    now = datetime.now()  # naive local time, as powertools stamps its cache entries
    values: dict[str, Any] = {}
    for name in names:
        entry = store.get(_cache_key(name))
        if entry is None or entry.ttl < now:
            return None
        values[name] = entry.value
    return values


def cached_in_ssm_provider(names: tuple[str, ...]) -> bool:
    return _cached(names) is not None


def _fetch_from_ssm(names: tuple[str, ...], max_age: int, force: bool) -> Mapping[str, str]:
    """One GetParameters call (with decryption) unless the cache answers for every name.

    A name SSM does not know (``InvalidParameters``) is left out of the answer; reading it later
    says which parameter is not set (:meth:`Settings.text`).
    """
    values = None if force else _cached(names)
    if values is None:
        provider = ssm_provider()
        response = provider.client.get_parameters(Names=list(names), WithDecryption=True)
        values = {str(item["Name"]): str(item["Value"]) for item in response.get("Parameters", [])}
        for name in names:
            provider.add_to_cache(key=_cache_key(name), value=values.get(name, _ABSENT), max_age=max_age)
    return {name: value for name, value in values.items() if value is not _ABSENT}


def batches(groups: Sequence[tuple[str, ...]], limit: int = MAX_NAMES_PER_CALL) -> list[tuple[str, ...]]:
    """Names in calls of at most ``limit``, keeping each group (a category) in one call where it fits.

    A group larger than ``limit`` is split; the pieces are packed first-fit, largest first, so groups
    of 10, 4 and 3 names are two calls, not three.
    """
    pieces = [group[i : i + limit] for group in groups for i in range(0, len(group), limit) if group]
    calls: list[tuple[str, ...]] = []
    for piece in sorted(pieces, key=len, reverse=True):
        for index, call in enumerate(calls):
            if len(call) + len(piece) <= limit:
                calls[index] = call + piece
                break
        else:
            calls.append(piece)
    return calls


@dataclass
class SettingsSource:
    """Loads and caches the categories a workload reads."""

    categories: Sequence[Category]
    prefix: str = field(default_factory=lambda: os.environ["PARAMETER_PREFIX"])
    environment: str = field(default_factory=lambda: os.environ["ENVIRONMENT"])
    max_age: int = field(default_factory=lambda: int(os.environ.get("POWERTOOLS_PARAMETERS_MAX_AGE", "300")))
    fetch: Fetch = _fetch_from_ssm
    fresh: Fresh = cached_in_ssm_provider
    names_per_call: int = MAX_NAMES_PER_CALL  # GetParameters' limit; a load of more names is several calls at once
    _last: dict[Category, dict[str, str]] = field(default_factory=dict)
    _problems: dict[Category, dict[str, str]] = field(default_factory=dict)  # setting -> why it is unreadable
    _expanded_from: dict[Category, dict[str, str]] = field(default_factory=dict)  # the fetched values _last holds
    _calls: list[tuple[str, ...]] = field(default_factory=list)  # the names of each call, worked out once

    def names(self, category: Category) -> tuple[str, ...]:
        """The full names of a category's stored parameters (its settings document and secrets)."""
        return tuple(stored.path(self.prefix, self.environment) for stored in stored_parameters_in(category))

    def load(self, *, force: bool = False) -> Settings:
        """Current settings (``force`` skips the cache, e.g. after credentials were rotated).

        Raises only when a category has never been loaded successfully (the error of its call).
        """
        calls = self._calls = self._calls or batches(
            [self.names(category) for category in self.categories], self.names_per_call
        )
        if len([call for call in calls if force or not self.fresh(call)]) > 1:
            others = [_FETCHERS.submit(self._fetch, call, force) for call in calls[1:]]
            outcomes = [self._fetch(calls[0], force), *(future.result() for future in others)]  # first one here
        else:
            outcomes = [self._fetch(call, force) for call in calls]
        for category in self.categories:
            path = category_path(self.prefix, self.environment, category)
            mine = [
                outcome for call, outcome in zip(calls, outcomes, strict=True) if any(n.startswith(path) for n in call)
            ]
            failure = next((outcome for outcome in mine if isinstance(outcome, Exception)), None)
            if failure is None:
                self._expand(
                    category,
                    {
                        name.rsplit("/", 1)[-1]: value
                        for outcome in mine
                        if not isinstance(outcome, Exception)
                        for name, value in outcome.items()
                        if name.startswith(path)
                    },
                )
            elif category not in self._last:
                raise failure
            else:
                logger.warning(
                    "parameter store unreachable; using the last loaded values",
                    extra={"path": path, "error": type(failure).__name__},
                )
        return Settings(self._last, self._problems)

    def _expand(self, category: Category, fetched: dict[str, str]) -> None:
        """A category's settings from its fetched parameters (by leaf name), documents expanded.

        Unchanged parameters (a warm load) keep the settings expanded before, without parsing again.
        """
        if self._expanded_from.get(category) == fetched and category in self._last:
            return
        values: dict[str, str] = {}
        problems: dict[str, str] = {}
        for stored in stored_parameters_in(category):
            text = fetched.get(stored.name)
            if text is None:
                continue  # not set: reading one of its settings says so (Settings.text)
            if not stored.document:
                values[stored.name] = text
                continue
            try:
                document = decode_document(f"{category.value}/{stored.name}", text)
            except ValueError as error:
                problems.update({spec.name: str(error) for spec in stored.settings})
                continue
            values.update({spec.name: document[spec.name] for spec in stored.settings if spec.name in document})
        self._last[category], self._problems[category], self._expanded_from[category] = values, problems, fetched

    def _fetch(self, names: tuple[str, ...], force: bool) -> Mapping[str, str] | Exception:
        """One call's values, or its error (kept for :meth:`load` to judge per category)."""
        try:
            return self.fetch(names, self.max_age, force)
        except Exception as error:  # load() decides: stale values, or raise
            return error

    def forget(self) -> None:
        """Drop the values loaded so far (a restored snapshot must not trust another environment's)."""
        self._last.clear()
        self._problems.clear()
        self._expanded_from.clear()


class Settings:
    """Typed access to loaded settings; a missing or malformed one names its full key.

    ``problems``: per category, the settings whose stored parameter could not be read (a settings
    document that is not a JSON object of strings), with the reason naming that parameter.
    """

    def __init__(
        self,
        values: Mapping[Category, Mapping[str, str]],
        problems: Mapping[Category, Mapping[str, str]] | None = None,
    ) -> None:
        self._values = values
        self._problems = problems or {}

    def text(self, category: Category, name: str) -> str:
        try:
            return self._values[category][name]
        except KeyError:
            problem = self._problems.get(category, {}).get(name)
            if problem is not None:
                raise ValueError(problem) from None
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
