"""store/retry.py and the SQLite writer queue of store/db.py: transient errors retried a bounded
number of times, a real PostgreSQL deadlock resolved, a busy SQLite answered with DatabaseBusy."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from healthcode.store.db import Database
from healthcode.store.errors import DatabaseBusy, describe, is_transient
from healthcode.store.retry import RetryPolicy, run_write

_TABLE = text("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, n INTEGER NOT NULL)")


@pytest.fixture
def database(fresh_db_url: str) -> Iterator[Database]:
    db = Database.from_url(fresh_db_url, busy_seconds=0.2)
    with db.write() as s:
        s.execute(_TABLE)
        s.execute(text("INSERT INTO t (k, n) VALUES (1, 0), (2, 0)"))
    yield db
    db.dispose()


def policy(pauses: list[float]) -> RetryPolicy:
    return RetryPolicy(attempts=4, base=0.01, cap=0.05, sleep=pauses.append)


def total(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(text("SELECT sum(n) FROM t")).scalar_one())


def test_a_transient_error_is_retried_from_the_start_and_nothing_of_a_failed_try_stays(
    database: Database,
) -> None:
    tries: list[int] = []
    pauses: list[float] = []

    def step(s: Session) -> str:
        s.execute(text("UPDATE t SET n = n + 1 WHERE k = 1"))
        tries.append(1)
        if len(tries) < 3:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return "done"

    assert run_write(database, step, policy=policy(pauses)) == "done"
    assert len(tries) == 3 and len(pauses) == 2
    assert all(0 <= p <= 0.05 for p in pauses)
    assert total(database) == 1  # the two failed tries were rolled back


def test_attempts_are_bounded_and_end_in_database_busy(database: Database) -> None:
    pauses: list[float] = []

    def step(s: Session) -> None:
        raise psycopg.errors.SerializationFailure("could not serialize access")

    with pytest.raises(DatabaseBusy) as caught:
        run_write(database, step, policy=policy(pauses))
    assert caught.value.code == "DATABASE_BUSY" and caught.value.retry_after >= 1
    assert len(pauses) == 3  # four attempts, a pause between each


def test_a_fault_is_not_retried_and_the_callers_own_signal_is(database: Database) -> None:
    class Again(Exception):
        pass

    calls: list[int] = []

    def fault(s: Session) -> None:
        calls.append(1)
        s.execute(text("INSERT INTO t (k, n) VALUES (3, NULL)"))  # NOT NULL: a fault

    with pytest.raises(Exception) as caught:
        run_write(database, fault, policy=policy([]))
    assert not is_transient(caught.value) and calls == [1]
    assert "INSERT" not in describe(caught.value)  # named by its kind, not its statement

    def changed(s: Session) -> None:
        calls.append(2)
        raise Again

    with pytest.raises(DatabaseBusy):
        run_write(database, changed, again=(Again,), policy=policy([]))
    assert calls.count(2) == 4


def test_a_real_deadlock_is_retried_and_both_writers_succeed(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: no deadlock")
    both_hold_one = threading.Barrier(2)
    attempts = {"ab": 0, "ba": 0}
    errors: list[BaseException] = []

    def writer(name: str, first: int, second: int) -> None:
        def step(s: Session) -> None:
            attempts[name] += 1
            s.execute(text("UPDATE t SET n = n + 1 WHERE k = :k"), {"k": first})
            if attempts[name] == 1:
                both_hold_one.wait(10)  # each holds its first row: the second lock is a cycle
            s.execute(text("UPDATE t SET n = n + 1 WHERE k = :k"), {"k": second})

        try:
            run_write(database, step, policy=RetryPolicy(attempts=4))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=("ab", 1, 2)),
        threading.Thread(target=writer, args=("ba", 2, 1)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert max(attempts.values()) >= 2  # PostgreSQL aborted one side; it ran again
    assert total(database) == 4  # and each writer's two updates are stored once


def test_a_sqlite_writer_waits_its_busy_time_then_answers_busy_with_nothing_written(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    db = Database.from_url(url, busy_seconds=0.2)
    with db.write() as s:
        s.execute(_TABLE)
    # Another process's writer (a connection of its own, outside this process's queue).
    other = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseBusy), db.write() as s:
            s.execute(text("INSERT INTO t (k, n) VALUES (1, 1)"))
        assert time.monotonic() - started < 10  # waited its busy time, not forever
        # A writer of this process holds the queue: the next one waits, then answers busy.
        other.execute("ROLLBACK")
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with db.write() as s:
                s.execute(text("INSERT INTO t (k, n) VALUES (2, 2)"))
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        assert held.wait(10)
        with pytest.raises(DatabaseBusy), db.write() as s:
            s.execute(text("INSERT INTO t (k, n) VALUES (3, 3)"))
        release.set()
        holder.join(10)
        with db.write() as s:  # free again: the write that was refused goes through now
            s.execute(text("INSERT INTO t (k, n) VALUES (3, 3)"))
        assert total(db) == 5
    finally:
        other.close()
        db.dispose()
