"""Sending the status outbox to the hub (``POST /v1/status``).

A report is written to ``status_outbox`` in the transaction of the colour change (or the code
issued) it reports, so none is lost across a crash; the report loop sends the oldest first, in
batches, and deletes what the hub stored. A batch sent but not yet deleted when the process dies
is sent again: the hub stores a report by its serial, so that is harmless. A report the hub
refuses for good (a 4xx: the person is no longer held here) is dropped and logged, never retried
forever; an unreachable hub leaves the outbox as it is for the next round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, select, update

from healthcode.core.error_codes import ErrorCode
from healthcode.province.hubclient import HubError
from healthcode.province.models import StatusOutbox
from healthcode.store.db import Database

__all__ = ["OutboxSender", "report_of"]

log = logging.getLogger("healthcode.province")


def report_of(row: StatusOutbox) -> dict[str, Any]:
    """The hub's form of a report (``hub/status.py``), with the colour state's status-list
    index when it has one."""
    report: dict[str, Any] = {
        "serial": row.serial,
        "pseudonym": row.pseudonym,
        "colour": row.colour,
        "since": row.since.isoformat(),
        "until": None if row.until is None else row.until.isoformat(),
        "ruleset_version": row.ruleset_version,
    }
    if row.status_index is not None:
        report["status_index"] = row.status_index
    return report


class OutboxSender:
    def __init__(
        self, *, db: Database, send: Callable[[Sequence[dict[str, Any]]], int], batch: int
    ) -> None:
        self.db = db
        self.send = send
        self.batch = batch

    def pending(self) -> int:
        with self.db.read() as s:
            return len(s.execute(select(StatusOutbox.id)).all())

    def send_once(self) -> int:
        """Send the oldest batch; how many reports the hub stored (0: nothing to send).

        Raises HubError HUB_UNREACHABLE (the outbox is kept).
        """
        with self.db.read() as s:
            rows = (
                s.execute(select(StatusOutbox).order_by(StatusOutbox.id).limit(self.batch))
                .scalars()
                .all()
            )
        if not rows:
            return 0
        try:
            self.send([report_of(r) for r in rows])
            done = [r.id for r in rows]
        except HubError as exc:
            if exc.code != ErrorCode.HUB_REFUSED:
                self._attempted([r.id for r in rows])
                raise
            done = self._one_by_one(rows)
        with self.db.write() as s:
            s.execute(delete(StatusOutbox).where(StatusOutbox.id.in_(done)))
        return len(done)

    def _one_by_one(self, rows: Sequence[StatusOutbox]) -> list[int]:
        """Send each report alone; those stored or refused for good are done."""
        done = []
        for row in rows:
            try:
                self.send([report_of(row)])
            except HubError as exc:
                if exc.code != ErrorCode.HUB_REFUSED:
                    raise
                log.warning(
                    "status report %s dropped: the hub refused it (%s)",
                    row.id,
                    exc.details.get("hub_code"),
                )
            done.append(row.id)
        return done

    def _attempted(self, ids: list[int]) -> None:
        with self.db.write() as s:
            s.execute(
                update(StatusOutbox)
                .where(StatusOutbox.id.in_(ids))
                .values(attempts=StatusOutbox.attempts + 1)
            )
