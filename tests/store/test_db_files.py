"""SQLite database files are created readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from healthcode.store.db import Database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_file_and_its_wal_are_private(tmp_path: Path) -> None:
    path = tmp_path / "province.db"
    db = Database.from_url(f"sqlite:///{path}")
    with db.write() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
        s.execute(text("INSERT INTO t VALUES (1)"))
    with db.read() as s:  # the WAL file exists while a connection is open
        assert s.execute(text("SELECT x FROM t")).scalar_one() == 1
        others = [p for p in tmp_path.iterdir() if p != path]
        assert others, "WAL mode makes -wal and -shm files"
        assert {_mode(p) for p in [path, *others]} == {0o600}
    db.dispose()


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    db = Database.from_url(f"sqlite:///{path}")
    with db.write() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    db.dispose()
    assert _mode(path) == 0o640
