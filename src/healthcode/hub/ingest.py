"""Ingest: check records, store them durably, route them to provinces' feeds.

The batch contract is **all-or-nothing**. Every record of a batch is checked first
(``hub/batches.py``); if any is wrong, nothing is stored and the answer lists every wrong record
(its index or line, field and code). Otherwise the whole batch is stored in one transaction
together with its feed entries, and the answer is sent only after that transaction has
committed: what is acknowledged is durable, and nothing is ever half-stored.

Retries are safe. A record's natural key is (organisation, kind, ``record_id``): a record sent
again with the same content is a no-op and gets the same id back, so a repeated batch answers
exactly as the first time; the same key with different content is refused
(``NATURAL_KEY_CONFLICT``). A request may also carry an ``Idempotency-Key``: its answer is stored
in the same transaction and given again for a retry with the same body
(``IDEMPOTENCY_KEY_REUSED`` for a different body; ``hub/idempotency.py``).

A record goes to every province holding its person (``hub/holders.py``); when nobody holds
them, to the province of the ID number's region or of the record's ``home_region``, else to the
submitter's province. The SQL of each dialect is the store's ``RecordWriter``
(``store/record_writer.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub import holders
from healthcode.hub.access import require
from healthcode.hub.batches import (
    MAX_ERRORS_LISTED,
    Located,
    check_digests,
    check_size,
    first_of_keys,
    parse_batch,
    position,
    refused,
)
from healthcode.hub.feeds import Feeds, NewEntry
from healthcode.hub.group_commit import GroupCommit
from healthcode.hub.idempotency import earlier_answer, remember
from healthcode.hub.ingest_one import One, store_singles
from healthcode.hub.ingest_one_pg import store_singles_pg
from healthcode.hub.orgs import Principal
from healthcode.hub.records import ParsedRecord, RecordParser
from healthcode.hub.records_fast import NatFastPath
from healthcode.store.crypto import FieldCipher
from healthcode.store.db import Database
from healthcode.store.errors import DatabaseBusy
from healthcode.store.record_writer import RecordWriter, record_writer, stored_records
from healthcode.store.retry import run_write

__all__ = ["MAX_ERRORS_LISTED", "IngestService", "Located", "home_province"]

#: What a store step gives: the answer, built inside the transaction at one instant.
_Step = Callable[[Session, datetime], dict[str, Any]]


class _Again(Exception):
    """The store changed under a batch in a way that a new attempt resolves."""


@dataclass(kw_only=True, eq=False)
class IngestService:
    db: Database
    clock: Clock
    parser: RecordParser
    cipher: FieldCipher
    feeds: Feeds
    batch_max: int
    #: The NAT fast path beside ``parser`` (``hub/records_fast.py``; same pseudonym key).
    fast_nat: NatFastPath | None = None
    writer: RecordWriter = field(init=False)

    singles: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.writer = record_writer(self.db.dialect)
        # one statement a group on PostgreSQL (hub/ingest_one_pg.py), the reference elsewhere
        store = store_singles_pg if self.db.dialect == "postgresql" else store_singles
        self.singles = GroupCommit(partial(store, self), shared=(DatabaseBusy,))

    def submit(
        self,
        principal: Principal,
        kind: str,
        items: Sequence[Located],
        *,
        idempotency_key: str | None = None,
        request_digest: str = "",
        single: bool = False,
    ) -> dict[str, Any]:
        """Check and store ``items`` (all or nothing); returns the answer to send:
        ``{"kind", "count", "ids"}``, or ``{"kind", "id"}`` for ``single``.

        Raises AccessDenied KIND_NOT_ALLOWED; InvalidInput BATCH_EMPTY, BATCH_TOO_LARGE,
        BATCH_INVALID (details ``errors``: one per wrong record), DUPLICATE_IN_BATCH,
        NATURAL_KEY_CONFLICT, IDEMPOTENCY_KEY_REUSED; for ``single``, the record's own error.
        """
        if single and len(items) == 1:  # stored with the concurrent ones (hub/ingest_one.py)
            one = self._one(principal, kind, items[0], idempotency_key, request_digest)
            return self.singles.submit(one, one.keys())
        require(principal, f"submit:{kind}")
        check_size(len(items), self.batch_max)
        now = self.clock.now()  # the batch's records are received at one instant
        parsed = parse_batch(
            self.parser, principal, kind, items, now=now, single=single, fast_nat=self.fast_nat
        )

        def store(s: Session, now: datetime) -> dict[str, Any]:
            (stored,) = self._store(s, principal, [(kind, parsed, items)], now)
            ids = [rid for rid, _ in stored]
            if single:
                return {"kind": kind, "id": ids[0]}
            return {"kind": kind, "count": len(ids), "ids": ids}

        return self._transaction(principal, idempotency_key, request_digest, store)

    async def submit_one(
        self,
        principal: Principal,
        kind: str,
        item: Located,
        *,
        idempotency_key: str | None = None,
        request_digest: str = "",
    ) -> dict[str, Any]:
        """``submit`` of one record (``single``) on the running event loop: checked here,
        stored with the concurrent ones by the groups' thread, no thread held while it waits.
        The same answer and errors as ``submit``."""
        one = self._one(principal, kind, item, idempotency_key, request_digest)
        return await self.singles.submit_async(one, one.keys())

    def _one(
        self, principal: Principal, kind: str, item: Located, key: str | None, digest: str
    ) -> One:
        """A single submission checked (the caller's right to the kind, then the record), for
        the group commit."""
        require(principal, f"submit:{kind}")
        (parsed,) = parse_batch(
            self.parser,
            principal,
            kind,
            [item],
            now=self.clock.now(),
            single=True,
            fast_nat=self.fast_nat,
        )
        return One(principal, kind, parsed, item, key, digest)

    def submit_mixed(
        self,
        principal: Principal,
        items: Sequence[tuple[str, Located]],
        *,
        idempotency_key: str | None = None,
        request_digest: str = "",
    ) -> dict[str, Any]:
        """Records of several kinds, all or nothing in one transaction (a FHIR Bundle).

        Answers ``{"count", "records": [{**where, "kind", "id", "created"}]}`` in the order of
        ``where``. Raises what :meth:`submit` raises (BATCH_INVALID lists the wrong records of
        every kind).
        """
        for kind in sorted({kind for kind, _ in items}):
            require(principal, f"submit:{kind}")
        check_size(len(items), self.batch_max)
        groups = self._parse_groups(principal, items)

        kinds = [(kind, *groups[kind]) for kind in sorted(groups)]  # one order for every writer

        def store(s: Session, now: datetime) -> dict[str, Any]:
            records: list[dict[str, Any]] = []
            for (kind, _, located), stored in zip(
                kinds, self._store(s, principal, kinds, now), strict=True
            ):
                records.extend(
                    {**item.where, "kind": kind, "id": rid, "created": created}
                    for item, (rid, created) in zip(located, stored, strict=True)
                )
            records.sort(key=position)
            return {"count": len(records), "records": records}

        return self._transaction(principal, idempotency_key, request_digest, store)

    # -- steps ------------------------------------------------------------------------------

    def _parse_groups(
        self, principal: Principal, items: Sequence[tuple[str, Located]]
    ) -> dict[str, tuple[list[ParsedRecord], list[Located]]]:
        """The records of each kind, checked (BATCH_INVALID lists the wrong ones of all)."""
        by_kind: dict[str, list[Located]] = {}
        for kind, item in items:
            by_kind.setdefault(kind, []).append(item)
        now = self.clock.now()
        groups: dict[str, tuple[list[ParsedRecord], list[Located]]] = {}
        errors: list[dict[str, Any]] = []
        rejected = 0
        for kind, group in by_kind.items():
            try:
                parsed = parse_batch(
                    self.parser,
                    principal,
                    kind,
                    group,
                    now=now,
                    single=False,
                    fast_nat=self.fast_nat,
                )
            except InvalidInput as exc:
                if exc.code != ErrorCode.BATCH_INVALID:
                    raise
                rejected += int(exc.details["rejected"])
                errors.extend(exc.details["errors"])
                continue
            groups[kind] = (parsed, group)
        if rejected:
            raise refused(rejected, len(items), sorted(errors, key=position))
        return groups

    def _transaction(
        self, principal: Principal, key: str | None, request_digest: str, step: _Step
    ) -> dict[str, Any]:
        """``step`` in one write transaction, with the request's Idempotency-Key. The store's
        runner (``store/retry.py``) runs it again when it met another writer: a deadlock, or
        a natural key or idempotency key inserted by a concurrent writer between our check and
        our insert (the unique constraint refuses it, and the next attempt sees it).

        Raises DatabaseBusy when the attempts run out."""

        def once(s: Session) -> dict[str, Any]:
            now = self.clock.now()
            earlier = earlier_answer(s, principal, key, request_digest)
            if earlier is not None:
                return earlier
            self.feeds.hold_routing(s)
            answer = step(s, now)
            remember(s, principal, key, request_digest, answer, now)
            return answer

        return run_write(self.db, once, again=(_Again,))

    def _store(
        self,
        s: Session,
        principal: Principal,
        kinds: Sequence[tuple[str, list[ParsedRecord], Sequence[Located]]],
        now: datetime,
    ) -> list[list[tuple[int, bool]]]:
        """Store the records of each ``(kind, parsed, located)``, in the one lock order of
        every writer (no deadlocks between batches that share keys, people or provinces):
        records by kind, then natural key; identities by pseudonym; feed counters by province.
        Per kind, the stored id of each record and whether this call created it."""
        out: list[list[tuple[int, bool]]] = []
        inserted: list[tuple[ParsedRecord, tuple[int, str]]] = []
        for kind, parsed, items in kinds:
            stored, of_kind = self._insert_kind(s, principal, kind, parsed, items, now)
            out.append(stored)
            inserted.extend(of_kind)
        if inserted:
            self.announce(s, inserted, now)
        return out

    @staticmethod
    def record_row(
        principal: Principal, kind: str, p: ParsedRecord, now: datetime
    ) -> dict[str, Any]:
        """The ``records`` row of ``p`` (see ``_record_row``)."""
        return _record_row(principal, kind, p, now)

    def announce(
        self, s: Session, inserted: Sequence[tuple[ParsedRecord, tuple[int, str]]], now: datetime
    ) -> None:
        """For records just inserted (each with its id and own province): their people's
        identities upserted, and a feed entry for every province holding each person (else
        the record's own province)."""
        new = [p for p, _ in inserted]
        self._upsert_identities(s, new, now)
        held = holders.holders(s, (p.pseudonym for p in new))
        entries = []
        for p, (rid, own) in inserted:
            data = p.feed_data(rid)  # once a record, whatever the number of its holders
            for province in holders.destinations(held.get(p.pseudonym, []), own):
                entries.append(NewEntry(province, "record", rid, data))
        self.feeds.append(s, entries, now=now)

    def _insert_kind(
        self,
        s: Session,
        principal: Principal,
        kind: str,
        parsed: list[ParsedRecord],
        items: Sequence[Located],
        now: datetime,
    ) -> tuple[list[tuple[int, bool]], list[tuple[ParsedRecord, tuple[int, str]]]]:
        """The stored id of each record, and whether this call created it (False for one
        stored before, and for a later copy of a record earlier in the same batch); and the
        records it inserted (in batch order) with their id and own province.

        New records are inserted first, in natural-key order; only the natural keys stored
        before are read back, to compare their digests (a conflict raises, and the transaction
        keeps nothing)."""
        first_of = first_of_keys(parsed, items)
        uniq = [p for i, p in enumerate(parsed) if first_of[i] == i]
        rows = [_record_row(principal, kind, p, now) for p in uniq]
        inserted = self.writer.insert_new(s, sorted(rows, key=itemgetter("natural_key")))
        before = [p.record_id for p in uniq if p.record_id not in inserted]
        stored = stored_records(s, principal.org_id, kind, before) if before else {}
        if len(stored) < len(before):  # deleted (purged) since the insert saw it: again
            raise _Again("a conflicting record disappeared during the insert")
        check_digests(parsed, items, stored)
        out: list[tuple[int, bool]] = []
        for i, p in enumerate(parsed):
            if p.record_id in inserted:
                out.append((inserted[p.record_id][0], first_of[i] == i))
            else:
                out.append((stored[p.record_id][0], False))
        return out, [(p, inserted[p.record_id]) for p in uniq if p.record_id in inserted]

    def _upsert_identities(self, s: Session, new: list[ParsedRecord], now: datetime) -> None:
        """The identities of the people of ``new``, each field encrypted under its own context
        (table, column and pseudonym)."""
        people = sorted({p.pseudonym: p for p in new}.items())
        # (text, context) of every value to encrypt
        fields = [field for _, p in people for field in p.identity_fields()]
        sealed = iter(self.cipher.encrypt_many(fields))
        rows = [
            {
                "pseudonym": pseudonym,
                "id_type": p.id_type,
                "id_number_enc": next(sealed),
                "name_enc": next(sealed) if p.name else None,
                "phone_enc": next(sealed) if p.phone else None,
                "home_region": p.home_region,
                "last_seen_at": now,
            }
            for pseudonym, p in people
        ]
        self.writer.upsert_identities(s, rows)


def _record_row(principal: Principal, kind: str, p: ParsedRecord, now: datetime) -> dict[str, Any]:
    """The ``records`` row of ``p``; its province is where it goes when nobody holds the
    person (``hub/holders.py``)."""
    return {
        "kind": kind,
        "org_id": principal.org_id,
        "natural_key": p.record_id,
        "digest": p.digest,
        "pseudonym": p.pseudonym,
        "province": home_province(p, principal),
        "occurred_at": p.occurred_at,
        "received_at": now,
        "payload": p.fact,
    }


def home_province(p: ParsedRecord, principal: Principal) -> str:
    """The province of a record whose person is not registered: that of the ID number's region
    or of the record's ``home_region``; else the submitter's province."""
    if p.home_region:
        candidate = p.home_region[:2] + "0000"
        if regions.is_known(candidate):
            return candidate
    return principal.province
