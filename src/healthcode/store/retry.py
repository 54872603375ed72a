"""The one place that retries a write transaction: ``run_write(db, step)``.

Writers that meet each other can end a transaction through no fault of theirs: PostgreSQL
breaks a deadlock by aborting one side (``40P01``), a serialisable transaction may fail
(``40001``), a concurrent writer may insert a unique key between a check and an insert. The
transaction then left nothing behind, and running it again from the start resolves it. So
``run_write`` runs ``step`` in a fresh ``Database.write()`` transaction, and on a transient
error (``store/errors.py``) runs it again, at most ``RetryPolicy.attempts`` times, after a
short random pause (full jitter: two writers that collided do not collide again in step).
When attempts run out the caller gets ``DatabaseBusy`` (503 with ``Retry-After``).

SQLite is not retried here: a ``database is locked`` comes after the connection already waited
its busy timeout (``Database.write``), so the request answers ``DatabaseBusy`` at once.

``step`` must only read and write through the session it is given: everything it does is undone
with the transaction, so running it again is safe. A side effect outside the transaction (a
message sent, a file written) must happen after ``run_write`` returns, never inside ``step``.

>>> from healthcode.store.db import Database
>>> run_write(Database.from_url("sqlite://"), lambda s: 42)
42
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.orm import Session

from healthcode.store.db import Database
from healthcode.store.errors import DRIVER_ERRORS, DatabaseBusy, describe, is_transient

__all__ = ["DEFAULT_POLICY", "RetryPolicy", "run_write"]

T = TypeVar("T")
log = logging.getLogger("healthcode.store")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to wait between attempts: attempt ``n`` (from 1) is followed by
    a random pause in ``[0, min(cap, base * 2**n))`` seconds."""

    attempts: int = 6
    base: float = 0.01
    cap: float = 0.25
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[float, float], float] = field(default=random.uniform, repr=False)

    def pause(self, attempt: int) -> None:
        self.sleep(self.jitter(0.0, min(self.cap, self.base * 2**attempt)))


DEFAULT_POLICY = RetryPolicy()


def run_write(
    db: Database,
    step: Callable[[Session], T],
    *,
    again: tuple[type[Exception], ...] = (),
    policy: RetryPolicy = DEFAULT_POLICY,
) -> T:
    """``step(session)`` in a write transaction, committed; run again from the start after a
    transient database error or one of ``again`` (the caller's own "the store changed under
    me" signals), at most ``policy.attempts`` times in all.

    Raises DatabaseBusy when the attempts run out or SQLite stayed locked; what ``step``
    raises otherwise (and a driver error that is not transient, unchanged).
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            with db.write() as session:
                return step(session)
        except again as exc:
            reason = type(exc).__name__
        except DRIVER_ERRORS as exc:
            if not is_transient(exc):
                raise
            reason = describe(exc)
        if attempt < policy.attempts:
            log.info("write retried (attempt %d of %d): %s", attempt, policy.attempts, reason)
            policy.pause(attempt)
    log.warning("write gave up after %d attempts: %s", policy.attempts, reason)
    raise DatabaseBusy()
