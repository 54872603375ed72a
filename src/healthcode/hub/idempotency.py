"""Idempotency keys: a request's answer stored with its key, given again for a retry.

The answer is stored in the transaction of the change it answers, so a key is remembered exactly
when the change was made. The key is bound to the request's digest: the same key with another
request is refused (``IDEMPOTENCY_KEY_REUSED``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub.orgs import Principal
from healthcode.store.models import IdempotencyKey

__all__ = ["earlier_answer", "remember"]


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
    if earlier.request_digest != request_digest:
        raise InvalidInput(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was used for a different request",
            field="Idempotency-Key",
        )
    return dict(earlier.response)


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
