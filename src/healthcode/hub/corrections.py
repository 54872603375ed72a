"""Corrections (GB/T 38963 信息更正): an organisation corrects or withdraws its own record.

A record is named by its natural key (the submitter's ``record_id`` under a kind). A correction
sends the whole record again, corrected; a withdrawal sends only the reason. Either is stored as
a new version in ``record_versions`` (the ``records`` row is never overwritten: it stays version
1), goes to the feeds of the provinces holding the record's person (else to the record's own
province; ``hub/holders.py``) as a ``correction`` entry, and is
written to ``audit_events`` — all in one transaction.

A province may also withdraw a record of a person it holds (``withdraw_held``: an operator
upheld an appeal against a wrong fact): the record is named by the hub's id (what the feed
sent), the withdrawal is the same new version, feed entry and audit event, with the province
as the organisation that made it and the appeal it answers in the audit details. It cannot
change a record's content (only its submitter knows the right one, and may submit it anew).

Rules: only the organisation that submitted a record may correct it (``RECORD_NOT_OWN``, 403),
only a province holding the record's person may withdraw it in their name (``RECORD_NOT_HELD``,
403); a
correction may not change whose record it is (``CORRECTION_IDENTITY_CHANGED``: withdraw it and
submit a new record instead); a withdrawn record takes no further correction
(``RECORD_WITHDRAWN``). Retries are safe: the same correction (same content) or a second
withdrawal answers the version already stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub import holders
from healthcode.hub.access import require
from healthcode.hub.feeds import Feeds, NewEntry
from healthcode.hub.fields import optional_text, required_text
from healthcode.hub.orgs import Principal
from healthcode.hub.records import RECORD_ID_MAX, ParsedRecord, RecordParser
from healthcode.store.db import Database
from healthcode.store.models import CORRECTION_ACTIONS, AuditEvent, Record, RecordVersion
from healthcode.store.retry import run_write

__all__ = ["APPEAL_REF_MAX", "REASON_MAX", "CorrectionService", "correction_data"]

REASON_MAX = 500
#: The longest reference to the appeal a holder's withdrawal answers.
APPEAL_REF_MAX = 64


def _is_retry(record: Record, latest: RecordVersion | None, parsed: ParsedRecord | None) -> bool:
    """Whether the change asked for is the latest version already (a retry). Raises
    InvalidInput RECORD_WITHDRAWN, CORRECTION_IDENTITY_CHANGED, CORRECTION_NO_CHANGE."""
    if latest is not None and latest.action == "withdraw":
        if parsed is None:
            return True
        raise InvalidInput(
            ErrorCode.RECORD_WITHDRAWN,
            f"record_id {record.natural_key!r} was withdrawn",
            field="record_id",
        )
    if parsed is None:
        return False
    if parsed.pseudonym != record.pseudonym:
        raise InvalidInput(
            ErrorCode.CORRECTION_IDENTITY_CHANGED,
            "a correction may not change the person; withdraw and submit anew",
            field="record.id_number",
        )
    if latest is not None:
        return parsed.digest == latest.digest
    if parsed.digest == record.digest:
        raise InvalidInput(
            ErrorCode.CORRECTION_NO_CHANGE, "the record is unchanged", field="record"
        )
    return False


def _withdrawn(previous: str) -> str:
    return hashlib.sha256(f"withdrawn|{previous}".encode()).hexdigest()


def _answer(record: Record, version: RecordVersion) -> dict[str, Any]:
    return {
        "record": record.id,
        "kind": record.kind,
        "record_id": record.natural_key,
        "version": version.version,
        "action": version.action,
    }


def correction_data(record: Record, version: RecordVersion) -> dict[str, Any]:
    """The ``data`` of a ``correction`` feed entry (also when replayed on registration): the
    answer without the submitter's ``record_id``, with the reason, pseudonym and fact."""
    data = {k: v for k, v in _answer(record, version).items() if k != "record_id"}
    return {
        **data,
        "reason": version.reason,
        "pseudonym": record.pseudonym,
        "fact": version.payload,
    }


@dataclass(kw_only=True, eq=False)
class CorrectionService:
    db: Database
    clock: Clock
    feeds: Feeds
    parser: RecordParser

    def submit(self, principal: Principal, kind: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Correct (``action: "correct"``, with the whole ``record``) or withdraw one's record.

        Answers ``{"record", "kind", "record_id", "version", "action"}``. Raises AccessDenied
        KIND_NOT_ALLOWED, RECORD_NOT_OWN; InvalidInput FIELD_*, VALUE_NOT_IN_SET (action), the
        record's own codes (field ``record.<name>``), RECORD_UNKNOWN, RECORD_WITHDRAWN,
        CORRECTION_NO_CHANGE, CORRECTION_IDENTITY_CHANGED; DatabaseBusy.
        """
        require(principal, f"submit:{kind}")
        action = raw.get("action")
        if action not in CORRECTION_ACTIONS:
            raise InvalidInput(
                ErrorCode.VALUE_NOT_IN_SET, "action is correct or withdraw", field="action"
            )
        record_id = required_text(raw, "record_id", RECORD_ID_MAX)
        reason = required_text(raw, "reason", REASON_MAX, what="why the record changes")
        parsed = self._corrected(principal, kind, record_id, raw) if action == "correct" else None

        def step(s: Session) -> dict[str, Any]:
            now = self.clock.now()
            self.feeds.hold_routing(s)  # the holders are read under it (registrations change them)
            record = self._own_record(s, principal, kind, record_id)
            latest = s.execute(
                select(RecordVersion)
                .where(RecordVersion.record_id == record.id)
                .order_by(RecordVersion.version.desc())
                .limit(1)
            ).scalar_one_or_none()
            if _is_retry(record, latest, parsed):
                assert latest is not None
                return _answer(record, latest)
            version = self._add_version(s, principal, record, latest, parsed, reason, now)
            return _answer(record, version)

        # Run again if it met another writer (a deadlock, a version number taken meanwhile).
        return run_write(self.db, step)

    def withdraw_held(
        self, principal: Principal, record_id: int, raw: dict[str, Any]
    ) -> dict[str, Any]:
        """Withdraw the record ``record_id`` (the hub's id) of a person the calling province
        holds, with a ``reason`` and the ``appeal`` it answers (optional). Answers as
        :meth:`submit`; a second withdrawal answers the version stored. Raises AccessDenied
        KIND_NOT_ALLOWED, RECORD_NOT_HELD; InvalidInput FIELD_*, RECORD_UNKNOWN; DatabaseBusy.
        """
        require(principal, "record:withdraw-held")
        reason = required_text(raw, "reason", REASON_MAX, what="why the record is withdrawn")
        appeal = optional_text(raw, "appeal")
        if appeal is not None and len(appeal) > APPEAL_REF_MAX:
            raise InvalidInput(
                ErrorCode.FIELD_TOO_LONG, f"appeal is longer than {APPEAL_REF_MAX}", field="appeal"
            )

        def step(s: Session) -> dict[str, Any]:
            now = self.clock.now()
            self.feeds.hold_routing(s)
            record = s.execute(
                select(Record).where(Record.id == record_id).with_for_update()
            ).scalar_one_or_none()
            if record is None:
                raise InvalidInput(
                    ErrorCode.RECORD_UNKNOWN, f"no record {record_id}", field="record"
                )
            held = holders.holders(s, [record.pseudonym]).get(record.pseudonym, [])
            if principal.province not in held:
                raise AccessDenied(
                    ErrorCode.RECORD_NOT_HELD,
                    f"province {principal.province} does not hold the person of this record",
                    field="record",
                )
            latest = s.execute(
                select(RecordVersion)
                .where(RecordVersion.record_id == record.id)
                .order_by(RecordVersion.version.desc())
                .limit(1)
            ).scalar_one_or_none()
            if latest is not None and latest.action == "withdraw":
                return _answer(record, latest)
            extra = {"holder": principal.province, "appeal": appeal}
            version = self._add_version(s, principal, record, latest, None, reason, now, extra)
            return _answer(record, version)

        return run_write(self.db, step)

    def _corrected(
        self, principal: Principal, kind: str, record_id: str, raw: dict[str, Any]
    ) -> ParsedRecord:
        """The corrected record, checked; its errors name fields as ``record.<name>``."""
        body = raw.get("record")
        if not isinstance(body, dict):
            raise InvalidInput(
                ErrorCode.FIELD_MISSING, "record: the whole corrected record", field="record"
            )
        defaults = {"lab": principal.name} if kind in ("nat", "antibody") else {}
        try:
            return self.parser.parse(kind, {**body, "record_id": record_id}, defaults=defaults)
        except InvalidInput as exc:
            field = exc.details.get("field")
            details = {**exc.details, "field": f"record.{field}" if field else "record"}
            raise InvalidInput(exc.code, exc.message, **details) from exc

    def _add_version(
        self,
        s: Session,
        principal: Principal,
        record: Record,
        latest: RecordVersion | None,
        parsed: ParsedRecord | None,
        reason: str,
        now: datetime,
        extra: dict[str, Any] | None = None,
    ) -> RecordVersion:
        """The next version of ``record`` (``parsed``: corrected, None: withdrawn), sent to the
        provinces holding the record's person and written to the audit log."""
        previous = latest.digest if latest is not None else record.digest
        version = RecordVersion(
            record_id=record.id,
            version=(latest.version if latest is not None else 1) + 1,
            action="correct" if parsed is not None else "withdraw",
            org_id=principal.org_id,
            reason=reason,
            digest=parsed.digest if parsed is not None else _withdrawn(previous),
            payload=parsed.fact if parsed is not None else None,
            created_at=now,
        )
        s.add(version)
        s.flush()
        held = holders.holders(s, [record.pseudonym]).get(record.pseudonym, [])
        data = correction_data(record, version)
        entries = [
            NewEntry(province, "correction", version.id, data)
            for province in holders.destinations(held, record.province)
        ]
        self.feeds.append(s, entries, now=now)
        s.add(
            AuditEvent(
                at=now,
                org_id=principal.org_id,
                action=f"record.{version.action}",
                target=f"record:{record.id}",
                details={
                    "kind": record.kind,
                    "record_id": record.natural_key,
                    "version": version.version,
                    "reason": reason,
                    "previous_digest": previous,
                    "digest": version.digest,
                    **(extra or {}),
                },
            )
        )
        return version

    @staticmethod
    def _own_record(s: Session, principal: Principal, kind: str, record_id: str) -> Record:
        record = s.execute(
            select(Record)
            .where(
                Record.org_id == principal.org_id,
                Record.kind == kind,
                Record.natural_key == record_id,
            )
            .with_for_update()
        ).scalar_one_or_none()
        if record is not None:
            return record
        elsewhere = s.execute(
            select(Record.id).where(Record.kind == kind, Record.natural_key == record_id).limit(1)
        ).scalar_one_or_none()
        if elsewhere is not None:
            raise AccessDenied(
                ErrorCode.RECORD_NOT_OWN,
                f"record_id {record_id!r} was submitted by another organisation",
                field="record_id",
            )
        raise InvalidInput(
            ErrorCode.RECORD_UNKNOWN, f"no {kind} record {record_id!r} of yours", field="record_id"
        )
