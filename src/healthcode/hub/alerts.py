"""Alerts the provinces raise for the national staff: a bulk colour decision (one decision
naming many people) proposed, approved, or refused because its proposer lacked the role.

A province posts each alert with its own reference (``ref``), so a retry is stored once; the
alert is kept as the province said it (kind, decision id, how many people, the staff member
and their roles, colour, legal basis, time) beside which organisation sent it and when it
arrived. Nothing in it names a person. The national staff list them newest first
(``GET /v1/alerts``, the hub's operator token).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import format_instant
from healthcode.hub.fields import time_field
from healthcode.hub.orgs import Principal
from healthcode.store.db import Database
from healthcode.store.models import Alert
from healthcode.store.retry import run_write

__all__ = ["ALERT_KINDS", "AlertService"]

#: What an alert is about.
ALERT_KINDS = ("bulk-proposed", "bulk-approved", "bulk-refused")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_TEXT_FIELDS = ("decision", "staff", "colour", "legal_basis", "code")
_MAX_SUBJECTS = 10_000_000
_LIST_MAX = 500


def _bad(message: str, field: str) -> InvalidInput:
    return InvalidInput(ErrorCode.FIELD_TYPE, message, field=field)


def _checked(body: Mapping[str, Any]) -> dict[str, Any]:
    """The alert's fields, each checked. Raises InvalidInput FIELD_TYPE, TIME_FORMAT."""
    ref, kind = body.get("ref"), body.get("kind")
    if not isinstance(ref, str) or not _ID.fullmatch(ref):
        raise _bad("ref is the province's id of the alert (at most 64 characters)", "ref")
    if kind not in ALERT_KINDS:
        raise _bad(f"kind is one of {', '.join(ALERT_KINDS)}", "kind")
    out: dict[str, Any] = {"ref": ref, "kind": kind}
    for name in _TEXT_FIELDS:
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or not _ID.fullmatch(value)):
            raise _bad(f"{name} is an id or a code", name)
        out[name] = value
    subjects = body.get("subjects")
    if not isinstance(subjects, int) or isinstance(subjects, bool):
        raise _bad("subjects is how many people the decision names", "subjects")
    if not 0 <= subjects <= _MAX_SUBJECTS:
        raise _bad("subjects is out of range", "subjects")
    roles = body.get("roles", [])
    if (
        not isinstance(roles, list)
        or len(roles) > 8
        or not all(isinstance(r, str) and _ID.fullmatch(r) for r in roles)
    ):
        raise _bad("roles is a list of role names", "roles")
    at = time_field(body, "at", required=True)
    assert at is not None
    return {**out, "subjects": subjects, "roles": roles, "at": at}


def _view(row: Alert) -> dict[str, Any]:
    return {
        "id": row.id,
        "province": row.province,
        **row.body,
        "received_at": format_instant(row.received_at),
    }


@dataclass(kw_only=True, eq=False)
class AlertService:
    db: Database
    clock: Clock

    def raise_alert(self, caller: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
        """Store a province's alert once (a retry with the same ``ref`` answers the stored
        one). Raises InvalidInput FIELD_TYPE, TIME_FORMAT."""
        fields = _checked(body)
        at = fields.pop("at")
        stored = {**fields, "at": format_instant(at)}
        now = self.clock.now()

        def step(s: Any) -> dict[str, Any]:
            row = s.execute(
                select(Alert).where(Alert.org_id == caller.org_id, Alert.ref == fields["ref"])
            ).scalar_one_or_none()
            if row is None:
                row = Alert(
                    org_id=caller.org_id,
                    province=caller.province,
                    ref=fields["ref"],
                    kind=fields["kind"],
                    body=stored,
                    raised_at=at,
                    received_at=now,
                )
                s.add(row)
                s.flush()
            return _view(row)

        return run_write(self.db, step)

    def list(self, *, limit: int = 100, province: str | None = None) -> list[dict[str, Any]]:
        """The alerts, newest first (at most ``limit``, up to 500), of one province if given."""
        stmt = select(Alert).order_by(Alert.id.desc()).limit(max(1, min(limit, _LIST_MAX)))
        if province is not None:
            stmt = stmt.where(Alert.province == province)
        with self.db.read() as s:
            return [_view(r) for r in s.execute(stmt).scalars()]
