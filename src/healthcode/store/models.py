"""The hub's tables. Facts are keyed by pseudonym; raw identities live apart, encrypted.

Each table's purpose and retention period is declared in ``store/retention.py``; a test checks
that every table here has an entry there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from healthcode.store.base import Base, BigId, Json, JsonAsWritten, UTCDateTime

__all__ = [
    "CORRECTION_ACTIONS",
    "ORG_KINDS",
    "PUBLISHED_KINDS",
    "RECORD_KINDS",
    "REGISTRATION_REASONS",
    "Alert",
    "AuditEvent",
    "CodeStatus",
    "FeedCounter",
    "FeedEntry",
    "IdempotencyKey",
    "Identity",
    "OrgToken",
    "Organisation",
    "PublishedDocument",
    "PurgeStatement",
    "Record",
    "RecordVersion",
    "Registration",
    "RiskArea",
    "TrustState",
    "WitnessLog",
]

ORG_KINDS = (
    "lab",
    "vaccination",
    "disease-control",
    "risk-authority",
    "itinerary",
    "province",
    "checkpoint",
)
RECORD_KINDS = ("nat", "antibody", "vaccination", "infection", "contact", "itinerary")
CORRECTION_ACTIONS = ("correct", "withdraw")
#: Why a province holds a person: where they live, a stay (a visit), where they work.
REGISTRATION_REASONS = ("residence", "stay", "work")
#: The kinds of signed document the hub publishes (core.trust.envelope.KINDS).
PUBLISHED_KINDS = ("rule-set", "value-set", "risk-areas", "trust-list")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Organisation(Base):
    """A department, province or checkpoint that talks to the hub."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(_in("kind", ORG_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    region_code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrgToken(Base):
    """An API token of an organisation, stored as its SHA-256 digest only."""

    __tablename__ = "org_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Identity(Base):
    """Raw identity of a pseudonym, AES-GCM encrypted; read only where the law needs it."""

    __tablename__ = "identities"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    id_type: Mapped[str] = mapped_column(String(24))
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    home_region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Registration(Base):
    """A province's registration of a person (``hub/holders.py``): the province holds the
    person's code, for a reason, until it ends the registration (``ended_at``). One row per
    person and province; several provinces may hold one person at once."""

    __tablename__ = "registrations"
    __table_args__ = (CheckConstraint(_in("reason", REGISTRATION_REASONS), name="reason"),)

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    province: Mapped[str] = mapped_column(String(6), primary_key=True, index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    reason: Mapped[str] = mapped_column(String(12))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Record(Base):
    """One fact submitted by a department, without raw identity (``payload`` holds the rest)."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("org_id", "kind", "natural_key"),
        CheckConstraint(_in("kind", RECORD_KINDS), name="kind"),
        Index("ix_records_kind_occurred_at", "kind", "occurred_at"),
        Index("ix_records_received_at", "received_at"),  # the dashboard's ingest per hour
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    natural_key: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    province: Mapped[str] = mapped_column(String(6))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)


class IdempotencyKey(Base):
    """The stored answer to a request sent with an ``Idempotency-Key`` header."""

    __tablename__ = "idempotency_keys"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JsonAsWritten)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class FeedCounter(Base):
    """The last sequence number given out in a province's feed (row-locked by writers), and
    the last one purged (a cursor before it can no longer be served without a gap)."""

    __tablename__ = "feed_counters"

    province: Mapped[str] = mapped_column(String(6), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    purged_through: Mapped[int] = mapped_column(BigInteger, default=0)


class FeedEntry(Base):
    """One change for one province, in the province's order (``seq``)."""

    __tablename__ = "feed_entries"
    __table_args__ = (Index("ix_feed_entries_created_at", "created_at"),)

    province: Mapped[str] = mapped_column(String(6), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    ref_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskArea(Base):
    """A risk-area designation; changes bump ``version``, lifting sets ``lifted_at``, cancelling
    (before it came into force) sets ``cancelled_at``."""

    __tablename__ = "risk_areas"
    __table_args__ = (CheckConstraint(_in("level", ("high", "medium", "low")), name="level"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    level: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    document: Mapped[str] = mapped_column(String(500))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    version: Mapped[int] = mapped_column(Integer)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CodeStatus(Base):
    """The status of a code as its issuing province reported it (for cross-province checks)."""

    __tablename__ = "code_status"
    __table_args__ = (
        CheckConstraint(_in("colour", ("green", "yellow", "red")), name="colour"),
        CheckConstraint("list_status BETWEEN 0 AND 3", name="list_status"),
        UniqueConstraint("province", "status_index"),
    )

    serial: Mapped[str] = mapped_column(String(64), primary_key=True)
    province: Mapped[str] = mapped_column(String(6))
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    colour: Mapped[str] = mapped_column(String(8))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ruleset_version: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: The colour state's index in its province's Token Status List (None: reported without).
    status_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: Its status there: 0 valid, 1 invalid (revoked), 3 superseded (core/codes/status_list.py).
    list_status: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PurgeStatement(Base):
    """A signed statement of what one purge run deleted."""

    __tablename__ = "purge_statements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    statement: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(Text)


class RecordVersion(Base):
    """A later version of a record: a correction or a withdrawal by the organisation that
    submitted it (GB/T 38963 信息更正). The ``records`` row stays as version 1, unchanged."""

    __tablename__ = "record_versions"
    __table_args__ = (
        UniqueConstraint("record_id", "version"),
        CheckConstraint(_in("action", CORRECTION_ACTIONS), name="action"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(12))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    reason: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditEvent(Base):
    """Who did what to which thing, when and why (corrections, withdrawals, publications)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(Json)


class PublishedDocument(Base):
    """A signed envelope the hub published; ``seq`` grows per kind and never repeats."""

    __tablename__ = "published_documents"
    __table_args__ = (CheckConstraint(_in("kind", PUBLISHED_KINDS), name="kind"),)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    content_digest: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    expires: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TrustState(Base):
    """The network's trust state, one row (``id = 1``) that every change and every publication
    locks first (``store/trust_state.py``); ``document`` is ``core/trust/state.py``'s."""

    __tablename__ = "trust_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(Base):
    """An alert a province raised (a bulk colour decision proposed, approved or refused),
    for the national staff (``hub/alerts.py``); ``ref`` is the province's own id of it, so a
    retried alert is stored once."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("org_id", "ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(Integer)
    province: Mapped[str] = mapped_column(String(6))
    ref: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict[str, Any]] = mapped_column(Json)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class WitnessLog(Base):
    """A colour log the hub witnesses (``hub/witness.py``): its origin and note key, registered
    by the network's operator, and the last checkpoint the hub cosigned for it (size 0, the
    empty root and no note before the first), replaced only by a consistent larger one."""

    __tablename__ = "witness_logs"

    origin: Mapped[str] = mapped_column(String(200), primary_key=True)
    province: Mapped[str] = mapped_column(String(6))
    vkey: Mapped[str] = mapped_column(String(400))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
