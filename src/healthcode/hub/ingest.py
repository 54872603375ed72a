"""Ingest: check records, store them durably, route them to provinces' feeds.

The batch contract is **all-or-nothing**. Every record of a batch is checked first; if any is
wrong, nothing is stored and the answer lists every wrong record (its index or line, field and
code). Otherwise the whole batch is stored in one transaction together with its feed entries,
and the answer is sent only after that transaction has committed: what is acknowledged is
durable, and nothing is ever half-stored.

Retries are safe. A record's natural key is (organisation, kind, ``record_id``): a record sent
again with the same content is a no-op and gets the same id back, so a repeated batch answers
exactly as the first time; the same key with different content is refused
(``NATURAL_KEY_CONFLICT``). A request may also carry an ``Idempotency-Key``: its answer is stored
in the same transaction and given again for a retry with the same body
(``IDEMPOTENCY_KEY_REUSED`` for a different body).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, InvalidInput
from healthcode.hub import feeds
from healthcode.hub.access import require
from healthcode.hub.orgs import Principal
from healthcode.hub.records import ParsedRecord, RecordParser
from healthcode.store.bulk import (
    JsonText,
    insert_unnest,
    is_postgresql,
)
from healthcode.store.crypto import FieldCipher
from healthcode.store.db import Database
from healthcode.store.models import IdempotencyKey, Identity, Record, Registration

__all__ = ["MAX_ERRORS_LISTED", "IngestService", "Located"]

#: A rejected batch lists at most this many wrong records (and says how many there were).
MAX_ERRORS_LISTED = 1000
_CHUNK = 500
_RETRIES = 3
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Located:
    """A raw record and where it was in the request: ``{"index": 3}`` or ``{"line": 4}``."""

    where: dict[str, int]
    raw: Any


def _position(entry: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(entry.get(k, 0)) for k in ("entry", "index", "line"))


def _error_entry(where: dict[str, int], exc: HealthcodeError) -> dict[str, Any]:
    return {**where, **exc.to_dict()}


class IngestService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        parser: RecordParser,
        cipher: FieldCipher,
        batch_max: int,
    ) -> None:
        self.db = db
        self.clock = clock
        self.parser = parser
        self.cipher = cipher
        self.batch_max = batch_max

    # -- public -----------------------------------------------------------------------------

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
        """Check and store ``items`` (all or nothing); returns the answer to send.

        Raises AccessDenied KIND_NOT_ALLOWED; InvalidInput BATCH_EMPTY, BATCH_TOO_LARGE,
        BATCH_INVALID (details ``errors``: one per wrong record), DUPLICATE_IN_BATCH,
        NATURAL_KEY_CONFLICT, IDEMPOTENCY_KEY_REUSED; for ``single``, the record's own error.
        """
        require(principal, f"submit:{kind}")
        if not items:
            raise InvalidInput(ErrorCode.BATCH_EMPTY, "the request holds no records")
        if len(items) > self.batch_max:
            raise InvalidInput(
                ErrorCode.BATCH_TOO_LARGE,
                f"{len(items)} records; at most {self.batch_max} a request",
                limit=self.batch_max,
            )
        parsed = self._parse_all(principal, kind, items, single=single)
        return self._retrying(
            lambda: self._store(
                principal, kind, parsed, items, idempotency_key, request_digest, single
            )
        )

    def submit_mixed(
        self,
        principal: Principal,
        items: Sequence[tuple[str, Located]],
        *,
        idempotency_key: str | None = None,
        request_digest: str = "",
    ) -> dict[str, Any]:
        """Records of several kinds, all or nothing in one transaction (a FHIR Bundle).

        Answers ``{"count", "records": [{**where, "kind", "id"}]}`` in the order of ``where``.
        Raises what :meth:`submit` raises (BATCH_INVALID lists the wrong records of every kind).
        """
        for kind in sorted({kind for kind, _ in items}):
            require(principal, f"submit:{kind}")
        if not items:
            raise InvalidInput(ErrorCode.BATCH_EMPTY, "the request holds no records")
        if len(items) > self.batch_max:
            raise InvalidInput(
                ErrorCode.BATCH_TOO_LARGE,
                f"{len(items)} records; at most {self.batch_max} a request",
                limit=self.batch_max,
            )
        by_kind: dict[str, list[Located]] = {}
        for kind, item in items:
            by_kind.setdefault(kind, []).append(item)
        groups: dict[str, tuple[list[ParsedRecord], list[Located]]] = {}
        errors: list[dict[str, Any]] = []
        rejected = 0
        for kind, group in by_kind.items():
            try:
                groups[kind] = (self._parse_all(principal, kind, group, single=False), group)
            except InvalidInput as exc:
                if exc.code != ErrorCode.BATCH_INVALID:
                    raise
                rejected += int(exc.details["rejected"])
                errors.extend(exc.details["errors"])
        if rejected:
            raise InvalidInput(
                ErrorCode.BATCH_INVALID,
                f"{rejected} of {len(items)} records are invalid; nothing was stored",
                rejected=rejected,
                errors=sorted(errors, key=_position)[:MAX_ERRORS_LISTED],
            )
        return self._retrying(
            lambda: self._store_mixed(principal, groups, idempotency_key, request_digest)
        )

    # -- steps ------------------------------------------------------------------------------

    def _parse_all(
        self, principal: Principal, kind: str, items: Sequence[Located], *, single: bool
    ) -> list[ParsedRecord]:
        defaults = {"lab": principal.name} if kind in ("nat", "antibody") else {}
        parsed: list[ParsedRecord] = []
        errors: list[dict[str, Any]] = []
        rejected = 0
        now = self.clock.now()  # the batch's records are received at one instant
        for item in items:
            try:
                parsed.append(self.parser.parse(kind, item.raw, defaults=defaults, now=now))
            except InvalidInput as exc:
                if single:
                    raise
                rejected += 1
                if len(errors) < MAX_ERRORS_LISTED:
                    errors.append(_error_entry(item.where, exc))
        if rejected:
            raise InvalidInput(
                ErrorCode.BATCH_INVALID,
                f"{rejected} of {len(items)} records are invalid; nothing was stored",
                rejected=rejected,
                errors=errors,
            )
        return parsed

    def _retrying(self, action: Callable[[], T]) -> T:
        # A concurrent writer may insert the same natural key or idempotency key between our
        # check and our insert; the unique constraint refuses it, and the retry sees it.
        for attempt in range(_RETRIES):
            try:
                return action()
            except (IntegrityError, _Again):
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _store(
        self,
        principal: Principal,
        kind: str,
        parsed: list[ParsedRecord],
        items: Sequence[Located],
        idempotency_key: str | None,
        request_digest: str,
        single: bool,
    ) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.write() as s:
            earlier = self._earlier_answer(s, principal, idempotency_key, request_digest)
            if earlier is not None:
                return earlier
            feeds.hold_routing(s)
            ids = [rid for rid, _ in self._store_kind(s, principal, kind, parsed, items, now)]
            answer: dict[str, Any] = {"kind": kind, "count": len(ids), "ids": ids}
            if single:
                answer = {"kind": kind, "id": ids[0]}
            self._remember(s, principal, idempotency_key, request_digest, answer, now)
        return answer

    def _store_mixed(
        self,
        principal: Principal,
        groups: dict[str, tuple[list[ParsedRecord], list[Located]]],
        idempotency_key: str | None,
        request_digest: str,
    ) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.write() as s:
            earlier = self._earlier_answer(s, principal, idempotency_key, request_digest)
            if earlier is not None:
                return earlier
            feeds.hold_routing(s)
            records: list[dict[str, Any]] = []
            for kind in sorted(groups):  # one order for every writer
                parsed, items = groups[kind]
                stored = self._store_kind(s, principal, kind, parsed, items, now)
                records.extend(
                    {**item.where, "kind": kind, "id": rid, "created": created}
                    for item, (rid, created) in zip(items, stored, strict=True)
                )
            records.sort(key=_position)
            answer: dict[str, Any] = {"count": len(records), "records": records}
            self._remember(s, principal, idempotency_key, request_digest, answer, now)
        return answer

    def _store_kind(
        self,
        s: Session,
        principal: Principal,
        kind: str,
        parsed: list[ParsedRecord],
        items: Sequence[Located],
        now: Any,
    ) -> list[tuple[int, bool]]:
        """The stored id of each record, and whether this call created it (False for one
        stored before, and for a later copy of a record earlier in the same batch)."""
        first_of = self._dedupe(parsed, items)
        if is_postgresql(s):
            return self._store_kind_pg(s, principal, kind, parsed, items, first_of, now)
        existing = self._existing(s, principal, kind, parsed, first_of, items)
        new = [p for i, p in enumerate(parsed) if first_of[i] == i and p.record_id not in existing]
        new_ids = self._insert(s, principal, kind, new, now)
        return _answer(parsed, first_of, new_ids, existing)

    def _store_kind_pg(
        self,
        s: Session,
        principal: Principal,
        kind: str,
        parsed: list[ParsedRecord],
        items: Sequence[Located],
        first_of: list[int],
        now: Any,
    ) -> list[tuple[int, bool]]:
        """PostgreSQL: insert first, look up only what was there already.

        One ``INSERT ... ON CONFLICT (org_id, kind, natural_key) DO NOTHING RETURNING`` for
        the batch: the unique index itself finds the natural keys stored before (an index probe
        per row, whatever the table's statistics say), and only those are read back to compare
        digests. A conflict raises inside the transaction, so nothing of the batch stays. A
        concurrent writer of the same key makes the insert wait for its commit and then see
        the row, as the unique constraint did before.

        A batch of at least ``OPTIMISTIC_MIN`` records first tries a plain ``INSERT`` (no
        ``ON CONFLICT``) under a savepoint: the common case, a batch of new records, then costs
        the server less (``ON CONFLICT`` inserts each index entry speculatively; about 15% of
        this insert's backend CPU, ``bench/hub_insert_forms.py``).
        If a natural key was stored before, the unique index refuses the plain insert, the
        savepoint undoes it, and the batch takes the statement above.

        Routing happens in the same statement: each row's province is the person's province of
        registration (a primary-key probe of ``registrations``), else the one ``route`` gives
        without it; the statement returns it for the feed entries.
        """
        uniq = [p for i, p in enumerate(parsed) if first_of[i] == i]
        rows = [self._record_row(principal, kind, p, {}, now, json_text=True) for p in uniq]
        returned = _insert_new_records(s, rows) if len(rows) >= OPTIMISTIC_MIN else None
        if returned is None:
            returned = insert_unnest(
                s,
                Record.__table__,
                rows,
                on_conflict="ON CONFLICT (org_id, kind, natural_key) DO NOTHING",
                returning=_RETURNED,
                exprs={"province": _REGISTERED_OR},
            )
        new_ids: dict[str, int] = {key: rid for key, rid, _ in returned}
        province_of = {key: province for key, _, province in returned}
        found: dict[str, tuple[int, str]] = {}
        if len(new_ids) < len(uniq):
            stored = [p.record_id for p in uniq if p.record_id not in new_ids]
            found = _stored(s, principal, kind, stored)
            if len(found) < len(stored):  # deleted (purged) since the insert saw it: again
                raise _Again("a conflicting record disappeared during the insert")
            _check_digests(parsed, items, found)
        new = [p for p in uniq if p.record_id in new_ids]
        if new:
            self._upsert_identities(s, new, now)
            feeds.append(
                s,
                [
                    feeds.NewEntry(
                        province=province_of[p.record_id],
                        kind="record",
                        ref_id=new_ids[p.record_id],
                        payload=p.feed_json(new_ids[p.record_id]),
                    )
                    for p in new
                ],
                now=now,
            )
        return _answer(parsed, first_of, new_ids, found)

    @staticmethod
    def _record_row(
        principal: Principal,
        kind: str,
        p: ParsedRecord,
        registered: dict[str, str],
        now: Any,
        *,
        json_text: bool = False,
    ) -> dict[str, Any]:
        """The records row of ``p`` (with ``json_text``, the fact's JSON text, written as is
        by ``insert_unnest``)."""
        return {
            "kind": kind,
            "org_id": principal.org_id,
            "natural_key": p.record_id,
            "digest": p.digest,
            "pseudonym": p.pseudonym,
            "province": route(p, registered, principal),
            "occurred_at": p.occurred_at,
            "received_at": now,
            "payload": JsonText(p.fact_json) if json_text else p.fact,
        }

    @staticmethod
    def _earlier_answer(
        s: Session, principal: Principal, idempotency_key: str | None, request_digest: str
    ) -> dict[str, Any] | None:
        if idempotency_key is None:
            return None
        earlier = s.get(IdempotencyKey, (principal.org_id, idempotency_key))
        if earlier is None:
            return None
        if earlier.request_digest != request_digest:
            raise InvalidInput(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was used for a different request",
                field="Idempotency-Key",
            )
        return dict(earlier.response)

    @staticmethod
    def _remember(
        s: Session,
        principal: Principal,
        idempotency_key: str | None,
        request_digest: str,
        answer: dict[str, Any],
        now: Any,
    ) -> None:
        if idempotency_key is not None:
            s.add(
                IdempotencyKey(
                    org_id=principal.org_id,
                    key=idempotency_key,
                    request_digest=request_digest,
                    status_code=200,
                    response=answer,
                    created_at=now,
                )
            )

    @staticmethod
    def _dedupe(parsed: list[ParsedRecord], items: Sequence[Located]) -> list[int]:
        """For each record, the index of the first record in the batch with its key."""
        first: dict[str, int] = {}
        out: list[int] = []
        for i, p in enumerate(parsed):
            j = first.setdefault(p.record_id, i)
            if parsed[j].digest != p.digest:
                raise InvalidInput(
                    ErrorCode.DUPLICATE_IN_BATCH,
                    f"record_id {p.record_id!r} appears twice with different content",
                    field="record_id",
                    **items[i].where,
                )
            out.append(j)
        return out

    @staticmethod
    def _existing(
        s: Session,
        principal: Principal,
        kind: str,
        parsed: list[ParsedRecord],
        first_of: list[int],
        items: Sequence[Located],
    ) -> dict[str, tuple[int, str]]:
        keys = [p.record_id for i, p in enumerate(parsed) if first_of[i] == i]
        found = _stored(s, principal, kind, keys)
        _check_digests(parsed, items, found)
        return found

    def _insert(
        self,
        s: Session,
        principal: Principal,
        kind: str,
        new: list[ParsedRecord],
        now: Any,
    ) -> dict[str, int]:
        if not new:
            return {}
        self._upsert_identities(s, new, now)
        registered = _registrations(s, {p.pseudonym for p in new})
        rows = [self._record_row(principal, kind, p, registered, now) for p in new]
        ids = list(
            s.execute(
                insert(Record).returning(Record.id, sort_by_parameter_order=True), rows
            ).scalars()
        )
        feeds.append(
            s,
            [
                feeds.NewEntry(
                    province=row["province"], kind="record", ref_id=rid, payload=p.feed_data(rid)
                )
                for p, row, rid in zip(new, rows, ids, strict=True)
            ],
            now=now,
        )
        return {p.record_id: rid for p, rid in zip(new, ids, strict=True)}

    def _upsert_identities(self, s: Session, new: list[ParsedRecord], now: Any) -> None:
        people = sorted({p.pseudonym: p for p in new}.items())
        fields: list[tuple[str, str]] = []  # (text, context) of every value to encrypt
        for pseudonym, p in people:
            fields.append((p.id_number, f"identities.id_number|{pseudonym}"))
            if p.name:
                fields.append((p.name, f"identities.name|{pseudonym}"))
            if p.phone:
                fields.append((p.phone, f"identities.phone|{pseudonym}"))
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
        if is_postgresql(s):
            # One statement for the batch (rows sorted by pseudonym: one lock order).
            insert_unnest(
                s,
                Identity.__table__,
                rows,
                on_conflict=(
                    "ON CONFLICT (pseudonym) DO UPDATE SET"
                    " last_seen_at = excluded.last_seen_at,"
                    " name_enc = coalesce(excluded.name_enc, identities.name_enc),"
                    " phone_enc = coalesce(excluded.phone_enc, identities.phone_enc),"
                    " home_region = coalesce(excluded.home_region, identities.home_region)"
                ),
            )
            return
        dialect = s.get_bind().dialect.name
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            stmt: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Identity)
            stmt = stmt.on_conflict_do_update(
                index_elements=["pseudonym"],
                set_={
                    "last_seen_at": stmt.excluded.last_seen_at,
                    "name_enc": func.coalesce(stmt.excluded.name_enc, Identity.name_enc),
                    "phone_enc": func.coalesce(stmt.excluded.phone_enc, Identity.phone_enc),
                    "home_region": func.coalesce(stmt.excluded.home_region, Identity.home_region),
                },
            )
            s.execute(stmt, chunk)


def _answer(
    parsed: list[ParsedRecord],
    first_of: list[int],
    new_ids: dict[str, int],
    stored: dict[str, tuple[int, str]],
) -> list[tuple[int, bool]]:
    """(id, created) per record: created for the first record of a key this batch stored."""
    out: list[tuple[int, bool]] = []
    for i, p in enumerate(parsed):
        rid = new_ids.get(p.record_id)
        if rid is None:
            out.append((stored[p.record_id][0], False))
        else:
            out.append((rid, first_of[i] == i))
    return out


#: Batches of at least this many records try the plain insert first (two more round trips).
OPTIMISTIC_MIN = 64
_RETURNED = ("natural_key", "id", "province")


def _insert_new_records(s: Session, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]] | None:
    """Insert ``rows`` as new records without ``ON CONFLICT``, all or none: the returned
    columns, or None (and nothing written) if a natural key was stored before."""
    try:
        with s.begin_nested():
            return insert_unnest(
                s, Record.__table__, rows, returning=_RETURNED, exprs={"province": _REGISTERED_OR}
            )
    except psycopg.errors.UniqueViolation:
        return None


#: The province of a record written on PostgreSQL: where the person is registered, else the
#: row's own (``route`` without registrations). A correlated subquery: a primary-key probe per
#: row, never turned into a join whatever the statistics say.
_REGISTERED_OR = (
    "coalesce((SELECT r.province FROM registrations r WHERE r.pseudonym = {pseudonym}), {province})"
)


class _Again(Exception):
    """The store changed under a batch in a way that a new attempt resolves."""


def _stored(
    s: Session, principal: Principal, kind: str, keys: list[str]
) -> dict[str, tuple[int, str]]:
    """(id, digest) of the organisation's stored records of ``kind`` with these natural keys."""
    found: dict[str, tuple[int, str]] = {}
    for condition in _key_chunks(s, Record.natural_key, keys):
        rows = s.execute(
            select(Record.natural_key, Record.id, Record.digest).where(
                Record.org_id == principal.org_id,
                Record.kind == kind,
                condition,
            )
        ).all()
        found.update({key: (rid, digest) for key, rid, digest in rows})
    return found


def _check_digests(
    parsed: list[ParsedRecord], items: Sequence[Located], found: dict[str, tuple[int, str]]
) -> None:
    """A stored natural key must come back with the same content (else the first such record,
    in batch order, is NATURAL_KEY_CONFLICT)."""
    for i, p in enumerate(parsed):
        earlier = found.get(p.record_id)
        if earlier is not None and earlier[1] != p.digest:
            raise InvalidInput(
                ErrorCode.NATURAL_KEY_CONFLICT,
                f"record_id {p.record_id!r} was stored before with different content",
                field="record_id",
                record=earlier[0],
                **items[i].where,
            )


def _registrations(s: Session, pseudonyms: set[str]) -> dict[str, str]:
    """Province of registration of each of ``pseudonyms`` that is registered (the portable
    path; PostgreSQL routes inside the insert: ``_REGISTERED_OR``)."""
    found: dict[str, str] = {}
    for condition in _key_chunks(s, Registration.pseudonym, sorted(pseudonyms)):
        rows = s.execute(
            select(Registration.pseudonym, Registration.province).where(condition)
        ).all()
        found.update({pseudonym: province for pseudonym, province in rows})
    return found


def _key_chunks(s: Session, column: Any, keys: list[str]) -> list[ColumnElement[bool]]:
    """Conditions ``column IN chunk`` covering ``keys``, chunks of ``_CHUNK`` values. (One
    ``= ANY(array)`` on PostgreSQL was tried: on a fresh table without statistics the planner
    scanned the whole table per batch, 11 s a query at 40k rows; to be revisited.)"""
    chunks = [keys[i : i + _CHUNK] for i in range(0, len(keys), _CHUNK)]
    return [column.in_(chunk) for chunk in chunks]


def route(p: ParsedRecord, registered: dict[str, str], principal: Principal) -> str:
    """The province that gets a record: where the person's code is registered; before that,
    the province of the ID number's region or the record's ``home_region``; else the
    submitter's province."""
    province = registered.get(p.pseudonym)
    if province:
        return province
    if p.home_region:
        candidate = p.home_region[:2] + "0000"
        if regions.is_known(candidate):
            return candidate
    return principal.province
