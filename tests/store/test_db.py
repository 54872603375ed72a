"""store/db.py: the Core reader beside the ORM sessions."""

from __future__ import annotations

from sqlalchemy import text

from healthcode.store.db import Database
from healthcode.store.migrate import upgrade

_INSERT = text(
    "INSERT INTO code_status (serial, province, pseudonym, colour, since, ruleset_version,"
    " reported_at) VALUES ('S-1', '440000', 'p', 'green', :t, '1', :t)"
)
_COLOUR = text("SELECT colour FROM code_status WHERE serial = 'S-1'")


def test_reader_reads_committed_rows_and_leaves_writes_transactional(fresh_db_url: str) -> None:
    # One pooled connection: the reader's and the writes' are the same one.
    db = Database.from_url(fresh_db_url, pool_size=1, max_overflow=0)
    try:
        upgrade(db)
        with db.write() as s:
            s.execute(_INSERT, {"t": "2022-11-20 00:00:00+00:00"})
        with db.reader() as conn:
            assert conn.execute(_COLOUR).scalar_one() == "green"
            if db.dialect == "postgresql":  # one round trip: no BEGIN, no ROLLBACK
                assert conn.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
        try:
            with db.write() as s:
                s.execute(text("UPDATE code_status SET colour = 'red'"))
                raise RuntimeError("abort")
        except RuntimeError:
            pass
        with db.reader() as conn:
            assert conn.execute(_COLOUR).scalar_one() == "green"  # the write was rolled back
    finally:
        db.dispose()
