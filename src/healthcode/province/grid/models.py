"""The grid's tables, on the province's metadata (``ProvinceBase``).

- ``grid_units``: the grids below the county, each a region code (the county it lies in) and
  a grid id unique in the province;
- ``grid_assignments``: a person placed in one grid of their county (from their address, by a
  supervisor), for counties with several grids;
- ``grid_tasks``: one risk person's task: what the rule asks, deadlines, state, the
  timestamps of "four early" (fact at the hub, code change, task, first contact, isolation);
- ``grid_task_events``: every step of a task, with who and when (never deleted), and the
  client's id of a worker's action (``action_id``: a repeat is the same action);
- ``grid_handover_outbox``: tasks of people living in another province, written with the
  task and sent to the hub by the hand-over loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from healthcode.province.models import ProvinceBase
from healthcode.store.base import BigId, Json, UTCDateTime

__all__ = ["GridAssignment", "GridHandoverOut", "GridTask", "GridTaskEvent", "GridUnit"]


class GridUnit(ProvinceBase):
    """A grid below the county: its id (unique in the province), county and name."""

    __tablename__ = "grid_units"

    grid_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GridAssignment(ProvinceBase):
    """The grid a person's address lies in, when their county has several."""

    __tablename__ = "grid_assignments"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    grid_id: Mapped[str] = mapped_column(String(32))
    assigned_by: Mapped[str] = mapped_column(String(24))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GridTask(ProvinceBase):
    """A risk person's task in the grid of their residence (``grid_id`` None: the county's
    queue, which supervisors assign)."""

    __tablename__ = "grid_tasks"
    __table_args__ = (
        UniqueConstraint("source_province", "source_task"),
        Index("ix_grid_tasks_grid_id_state", "grid_id", "state"),
        Index("ix_grid_tasks_county_state", "county", "state"),
        Index("ix_grid_tasks_pseudonym_kind", "pseudonym", "kind"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    rule: Mapped[str] = mapped_column(String(64))
    colour: Mapped[str] = mapped_column(String(8))
    #: what the rule asks: isolation, test dates, its texts
    asks: Mapped[dict[str, Any]] = mapped_column(Json)
    residence_region: Mapped[str] = mapped_column(String(6))
    county: Mapped[str] = mapped_column(String(6))
    grid_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    #: a task received from another province (its code and task id), else None
    source_province: Mapped[str | None] = mapped_column(String(6), nullable=True)
    source_task: Mapped[str | None] = mapped_column(String(24), nullable=True)
    #: the province a task was handed to (state ``handed_over``)
    handed_to: Mapped[str | None] = mapped_column(String(6), nullable=True)
    fact_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    isolated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    contact_due: Mapped[datetime] = mapped_column(UTCDateTime)
    isolation_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state_by: Mapped[str | None] = mapped_column(String(24), nullable=True)


class GridTaskEvent(ProvinceBase):
    """One step of a task: created, a state, an escalation, an assignment, a hand-over."""

    __tablename__ = "grid_task_events"
    __table_args__ = (UniqueConstraint("task_id", "action_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(24), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str] = mapped_column(String(500))
    #: the client's id of a worker's action (a repeat of it is the same action), else None
    action_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class GridHandoverOut(ProvinceBase):
    """A task to hand to another province through the hub (sent, then deleted)."""

    __tablename__ = "grid_handover_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(24))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
