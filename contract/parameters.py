"""The SSM Parameter Store hierarchy: ``/{prefix}/{env}/{category}/{name}``.

Defined once, as data. The program creates exactly these parameters (each a SecureString encrypted
with its category's KMS key), the function loads them by path, and the local stack seeds moto with
them. A parameter's ``source`` says where its value comes from, so every consumer can tell a value
the program derives from a resource from one set in stack configuration or generated as a secret.
"""

from __future__ import annotations

import re
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
    """One parameter of the hierarchy."""

    category: Category
    name: str
    source: Source
    description: str
    sensitive: bool = False

    def path(self, prefix: str, environment: str) -> str:
        """Full parameter name, e.g. ``/myapp/dev/database/writer_host``."""
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
    """The parameters of one category, in definition order."""
    return tuple(spec for spec in PARAMETERS if spec.category is category)


def relative_name(full_name: str, prefix: str, environment: str) -> tuple[Category, str]:
    """Split ``/myapp/dev/api/max_page_size`` into (Category.API, "max_page_size").

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
