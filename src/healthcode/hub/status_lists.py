"""The hub's Token Status Lists (draft-ietf-oauth-status-list, CWT form): the status of every
colour state a province numbered, as compact signed bit lists a checkpoint holds offline.

A province gives each colour state of a person an index from its own counter and reports it with
the status (``hub/status.py``); the hub marks a state SUPERSEDED (3) when a newer state of the
same person (a higher index of the same province) is reported, and INVALID (1) when the
province reports it revoked or the trust state revokes its serial. A province's indexes are cut
into lists of :data:`~healthcode.core.codes.status_list.CHUNK_INDEXES`; list ``chunk`` of
province ``P`` has the URI ``hc://status-list/P/chunk`` and is served at
``GET /v1/status-lists/P/chunk`` as ``application/statuslist+cwt``. A list always holds
``CHUNK_INDEXES`` statuses (two bits each), unused ones VALID: its size says nothing of how many
codes a province issued (the draft's "Default Values and Double Allocation").

Each token is signed by the hub's active publisher (the key that seals every published
document) with its certificate in the header; ``iat`` is when it was built, ``exp`` a day later,
``ttl`` :data:`TTL`. A token is built again once it is older than :data:`TTL` (per process: every
hub process serves lists at most that old).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from healthcode.core.clock import Clock
from healthcode.core.codes.status_list import (
    CHUNK_INDEXES,
    STATUS_INVALID,
    StatusList,
    list_uri,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.trust.status_lists import seal_status_list
from healthcode.hub.access import require
from healthcode.hub.orgs import Principal
from healthcode.hub.publishing import PublishingService
from healthcode.store.db import Database
from healthcode.store.models import CodeStatus

__all__ = ["MEDIA_TYPE", "TTL", "VALIDITY", "StatusListService"]

MEDIA_TYPE = "application/statuslist+cwt"
#: How long a checkpoint may cache a list before it fetches again (the token's ``ttl``), and
#: how long this process serves a list it built.
TTL = timedelta(minutes=5)
#: ``exp`` - ``iat`` of a token.
VALIDITY = timedelta(days=1)
_C = CodeStatus.__table__.c
#: The most chunks a province may have (a counter of 2^40 colour states).
MAX_CHUNK = (1 << 40) // CHUNK_INDEXES


@dataclass(kw_only=True, eq=False)
class StatusListService:
    db: Database
    clock: Clock
    publishing: PublishingService
    ttl: timedelta = TTL
    validity: timedelta = VALIDITY
    _built: dict[tuple[str, int], tuple[datetime, bytes]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def index(self, principal: Principal) -> dict[str, Any]:
        """Every list that holds an index reported so far: ``{"lists": [{uri, province, chunk,
        path}]}``. Raises AccessDenied KIND_NOT_ALLOWED."""
        require(principal, "published:read")
        query = (
            select(_C.province, func.max(_C.status_index))
            .where(_C.status_index.is_not(None))
            .group_by(_C.province)
            .order_by(_C.province)
        )
        with self.db.reader() as conn:
            tops = conn.execute(query).all()
        lists = [
            {
                "uri": list_uri(province, chunk),
                "province": province,
                "chunk": chunk,
                "path": f"/v1/status-lists/{province}/{chunk}",
            }
            for province, top in tops
            for chunk in range(int(top) // CHUNK_INDEXES + 1)
        ]
        return {"lists": lists}

    def token(self, principal: Principal, province: str, chunk: int) -> bytes:
        """The signed list ``chunk`` of ``province``, built again when older than the ttl.

        Raises AccessDenied KIND_NOT_ALLOWED; InvalidInput REGION_FORMAT, VALUE_OUT_OF_RANGE,
        NOT_PUBLISHED.
        """
        require(principal, "published:read")
        if len(province) != 6 or not province.isdigit() or not province.endswith("0000"):
            raise InvalidInput(ErrorCode.REGION_FORMAT, "a province code", field="province")
        if not 0 <= chunk <= MAX_CHUNK:
            raise InvalidInput(ErrorCode.VALUE_OUT_OF_RANGE, "no such list", field="chunk")
        key = (province, chunk)
        now = self.clock.now()
        with self._lock:
            held = self._built.get(key)
            if held is not None and now - held[0] < self.ttl:
                return held[1]
        token = self.seal(province, chunk, now)
        with self._lock:
            self._built[key] = (now, token)
        return token

    def seal(self, province: str, chunk: int, now: datetime) -> bytes:
        """Build list ``chunk`` of ``province`` as it is now and sign it. Raises InvalidInput
        NOT_PUBLISHED when the hub has no publisher."""
        publisher, revoked = self.publishing.publisher_now(now)
        lst = self.build(province, chunk, revoked_serials=revoked)
        return seal_status_list(
            lst,
            uri=list_uri(province, chunk),
            issued_at=now.replace(microsecond=0),
            expires_at=now.replace(microsecond=0) + self.validity,
            ttl=self.ttl,
            publisher=publisher,
        )

    def build(
        self, province: str, chunk: int, *, revoked_serials: frozenset[str] = frozenset()
    ) -> StatusList:
        """The list of ``province``'s indexes ``chunk * CHUNK_INDEXES`` onwards: the states
        not VALID set, and INVALID for the serials the trust state revokes."""
        low = chunk * CHUNK_INDEXES
        within = (
            (_C.province == province)
            & (_C.status_index >= low)
            & (_C.status_index < low + CHUNK_INDEXES)
        )
        marked = select(_C.status_index, _C.list_status).where(within & (_C.list_status != 0))
        lst = StatusList.empty(CHUNK_INDEXES)
        with self.db.reader() as conn:
            for index, status in conn.execute(marked):
                lst.set(int(index) - low, int(status))
            for start in range(0, len(revoked_serials), 500):
                batch = sorted(revoked_serials)[start : start + 500]
                query = select(_C.status_index).where(within & _C.serial.in_(batch))
                for (index,) in conn.execute(query):
                    lst.set(int(index) - low, STATUS_INVALID)
        return lst
