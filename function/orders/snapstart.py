"""SnapStart: what an environment restored from a snapshot must not share with the others restored from it.

With SnapStart, Lambda runs the init phase once per published version, snapshots the memory, and
starts every new environment from that snapshot
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html). Whatever init left in memory is
therefore shared by all of them (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-uniqueness.html):

- the ``random`` module's state: every restored environment would draw the same retry jitter, and
  retries meant to spread out would arrive together;
- network connections (database sessions, pooled sockets): they were open on another machine, at
  another time, and are dead after a restore;
- IAM database auth tokens: signed with the credentials of the environment that took the snapshot,
  and dated by a monotonic clock that does not carry over.

The after-restore hook reseeds ``random`` from the operating system's entropy and makes the
database layer forget its connections and tokens, so the first request after a restore connects
afresh. It connects nothing itself: the hook and the runtime's restore must finish within 10 s or
the restore fails (``SnapStartTimeoutException``), and a database outage must fail one request,
not the environment
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html).
Settings need nothing: powertools dates its cache entries by the wall clock, which is right after a
restore, so values older than their ``max_age`` are fetched again. AWS clients need nothing: with
SnapStart, Lambda hands out credentials through the container credentials endpoint, which botocore
refreshes (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-activate.html).

``snapshot_restore_py`` is part of Lambda's Python runtimes (3.12 and later); where it is absent
(tests, tools, another runtime) nothing is registered and nothing fails.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol


class Restorable(Protocol):
    """What the hook asks of the database layer (:class:`orders.database.Database`)."""

    def forget_environment(self) -> None: ...


def register_after_restore(hook: Callable[[], None]) -> bool:
    """Run ``hook`` after every restore from a snapshot; False where the runtime has no SnapStart hooks."""
    try:
        from snapshot_restore_py import register_after_restore as register  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return False
    register(hook)
    return True


def refresh(database: Restorable | None) -> None:
    """Make this environment its own again: fresh entropy for ``random``, no inherited connections or tokens."""
    random.seed()  # from os.urandom: https://docs.python.org/3/library/random.html#random.seed
    if database is not None:
        database.forget_environment()


def install(database: Callable[[], Restorable | None]) -> bool:
    """Register :func:`refresh` for the database ``database()`` returns at restore time (None: none made yet)."""
    return register_after_restore(lambda: refresh(database()))
