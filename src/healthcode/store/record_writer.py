"""Record writes by dialect: new records, identities, and what was stored before.

``hub/ingest.py`` holds the rules (all or nothing, natural keys, digests, routing); a
``RecordWriter`` holds the SQL, and ``record_writer(dialect)`` gives the one for a
``Database.dialect``.

A row's ``province`` is stored as the ingest service gives it (the province of the ID number's
region: where the record goes when nobody holds the person); the feeds it goes to are chosen by
the ingest service from the person's holders (``hub/holders.py``), not here.

- **SQLite** (``SqliteRecordWriter``) looks up the natural keys stored before, then inserts the
  others with ``INSERT ... RETURNING`` (SQLAlchemy's executemany), routed in Python.
- **PostgreSQL** (``PostgresRecordWriter``) inserts first and lets the unique index find the
  keys stored before: one ``INSERT ... SELECT`` for the batch, its rows one JSON parameter
  (``store/bulk.py``), ``ON CONFLICT (org_id, kind, natural_key)
  DO NOTHING``. A batch of at least ``OPTIMISTIC_MIN`` records first tries a plain ``INSERT``
  (no ``ON CONFLICT``) under a savepoint: the common case, a batch of new records, then costs
  the server less (``ON CONFLICT`` inserts each index entry speculatively; about 15% of this
  insert's backend CPU, ``bench/hub_insert_forms.py``). If a natural key was stored before, the
  unique index refuses the plain insert, the savepoint undoes it, and the batch takes the
  statement with ``ON CONFLICT``. A concurrent writer of the same key makes the insert wait for
  its commit and then see the row. Identities are upserted in one statement too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import psycopg
from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from healthcode.store.bulk import insert_rows
from healthcode.store.models import Identity, Record

__all__ = [
    "OPTIMISTIC_MIN",
    "PostgresRecordWriter",
    "RecordWriter",
    "SqliteRecordWriter",
    "record_writer",
    "stored_records",
]

#: Batches of at least this many records try the plain insert first (two more round trips).
OPTIMISTIC_MIN = 64
#: Keys a statement names at most (``IN`` lists).
CHUNK = 500

#: (id, province) of each record a writer inserted, by natural key.
Inserted = dict[str, tuple[int, str]]


class RecordWriter(Protocol):
    def insert_new(self, session: Session, rows: Sequence[dict[str, Any]]) -> Inserted:
        """Insert the ``records`` rows (one organisation, one kind, distinct natural keys)
        whose natural key was not stored before; what was inserted. Rows are written in the
        order given: callers sort them by natural key, the one lock order of every writer."""
        ...

    def upsert_identities(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``identities`` rows (sorted by pseudonym: one lock order), or update a
        stored one's ``last_seen_at`` and the fields the row has (name, phone, region)."""
        ...


def stored_records(
    session: Session, org_id: int, kind: str, keys: Sequence[str]
) -> dict[str, tuple[int, str]]:
    """(id, digest) of the organisation's stored records of ``kind`` with these natural keys."""
    found: dict[str, tuple[int, str]] = {}
    for condition in _key_chunks(Record.natural_key, keys):
        rows = session.execute(
            select(Record.natural_key, Record.id, Record.digest).where(
                Record.org_id == org_id, Record.kind == kind, condition
            )
        ).all()
        found.update({key: (rid, digest) for key, rid, digest in rows})
    return found


def _key_chunks(column: Any, keys: Sequence[str]) -> list[ColumnElement[bool]]:
    """Conditions ``column IN chunk`` covering ``keys``, chunks of ``CHUNK`` values. (One
    ``= ANY(array)`` on PostgreSQL was tried: on a fresh table without statistics the planner
    scanned the whole table per batch, 11 s a query at 40k rows; to be revisited.)"""
    return [column.in_(keys[i : i + CHUNK]) for i in range(0, len(keys), CHUNK)]


class SqliteRecordWriter:
    def insert_new(self, session: Session, rows: Sequence[dict[str, Any]]) -> Inserted:
        if not rows:
            return {}
        org_id, kind = rows[0]["org_id"], rows[0]["kind"]
        before = stored_records(session, org_id, kind, [r["natural_key"] for r in rows])
        new = [r for r in rows if r["natural_key"] not in before]
        if not new:
            return {}
        statement = insert(Record).returning(Record.id, sort_by_parameter_order=True)
        ids = session.execute(statement, new).scalars()
        return {r["natural_key"]: (rid, r["province"]) for r, rid in zip(new, ids, strict=True)}

    def upsert_identities(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(rows), CHUNK):
            stmt = sqlite.insert(Identity)
            stmt = stmt.on_conflict_do_update(
                index_elements=["pseudonym"],
                set_={
                    "last_seen_at": stmt.excluded.last_seen_at,
                    "name_enc": func.coalesce(stmt.excluded.name_enc, Identity.name_enc),
                    "phone_enc": func.coalesce(stmt.excluded.phone_enc, Identity.phone_enc),
                    "home_region": func.coalesce(stmt.excluded.home_region, Identity.home_region),
                },
            )
            session.execute(stmt, rows[start : start + CHUNK])


_RETURNED = ("natural_key", "id", "province")
_IDENTITY_CONFLICT = (
    "ON CONFLICT (pseudonym) DO UPDATE SET"
    " last_seen_at = excluded.last_seen_at,"
    " name_enc = coalesce(excluded.name_enc, identities.name_enc),"
    " phone_enc = coalesce(excluded.phone_enc, identities.phone_enc),"
    " home_region = coalesce(excluded.home_region, identities.home_region)"
)


class PostgresRecordWriter:
    def insert_new(self, session: Session, rows: Sequence[dict[str, Any]]) -> Inserted:
        returned = self.insert_all(session, rows) if len(rows) >= OPTIMISTIC_MIN else None
        if returned is None:
            returned = insert_rows(
                session,
                Record.__table__,
                rows,
                on_conflict="ON CONFLICT (org_id, kind, natural_key) DO NOTHING",
                returning=_RETURNED,
            )
        return {key: (rid, province) for key, rid, province in returned}

    @staticmethod
    def insert_all(
        session: Session, rows: Sequence[dict[str, Any]]
    ) -> list[tuple[Any, ...]] | None:
        """Insert ``rows`` without ``ON CONFLICT``, all or none: the returned columns, or None
        (and nothing written) if a natural key was stored before."""
        try:
            with session.begin_nested():
                return insert_rows(session, Record.__table__, rows, returning=_RETURNED)
        except psycopg.errors.UniqueViolation:
            return None

    def upsert_identities(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        insert_rows(session, Identity.__table__, rows, on_conflict=_IDENTITY_CONFLICT)


_WRITERS: dict[str, RecordWriter] = {
    "sqlite": SqliteRecordWriter(),
    "postgresql": PostgresRecordWriter(),
}


def record_writer(dialect: str) -> RecordWriter:
    """The writer for a ``Database.dialect`` (``sqlite`` or ``postgresql``)."""
    return _WRITERS[dialect]
