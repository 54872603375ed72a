"""What a code of a person's current colour state says, kept between requests.

Issuing reads the person, their colour row and facts document (one statement) and prepares
what every code of that colour state says (``codes.Prepared``); :class:`Kept` keeps it per
person, so the next request signs without a database read. A kept entry is never stale:

- every transaction that re-evaluates people (the seam ``ProvinceService.reevaluate``, the
  columnar paths) forgets them once it has committed (:func:`forget_after_commit`; the
  columnar paths forget everyone), before anything else can read what it wrote;
- an entry read while a forget happened is not kept (:meth:`Kept.mark` before the read,
  :meth:`Kept.put` refuses it): a read racing a commit never keeps the older row;
- the reader checks what time alone changes (``until`` passed, another rule set in use)
  on every hit, as on a read.

It assumes this process makes every write to the database (one ``province serve`` per
database, as it runs). Several processes on one database set
``HEALTHCODE_PROVINCE_STATES_KEPT=0``: every request reads (the plain path, which a property
test keeps equal to the kept one).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

__all__ = ["Kept", "forget_after_commit"]

V = TypeVar("V")


class Kept(Generic[V]):
    """At most ``size`` entries by pseudonym (the oldest put goes first); 0 keeps nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[str, V] = {}
        self._forgets = 0  # how many forgets so far
        self._lock = threading.Lock()

    def get(self, pseudonym: str) -> V | None:
        return self._entries.get(pseudonym)

    def mark(self) -> int:
        """Taken before a read whose result may be put."""
        return self._forgets

    def put(self, pseudonym: str, value: V, mark: int) -> None:
        """Keep ``value``, read after ``mark``, unless a forget happened since."""
        if not self.size:
            return
        with self._lock:
            if self._forgets != mark:
                return
            self._entries.pop(pseudonym, None)
            while len(self._entries) >= self.size:
                del self._entries[next(iter(self._entries))]
            self._entries[pseudonym] = value

    def forget(self, pseudonyms: Collection[str] | None) -> None:
        """Drop these people's entries (None: everyone's)."""
        with self._lock:
            self._forgets += 1
            if pseudonyms is None:
                self._entries.clear()
                return
            for p in pseudonyms:
                self._entries.pop(p, None)

    def __len__(self) -> int:
        return len(self._entries)


_PENDING = "healthcode_kept_forget"


def forget_after_commit(
    session: Session, kept: Kept[Any], pseudonyms: Collection[str] | None
) -> None:
    """Have ``kept`` forget ``pseudonyms`` (None: everyone) once ``session``'s transaction has
    committed (nothing changes for a reader before; after a rollback nothing changed, and
    a transaction run again forgets them when it commits)."""
    pending: dict[str, Any] | None = session.info.get(_PENDING)
    if pending is None:
        pending = {"people": set(), "all": False}
        session.info[_PENDING] = pending

        def committed(s: Session) -> None:
            done = s.info.pop(_PENDING, None)
            if done is not None:
                kept.forget(None if done["all"] else done["people"])

        event.listen(session, "after_commit", committed)
    if pseudonyms is None:
        pending["all"] = True
    else:
        pending["people"].update(pseudonyms)
