"""The province's own tables, on its own metadata (its own database and migrations).

``person_summaries``, ``visits`` and ``colours`` are shared names (other parts read and write
them: the whole-population re-evaluation reads the summaries and writes colours):

- ``person_summaries``: one row per person, one column per field of
  ``core.rules.PERSON_FIELDS`` (time -> ``UTCDateTime``, str -> String, int -> Integer), the
  facts document's fields the person's own records decide, kept current whenever a fact
  changes; the risk-area fields (``core.rules.AREA_FIELDS``) are not stored: they are derived
  from ``visits`` and the current risk areas wherever a document is read
  (``province/documents.py`` for one person, ``batch/reevaluate.py`` in columns), so a
  designation or a lift writes no summary;
- ``visits``: who was where (from itinerary records), indexed by ``(region_code, at)``;
- ``colours``: the result of the rules for each person; ``until`` (indexed) is the durable
  schedule of timely transcoding.

The rest is the province's own: the people who applied (identity encrypted), the records of its
feed (current version), the risk areas, the feed cursor, the status outbox, the background
re-evaluations, the feed entries that could not take effect, and the colour log
(``colour_log_*``, docs/audit.md). No table records codes: a code's serial names its colour
state (``states.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from healthcode.core.rules import PERSON_FIELDS, SUMMARY_FIELDS
from healthcode.store.audit_log import log_tables
from healthcode.store.base import NAMING_CONVENTION, BigId, Json, UTCDateTime

__all__ = [
    "COLOUR_LOG",
    "Appeal",
    "CitizenSession",
    "Colour",
    "Decision",
    "DecisionAlert",
    "DecisionSubject",
    "FactRecord",
    "FeedCursor",
    "FeedDeadLetter",
    "HoldChallenge",
    "Holding",
    "Person",
    "ProvinceBase",
    "ReevaluationJob",
    "RiskAreaRow",
    "SignInChallenge",
    "SignInThrottle",
    "StaffMember",
    "StatusIndexCounter",
    "StatusOutbox",
    "Visit",
    "person_summaries",
    "summary_columns",
]


class ProvinceBase(DeclarativeBase):
    """The province's tables: a metadata apart from the hub's."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Person(ProvinceBase):
    """Someone who applied for this province's code: identity encrypted, masked for display."""

    __tablename__ = "people"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: keyed digest of (ID type, number): finds an application again without decrypting
    id_digest: Mapped[str] = mapped_column(String(64), unique=True)
    id_type: Mapped[str] = mapped_column(String(32))
    id_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    masked_id: Mapped[str] = mapped_column(String(40))
    masked_name: Mapped[str] = mapped_column(String(120))
    residence_region: Mapped[str] = mapped_column(String(6))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FactRecord(ProvinceBase):
    """A record of the feed, as its current version (``fact`` None once withdrawn)."""

    __tablename__ = "fact_records"

    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    fact: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Visit(ProvinceBase):
    """Who was where: one row per current itinerary record, for risk-area re-evaluation.
    ``flag`` says why a venue scan is left out (``core/facts/scans.py``; None: it counts)."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_region_code_at", "region_code", "at"),)

    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(32))
    flag: Mapped[str | None] = mapped_column(String(32), nullable=True)


class RiskAreaRow(ProvinceBase):
    """A risk-area designation as the hub last sent it (every province gets every change)."""

    __tablename__ = "risk_areas"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    region_code: Mapped[str] = mapped_column(String(6))
    level: Mapped[str] = mapped_column(String(8))
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer)


def summary_columns() -> list[Column[Any]]:
    """One column per field of ``PERSON_FIELDS``, named alike, typed by its kind."""
    kinds: dict[str, Any] = {"time": UTCDateTime, "str": String, "int": Integer}
    return [Column(name, kinds[SUMMARY_FIELDS[name][0]](), nullable=True) for name in PERSON_FIELDS]


#: The flat, time-independent facts document of each person (``core.rules.summarise``) but
#: its risk-area fields (see the module).
person_summaries = Table(
    "person_summaries",
    ProvinceBase.metadata,
    Column("pseudonym", String(64), primary_key=True),
    *summary_columns(),
    Column("updated_at", UTCDateTime, nullable=False),
)


class Colour(ProvinceBase):
    """Each person's colour from the rules, with why and until when."""

    __tablename__ = "colours"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    colour: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    badges: Mapped[dict[str, Any]] = mapped_column(Json)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    ruleset_digest: Mapped[str] = mapped_column(String(80))
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: when this colour state began: set when the colour or ``until`` changed, kept otherwise
    #: (``states.py``: a state's serial is computed from it)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    #: This colour state's index in the hub's Token Status List of the province (its codes
    #: carry it); None for a person not held when the state began (nothing reported).
    status_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class StatusIndexCounter(ProvinceBase):
    """The next free status-list index of the province (one row): each colour state reported
    takes one, in the transaction that queues its report."""

    __tablename__ = "status_index_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_index: Mapped[int] = mapped_column(BigInteger)


class FeedCursor(ProvinceBase):
    """The last feed entry applied (one row): advanced in the transaction of its effect."""

    __tablename__ = "feed_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatusOutbox(ProvinceBase):
    """A colour change to report to the hub's status service, written with the change; sent
    (and deleted) by the report loop."""

    __tablename__ = "status_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    serial: Mapped[str] = mapped_column(String(64))
    colour: Mapped[str] = mapped_column(String(8))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ruleset_version: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The colour state's status-list index (None: a report of an issued code, no new state).
    status_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ReevaluationJob(ProvinceBase):
    """A background re-evaluation (``jobs.py``): of everyone under a rule set (``kind``
    ``ruleset``), or of the people a large risk-area change concerns (``area``, its windows in
    ``scope``); ``done`` people so far, the last pseudonym reached, advanced in the
    transaction of each chunk's writes."""

    __tablename__ = "reevaluation_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(12), default="ruleset")
    #: an area job's windows: ``[[region_code, start], ...]`` (start as an ISO instant)
    scope: Mapped[list[Any] | None] = mapped_column(Json, nullable=True)
    ruleset_digest: Mapped[str] = mapped_column(String(80))
    label: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))  # running, done, superseded
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    last_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedDeadLetter(ProvinceBase):
    """A feed entry that can never take effect (an unknown region, a malformed entry): kept
    with a stable error code instead of stopping the feed (``feed.py``)."""

    __tablename__ = "feed_dead_letters"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(300))
    entry: Mapped[dict[str, Any]] = mapped_column(Json)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffMember(ProvinceBase):
    """A member of the province's staff (``staff.py``): roles, the region they serve (and
    grid, for grid roles), the SHA-256 digest of their token; disabled, never deleted (their
    id stays in what they did)."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    roles: Mapped[list[str]] = mapped_column(Json)
    region_code: Mapped[str] = mapped_column(String(6))
    grid_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Decision(ProvinceBase):
    """A manual colour decision (``decisions.py``): what it gives, on which legal basis and
    evidence, until when; who proposed and who approved it, with the roles they held and the
    regions they served then.
    ``state``: proposed, approved, rejected, revoked (an approved one past ``expires_at`` has
    expired). Never deleted."""

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    colour: Mapped[str] = mapped_column(String(8))
    legal_basis: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[list[dict[str, str]]] = mapped_column(Json)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    subjects: Mapped[int] = mapped_column(Integer)
    bulk: Mapped[bool] = mapped_column(Boolean)
    renews: Mapped[str | None] = mapped_column(String(24), nullable=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    proposed_by: Mapped[str] = mapped_column(String(24))
    proposer_roles: Mapped[list[str]] = mapped_column(Json)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(24), nullable=True)
    approver_roles: Mapped[list[str] | None] = mapped_column(Json, nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(24), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    close_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: the regions it was made in (migration p0015): what the proposer served when proposing,
    #: what the approver served when approving, the smallest region holding the people's
    #: residences at the proposal (``safeguards.common_region``); None: not known
    proposer_region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    approver_region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    people_region: Mapped[str | None] = mapped_column(String(6), nullable=True)


class DecisionSubject(ProvinceBase):
    """A person a decision names, with the decision's colour and when it acts on them: from
    ``starts_at`` (its approval; None before) to ``ends_at`` (its expiry, or its revocation).
    Both re-evaluation paths read the rows acting at their instant."""

    __tablename__ = "decision_subjects"
    __table_args__ = (Index("ix_decision_subjects_pseudonym_ends_at", "pseudonym", "ends_at"),)

    decision_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    colour: Mapped[str] = mapped_column(String(8))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DecisionAlert(ProvinceBase):
    """An alert for the hub (a bulk decision proposed, approved or refused), written in its own
    transaction so a refusal keeps it; sent (and deleted) by the report loop."""

    __tablename__ = "decision_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Appeal(ProvinceBase):
    """A person's appeal of their colour (``appeals.py``): reason and evidence, its state
    (open, escalated, correcting, corrected, rejected), its deadline, who answered what."""

    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_state_deadline_at", "state", "deadline_at"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(12))
    colour: Mapped[str] = mapped_column(String(8))  # the colour appealed
    reason: Mapped[str] = mapped_column(String(1000))
    evidence: Mapped[list[str]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(24), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answer: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    #: the hub's ids of the records withdrawn by a correction
    records: Mapped[list[int] | None] = mapped_column(Json, nullable=True)


#: The colour log's tables (``store/audit_log.py``): every colour change a leaf.
COLOUR_LOG = log_tables(ProvinceBase.metadata, "colour_log")


class SignInChallenge(ProvinceBase):
    """A one-time code asked for (``signin.py``): its keyed digest, never the code itself.

    ``pseudonym`` is None when the ID and phone named nobody here: the answer looked the same,
    no code was sent, and no code can match."""

    __tablename__ = "sign_in_challenges"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id_digest: Mapped[str] = mapped_column(String(64))
    pseudonym: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SignInThrottle(ProvinceBase):
    """Codes asked and failed sign-ins in the current window, per ID (``id:<digest>``) and per
    client address (``addr:<address>``), and the lock that repeated failures set."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    codes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CitizenSession(ProvinceBase):
    """A signed-in citizen's session: the SHA-256 digest of its token, its expiry, its end."""

    __tablename__ = "citizen_sessions"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class HoldChallenge(ProvinceBase):
    """A consent code sent to the phone of someone a signed-in person asks to hold
    (``family.py``): its keyed digest, bound to the holder who asked. ``held`` is None when
    the ID and phone named nobody here (nothing was sent, no code can match)."""

    __tablename__ = "hold_challenges"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    held: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Holding(ProvinceBase):
    """A family member holding someone's code with their consent: who holds (``holder``), whose
    code (``held``), since when, and its end (by either of them: ``revoked_by``)."""

    __tablename__ = "holdings"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64), index=True)
    held: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(8), nullable=True)
