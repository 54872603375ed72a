"""Re-evaluating many people in the background: everyone after a new national rule set or
overlay version (``kind`` ``ruleset``), or the people a large risk-area change concerns
(``area``).

A job (``reevaluation_jobs``) names the rule-set digest it applies, how many people there were
when it began (``total``), how many it has done and the last pseudonym it reached
(``last_key``, in the database's order of ``person_summaries``). :func:`step` re-evaluates the
next chunk after ``last_key`` with the columnar pipeline (``bulk.reevaluate_chunk``:
colours, status reports of held people whose colour or until changed) and advances the job
in the same transaction: a kill -9 loses at most the chunk under way, which the next step
does again; nothing is applied twice.

:func:`ensure` starts a job when the newest one is for another digest (the rule set in use
changed, or none ran yet: a first start re-evaluates everyone once); a job of an older digest
still running is marked ``superseded``. Meanwhile the service runs as before: a code asked for
by a person the job has not reached yet is re-evaluated first (``codes.py``: a colour of
another digest is stale), and per-person updates use the new rule set at once.

An area job (:func:`start_area`, :func:`area_step`) is made in the feed page's transaction,
with the cursor, when a risk-area designation, change or lift concerns more than
``area_job_people`` people (``service.reevaluate_area``; smaller ones are re-evaluated at
once, in the page's transaction). Its ``scope`` holds the windows (region, designation start)
before and after the change; each step re-evaluates the next chunk of the people
``bulk.area_chunk`` finds after ``last_key`` (at the step's time, with the rule set in use)
and advances the job in the same transaction, as a rule-set job does. The feed goes on
meanwhile; a person the job has not reached yet keeps their colour until it does (or until
anything else re-evaluates them).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from healthcode.core.clock import parse_instant
from healthcode.core.facts import format_instant
from healthcode.core.rules import RuleSet
from healthcode.province.bulk import AreaWindow, area_chunk, reevaluate_chunk
from healthcode.province.changes import ChangeListener
from healthcode.province.models import ReevaluationJob, person_summaries
from healthcode.province.states import StateSerials

__all__ = ["area_step", "describe", "ensure", "latest", "start_area", "step"]

log = logging.getLogger("healthcode.province")


def latest(session: Session, *, lock: bool = False) -> ReevaluationJob | None:
    """The newest rule-set job (``lock``: held to the end of the transaction)."""
    stmt = (
        select(ReevaluationJob)
        .where(ReevaluationJob.kind == "ruleset")
        .order_by(ReevaluationJob.id.desc())
        .limit(1)
    )
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def ensure(session: Session, ruleset: RuleSet, *, label: str, now: datetime) -> ReevaluationJob:
    """The job of ``ruleset``: the newest one when it is for this digest, else a new one."""
    job = latest(session, lock=True)
    if job is not None and job.ruleset_digest == ruleset.digest:
        return job
    session.execute(
        update(ReevaluationJob)
        .where(ReevaluationJob.state == "running", ReevaluationJob.kind == "ruleset")
        .values(state="superseded", updated_at=now)
    )
    total = session.execute(select(func.count()).select_from(person_summaries)).scalar_one()
    job = ReevaluationJob(
        kind="ruleset",
        ruleset_digest=ruleset.digest,
        label=label[:64],
        state="running",
        total=total,
        done=0,
        last_key=None,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    session.flush()
    log.info("re-evaluation %d of everyone (%d people) under %s begins", job.id, total, label)
    return job


def step(
    session: Session,
    ruleset: RuleSet,
    *,
    label: str,
    now: datetime,
    chunk_size: int,
    serials: StateSerials,
    on_changes: ChangeListener | None = None,
) -> ReevaluationJob:
    """Ensure the job of ``ruleset`` and, while it runs, re-evaluate its next chunk and advance
    it, in ``session``'s transaction; the job (its state says whether more remains)."""
    job = ensure(session, ruleset, label=label, now=now)
    if job.state != "running":
        return job
    key = person_summaries.c.pseudonym
    stmt = select(key).order_by(key).limit(chunk_size)
    if job.last_key is not None:
        stmt = stmt.where(key > job.last_key)
    ids = list(session.execute(stmt).scalars())
    return _run_chunk(session, job.id, ids, ruleset, label, now, serials, on_changes)


def start_area(
    session: Session,
    windows: list[AreaWindow],
    ruleset: RuleSet,
    *,
    label: str,
    now: datetime,
    total: int,
) -> ReevaluationJob:
    """An area job for ``windows`` (of ``total`` people), in ``session``'s transaction."""
    job = ReevaluationJob(
        kind="area",
        scope=[[region, format_instant(start)] for region, start in windows],
        ruleset_digest=ruleset.digest,
        label=label[:64],
        state="running",
        total=total,
        done=0,
        last_key=None,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    session.flush()
    log.info("re-evaluation %d of a risk area's %d people begins: %s", job.id, total, job.scope)
    return job


def area_step(
    session: Session,
    ruleset: RuleSet,
    *,
    label: str,
    now: datetime,
    chunk_size: int,
    serials: StateSerials,
    on_changes: ChangeListener | None = None,
) -> ReevaluationJob | None:
    """Re-evaluate the next chunk of the oldest running area job and advance it, in
    ``session``'s transaction; the job (None when no area job runs)."""
    job = session.execute(
        select(ReevaluationJob)
        .where(ReevaluationJob.kind == "area", ReevaluationJob.state == "running")
        .order_by(ReevaluationJob.id)
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if job is None:
        return None
    windows = [(str(region), parse_instant(str(start))) for region, start in job.scope or []]
    ids = area_chunk(
        session, windows, ruleset=ruleset, now=now, after=job.last_key, limit=chunk_size
    )
    return _run_chunk(session, job.id, ids, ruleset, label, now, serials, on_changes)


def _run_chunk(
    session: Session,
    job_id: int,
    ids: list[str],
    ruleset: RuleSet,
    label: str,
    now: datetime,
    serials: StateSerials,
    on_changes: ChangeListener | None,
) -> ReevaluationJob:
    """Re-evaluate a job's chunk ``ids`` (sorted) and advance the job past it."""
    if ids:
        reevaluate_chunk(
            session,
            ids,
            ruleset=ruleset,
            now=now,
            label=label,
            serials=serials,
            key_range=(ids[0], ids[-1]),
            on_changes=on_changes,
        )
    return _advanced(session, job_id, ids, now)


def _advanced(session: Session, job_id: int, ids: list[str], now: datetime) -> ReevaluationJob:
    """The job after a chunk of ``ids`` (none: it is done), flushed."""
    job = session.get(ReevaluationJob, job_id)  # expired by the chunk
    assert job is not None
    if not ids:
        job.state, job.total = "done", max(job.total, job.done)
        log.info("re-evaluation %d done: %d people", job.id, job.done)
    else:
        job.done += len(ids)
        job.total = max(job.total, job.done)
        job.last_key = ids[-1]
        log.info("re-evaluation %d: %d/%d", job.id, job.done, job.total)
    job.updated_at = now
    session.flush()
    return job


def describe(job: ReevaluationJob) -> dict[str, Any]:
    """A job as the operator route shows it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "scope": job.scope,
        "ruleset_digest": job.ruleset_digest,
        "ruleset": job.label,
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "last_key": job.last_key,
        "created_at": format_instant(job.created_at),
        "updated_at": format_instant(job.updated_at),
    }
