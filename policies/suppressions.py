"""Suppressions: a reviewed decision to accept one policy's finding on some resources, for a while.

A suppression is policy configuration, so ``pulumi preview --policy-pack policies
--policy-pack-config FILE`` applies it exactly as the offline gate does. It sits under the policy it
suppresses, because the engine hands each policy only its own entry (``all`` carries just an
enforcement level: pulumi/pulumi ``pkg/resource/analyzer/config.go``, ``applyConfig``)::

    {
      "sqs-queue-kms": {
        "suppressions": [
          {
            "resource": "serverless-infra-prod-queue-*",
            "justification": "The queues carry only public reference data, encrypted by SQS itself.",
            "owner": "platform-team",
            "expires": "2027-03-31"
          }
        ]
      }
    }

``resource`` is a full URN or a glob over the URN or the resource's name; ``expires`` is the last day
the suppression holds. The engine validates every entry against the schema below (a justification of
at least five words, an owner, a date) before the pack runs.

The CrossGuard SDK has no "suppressed" state and reports every violation at its policy's enforcement
level, so a suppressed violation is not reported by its policy. The ``suppressed-findings`` policy
(advisory) reports it instead, prefixed ``suppressed:``, so the engine still shows it without
failing; ``policy-suppressions`` (mandatory) fails the run for every suppression that has expired
or matched nothing. Both run last, as stack policies: the engine calls AnalyzeStack after every
resource's Analyze, and the SDK runs stack policies in the pack's order, so the process-wide
:data:`LEDGER` is complete by then.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Final

PROPERTY: Final = "suppressions"
MIN_JUSTIFICATION_WORDS: Final = 5

SCHEMA: Final[Mapping[str, Any]] = {
    "type": "array",
    "description": (
        "Reviewed exceptions to this policy: each {resource (URN or glob over URN or name), justification "
        "(a sentence), owner, expires (YYYY-MM-DD, last day it holds)}."
    ),
    "items": {
        "type": "object",
        "properties": {
            "resource": {"type": "string", "minLength": 1},
            "justification": {
                "type": "string",
                "pattern": rf"^\s*\S+(\s+\S+){{{MIN_JUSTIFICATION_WORDS - 1},}}\s*$",
                "description": f"at least a sentence ({MIN_JUSTIFICATION_WORDS} words or more)",
            },
            "owner": {"type": "string", "pattern": r"\S"},
            "expires": {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        },
        "required": ["resource", "justification", "owner", "expires"],
        "additionalProperties": False,
    },
    "default": [],
}


def covers(pattern: str, urn: str) -> bool:
    """True when ``pattern`` is the URN, or a glob over the URN or the resource's name (its last part)."""
    name = urn.rsplit("::", 1)[-1]
    return bool(urn) and (fnmatchcase(urn, pattern) or fnmatchcase(name, pattern))


@dataclass(frozen=True)
class Suppression:
    policy: str
    resource: str
    justification: str
    owner: str
    expires: dt.date

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    def matches(self, urn: str) -> bool:
        return covers(self.resource, urn)

    def status(self, today: dt.date, used: bool) -> str:
        return "expired" if self.expired(today) else ("active" if used else "unused")

    def to_json(self, today: dt.date, used: bool) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "resource": self.resource,
            "justification": self.justification,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
            "status": self.status(today, used),
        }


def parse(policy: str, config: Mapping[str, Any] | None) -> tuple[Suppression, ...]:
    """A policy's suppressions from its (engine-validated) config; entries it cannot read are skipped."""
    found = []
    for entry in (config or {}).get(PROPERTY) or ():
        try:
            expires = dt.date.fromisoformat(str(entry["expires"]))
            found.append(
                Suppression(
                    policy,
                    str(entry["resource"]).strip(),
                    " ".join(str(entry["justification"]).split()),
                    str(entry["owner"]).strip(),
                    expires,
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(found)


@dataclass(frozen=True)
class Suppressed:
    """A violation a live suppression kept from its policy's report."""

    suppression: Suppression
    urn: str
    message: str


@dataclass
class Ledger:
    """What this pack process saw: each policy's suppressions, which ones held, what they suppressed."""

    declared: dict[str, tuple[Suppression, ...]] = field(default_factory=dict)
    used: set[Suppression] = field(default_factory=set)
    suppressed: list[Suppressed] = field(default_factory=list)

    def declare(self, policy: str, config: Mapping[str, Any] | None) -> tuple[Suppression, ...]:
        found = parse(policy, config)
        self.declared[policy] = found
        return found

    def suppresses(
        self, suppressions: tuple[Suppression, ...], urn: str, message: str, today: dt.date | None = None
    ) -> bool:
        """Whether a live suppression covers this violation; records it when one does."""
        day = today or dt.date.today()
        for suppression in suppressions:
            if suppression.matches(urn) and not suppression.expired(day):
                self.used.add(suppression)
                entry = Suppressed(suppression, urn, message)
                if entry not in self.suppressed:
                    self.suppressed.append(entry)
                return True
        return False

    def reset(self) -> None:
        self.declared.clear()
        self.used.clear()
        self.suppressed.clear()


LEDGER: Final = Ledger()

_SUPPRESSED = re.compile(
    r"^suppressed: (?P<policy>[^:\s]+): (?P<message>.*?) — justification: (?P<justification>.*) "
    r"\(owner: (?P<owner>.*); expires: (?P<expires>\d{4}-\d{2}-\d{2})\)$",
    re.DOTALL,
)


def describe(entry: Suppressed) -> str:
    """The advisory message ``suppressed-findings`` reports for a suppressed violation."""
    s = entry.suppression
    return (
        f"suppressed: {s.policy}: {entry.message} — justification: {s.justification} "
        f"(owner: {s.owner}; expires: {s.expires.isoformat()})"
    )


def read_description(message: str) -> tuple[str, str, str] | None:
    """(policy, original message, justification) from a :func:`describe` message, else None."""
    match = _SUPPRESSED.match(message)
    return (match["policy"], match["message"], match["justification"]) if match else None
