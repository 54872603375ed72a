"""Registrations (which provinces hold a person's code) and code status for online checks.

A province registers the people whose codes it issues, saying why (``hub/holders.REASONS``);
from then on their records go to it too, and their earlier records are sent to it. Several
provinces may hold one person; none can end another's registration, each ends its own (a stay
is over). A province reports the status of codes of people it holds now; any checkpoint may ask
for a code's status by serial, or for a person's by pseudonym: each holding province's latest
code, and the strictest colour not expired as the answer to go by.

Status queries, the hub's hottest read, are ``hub/status_query.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from healthcode.core import identity
from healthcode.core.clock import CHINA_TZ, Clock
from healthcode.core.codes.status_list import STATUS_INVALID, STATUS_SUPERSEDED, STATUS_VALID
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.access import require
from healthcode.hub.corrections import correction_data
from healthcode.hub.feeds import Feeds, NewEntry
from healthcode.hub.fields import optional_text, time_field
from healthcode.hub.holders import DEFAULT_REASON, REASONS
from healthcode.hub.orgs import Principal
from healthcode.hub.status_query import COLOURS, StatusQuery
from healthcode.store.async_reader import AsyncReader
from healthcode.store.db import Database
from healthcode.store.models import CodeStatus, Record, RecordVersion, Registration
from healthcode.store.retry import run_write
from healthcode.store.sqlite_reader import sqlite_reader

__all__ = ["COLOURS", "StatusService"]

#: A province's status list indexes are below this (its counter's range).
MAX_STATUS_INDEX = 1 << 40


@dataclass(kw_only=True, eq=False)
class StatusService:
    db: Database
    clock: Clock
    feeds: Feeds
    pseudonym_key: bytes = field(repr=False)
    #: status queries on the event loop (PostgreSQL); None: in the caller's thread
    reader: AsyncReader | None = None
    _pseudonymiser: identity.Pseudonymiser = field(init=False)
    queries: StatusQuery = field(init=False)

    def __post_init__(self) -> None:
        self._pseudonymiser = identity.Pseudonymiser(key=self.pseudonym_key)
        self.queries = StatusQuery(
            db=self.db, clock=self.clock, reader=self.reader, lite=sqlite_reader(self.db.engine)
        )

    def register(self, principal: Principal, people: Sequence[dict[str, Any]]) -> list[str]:
        """Record that ``principal``'s province holds these people's codes, each for its
        ``reason`` (``DEFAULT_REASON`` when it gives none); their pseudonyms. Other provinces
        holding them keep holding them.

        Raises AccessDenied KIND_NOT_ALLOWED; InvalidInput (ID_*, REGISTRATION_REASON, with
        ``index``); DatabaseBusy.
        """
        require(principal, "registration:report")
        today = self.clock.now().astimezone(CHINA_TZ).date()
        pseudonyms = [self._pseudonym(i, person, today) for i, person in enumerate(people)]
        reasons = {p: _reason(i, people[i]) for i, p in enumerate(pseudonyms)}
        now = self.clock.now()

        def step(s: Session) -> None:
            # after the writes in flight; before later ones
            self.feeds.hold_routing(s, exclusive=True)
            for pseudonym in sorted(reasons):
                self._register_one(s, principal, pseudonym, reasons[pseudonym], now)

        run_write(self.db, step)
        return pseudonyms

    def end(self, principal: Principal, people: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """End ``principal``'s province's registrations of these people (a stay is over): from
        now on their records no longer go to it, nor may it report their status. Answers
        ``{"pseudonyms", "ended_at"}``; all or nothing.

        Raises AccessDenied KIND_NOT_ALLOWED; InvalidInput (ID_*, REGISTRATION_NOT_HELD for a
        person the province does not hold now, with ``index``); DatabaseBusy.
        """
        require(principal, "registration:report")
        today = self.clock.now().astimezone(CHINA_TZ).date()
        pseudonyms = [self._pseudonym(i, person, today) for i, person in enumerate(people)]
        first = {p: i for i, p in reversed(list(enumerate(pseudonyms)))}
        now = self.clock.now()

        def step(s: Session) -> None:
            self.feeds.hold_routing(s, exclusive=True)
            for pseudonym in sorted(first):
                reg = s.get(Registration, (pseudonym, principal.province))
                if reg is None or reg.ended_at is not None:
                    raise InvalidInput(
                        ErrorCode.REGISTRATION_NOT_HELD,
                        "this province holds no current registration of the person",
                        index=first[pseudonym],
                    )
                reg.ended_at = now

        run_write(self.db, step)
        return {"pseudonyms": pseudonyms, "ended_at": now.isoformat()}

    def _pseudonym(self, i: int, person: Any, today: date) -> str:
        """The pseudonym of ``person`` (``id_type``, ``id_number``, ``nationality``). Raises
        InvalidInput RECORD_NOT_OBJECT, ID_* (with ``index``)."""
        try:
            if not isinstance(person, dict):
                raise InvalidInput(ErrorCode.RECORD_NOT_OBJECT, "a person is a JSON object")
            return self._pseudonymiser.pseudonym(
                optional_text(person, "id_type") or identity.IdType.RESIDENT_ID,
                optional_text(person, "id_number") or "",
                nationality=optional_text(person, "nationality"),
                today=today,
            )
        except InvalidInput as exc:
            raise InvalidInput(exc.code, exc.message, index=i, **exc.details) from exc

    def _register_one(
        self, s: Session, principal: Principal, pseudonym: str, reason: str, now: datetime
    ) -> None:
        """Register one person with ``principal``'s province (again, if it ended before):
        their earlier records are sent to it. A current registration only takes the new
        reason."""
        province = principal.province
        reg = s.get(Registration, (pseudonym, province))
        if reg is not None and reg.ended_at is None:
            reg.reason = reason
            return
        others = s.execute(
            select(Registration.province)
            .where(Registration.pseudonym == pseudonym, Registration.province != province)
            .limit(1)
        ).first()
        if reg is None:
            s.add(
                Registration(
                    pseudonym=pseudonym,
                    province=province,
                    org_id=principal.org_id,
                    reason=reason,
                    registered_at=now,
                )
            )
        else:
            reg.org_id, reg.reason, reg.registered_at, reg.ended_at = (
                principal.org_id,
                reason,
                now,
                None,
            )
        earlier = select(Record).where(Record.pseudonym == pseudonym).order_by(Record.id)
        if others is None:
            # nobody else ever held the person: the records of this province's own came to it
            earlier = earlier.where(Record.province != province)
        records = s.execute(earlier).scalars().all()
        if records:
            self._replay(s, province, records, now)

    def _replay(self, s: Session, province: str, records: Sequence[Record], now: datetime) -> None:
        """The records as first sent, then their corrections and withdrawals in the order they
        were made: the new holder ends on each record's current version."""
        by_id = {r.id: r for r in records}
        versions = (
            s.execute(
                select(RecordVersion)
                .where(RecordVersion.record_id.in_(by_id))
                .order_by(RecordVersion.id)
            )
            .scalars()
            .all()
        )
        entries = [NewEntry(province, "record", r.id, _replayed(r)) for r in records]
        entries += [
            NewEntry(
                province,
                "correction",
                v.id,
                {**correction_data(by_id[v.record_id], v), "replayed": True},
            )
            for v in versions
        ]
        self.feeds.append(s, entries, now=now)

    def report(self, principal: Principal, reports: Sequence[dict[str, Any]]) -> int:
        """Store the status of codes of people the caller's province holds now (upsert by
        serial); returns how many.

        A report may carry the colour state's ``status_index`` in the province's status list (then
        the person's earlier states become SUPERSEDED there) and ``revoked`` (INVALID there).

        Raises AccessDenied KIND_NOT_ALLOWED, CODE_NOT_OWN; InvalidInput FIELD_*, TIME_*,
        VALUE_NOT_IN_SET, VALUE_OUT_OF_RANGE, STATUS_INDEX_TAKEN (each with ``index``).
        """
        require(principal, "status:report")
        rows = [self._parse_report(i, r) for i, r in enumerate(reports)]
        now = self.clock.now()
        with self.db.write() as s:
            for i, row in enumerate(rows):
                reg = s.get(Registration, (row["pseudonym"], principal.province))
                if reg is None or reg.ended_at is not None:
                    raise AccessDenied(
                        ErrorCode.CODE_NOT_OWN,
                        "this province does not hold the person (no current registration)",
                        index=i,
                    )
                existing = s.get(CodeStatus, row["serial"])
                if existing is not None and existing.province != principal.province:
                    raise AccessDenied(
                        ErrorCode.CODE_NOT_OWN, "the serial belongs to another province", index=i
                    )
                if row.get("status_index") is not None:
                    _check_index_free(s, principal.province, row, i)
                if existing is None:
                    existing = CodeStatus(province=principal.province, reported_at=now, **row)
                    s.add(existing)
                else:
                    for key, value in row.items():
                        setattr(existing, key, value)
                    existing.reported_at = now
                if existing.status_index is not None:
                    _supersede(s, existing)
        return len(rows)

    @staticmethod
    def _parse_report(i: int, r: Any) -> dict[str, Any]:
        try:
            if not isinstance(r, dict):
                raise InvalidInput(ErrorCode.RECORD_NOT_OBJECT, "a status report is a JSON object")
            out: dict[str, Any] = {}
            for name, limit in (("serial", 64), ("pseudonym", 64), ("ruleset_version", 64)):
                value = r.get(name)
                if not isinstance(value, str) or not value or len(value) > limit:
                    raise InvalidInput(
                        ErrorCode.FIELD_MISSING if value in (None, "") else ErrorCode.FIELD_TYPE,
                        f"{name} must be a string of 1..{limit} characters",
                        field=name,
                    )
                out[name] = value
            if r.get("colour") not in COLOURS:
                raise InvalidInput(
                    ErrorCode.VALUE_NOT_IN_SET, "colour is green, yellow or red", field="colour"
                )
            out["colour"] = r["colour"]
            out.update(_list_fields(r))
            out["since"] = time_field(r, "since", required=True)
            out["until"] = time_field(r, "until")
            if out["until"] is not None and out["until"] <= out["since"]:
                raise InvalidInput(
                    ErrorCode.UNTIL_BEFORE_SINCE, "until is not after since", field="until"
                )
            return out
        except InvalidInput as exc:
            raise InvalidInput(exc.code, exc.message, index=i, **exc.details) from exc

    def query(
        self, principal: Principal, *, serial: str | None = None, pseudonym: str | None = None
    ) -> dict[str, Any]:
        """A status query in the caller's thread (``hub/status_query.py``).

        Raises AccessDenied KIND_NOT_ALLOWED; InvalidInput QUERY_INVALID; STATUS_UNKNOWN.
        """
        return self.queries.query(principal, serial=serial, pseudonym=pseudonym)


def _list_fields(r: dict[str, Any]) -> dict[str, Any]:
    """The optional ``status_index`` (the colour state's place in its province's status list)
    and ``revoked`` of a report. Raises InvalidInput FIELD_TYPE, VALUE_OUT_OF_RANGE."""
    out: dict[str, Any] = {}
    index, revoked = r.get("status_index"), r.get("revoked", False)
    if index is not None:
        if type(index) is not int:
            raise InvalidInput(ErrorCode.FIELD_TYPE, "an integer", field="status_index")
        if not 0 <= index < MAX_STATUS_INDEX:
            raise InvalidInput(
                ErrorCode.VALUE_OUT_OF_RANGE,
                f"status_index is 0 to {MAX_STATUS_INDEX - 1}",
                field="status_index",
            )
        out["status_index"] = index
    if type(revoked) is not bool:
        raise InvalidInput(ErrorCode.FIELD_TYPE, "revoked is true or false", field="revoked")
    if revoked:
        out["list_status"] = STATUS_INVALID
    return out


def _check_index_free(s: Session, province: str, row: dict[str, Any], i: int) -> None:
    """Raises InvalidInput STATUS_INDEX_TAKEN (with ``index``) when another colour state of
    ``province`` holds the index of ``row``."""
    c = CodeStatus.__table__.c
    taken = s.execute(
        select(c.serial)
        .where(
            (c.province == province)
            & (c.status_index == row["status_index"])
            & (c.serial != row["serial"])
        )
        .limit(1)
    ).first()
    if taken is not None:
        raise InvalidInput(
            ErrorCode.STATUS_INDEX_TAKEN, "another colour state holds this index", index=i
        )


def _supersede(s: Session, row: CodeStatus) -> None:
    """Keep the province's status list true after ``row`` was stored: the person's states of
    lower indexes are SUPERSEDED, and so is ``row`` when the person has a higher one already
    (reports may arrive out of order)."""
    c = CodeStatus.__table__.c
    s.flush()
    person = (
        (c.province == row.province) & (c.pseudonym == row.pseudonym) & (c.serial != row.serial)
    )
    s.execute(
        update(CodeStatus)
        .where(person & (c.status_index < row.status_index) & (c.list_status == STATUS_VALID))
        .values(list_status=STATUS_SUPERSEDED)
    )
    newer = s.execute(
        select(c.serial).where(person & (c.status_index > row.status_index)).limit(1)
    ).first()
    if newer is not None and row.list_status in (None, STATUS_VALID):
        row.list_status = STATUS_SUPERSEDED


def _reason(i: int, person: dict[str, Any]) -> str:
    """Why the province holds ``person``: their ``reason``, else ``DEFAULT_REASON``. Raises
    InvalidInput REGISTRATION_REASON (with ``index``)."""
    reason = person.get("reason")
    if reason is None:
        return DEFAULT_REASON
    if not isinstance(reason, str) or reason not in REASONS:
        raise InvalidInput(
            ErrorCode.REGISTRATION_REASON,
            f"reason is one of {', '.join(REASONS)}",
            field="reason",
            index=i,
        )
    return reason


def _replayed(r: Record) -> dict[str, Any]:
    return {
        "record": r.id,
        "kind": r.kind,
        "pseudonym": r.pseudonym,
        "fact": r.payload,
        "replayed": True,
    }
