"""A database error is answered and logged without the statement's values (pseudonyms, facts)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport, nat, resident_id
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.hub.app import create_app
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade
from healthcode.store.models import Record
from healthcode.store.record_writer import RecordWriter


class WithoutDigest:
    """The real writer, with every row's digest dropped: the database refuses the insert
    (NOT NULL) and its error text names the row's values."""

    def __init__(self, real: RecordWriter) -> None:
        self.real = real

    def insert_new(self, session: Session, rows: Sequence[dict[str, Any]]) -> Any:
        return self.real.insert_new(session, [{**r, "digest": None} for r in rows])

    def upsert_identities(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        self.real.upsert_identities(session, rows)


def test_a_database_error_names_no_pseudonym_or_fact_in_the_log_or_the_answer(
    fresh_db_url: str, settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything logs, SQLAlchemy's statement log included (it prints parameters unless told
    # not to), from before the engine opens its first connection.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    db = Database.from_url(fresh_db_url)
    try:
        upgrade(db)
        hub = Hub.build(settings=settings, db=db, clock=clock)
        _, token = hub.orgs.add(kind="lab", region_code="440106", name="lab")
        record = nat("REC-7731", resident_id(seq="731"), lab="Marker Lab 7731")
        parsed = hub.ingest.parser.parse("nat", record, defaults={})
        secrets = [parsed.pseudonym, record["id_number"], "Marker Lab 7731"]
        hub.ingest.writer = WithoutDigest(hub.ingest.writer)
        row = hub.ingest.record_row  # a group's single submissions on PostgreSQL take it
        hub.ingest.record_row = lambda *args: {**row(*args), "digest": None}  # type: ignore[method-assign]
        transport = ASGISyncTransport(create_app(hub))
        with httpx.Client(transport=transport, base_url="http://hub.test") as client:
            answer = client.post(
                "/v1/records/nat", json=record, headers={"Authorization": f"Bearer {token}"}
            )
        assert answer.status_code == 500
        assert answer.json()["error"]["code"] == "DATABASE_ERROR"
        logged = "\n".join(
            r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
            for r in caplog.records
        )
        assert "database error: " in logged  # the fault is logged, by its kind only
        for secret in secrets:
            assert secret not in answer.text
            assert secret not in logged, f"{secret!r} was logged"
        with db.read() as s:
            assert s.execute(select(func.count()).select_from(Record)).scalar_one() == 0
    finally:
        db.dispose()
