"""kill -9 of a province during a large risk area's background job: after restart the job
completes, every colour is the scalar answer, each held person's change is reported once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from kill9_population import BENCH_NOW, fill, lasting
from live import free_port
from live_province import LiveProvince, keys_init, wait_for
from province_testdata import pg_schema
from sqlalchemy import select

from healthcode.core.clock import FixedClock
from healthcode.core.rules import evaluate, load_with_overlays
from healthcode.province.documents import summary_of
from healthcode.province.evaluation import stored_badges, stored_reasons
from healthcode.province.models import (
    Colour,
    ReevaluationJob,
    RiskAreaRow,
    Visit,
)
from healthcode.province.schema import upgrade
from healthcode.store.db import Database

N, HELD = 20_000, 1_000


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys"
    monkeypatch.setenv("HEALTHCODE_HOME", str(path))
    return path


@pytest.fixture
def province_url(fresh_db_url: str, tmp_path: Path) -> Iterator[str]:
    """The province's database on the hub's backend: a SQLite file, or a PostgreSQL schema of
    its own."""
    if fresh_db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'province-440000.db'}"
        return
    with pg_schema() as url:
        yield url


@pytest.fixture
def database(province_url: str) -> Iterator[Database]:
    db = Database.from_url(province_url)
    upgrade(db)
    yield db
    db.dispose()


def _fill(db: Database) -> None:
    """``N`` people whose colour lasts through the test (see ``kill9_population``)."""
    visited = pl.lit(BENCH_NOW - timedelta(hours=2)).dt.cast_time_unit("ms")
    scenario = {"high_area_last_visit": visited.dt.convert_time_zone("UTC")}
    frame = lasting(N, load_with_overlays(None, []), scenario=scenario)
    fill(db, frame, every=N // HELD)


def _area_job(db: Database) -> None:
    """Everyone visited 440106 two hours ago; a high-risk designation of it since yesterday,
    and its job, as a feed page would have left them."""
    now = datetime.now(UTC)
    visits = [
        {
            "record_id": i,
            "pseudonym": f"k{i:06d}",
            "region_code": "440106",
            "at": now - timedelta(hours=2),
            "source": "transport_ticket",
        }
        for i in range(N)
    ]
    start = now - timedelta(days=1)
    with db.write() as s:
        s.execute(Visit.__table__.insert(), visits)  # type: ignore[arg-type]
        s.add(
            RiskAreaRow(
                id=1,
                region_code="440106",
                level="high",
                effective_from=start,
                until=None,
                lifted_at=None,
                cancelled=False,
                version=1,
            )
        )
        s.add(
            ReevaluationJob(
                kind="area",
                scope=[["440106", start.isoformat()]],
                ruleset_digest="",
                label="",
                state="running",
                total=N,
                done=0,
                last_key=None,
                created_at=now,
                updated_at=now,
            )
        )


_AREA = "FROM reevaluation_jobs WHERE kind = 'area'"


@pytest.mark.slow
def test_kill9_during_a_large_risk_area_job(
    fresh_db_url: str, province_url: str, home: Path, tmp_path: Path, database: Database
) -> None:
    keys_init(fresh_db_url, home)
    _fill(database)
    _area_job(database)
    province = LiveProvince(
        region="440000",
        hub_url=f"http://127.0.0.1:{free_port()}",  # no hub: the outbox stays for counting
        hub_token="none",
        hub_db=fresh_db_url,
        home=home,
        folder=tmp_path,
        db_url=province_url,
        HEALTHCODE_PROVINCE_REEVALUATE_CHUNK="500",
        HEALTHCODE_PROVINCE_JOB_SECONDS="0.05",
    )
    province.start()
    try:
        wait_for(
            "the job under way",
            lambda: (province.scalar(f"SELECT done {_AREA}") or 0) >= 1000,
        )
        province.kill9()
        done, total = province.query(f"SELECT done, total {_AREA}")[0]
        assert 0 < done < total == N  # the kill landed mid-job
        assert province.scalar("SELECT count(*) FROM colours") == done  # chunk and progress
        province.start()
        wait_for(
            "the job done",
            lambda: province.scalar(f"SELECT state {_AREA}") == "done",
            timeout=180,
        )
    finally:
        province.stop()
    assert province.query(f"SELECT count(*), max(done), max(total) {_AREA}") == [(1, N, N)]
    rules = load_with_overlays(None, [])
    with database.read() as s:
        colours = s.execute(select(Colour)).scalars().all()
        assert len(colours) == N
        assert {c.colour for c in colours} == {"red"}  # a high-risk area two hours ago
        for c in colours[:: N // 200]:
            doc = summary_of(s, c.pseudonym)
            assert doc is not None
            want = evaluate(rules, doc, clock=FixedClock(c.evaluated_at))
            have = (c.colour, c.reasons, c.badges, c.until)
            assert have == (want.colour, stored_reasons(want), stored_badges(want), want.until)
    # every held person had no colour before: one report each, none twice, nobody else
    reports = province.query("SELECT pseudonym, count(*) FROM status_outbox GROUP BY pseudonym")
    assert len(reports) == HELD and {n for _, n in reports} == {1}
