"""Idempotency keys: a request's answer stored with its key, given again for a retry.

The answer is stored in the transaction of the change it answers, so a key is remembered exactly
when the change was made. The key is bound to the request's digest: the same key with another
request is refused (``IDEMPOTENCY_KEY_REUSED``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub.orgs import Principal
from healthcode.store.models import IdempotencyKey

__all__ = ["answer_again", "earlier_answer", "earlier_answers", "remember"]


def earlier_answer(
    s: Session, principal: Principal, key: str | None, request_digest: str
) -> dict[str, Any] | None:
    """The answer stored for ``key``, or None if there is none (or no key).

    Raises InvalidInput IDEMPOTENCY_KEY_REUSED when the key came with another request.
    """
    if key is None:
        return None
    earlier = s.get(IdempotencyKey, (principal.org_id, key))
    if earlier is None:
        return None
    return answer_again((earlier.request_digest, earlier.response), request_digest)


#: What is stored under a key: the request's digest and its answer.
Stored = tuple[str, dict[str, Any]]


def earlier_answers(s: Session, wanted: Sequence[tuple[int, str]]) -> dict[tuple[int, str], Stored]:
    """What is stored under each ``(org_id, key)`` of ``wanted`` that has been used, in one
    statement."""
    if not wanted:
        return {}
    t = IdempotencyKey
    by_org: dict[int, list[str]] = {}
    for org_id, key in sorted(set(wanted)):
        by_org.setdefault(org_id, []).append(key)
    # Each organisation's keys as ``key IN (...)`` beside its ``org_id``: on PostgreSQL one scan
    # of the primary key with both columns as its condition (``key = ANY(...)``), where a
    # row-value ``(org_id, key) IN (...)`` is one bitmap index scan per key, OR-ed.
    condition = or_(*(and_(t.org_id == org_id, t.key.in_(keys)) for org_id, keys in by_org.items()))
    rows = s.execute(select(t.org_id, t.key, t.request_digest, t.response).where(condition)).all()
    return {(org_id, key): (digest, response) for org_id, key, digest, response in rows}


def answer_again(stored: Stored, request_digest: str) -> dict[str, Any]:
    """The stored answer, for a request with the same digest.

    Raises InvalidInput IDEMPOTENCY_KEY_REUSED when the key came with another request."""
    digest, response = stored
    if digest != request_digest:
        raise InvalidInput(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was used for a different request",
            field="Idempotency-Key",
        )
    return dict(response)


def remember(
    s: Session,
    principal: Principal,
    key: str | None,
    request_digest: str,
    answer: dict[str, Any],
    now: datetime,
) -> None:
    """Store ``answer`` under ``key`` (nothing without a key), in the caller's transaction."""
    if key is not None:
        s.add(
            IdempotencyKey(
                org_id=principal.org_id,
                key=key,
                request_digest=request_digest,
                status_code=200,
                response=answer,
                created_at=now,
            )
        )
