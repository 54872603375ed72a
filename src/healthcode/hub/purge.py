"""The purge job: delete what ``store/retention.py`` says has expired, and seal a statement.

The statement (JSON) says when the run happened and, per kind of row, how many rows were deleted
and the time range of the deleted rows; it is sealed in the one envelope
(``core/trust/envelope.py``, kind ``purge-statement``, sequence = its row id) by the network's
active publisher, the key the root certified for publishing (never the root itself), stored in
``purge_statements`` in the same transaction as the deletions, and returned. An auditor checks it
with the root certificate alone (:func:`verify_statement`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from healthcode.core.clock import Clock
from healthcode.core.codes.native import MAX_CODE_LIFETIME
from healthcode.core.codes.status_list import STATUS_SUPERSEDED
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError
from healthcode.core.trust.certs import KeyPair
from healthcode.core.trust.envelope import open_envelope, seal
from healthcode.core.trust.network import load_publisher
from healthcode.core.trust.state import revoked_publishers_of
from healthcode.store.db import Database
from healthcode.store.models import (
    CodeStatus,
    FeedCounter,
    FeedEntry,
    IdempotencyKey,
    Identity,
    OrgToken,
    PurgeStatement,
    Record,
    Registration,
    RiskArea,
)
from healthcode.store.retention import RETENTION
from healthcode.store.retry import run_write
from healthcode.store.trust_state import SqlStateStore

__all__ = ["PurgeService", "SignedStatement", "verify_statement"]


@dataclass(frozen=True, slots=True)
class SignedStatement:
    statement: dict[str, Any]
    cose: bytes


def verify_statement(cose: bytes, *, root_cert: x509.Certificate, clock: Clock) -> dict[str, Any]:
    """The statement inside a sealed purge statement, checked against the national root (its
    publisher certified, not revoked in it, signature, digest; its age does not matter).

    Raises TrustError with an ``ENVELOPE_*`` code.
    """
    doc = open_envelope(
        cose, root_cert=root_cert, kind="purge-statement", clock=clock, max_staleness=timedelta.max
    )
    value: dict[str, Any] = json.loads(doc.content)
    return value


class PurgeService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        publisher: KeyPair,
        revoked_publishers: frozenset[bytes] = frozenset(),
    ):
        self.db = db
        self.clock = clock
        self.publisher = publisher
        self.revoked_publishers = revoked_publishers

    @classmethod
    def of_network(
        cls, *, db: Database, clock: Clock, home: Path, passphrase: bytes | None
    ) -> PurgeService:
        """A purge sealed by the network's active publisher: its key from ``home/publishers/``,
        its certificate and the revoked publishers from the trust state in ``db``.

        Raises TrustError ``NETWORK_MISSING``, ``PUBLISHER_UNKNOWN``, ``KEY_*``.
        """
        state = SqlStateStore(db, clock=clock).load()
        if state is None:
            raise TrustError(ErrorCode.NETWORK_MISSING, "the database holds no trust network")
        now = clock.now()
        return cls(
            db=db,
            clock=clock,
            publisher=load_publisher(home, state, at=now, passphrase=passphrase),
            revoked_publishers=revoked_publishers_of(state, at=now),
        )

    def run(self) -> SignedStatement:
        """Delete what has expired and sign the statement, in one transaction (run again from
        the start if it met a writer in a deadlock: ``store/retry.py``). Raises DatabaseBusy."""
        now = self.clock.now()
        return run_write(self.db, lambda s: self._purge(s, now))

    def _purge(self, s: Session, now: datetime) -> SignedStatement:
        """The deletions in the order every writer locks (records, identities, feed counters
        by province), then the rest; the signed statement stored with them."""
        deleted: dict[str, dict[str, Any]] = {}
        rule = RETENTION["records"]
        for kind, period in sorted(rule.per_kind.items()):
            cond = and_(Record.kind == kind, Record.occurred_at < now - period)
            self._delete(s, deleted, f"records.{kind}", Record, Record.occurred_at, cond)
        # identities: not seen for the period and no record left that needs them
        cutoff = now - RETENTION["identities"].period
        cond = and_(
            Identity.last_seen_at < cutoff,
            ~exists().where(Record.pseudonym == Identity.pseudonym),
        )
        self._delete(s, deleted, "identities", Identity, Identity.last_seen_at, cond)
        self._feed_entries(s, deleted, now)
        simple: list[tuple[str, Any, Any]] = [
            ("idempotency_keys", IdempotencyKey, IdempotencyKey.created_at),
            ("code_status", CodeStatus, CodeStatus.reported_at),
            # a current registration (ended_at NULL) is never purged
            ("registrations", Registration, Registration.ended_at),
            ("org_tokens", OrgToken, OrgToken.expires_at),
            ("risk_areas", RiskArea, RiskArea.updated_at),
        ]
        for name, model, clock_col in simple:
            cutoff = now - RETENTION[name].period
            cond = clock_col < cutoff
            if model is RiskArea:  # only areas that are over (lifted, cancelled or ended)
                cond = and_(
                    cond,
                    or_(
                        RiskArea.lifted_at.is_not(None),
                        RiskArea.cancelled_at.is_not(None),
                        RiskArea.valid_to < now,
                    ),
                )
            cond = and_(cond, _listed_state_done(now)) if model is CodeStatus else cond
            self._delete(s, deleted, name, model, clock_col, cond)
        deleted["identities"] = deleted.pop("identities")  # listed last, as it always was
        statement = {
            "kind": "purge-statement",
            "hub_time": now.isoformat(),
            "deleted": deleted,
            "total": sum(d["count"] for d in deleted.values()),
        }
        payload = json.dumps(statement, sort_keys=True, ensure_ascii=False).encode("utf-8")
        row = PurgeStatement(created_at=now, statement=payload.decode("utf-8"), signature="")
        s.add(row)
        s.flush()  # the row id is the statement's sequence
        cose = seal(
            payload,
            kind="purge-statement",
            sequence=row.id,
            not_before=now,
            expires=self.publisher.certificate.not_valid_after_utc,
            publisher=self.publisher,
            revoked_publishers=self.revoked_publishers,
        )
        row.signature = cose.hex()
        return SignedStatement(statement=statement, cose=cose)

    @staticmethod
    def _delete(
        s: Session,
        deleted: dict[str, dict[str, Any]],
        name: str,
        model: Any,
        clock_col: Any,
        cond: Any,
    ) -> None:
        count, oldest, newest = s.execute(
            select(func.count(), func.min(clock_col), func.max(clock_col)).where(cond)
        ).one()
        if count:
            s.execute(delete(model).where(cond).execution_options(synchronize_session=False))
        deleted[name] = {
            "count": int(count),
            "from": _iso(oldest),
            "to": _iso(newest),
        }

    def _feed_entries(self, s: Session, deleted: dict[str, dict[str, Any]], now: datetime) -> None:
        cutoff = now - RETENTION["feed_entries"].period
        cond = FeedEntry.created_at < cutoff
        # remember, per province, the last purged seq: an older cursor is refused, not gapped
        rows = s.execute(
            select(FeedEntry.province, func.max(FeedEntry.seq))
            .where(cond)
            .group_by(FeedEntry.province)
            .order_by(FeedEntry.province)  # counters in province order, as every writer
        ).all()
        for province, seq in rows:
            s.execute(
                update(FeedCounter)
                .where(FeedCounter.province == province, FeedCounter.purged_through < seq)
                .values(purged_through=seq)
            )
        self._delete(s, deleted, "feed_entries", FeedEntry, FeedEntry.created_at, cond)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _listed_state_done(now: datetime) -> Any:
    """A reported state may go unless it holds a place in a Token Status List that still
    matters: a VALID or revoked state stays (its codes may be current), a superseded one goes
    once its successor is older than a code may live (every code of it has expired), so that
    its index never reads VALID while a code of it could still be shown."""
    newer = CodeStatus.__table__.alias("newer")
    c = CodeStatus.__table__.c
    successor_old = exists().where(
        newer.c.province == c.province,
        newer.c.pseudonym == c.pseudonym,
        newer.c.status_index > c.status_index,
        newer.c.reported_at < now - MAX_CODE_LIFETIME,
    )
    return or_(c.status_index.is_(None), and_(c.list_status == STATUS_SUPERSEDED, successor_old))
