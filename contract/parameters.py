"""The SSM Parameter Store hierarchy: ``/{prefix}/{env}/{category}/{name}``.

Defined once, as data. :data:`PARAMETERS` are the settings, each with its category and source (a
value the program derives from a resource, one set in stack configuration, or a secret generated at
deploy time). :data:`STORED_PARAMETERS` are the SSM parameters that hold them, derived from the
settings and never listed by hand: a category's non-sensitive settings together in one parameter
named :data:`DOCUMENT_NAME`, a JSON object of strings, and each sensitive setting in a parameter of
its own, so a secret is rotated and rolled back alone and never printed inside a document. The
program creates exactly the stored parameters (each a SecureString encrypted with its category's KMS
key), the function loads them by name, and the local stack seeds moto with them.

Fewer parameters is fewer names to fetch: the API's settings are five names, one GetParameters call
(at most 10 names a call:
https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html), where one
parameter per setting was 17 names and two calls, against Parameter Store's default 40 TPS
(https://docs.aws.amazon.com/general/latest/gr/ssm.html). A JSON document is AWS's own convention for
connection settings (the Secrets Manager RDS secret structure:
https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

PREFIX_PATTERN: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # the hierarchy's first level: parameterPrefix


class Category(StrEnum):
    """A parameter category. Each has its own KMS key and its own IAM path grant."""

    DATABASE = "database"
    API = "api"
    CACHE = "cache"


class Source(StrEnum):
    """Where the program takes a parameter's value from."""

    RESOURCE = "resource"  # an attribute of a resource the program creates (an endpoint, a URL)
    CONFIG = "config"  # a stack configuration value
    GENERATED = "generated"  # a random secret generated at deploy time, never printed


@dataclass(frozen=True)
class ParameterSpec:
    """One setting of the hierarchy; :data:`STORED_PARAMETERS` says which SSM parameter holds it."""

    category: Category
    name: str
    source: Source
    description: str
    sensitive: bool = False

    @property
    def stored_name(self) -> str:
        """The leaf name of the SSM parameter that stores this setting: its own for a secret, else the document's."""
        return self.name if self.sensitive else DOCUMENT_NAME

    def path(self, prefix: str, environment: str) -> str:
        """Full name of the SSM parameter that stores this setting, e.g. ``/myapp/dev/database/settings``."""
        return f"{category_path(prefix, environment, self.category)}{self.stored_name}"


DOCUMENT_NAME: Final = "settings"
"""The leaf name of the parameter that holds a category's non-sensitive settings as one JSON object."""


@dataclass(frozen=True)
class StoredParameter:
    """One SSM parameter: a category's settings document, or one sensitive setting stored alone."""

    category: Category
    name: str  # the leaf name
    settings: tuple[ParameterSpec, ...]
    document: bool

    @property
    def sensitive(self) -> bool:
        return any(spec.sensitive for spec in self.settings)

    @property
    def description(self) -> str:
        if not self.document:
            return self.settings[0].description
        names = ", ".join(spec.name for spec in self.settings)
        return f"The {self.category.value} settings, one JSON object of strings: {names}."

    def path(self, prefix: str, environment: str) -> str:
        """Full parameter name, e.g. ``/myapp/dev/database/settings``."""
        return f"{category_path(prefix, environment, self.category)}{self.name}"


def category_path(prefix: str, environment: str, category: Category) -> str:
    """The path a category's parameters live under, with its trailing slash."""
    return f"/{prefix}/{environment}/{category.value}/"


PARAMETERS: Final[tuple[ParameterSpec, ...]] = (
    ParameterSpec(Category.DATABASE, "writer_host", Source.RESOURCE, "Primary instance endpoint; all writes go here."),
    ParameterSpec(Category.DATABASE, "reader_host", Source.RESOURCE, "Read replica endpoint; reads go here."),
    ParameterSpec(Category.DATABASE, "port", Source.RESOURCE, "PostgreSQL port."),
    ParameterSpec(Category.DATABASE, "name", Source.CONFIG, "Database name."),
    ParameterSpec(Category.DATABASE, "writer_user", Source.CONFIG, "Role the function writes as (IAM-authenticated)."),
    ParameterSpec(Category.DATABASE, "reader_user", Source.CONFIG, "Role the function reads as (IAM-authenticated)."),
    ParameterSpec(Category.DATABASE, "iam_auth", Source.CONFIG, "'true' to connect with IAM auth tokens."),
    ParameterSpec(
        Category.DATABASE,
        "app_password",
        Source.GENERATED,
        "Password of the application roles, used only when IAM authentication is unavailable.",
        sensitive=True,
    ),
    ParameterSpec(Category.DATABASE, "statement_timeout_ms", Source.CONFIG, "Server-side statement timeout."),
    ParameterSpec(Category.DATABASE, "connect_timeout_s", Source.CONFIG, "TCP/TLS connect timeout."),
    ParameterSpec(Category.API, "default_page_size", Source.CONFIG, "Page size of GET /orders without limit."),
    ParameterSpec(Category.API, "max_page_size", Source.CONFIG, "Largest accepted limit on GET /orders."),
    ParameterSpec(Category.API, "max_batch_orders", Source.CONFIG, "Largest accepted POST /orders/batch."),
    ParameterSpec(
        Category.API,
        "cursor_signing_key",
        Source.GENERATED,
        "HMAC key that signs pagination cursors so callers cannot forge them.",
        sensitive=True,
    ),
    ParameterSpec(
        Category.CACHE, "parameters_max_age_s", Source.CONFIG, "How long the function caches these parameters."
    ),
    ParameterSpec(Category.CACHE, "idempotency_ttl_s", Source.CONFIG, "How long an Idempotency-Key is remembered."),
    ParameterSpec(
        Category.CACHE,
        "iam_token_refresh_margin_s",
        Source.CONFIG,
        "Refresh an IAM auth token this long before it expires.",
    ),
)


def parameters_in(category: Category) -> tuple[ParameterSpec, ...]:
    """The settings of one category, in definition order."""
    return tuple(spec for spec in PARAMETERS if spec.category is category)


def _stored(category: Category) -> tuple[StoredParameter, ...]:
    """A category's settings grouped by :attr:`ParameterSpec.stored_name`, the document first."""
    names = dict.fromkeys(sorted((spec.stored_name for spec in parameters_in(category)), key=_document_first))
    return tuple(
        StoredParameter(
            category,
            name,
            tuple(spec for spec in parameters_in(category) if spec.stored_name == name),
            document=name == DOCUMENT_NAME,
        )
        for name in names
    )


def _document_first(name: str) -> bool:
    return name != DOCUMENT_NAME


STORED_PARAMETERS: Final[tuple[StoredParameter, ...]] = tuple(
    stored for category in Category for stored in _stored(category)
)
"""The SSM parameters the program creates, by category: the settings document first, then the secrets."""


def stored_parameters_in(category: Category) -> tuple[StoredParameter, ...]:
    """The SSM parameters of one category."""
    return tuple(stored for stored in STORED_PARAMETERS if stored.category is category)


def encode_document(values: Mapping[str, str]) -> str:
    """A settings document's value: its settings' values by name, keys sorted so equal values give equal text."""
    return json.dumps(dict(values), sort_keys=True, separators=(",", ":"))


def decode_document(name: str, text: str) -> dict[str, str]:
    """The values of a settings document; ValueError naming the parameter when it is not a JSON object of strings."""
    try:
        values = json.loads(text)
    except ValueError as error:
        raise ValueError(f"parameter {name} is not JSON ({error.args[0]})") from None
    if not isinstance(values, dict):
        raise ValueError(f"parameter {name} must be a JSON object, got {type(values).__name__}")
    wrong = sorted(key for key, value in values.items() if not isinstance(value, str))
    if wrong:
        raise ValueError(f"parameter {name}: the value of {', '.join(wrong)} must be a JSON string")
    return values


def relative_name(full_name: str, prefix: str, environment: str) -> tuple[Category, str]:
    """Split ``/myapp/dev/api/cursor_signing_key`` into (Category.API, "cursor_signing_key").

    Raises ValueError for a name outside the hierarchy, so a stray parameter is reported rather
    than silently ignored.
    """
    root = f"/{prefix}/{environment}/"
    if not full_name.startswith(root):
        raise ValueError(f"parameter {full_name!r} is not under {root!r}")
    category_value, _, name = full_name[len(root) :].partition("/")
    try:
        category = Category(category_value)
    except ValueError:
        raise ValueError(f"parameter {full_name!r} has unknown category {category_value!r}") from None
    if not name or "/" in name:
        raise ValueError(f"parameter {full_name!r} is not a leaf of category {category.value!r}")
    return category, name
