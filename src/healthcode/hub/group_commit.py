"""Group commit: the concurrent single submissions of one process, stored together.

Each ``POST /v1/records/{kind}`` of one record used to be a transaction of its own: about ten
round trips and a commit (a WAL flush) per record, with the province's feed counter row locked
from its update to that commit, so concurrent submissions to one province queued on it one
commit at a time. ``GroupCommit`` lets the requests that arrive while a transaction is running
wait for the next one and go in it together: one transaction, the same statements each for the
whole group, one commit.

Each request still gets its own answer, its own error and its own Idempotency-Key: the group's
transaction works out each one's outcome (``Outcome``: an answer, or the error that request
alone would have had) and nothing is answered before the commit. A request whose record was
stored before with other content (``NATURAL_KEY_CONFLICT``) or whose key came with another body
(``IDEMPOTENCY_KEY_REUSED``) writes nothing and gets its error; its neighbours are stored. Two
requests of the same natural key or Idempotency-Key never share a group (the second waits for
the next one and then sees the first as stored before, exactly as if it came after it). A
transient error runs the whole group again (``store/retry.py``); any other failure of a group
runs each of its requests alone, so a request that breaks a transaction fails by itself.

There is no thread of its own: the first request to find no transaction running leads (runs
groups of what has queued, at most ``max_group`` a transaction) until its own request is
answered, then hands the lead to the oldest request still waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GroupCommit", "Outcome", "Waiting"]

#: What a group's transaction gives each request: its answer, or its own error.
Outcome = dict[str, Any] | BaseException


@dataclass(eq=False)
class Waiting:
    """One request in the queue: what the store needs (``item``), the keys no other request of
    its group may share (``keys``), and, once its group has committed, its outcome."""

    item: Any
    keys: tuple[Hashable, ...]
    outcome: Outcome | None = None
    wake: threading.Event = field(default_factory=threading.Event)

    def result(self) -> dict[str, Any]:
        assert self.outcome is not None
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class GroupCommit:
    """Runs ``store(items)`` for groups of concurrent requests; ``store`` returns one
    ``Outcome`` per item (in order) after its transaction committed, or raises when the
    transaction failed as a whole. An error of a ``shared`` type (the database is busy) is
    every member's answer; any other runs each member alone."""

    def __init__(
        self,
        store: Callable[[Sequence[Any]], list[Outcome]],
        *,
        max_group: int = 64,
        shared: tuple[type[Exception], ...] = (),
    ) -> None:
        self._store = store
        self.max_group = max_group
        self._shared = shared
        self._lock = threading.Lock()
        self._queue: list[Waiting] = []
        self._leading = False

    def submit(self, item: Any, keys: tuple[Hashable, ...]) -> dict[str, Any]:
        """Store ``item`` with the next group; its answer, or raises its own error."""
        me = Waiting(item, keys)
        with self._lock:
            self._queue.append(me)
            lead = not self._leading
            self._leading = True
        while True:
            if not lead:
                me.wake.wait()
                me.wake.clear()
                if me.outcome is not None:
                    return me.result()
            self._run(self._take())  # this thread leads
            with self._lock:
                following = self._queue[0] if self._queue else None
                if following is None:
                    self._leading = False
            if me.outcome is not None:
                if following is not None:
                    following.wake.set()  # the oldest waiting request leads now
                return me.result()
            lead = True  # ours was held back to a later group: lead on

    def _take(self) -> list[Waiting]:
        """The next group: queued requests in order, none sharing a key with an earlier one of
        the group (those stay queued, in order), at most ``max_group``."""
        with self._lock:
            group: list[Waiting] = []
            later: list[Waiting] = []
            seen: set[Hashable] = set()
            for waiting in self._queue:
                if len(group) >= self.max_group or seen.intersection(waiting.keys):
                    later.append(waiting)
                    continue
                seen.update(waiting.keys)
                group.append(waiting)
            self._queue = later
        return group

    def _run(self, group: list[Waiting]) -> None:
        """Store ``group``; each member gets an outcome and is woken, whatever happens."""
        try:
            self._settle(group)
        except BaseException as exc:  # never leave a request waiting, nor the lead taken
            for waiting in group:
                if waiting.outcome is None:
                    waiting.outcome = exc
        finally:
            for waiting in group:
                waiting.wake.set()

    def _settle(self, group: list[Waiting]) -> None:
        try:
            outcomes = self._store([w.item for w in group])
        except Exception as exc:
            if len(group) == 1 or isinstance(exc, self._shared):
                for waiting in group:
                    waiting.outcome = exc
                return
            # The transaction failed as a whole: each request alone, so only the one that
            # breaks it fails.
            for waiting in group:
                try:
                    (waiting.outcome,) = self._store([waiting.item])
                except Exception as alone:
                    waiting.outcome = alone
            return
        for waiting, outcome in zip(group, outcomes, strict=True):
            waiting.outcome = outcome
