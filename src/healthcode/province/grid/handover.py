"""Sending tasks of people who live in another province to the hub
(``POST /v1/grid/handovers``), which passes each to that province's feed (``grid_task``).

A hand-over is written to ``grid_handover_outbox`` in the transaction of its task, so none is
lost across a crash; the hand-over loop sends the oldest first and deletes what the hub took.
One sent but not deleted when the process dies is sent again: the receiving province keeps a
task once per ``(from_province, task)``. A hand-over the hub refuses for good (4xx: the person
is no longer held here, a residence that is not another province's) is dropped and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, select, update

from healthcode.core.error_codes import ErrorCode
from healthcode.province.grid.models import GridHandoverOut
from healthcode.province.hubclient import HubError
from healthcode.store.db import Database

__all__ = ["HandoverSender"]

log = logging.getLogger("healthcode.province")


class HandoverSender:
    def __init__(
        self, *, db: Database, send: Callable[[Sequence[dict[str, Any]]], int], batch: int = 100
    ) -> None:
        self.db = db
        self.send = send
        self.batch = batch

    def send_once(self) -> int:
        """Send the oldest batch; how many were done (0: nothing to send). Raises HubError
        HUB_UNREACHABLE (the outbox is kept)."""
        with self.db.read() as s:
            rows = (
                s.execute(select(GridHandoverOut).order_by(GridHandoverOut.id).limit(self.batch))
                .scalars()
                .all()
            )
        if not rows:
            return 0
        try:
            self.send([r.payload for r in rows])
        except HubError as exc:
            if exc.code == ErrorCode.HUB_REFUSED:
                return self._one_by_one(rows)
            with self.db.write() as s:
                s.execute(
                    update(GridHandoverOut)
                    .where(GridHandoverOut.id.in_([r.id for r in rows]))
                    .values(attempts=GridHandoverOut.attempts + 1)
                )
            raise
        self._done([r.id for r in rows])
        return len(rows)

    def _one_by_one(self, rows: Sequence[GridHandoverOut]) -> int:
        done = []
        for row in rows:
            try:
                self.send([row.payload])
            except HubError as exc:
                if exc.code != ErrorCode.HUB_REFUSED:
                    break
                log.warning("hand-over of task %s refused: %s", row.task_id, exc.details)
            done.append(row.id)
        self._done(done)
        return len(done)

    def _done(self, ids: list[int]) -> None:
        with self.db.write() as s:
            s.execute(delete(GridHandoverOut).where(GridHandoverOut.id.in_(ids)))
