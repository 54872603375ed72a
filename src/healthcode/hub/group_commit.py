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

One thread of its own (started by the first request, ended when idle) runs the groups: it
takes what has queued (at most ``max_group`` a transaction), stores it, and tells each member.
A request may wait in a thread (``submit``) or on an event loop (``submit_async``). The loop's
requests hold no thread while they wait, so a group is as large as the requests in flight, not
as the thread pool, and no request is handed to a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

__all__ = ["GroupCommit", "Outcome", "Waiting"]

#: How long the groups' thread waits for a request before it ends.
IDLE_SECONDS = 5.0

#: What a group's transaction gives each request: its answer, or its own error.
Outcome = dict[str, Any] | BaseException


@dataclass(eq=False)
class Waiting:
    """One request in the queue: what the store needs (``item``), the keys no other request of
    its group may share (``keys``), and, once its group has committed, its outcome; ``done`` is
    called (in the group's thread) once the outcome is set."""

    item: Any
    keys: tuple[Hashable, ...]
    done: Callable[[], None]
    outcome: Outcome | None = None

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
        self._queued = threading.Condition()
        self._queue: list[Waiting] = []
        self._thread: threading.Thread | None = None

    def submit(self, item: Any, keys: tuple[Hashable, ...]) -> dict[str, Any]:
        """Store ``item`` with the next group, waiting in this thread; its answer, or raises
        its own error."""
        stored = threading.Event()
        me = Waiting(item, keys, stored.set)
        self._enqueue(me)
        stored.wait()
        return me.result()

    async def submit_async(self, item: Any, keys: tuple[Hashable, ...]) -> dict[str, Any]:
        """``submit`` waiting on the running event loop (no thread held)."""
        loop = asyncio.get_running_loop()
        stored = loop.create_future()
        me = Waiting(item, keys, partial(_wake, loop, stored))
        self._enqueue(me)
        await stored
        return me.result()

    def _enqueue(self, me: Waiting) -> None:
        with self._queued:
            if self._thread is None:
                thread = threading.Thread(target=self._serve, name="group-commit", daemon=True)
                thread.start()  # it waits for this lock; a thread that cannot start queues none
                self._thread = thread
            self._queue.append(me)
            self._queued.notify()

    def _serve(self) -> None:
        """The groups' thread: a group of what has queued, stored, its members told; again,
        until nothing has queued for ``IDLE_SECONDS`` (the next request starts another)."""
        while True:
            with self._queued:
                if not self._queued.wait_for(lambda: self._queue, timeout=IDLE_SECONDS):
                    self._thread = None
                    return
                group = self._take()
            self._run(group)

    def _take(self) -> list[Waiting]:
        """The next group (the queue's lock held): queued requests in order, none sharing a
        key with an earlier one of the group (those stay queued, in order), at most
        ``max_group``."""
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
                waiting.done()

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


def _wake(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
    """Resolve ``future`` on its loop (from the group's thread); a loop already closed (the
    process stopping) has nobody left to tell."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_settled, future)


def _settled(future: asyncio.Future[None]) -> None:
    if not future.done():  # a request given up (its client gone) is stored all the same
        future.set_result(None)
