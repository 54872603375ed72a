"""What each table is for and how long its rows are kept (the purge job follows this table).

A period counts from the row's ``clock`` column: e.g. a NAT result is kept 90 days after its
sample time. ``per_kind`` overrides the period for kinds of records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

__all__ = ["RETENTION", "Retention"]


@dataclass(frozen=True, kw_only=True)
class Retention:
    purpose: str
    period: timedelta
    clock: str
    per_kind: dict[str, timedelta] = field(default_factory=dict)


_DAY = timedelta(days=1)

#: table -> why it exists and how long a row lives after its ``clock`` column.
RETENTION: dict[str, Retention] = {
    "organisations": Retention(
        purpose="who may talk to the hub; accountability for what they submitted",
        period=3650 * _DAY,
        clock="created_at",
    ),
    "org_tokens": Retention(
        purpose="authenticating organisations (hashes only)",
        period=365 * _DAY,
        clock="expires_at",
    ),
    "identities": Retention(
        purpose="raw identity, encrypted, for legally required follow-up of a pseudonym",
        period=180 * _DAY,
        clock="last_seen_at",
    ),
    "registrations": Retention(
        purpose="routing: which provinces hold a person's code, and why",
        period=365 * _DAY,
        clock="ended_at",  # kept while current; a year after it ends
    ),
    "records": Retention(
        purpose="core data that decides codes, routed to provinces",
        period=90 * _DAY,
        clock="occurred_at",
        per_kind={
            "nat": 30 * _DAY,
            "antibody": 90 * _DAY,
            "vaccination": 1095 * _DAY,
            "infection": 365 * _DAY,
            "contact": 60 * _DAY,
            "itinerary": 14 * _DAY,
        },
    ),
    "idempotency_keys": Retention(
        purpose="answering a retried request the same", period=7 * _DAY, clock="created_at"
    ),
    "feed_counters": Retention(
        purpose="the last sequence number of each province's feed (one row a province, kept)",
        period=timedelta.max,
        clock="",
    ),
    "feed_entries": Retention(
        purpose="changes waiting for provinces to pull them", period=30 * _DAY, clock="created_at"
    ),
    "risk_areas": Retention(
        purpose="current and past risk-area designations", period=365 * _DAY, clock="updated_at"
    ),
    "code_status": Retention(
        purpose="cross-province online checks of a code's status",
        period=30 * _DAY,
        clock="reported_at",
    ),
    "record_versions": Retention(
        purpose="corrections and withdrawals of records, kept as new versions (GB/T 38963)",
        period=1095 * _DAY,
        clock="created_at",  # and deleted with their record (ON DELETE CASCADE)
    ),
    "audit_events": Retention(
        purpose="accountability: who corrected, withdrew or published what, and why",
        period=3650 * _DAY,
        clock="at",
    ),
    "published_documents": Retention(
        purpose="the signed documents served to provinces and checkpoints (and their history)",
        period=365 * _DAY,
        clock="created_at",
    ),
    "trust_state": Retention(
        purpose="the trust network's signers, publishers, revocations and sequence counters",
        period=3650 * _DAY,
        clock="updated_at",
    ),
    "witness_logs": Retention(
        purpose="the colour logs the hub witnesses: their keys and last cosigned checkpoints",
        period=3650 * _DAY,
        clock="registered_at",  # never purged: dropping one would let its log roll back
    ),
    "purge_statements": Retention(
        purpose="proof of what was deleted and when", period=3650 * _DAY, clock="created_at"
    ),
}
