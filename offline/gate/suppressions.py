"""Suppressions: a reviewed decision to accept one policy's finding on one resource.

They live in the project (``policy-suppressions.yaml``)::

    suppressions:
      - policy: s3-access-logging
        resource: serverless-infra-prod-bucket-artifacts   # URN name, or the full URN
        justification: Access to this bucket is already recorded by CloudTrail data events.
        expires: 2026-12-31                                  # optional; afterwards it stops suppressing

A justification must be at least a sentence, so the reason survives review. Every suppression is
reported, whether it matched, expired or matched nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FILE_NAME = "policy-suppressions.yaml"
MIN_JUSTIFICATION_WORDS = 5


class SuppressionError(Exception):
    """The suppressions file is malformed; the message names the entry and the problem."""


@dataclass(frozen=True)
class Suppression:
    policy: str
    resource: str
    justification: str
    expires: dt.date | None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def matches(self, policy: str, urn: str) -> bool:
        return self.policy == policy and self.resource in (urn, urn.rsplit("::", 1)[-1])

    def to_json(self, today: dt.date, used: bool) -> dict[str, Any]:
        status = "expired" if self.expired(today) else ("active" if used else "unused")
        return {
            "policy": self.policy,
            "resource": self.resource,
            "justification": self.justification,
            "expires": self.expires.isoformat() if self.expires else None,
            "status": status,
        }


def load(path: Path) -> list[Suppression]:
    """Read and validate a suppressions file; a missing file means no suppressions."""
    if not path.exists():
        return []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SuppressionError(f"{path}: {error}") from error
    if document is None:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("suppressions"), list):
        raise SuppressionError(f"{path}: expected a mapping with a 'suppressions' list")
    found = []
    for index, entry in enumerate(document["suppressions"], start=1):
        where = f"{path}: suppression #{index}"
        if not isinstance(entry, dict):
            raise SuppressionError(f"{where}: must be a mapping")
        unknown = set(entry) - {"policy", "resource", "justification", "expires"}
        if unknown:
            raise SuppressionError(f"{where}: unknown key(s) {sorted(unknown)}")
        for key in ("policy", "resource", "justification"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise SuppressionError(f"{where}: '{key}' is required and must be a non-empty string")
        justification = " ".join(entry["justification"].split())
        if len(justification.split()) < MIN_JUSTIFICATION_WORDS:
            raise SuppressionError(
                f"{where}: the justification must be at least a sentence ({MIN_JUSTIFICATION_WORDS} words or more)"
            )
        expires = entry.get("expires")
        if expires is not None:
            if isinstance(expires, str):
                try:
                    expires = dt.date.fromisoformat(expires)
                except ValueError as error:
                    raise SuppressionError(f"{where}: 'expires' must be a date (YYYY-MM-DD)") from error
            if not isinstance(expires, dt.date):
                raise SuppressionError(f"{where}: 'expires' must be a date (YYYY-MM-DD)")
        found.append(Suppression(entry["policy"].strip(), entry["resource"].strip(), justification, expires))
    return found
