"""The province's background loops: each runs one step again and again in a thread of its own.

A step answers True when there is more work at once; otherwise the loop pauses for its
``pause``, or until its ``wake`` event is set (the report loop's is set by every commit that
queued a report; the others wake only on stop). A failure the province expects (the hub away,
the database busy) is logged on the first and every twentieth time and the pause doubles, up to
``BACKOFF_MAX``; any other exception is a bug, logged with its traceback, and the loop lives on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from healthcode.core.errors import HealthcodeError
from healthcode.store.errors import DRIVER_ERRORS

__all__ = ["BACKOFF_MAX", "Loop", "run_loop", "start_loops"]

log = logging.getLogger("healthcode.province")

#: The longest pause of a loop that keeps failing (seconds).
BACKOFF_MAX = 5.0
#: Failures a loop expects (the hub away, the database busy): logged, tried again later.
_EXPECTED: tuple[type[Exception], ...] = (HealthcodeError, *DRIVER_ERRORS)

#: A loop: its step, its pause, the event that wakes it early.
Loop = tuple[Callable[[], Any], float, threading.Event]


def run_loop(
    step: Callable[[], Any], pause: float, wake: threading.Event, stop: threading.Event
) -> None:
    """Run ``step`` until ``stop`` is set (see the module)."""
    failures = 0
    while not stop.is_set():
        try:
            again = step() is True
            failures = 0
        except _EXPECTED as exc:
            failures += 1
            if failures == 1 or failures % 20 == 0:
                name = threading.current_thread().name
                log.warning("%s (%d): %s", name, failures, getattr(exc, "code", exc))
            again = False
        except Exception:  # a bug: logged, the loop lives on
            failures += 1
            log.exception("%s failed", threading.current_thread().name)
            again = False
        if not again:
            wait = (
                pause if not failures else min(BACKOFF_MAX, max(pause, 0.1) * 2 ** min(failures, 8))
            )
            wake.wait(wait)
            if wake is not stop:
                wake.clear()


def start_loops(
    loops: Mapping[str, Loop], stop: threading.Event, prefix: str
) -> list[threading.Thread]:
    """Start each loop in a daemon thread named ``<prefix>-<name>``; the threads."""
    threads = []
    for name, (step, pause, wake) in loops.items():
        thread = threading.Thread(
            target=run_loop, args=(step, pause, wake, stop), name=f"{prefix}-{name}", daemon=True
        )
        threads.append(thread)
        thread.start()
    return threads
