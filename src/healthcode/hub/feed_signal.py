"""Waking the readers of a feed when it grows: what makes a feed long-poll cheap.

A province reading its feed with ``wait`` (``GET /v1/feeds/{province}?after=N&wait=S``) is
answered as soon as entries exist, else after ``S`` seconds. It waits on the event loop, holding
no thread and no database connection: ``FeedSignal.wait`` returns when the province's
generation moves on or the time runs out, and only then is the feed read again, in the thread
pool. A wake-up that finds nothing (an entry of a transaction that rolled back, another
waiter's page) is harmless: the reader waits again until its deadline.

Two sources move a generation:

- this process's own commits: ``Feeds.append`` marks the session, and after the session
  commits, ``FeedSignal.notify`` runs with the provinces it appended to (``hub/feeds.py``);
- on PostgreSQL, the other server processes' (``hub serve --workers``): each appending
  transaction also sends ``NOTIFY healthcode_feed`` (delivered only when it commits), and
  ``FeedListener``, one thread per process with a connection of its own doing ``LISTEN``,
  notifies the signal of what the other processes committed. Notifications of its own
  signal's commits are skipped (the first source has them). Its connection lost, it connects
  again and wakes every reader (what it missed meanwhile is found by their reads).

Without the listener (SQLite: one process), a reader still gets every entry: at worst after
its ``wait``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable

from healthcode.store.feed_writer import CHANNEL

__all__ = ["FeedListener", "FeedSignal"]

log = logging.getLogger("healthcode.hub.feeds")


_Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class FeedSignal:
    """A generation per province, and the event-loop futures waiting for it to move on.

    ``notify`` may be called from any thread; ``wait`` runs on an event loop.
    """

    def __init__(self) -> None:
        #: Names this signal's commits in PostgreSQL notifications.
        self.origin = secrets.token_hex(6)
        self._lock = threading.Lock()
        self._generations: dict[str, int] = defaultdict(int)
        self._waiters: dict[str, set[_Waiter]] = defaultdict(set)

    def generation(self, province: str) -> int:
        """Take this before reading the feed; ``wait`` with it after finding nothing."""
        with self._lock:
            return self._generations[province]

    def notify(self, provinces: Iterable[str]) -> None:
        """Entries were committed for these provinces: wake their readers."""
        woken: list[_Waiter] = []
        with self._lock:
            for province in provinces:
                self._generations[province] += 1
                woken.extend(self._waiters.pop(province, ()))
        for loop, future in woken:
            # a closed loop (RuntimeError) has nobody waiting any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future)

    def notify_all(self) -> None:
        """Wake every reader (what was missed is found by reading)."""
        with self._lock:
            provinces = list(self._waiters)
        self.notify(provinces)

    async def wait(self, province: str, seen: int, timeout: float) -> bool:
        """Until ``province``'s generation is no longer ``seen``, at most ``timeout``
        seconds; whether it moved on."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._lock:
            if self._generations[province] != seen:
                return True
            self._waiters[province].add(entry)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                waiting = self._waiters.get(province)
                if waiting is not None:
                    waiting.discard(entry)
                    if not waiting:
                        del self._waiters[province]

    def waiting(self) -> int:
        """How many readers wait now (for tests and health)."""
        with self._lock:
            return sum(len(w) for w in self._waiters.values())


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class FeedListener:
    """``LISTEN healthcode_feed`` on a connection of its own, in a thread: the other
    processes' commits notified to ``signal``. ``start()`` / ``stop()``."""

    def __init__(self, *, conninfo: str, signal: FeedSignal, poll_seconds: float = 1.0) -> None:
        self._conninfo = conninfo
        self._signal = signal
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="hub-feed-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen()
                failures = 0
            except Exception as exc:  # the server away: connect again, with a pause
                failures += 1
                if failures == 1 or failures % 20 == 0:
                    log.warning("feed listener (%d): %s", failures, type(exc).__name__)
            self.listening.clear()
            self._signal.notify_all()
            self._stop.wait(min(5.0, 0.1 * 2 ** min(failures, 6)))

    def _listen(self) -> None:
        import psycopg

        own = self._signal.origin
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self._signal.notify_all()  # what committed before we listened
            while not self._stop.is_set():
                for note in conn.notifies(timeout=self._poll):
                    province, _, origin = note.payload.partition(" ")
                    if origin != own:
                        self._signal.notify((province,))
