"""Resource naming: ``serverless-infra-{env}-{resource-type}[-{qualifier}]``.

The program names every resource through :func:`resource_name`; the policy pack checks names with
:data:`NAME_PATTERN`. Both sides read this module, so a rename cannot make them disagree.
"""

from __future__ import annotations

import re
from typing import Final

APPLICATION: Final = "serverless-infra"
ENVIRONMENTS: Final = ("dev", "staging", "prod")
REGION: Final = "us-east-1"

_SEGMENT = r"[a-z0-9]+(?:-[a-z0-9]+)*"
NAME_PATTERN: Final = re.compile(rf"^{re.escape(APPLICATION)}-(?P<env>{'|'.join(ENVIRONMENTS)})-(?P<rest>{_SEGMENT})$")
_SEGMENT_RE: Final = re.compile(rf"^{_SEGMENT}$")


def resource_name(environment: str, resource_type: str, qualifier: str | None = None) -> str:
    """Return the canonical name of a resource, e.g. ``serverless-infra-dev-vpc``.

    ``qualifier`` tells apart several resources of one type (``subnet`` ``app-a``). Only lower-case
    letters, digits and single hyphens are accepted, so the name is valid for every AWS service we
    use (S3 buckets and RDS identifiers are the strictest).
    """
    if environment not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {environment!r}; expected one of {ENVIRONMENTS}")
    parts = [resource_type] + ([qualifier] if qualifier else [])
    for part in parts:
        if not _SEGMENT_RE.match(part):
            raise ValueError(f"name part {part!r} must be lower-case letters, digits and hyphens")
    return f"{APPLICATION}-{environment}-{'-'.join(parts)}"


def environment_of(name: str) -> str | None:
    """Return the environment a canonical name belongs to, or None when it is not canonical."""
    match = NAME_PATTERN.match(name)
    return match.group("env") if match else None


REQUIRED_TAG_KEYS: Final = ("Environment", "CostCenter", "Owner", "Application", "Backup", "Compliance")
"""Tags every taggable resource carries; the program sets them, the policy pack checks them."""
