"""Single submissions (``POST /v1/records/{kind}``) stored a group at a time.

``hub/group_commit.py`` gathers the concurrent ones; ``store_singles`` stores a group in one
transaction with the statements of a batch (``IngestService``: records inserted by
organisation and kind in natural-key order, identities upserted, holders read, feed entries
appended, each statement once for the group), and works out each request's own outcome, the
one it would have had alone:

- an Idempotency-Key used before: the stored answer again, or ``IDEMPOTENCY_KEY_REUSED``
  (nothing written for that request);
- a natural key stored before: its id when the content is the same, else
  ``NATURAL_KEY_CONFLICT`` (``ON CONFLICT DO NOTHING`` wrote nothing for it);
- otherwise ``{"kind", "id"}`` of the new record, remembered under its key if it has one.

Requests of one group never share a natural key or an Idempotency-Key (``One.keys``), so
no request of a group sees another's write as "stored before".

This is the reference, and the store of SQLite; on PostgreSQL the ingest service stores a group
with ``hub/ingest_one_pg.py`` (the same writes in one statement, two round trips a group).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy.orm import Session

from healthcode.core.clock import Clock
from healthcode.core.errors import InvalidInput
from healthcode.hub.batches import Located, check_digests
from healthcode.hub.feeds import Feeds
from healthcode.hub.group_commit import Outcome
from healthcode.hub.idempotency import answer_again, earlier_answers, remember
from healthcode.hub.orgs import Principal
from healthcode.hub.records import ParsedRecord
from healthcode.store.crypto import FieldCipher
from healthcode.store.db import Database
from healthcode.store.record_writer import RecordWriter, stored_records
from healthcode.store.retry import run_write

__all__ = ["Again", "One", "Service", "StoreNew", "store_group", "store_singles"]


class Service(Protocol):
    """What the store of a group needs of the ingest service (``IngestService``)."""

    db: Database
    clock: Clock
    cipher: FieldCipher
    feeds: Feeds
    writer: RecordWriter

    def record_row(
        self, principal: Principal, kind: str, p: ParsedRecord, now: datetime
    ) -> dict[str, Any]: ...

    def announce(
        self, s: Session, inserted: Sequence[tuple[ParsedRecord, tuple[int, str]]], now: datetime
    ) -> None: ...


class Again(Exception):
    """A record stored before disappeared (purged) during the group's insert."""


@dataclass(frozen=True, slots=True)
class One:
    """One checked single submission."""

    principal: Principal
    kind: str
    parsed: ParsedRecord
    located: Located
    key: str | None  # its Idempotency-Key
    digest: str  # the request's digest (for the key)

    def keys(self) -> tuple[Hashable, ...]:
        """What no other request of its group may share: its natural key, its
        Idempotency-Key."""
        org = self.principal.org_id
        record = ("record", org, self.kind, self.parsed.record_id)
        return (record,) if self.key is None else (record, ("key", org, self.key))


#: Stores a group's new requests (each with its index in the group) in the caller's
#: transaction and sets each one's outcome: ``_store_new`` here, or the PostgreSQL statement of
#: ``hub/ingest_one_pg.py``.
StoreNew = Callable[[Service, Session, list[tuple[int, One]], list[Outcome | None], datetime], None]


def store_group(service: Service, group: Sequence[One], store_new: StoreNew) -> list[Outcome]:
    """Store ``group`` in one write transaction (run again after a transient error): the
    answers of Idempotency-Keys used before, the rest by ``store_new``; each request's
    outcome, in order. Raises DatabaseBusy when the attempts run out."""

    def once(s: Session) -> list[Outcome]:
        now = service.clock.now()
        outcomes: list[Outcome | None] = [None] * len(group)
        wanted = [(o.principal.org_id, o.key) for o in group if o.key is not None]
        earlier = earlier_answers(s, wanted)
        todo: list[int] = []
        for n, one in enumerate(group):
            stored = None if one.key is None else earlier.get((one.principal.org_id, one.key))
            if stored is None:
                todo.append(n)
                continue
            try:
                outcomes[n] = answer_again(stored, one.digest)
            except InvalidInput as exc:
                outcomes[n] = exc
        if todo:
            store_new(service, s, [(n, group[n]) for n in todo], outcomes, now)
        done = [o for o in outcomes if o is not None]
        assert len(done) == len(group)
        return done

    return run_write(service.db, once, again=(Again,))


def store_singles(service: Service, group: Sequence[One]) -> list[Outcome]:
    """Store ``group`` with the batch statements (``store_group``). Raises DatabaseBusy when
    the attempts run out."""
    return store_group(service, group, _store_new)


def _store_new(
    service: Service,
    s: Session,
    todo: list[tuple[int, One]],
    outcomes: list[Outcome | None],
    now: datetime,
) -> None:
    """Insert the records of ``todo`` (by organisation and kind, in natural-key order), set each
    one's outcome, announce the new ones and remember their keys' answers."""
    service.feeds.hold_routing(s)
    by_source: dict[tuple[int, str], list[tuple[int, One]]] = defaultdict(list)
    for n, one in todo:
        by_source[(one.principal.org_id, one.kind)].append((n, one))
    new: list[tuple[ParsedRecord, tuple[int, str]]] = []
    answered: list[tuple[One, dict[str, Any]]] = []
    for (org_id, kind), members in sorted(by_source.items()):
        rows = [service.record_row(o.principal, kind, o.parsed, now) for _, o in members]
        inserted = service.writer.insert_new(s, sorted(rows, key=itemgetter("natural_key")))
        before = [o.parsed.record_id for _, o in members if o.parsed.record_id not in inserted]
        stored = stored_records(s, org_id, kind, before) if before else {}
        if len(stored) < len(before):  # deleted (purged) since the insert saw it: again
            raise Again("a conflicting record disappeared during the insert")
        for n, one in members:
            rid = one.parsed.record_id
            if rid in inserted:
                new.append((one.parsed, inserted[rid]))
                outcomes[n] = answer = {"kind": kind, "id": inserted[rid][0]}
                answered.append((one, answer))
                continue
            try:
                check_digests([one.parsed], [one.located], stored)
            except InvalidInput as exc:
                outcomes[n] = exc
                continue
            outcomes[n] = answer = {"kind": kind, "id": stored[rid][0]}
            answered.append((one, answer))
    if new:
        service.announce(s, new, now)
    for one, answer in answered:
        remember(s, one.principal, one.key, one.digest, answer, now)
