"""The trust state in the hub's database: one locked row, and the published documents beside it.

``trust_state`` holds one row (``id = 1``): the state document of ``core/trust/state.py`` and a
version that grows with every change. Every change and every publication locks that row first
(``SELECT ... FOR UPDATE`` on PostgreSQL; a ``BEGIN IMMEDIATE`` write transaction on SQLite), so
the CLI and any number of hub processes, on any number of machines sharing the database, change
and publish one after the other. A publication reads the state, draws the next sequence of its
kind from ``published_documents`` and stores the document in that same transaction: a crash
leaves either the whole publication or nothing of it.

>>> from datetime import UTC, datetime
>>> from healthcode.store.db import Database
>>> from healthcode.store.migrate import upgrade
>>> db = Database.from_url("sqlite://"); upgrade(db)
>>> from healthcode.core.clock import FixedClock
>>> store = SqlStateStore(db, clock=FixedClock(datetime(2022, 11, 20, tzinfo=UTC)))
>>> store.create({"provinces": ["440000"]})
>>> store.update(lambda s: s["provinces"].append("110000"))
>>> store.load()["provinces"]
['440000', '110000']
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError
from healthcode.core.trust.state import Draft, Published, TrustStateDoc
from healthcode.store.db import Database
from healthcode.store.models import AuditEvent, PublishedDocument, TrustState

__all__ = ["SqlStateStore"]

T = TypeVar("T")
_ROW_ID = 1


def _missing() -> TrustError:
    return TrustError(
        ErrorCode.NETWORK_MISSING,
        "this database holds no trust network (run keys init with its HEALTHCODE_DATABASE_URL)",
    )


def _published(row: PublishedDocument) -> Published:
    return Published(
        kind=row.kind,
        seq=row.seq,
        digest=row.content_digest,
        envelope=row.envelope,
        not_before=row.not_before,
        expires=row.expires,
    )


class SqlStateStore:
    """:class:`healthcode.core.trust.state.StateStore` over a :class:`Database`."""

    def __init__(self, db: Database, *, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def load(self) -> TrustStateDoc | None:
        with self.db.read() as s:
            row = s.get(TrustState, _ROW_ID)
            return None if row is None else copy.deepcopy(row.document)

    def create(self, state: TrustStateDoc) -> None:
        with self.db.write() as s:
            if s.get(TrustState, _ROW_ID) is not None:
                raise TrustError(ErrorCode.NETWORK_EXISTS, "this database already holds a network")
            s.add(TrustState(id=_ROW_ID, version=1, document=state, updated_at=self.clock.now()))

    @staticmethod
    def _locked(s: Session) -> TrustState:
        row = s.execute(
            select(TrustState).where(TrustState.id == _ROW_ID).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise _missing()
        return row

    def update(self, change: Callable[[TrustStateDoc], T]) -> T:
        with self.db.write() as s:
            row = self._locked(s)
            state = copy.deepcopy(row.document)
            result = change(state)
            self._save(row, state)
            return result

    def _save(self, row: TrustState, state: TrustStateDoc) -> None:
        row.document = state
        row.version += 1
        row.updated_at = self.clock.now()

    def last(self, kind: str) -> Published | None:
        with self.db.read() as s:
            row = self._last(s, kind)
            return None if row is None else _published(row)

    @staticmethod
    def _last(s: Session, kind: str) -> PublishedDocument | None:
        return s.execute(
            select(PublishedDocument)
            .where(PublishedDocument.kind == kind)
            .order_by(PublishedDocument.seq.desc())
            .limit(1)
        ).scalar_one_or_none()

    def publish(
        self, kind: str, draft: Callable[[TrustStateDoc, Published | None], Draft | None]
    ) -> Published:
        with self.db.write() as s:
            locked = self._locked(s)
            state = copy.deepcopy(locked.document)
            held = self._last(s, kind)
            last = None if held is None else _published(held)
            made = draft(state, last)
            if made is None:
                assert last is not None, "a first document must be drafted"
                return last
            # the counter in the state never goes back, even if old documents were deleted
            counters = state.setdefault("sequences", {})
            seq = max(int(counters.get(kind, 0)), last.seq if last is not None else 0) + 1
            counters[kind] = seq
            self._save(locked, state)
            row = PublishedDocument(
                kind=kind,
                seq=seq,
                content_digest=made.digest,
                envelope=made.seal(seq),
                not_before=made.not_before,
                expires=made.expires,
                created_at=made.not_before,
            )
            s.add(row)
            s.add(
                AuditEvent(
                    at=made.not_before,
                    org_id=None,
                    action="document.publish",
                    target=f"{kind}:{seq}",
                    details={"kind": kind, "seq": seq, "digest": made.digest},
                )
            )
            s.flush()
            return _published(row)
