"""Registrations (which province holds a person's code) and code status for online checks.

A province registers the people whose codes it issues; from then on their records are routed
to it, and records that arrived before (routed by the ID number's region) are sent to it too.
A province reports the status of its own codes only; any checkpoint may ask for a code's status
by serial or by pseudonym (cross-province online check).

A status query is the hub's hottest read: one prebuilt Core ``select`` (no ORM session, no
objects) on ``Database.reader()``, one round trip on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from healthcode.core import identity
from healthcode.core.clock import CHINA_TZ, Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.access import require
from healthcode.hub.corrections import correction_data
from healthcode.hub.feeds import Feeds, NewEntry
from healthcode.hub.fields import optional_text, time_field
from healthcode.hub.orgs import Principal
from healthcode.store.db import Database
from healthcode.store.models import CodeStatus, Record, RecordVersion, Registration

__all__ = ["COLOURS", "StatusService"]

COLOURS = ("green", "yellow", "red")

_CODES = CodeStatus.__table__.c
_ANSWER_COLUMNS = (
    _CODES.serial,
    _CODES.province,
    _CODES.pseudonym,
    _CODES.colour,
    _CODES.since,
    _CODES.until,
    _CODES.ruleset_version,
    _CODES.reported_at,
)
#: Built once: SQLAlchemy computes their cache keys once, psycopg prepares them on the server
#: after a few uses on a connection.
_BY_SERIAL = select(*_ANSWER_COLUMNS).where(_CODES.serial == bindparam("serial")).limit(1)
_LATEST_BY_PSEUDONYM = (
    select(*_ANSWER_COLUMNS)
    .where(_CODES.pseudonym == bindparam("pseudonym"))
    .order_by(_CODES.since.desc(), _CODES.reported_at.desc())
    .limit(1)
)


@dataclass(kw_only=True, eq=False)
class StatusService:
    db: Database
    clock: Clock
    feeds: Feeds
    pseudonym_key: bytes = field(repr=False)
    _pseudonymiser: identity.Pseudonymiser = field(init=False)

    def __post_init__(self) -> None:
        self._pseudonymiser = identity.Pseudonymiser(key=self.pseudonym_key)

    def register(self, principal: Principal, people: Sequence[dict[str, Any]]) -> list[str]:
        """Record that ``principal`` (a province) holds these people's codes; their pseudonyms.

        Raises AccessDenied KIND_NOT_ALLOWED; InvalidInput (ID_* with ``index``).
        """
        require(principal, "registration:report")
        today = self.clock.now().astimezone(CHINA_TZ).date()
        pseudonyms: list[str] = []
        for i, person in enumerate(people):
            try:
                if not isinstance(person, dict):
                    raise InvalidInput(ErrorCode.RECORD_NOT_OBJECT, "a person is a JSON object")
                pseudonyms.append(
                    self._pseudonymiser.pseudonym(
                        optional_text(person, "id_type") or identity.IdType.RESIDENT_ID,
                        optional_text(person, "id_number") or "",
                        nationality=optional_text(person, "nationality"),
                        today=today,
                    )
                )
            except InvalidInput as exc:
                raise InvalidInput(exc.code, exc.message, index=i, **exc.details) from exc
        now = self.clock.now()
        with self.db.write() as s:
            # after the writes in flight; before later ones
            self.feeds.hold_routing(s, exclusive=True)
            for pseudonym in sorted(set(pseudonyms)):
                self._register_one(s, principal, pseudonym, now)
        return pseudonyms

    def _register_one(
        self, s: Session, principal: Principal, pseudonym: str, now: datetime
    ) -> None:
        """Register one person with ``principal``'s province; records that went elsewhere
        before are sent to it too and moved to it."""
        province = principal.province
        reg = s.get(Registration, pseudonym)
        if reg is not None and reg.province == province:
            return
        if reg is None:
            s.add(
                Registration(
                    pseudonym=pseudonym,
                    province=province,
                    org_id=principal.org_id,
                    registered_at=now,
                )
            )
        else:
            reg.province, reg.org_id, reg.registered_at = province, principal.org_id, now
        moved = (
            s.execute(
                select(Record)
                .where(Record.pseudonym == pseudonym, Record.province != province)
                .order_by(Record.id)
            )
            .scalars()
            .all()
        )
        if moved:
            self._replay(s, province, moved, now)
            s.execute(update(Record).where(Record.pseudonym == pseudonym).values(province=province))

    def _replay(self, s: Session, province: str, moved: Sequence[Record], now: datetime) -> None:
        """The records as first sent, then their corrections and withdrawals in the order they
        were made: the new holder ends on each record's current version."""
        by_id = {r.id: r for r in moved}
        versions = (
            s.execute(
                select(RecordVersion)
                .where(RecordVersion.record_id.in_(by_id))
                .order_by(RecordVersion.id)
            )
            .scalars()
            .all()
        )
        entries = [NewEntry(province, "record", r.id, _replayed(r)) for r in moved]
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
        """Store the status of the caller's own codes (upsert by serial); returns how many.

        Raises AccessDenied KIND_NOT_ALLOWED, CODE_NOT_OWN; InvalidInput FIELD_*, TIME_*,
        VALUE_NOT_IN_SET (each with ``index``).
        """
        require(principal, "status:report")
        rows = [self._parse_report(i, r) for i, r in enumerate(reports)]
        now = self.clock.now()
        with self.db.write() as s:
            for i, row in enumerate(rows):
                reg = s.get(Registration, row["pseudonym"])
                if reg is None or reg.province != principal.province:
                    raise AccessDenied(
                        ErrorCode.CODE_NOT_OWN,
                        "the person is not registered with this province",
                        index=i,
                    )
                existing = s.get(CodeStatus, row["serial"])
                if existing is not None and existing.province != principal.province:
                    raise AccessDenied(
                        ErrorCode.CODE_NOT_OWN, "the serial belongs to another province", index=i
                    )
                if existing is None:
                    s.add(CodeStatus(province=principal.province, reported_at=now, **row))
                else:
                    for key, value in row.items():
                        setattr(existing, key, value)
                    existing.reported_at = now
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
        """The reported status of a code (by serial) or of a person's latest code.

        Raises AccessDenied KIND_NOT_ALLOWED; InvalidInput QUERY_INVALID; STATUS_UNKNOWN.
        """
        require(principal, "status:query")
        if (serial is None) == (pseudonym is None):
            raise InvalidInput(
                ErrorCode.QUERY_INVALID, "ask by serial or by pseudonym", field="serial"
            )
        with self.db.reader() as conn:
            if serial is not None:
                row = conn.execute(_BY_SERIAL, {"serial": serial}).first()
            else:
                row = conn.execute(_LATEST_BY_PSEUDONYM, {"pseudonym": pseudonym}).first()
        if row is None:
            raise InvalidInput(ErrorCode.STATUS_UNKNOWN, "no status was reported for this code")
        now = self.clock.now()
        return {
            "serial": row.serial,
            "province": row.province,
            "pseudonym": row.pseudonym,
            "colour": row.colour,
            "since": row.since.isoformat(),
            "until": row.until.isoformat() if row.until else None,
            "ruleset_version": row.ruleset_version,
            "reported_at": row.reported_at.isoformat(),
            "current": row.until is None or row.until > now,
        }


def _replayed(r: Record) -> dict[str, Any]:
    return {
        "record": r.id,
        "kind": r.kind,
        "pseudonym": r.pseudonym,
        "fact": r.payload,
        "replayed": True,
    }
