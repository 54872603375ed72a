"""Organisations and their API tokens: onboarding, listing, expiry, revocation, authentication.

A token is shown once, when it is made; the store keeps only its SHA-256 digest. A token is
``hc_`` followed by 43 URL-safe characters (256 random bits), so a digest without a salt is
safe: there is nothing to guess.

Token cache: ``authenticate`` keeps a token it has found valid for ``cache_seconds``
(``HEALTHCODE_TOKEN_CACHE_SECONDS``, default 30; 0 turns the cache off) instead of reading the
database on every request. The cached expiry time is still checked against the clock on every
call, so a token's own expiry is exact; a revocation or ``expire`` made through *this*
``OrgService`` empties the cache at once; one made in another process (the CLI, another server
worker) takes effect there within ``cache_seconds``. Unknown, revoked and expired tokens are
never cached: they are read again each time.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.store.db import Database
from healthcode.store.models import ORG_KINDS, Organisation, OrgToken

__all__ = ["OrgService", "Principal", "TokenInfo", "hash_token"]

TOKEN_PREFIX = "hc_"
#: The most tokens a process keeps checked (one per calling organisation; the cache is emptied
#: when it is full rather than growing without bound).
TOKEN_CACHE_MAX = 10_000


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an organisation, its kind, region and province."""

    org_id: int
    kind: str
    region_code: str
    name: str

    @property
    def province(self) -> str:
        return regions.province_of(self.region_code).code


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    org_id: int
    org_name: str
    kind: str
    region_code: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


@dataclass(frozen=True, slots=True)
class _Checked:
    principal: Principal
    expires_at: datetime
    until: float  # monotonic time after which the database is read again


@dataclass(kw_only=True, eq=False)
class OrgService:
    db: Database
    clock: Clock
    token_days: int = 365
    cache_seconds: float = 0.0
    monotonic: Callable[[], float] = time.monotonic
    _cache: dict[str, _Checked] = field(default_factory=dict, init=False)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    #: Bumped by forget_tokens: a read begun before it is not cached.
    _generation: int = field(default=0, init=False)

    def forget_tokens(self) -> None:
        """Empty this process's token cache (revocation and expiry here call it)."""
        with self._cache_lock:
            self._cache.clear()
            self._generation += 1

    def add(self, *, kind: str, region_code: str, name: str) -> tuple[int, str]:
        """Onboard an organisation; returns its id and its first token (shown once).

        Raises InvalidInput ORG_KIND_UNKNOWN, REGION_* (unknown region), ORG_NAME_MISSING.
        """
        if kind not in ORG_KINDS:
            raise InvalidInput(
                ErrorCode.ORG_KIND_UNKNOWN,
                f"kind must be one of {', '.join(ORG_KINDS)}",
                field="kind",
            )
        try:
            region = regions.lookup(region_code)
        except InvalidInput as exc:
            raise InvalidInput(exc.code, exc.message, field="region") from exc
        if kind == "province" and region.level != "province":
            raise InvalidInput(
                ErrorCode.ORG_REGION_NOT_PROVINCE,
                "a province is onboarded with its province code",
                field="region",
            )
        if not name.strip():
            raise InvalidInput(
                ErrorCode.ORG_NAME_MISSING, "an organisation needs a name", field="name"
            )
        with self.db.write() as s:
            org = Organisation(
                kind=kind, region_code=region.code, name=name.strip(), created_at=self.clock.now()
            )
            s.add(org)
            s.flush()
            token = self._new_token(s, org.id)
            return org.id, token

    def issue_token(self, org_id: int) -> str:
        """A new token for an existing organisation. Raises InvalidInput ORG_UNKNOWN."""
        with self.db.write() as s:
            if s.get(Organisation, org_id) is None:
                raise InvalidInput(ErrorCode.ORG_UNKNOWN, f"no organisation {org_id}", field="org")
            return self._new_token(s, org_id)

    def _new_token(self, s: Session, org_id: int) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock.now()
        s.add(
            OrgToken(
                org_id=org_id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + timedelta(days=self.token_days),
            )
        )
        return token

    def tokens(self) -> list[TokenInfo]:
        with self.db.read() as s:
            rows = s.execute(
                select(OrgToken, Organisation)
                .join(Organisation, Organisation.id == OrgToken.org_id)
                .order_by(OrgToken.id)
            ).all()
            return [
                TokenInfo(
                    id=t.id,
                    org_id=o.id,
                    org_name=o.name,
                    kind=o.kind,
                    region_code=o.region_code,
                    created_at=t.created_at,
                    expires_at=t.expires_at,
                    revoked_at=t.revoked_at,
                )
                for t, o in rows
            ]

    def revoke(self, token_id: int) -> None:
        """Raises InvalidInput TOKEN_UNKNOWN."""
        with self.db.write() as s:
            token = s.get(OrgToken, token_id)
            if token is None:
                raise InvalidInput(ErrorCode.TOKEN_UNKNOWN, f"no token {token_id}", field="token")
            if token.revoked_at is None:
                token.revoked_at = self.clock.now()
        self.forget_tokens()

    def expire(self, token_id: int) -> None:
        """End a token's validity now (it stays listed as expired). Raises TOKEN_UNKNOWN."""
        with self.db.write() as s:
            token = s.get(OrgToken, token_id)
            if token is None:
                raise InvalidInput(ErrorCode.TOKEN_UNKNOWN, f"no token {token_id}", field="token")
            now = self.clock.now()
            if token.expires_at > now:
                token.expires_at = now
        self.forget_tokens()

    def authenticate(self, token: str | None) -> Principal:
        """The organisation holding ``token``.

        Raises AccessDenied TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_REVOKED.
        """
        principal = self.cached(token)
        if principal is not None:
            return principal
        if not token:
            raise AccessDenied(ErrorCode.TOKEN_MISSING, "send 'Authorization: Bearer <token>'")
        digest = hash_token(token)
        started, generation = self.monotonic(), self._generation
        with self.db.read() as s:
            row = s.execute(
                select(OrgToken, Organisation)
                .join(Organisation, Organisation.id == OrgToken.org_id)
                .where(OrgToken.token_hash == digest)
            ).first()
        if row is None:
            raise AccessDenied(ErrorCode.TOKEN_INVALID, "the token is not known")
        t, o = row
        if t.revoked_at is not None:
            raise AccessDenied(ErrorCode.TOKEN_REVOKED, "the token was revoked")
        if t.expires_at <= self.clock.now():
            raise AccessDenied(ErrorCode.TOKEN_EXPIRED, "the token has expired")
        principal = Principal(org_id=o.id, kind=o.kind, region_code=o.region_code, name=o.name)
        if self.cache_seconds > 0:
            # The lifetime counts from before the read: a revocation that committed after it
            # began is seen within ``cache_seconds`` of the revocation.
            entry = _Checked(principal, t.expires_at, started + self.cache_seconds)
            with self._cache_lock:
                if generation == self._generation:
                    if len(self._cache) >= TOKEN_CACHE_MAX:
                        self._cache.clear()
                    self._cache[digest] = entry
        return principal

    def cached(self, token: str | None) -> Principal | None:
        """The principal of ``token`` if this process checked it within ``cache_seconds`` and
        it has not expired since; None means: call :meth:`authenticate` (which reads the
        database). Never raises and never touches the database (safe on an event loop)."""
        if not token or not self._cache:
            return None
        digest = hash_token(token)
        entry = self._cache.get(digest)
        if entry is None:
            return None
        if entry.until <= self.monotonic() or entry.expires_at <= self.clock.now():
            with self._cache_lock:
                if self._cache.get(digest) is entry:
                    del self._cache[digest]
            return None
        return entry.principal
