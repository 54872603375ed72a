"""Re-evaluating everyone after a new national rule set or overlay version, in the background.

A job (``reevaluation_jobs``) names the rule-set digest it applies, how many people there were
when it began (``total``), how many it has done and the last pseudonym it reached
(``last_key``, in the database's order of ``person_summaries``). :func:`step` re-evaluates the
next chunk after ``last_key`` with the columnar pipeline (``bulk.reevaluate_chunk``: summaries,
colours, status reports of held people whose colour or until changed) and advances the job
in the same transaction: a kill -9 loses at most the chunk under way, which the next step
does again; nothing is applied twice.

:func:`ensure` starts a job when the newest one is for another digest (the rule set in use
changed, or none ran yet: a first start re-evaluates everyone once); a job of an older digest
still running is marked ``superseded``. Meanwhile the service runs as before: a code asked for
by a person the job has not reached yet is re-evaluated first (``codes.py``: a colour of
another digest is stale), and per-person updates use the new rule set at once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from healthcode.core.facts import format_instant
from healthcode.core.rules import RuleSet
from healthcode.province.bulk import reevaluate_chunk
from healthcode.province.changes import ChangeListener
from healthcode.province.models import ReevaluationJob, person_summaries

__all__ = ["describe", "ensure", "latest", "step"]

log = logging.getLogger("healthcode.province")


def latest(session: Session, *, lock: bool = False) -> ReevaluationJob | None:
    """The newest job (``lock``: held to the end of the transaction)."""
    stmt = select(ReevaluationJob).order_by(ReevaluationJob.id.desc()).limit(1)
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
        .where(ReevaluationJob.state == "running")
        .values(state="superseded", updated_at=now)
    )
    total = session.execute(select(func.count()).select_from(person_summaries)).scalar_one()
    job = ReevaluationJob(
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
    if not ids:
        job.state, job.updated_at = "done", now
        job.total = max(job.total, job.done)
        log.info("re-evaluation %d done: %d people", job.id, job.done)
        session.flush()
        return job
    reevaluate_chunk(
        session,
        ids,
        ruleset=ruleset,
        now=now,
        label=label,
        key_range=(ids[0], ids[-1]),
        on_changes=on_changes,
    )
    fresh = session.get(ReevaluationJob, job.id)  # expired by the chunk
    assert fresh is not None
    job = fresh
    job.done += len(ids)
    job.total = max(job.total, job.done)
    job.last_key, job.updated_at = ids[-1], now
    session.flush()
    log.info("re-evaluation %d: %d/%d", job.id, job.done, job.total)
    return job


def describe(job: ReevaluationJob) -> dict[str, Any]:
    """A job as the operator route shows it."""
    return {
        "id": job.id,
        "ruleset_digest": job.ruleset_digest,
        "ruleset": job.label,
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "last_key": job.last_key,
        "created_at": format_instant(job.created_at),
        "updated_at": format_instant(job.updated_at),
    }
