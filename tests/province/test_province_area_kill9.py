"""kill -9 of a province during a large risk area's background job: after restart the job
completes, every colour is the scalar answer, each held person's change is reported once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from live import free_port
from live_province import LiveProvince, keys_init, wait_for
from province_testdata import pg_schema
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.rules_bench import NOW as BENCH_NOW  # noqa: E402
from bench.rules_bench import population  # noqa: E402

from healthcode.batch.rules import SCHEMA, evaluate_frame  # noqa: E402
from healthcode.core.clock import FixedClock  # noqa: E402
from healthcode.core.rules import evaluate, load_with_overlays  # noqa: E402
from healthcode.province.evaluation import stored_badges, stored_reasons, summary_of  # noqa: E402
from healthcode.province.models import (  # noqa: E402
    Colour,
    Person,
    ReevaluationJob,
    RiskAreaRow,
    Visit,
    person_summaries,
)
from healthcode.province.schema import upgrade  # noqa: E402
from healthcode.store.db import Database  # noqa: E402

N, HELD = 20_000, 1_000
#: Longer than the test runs: no colour it computes ends meanwhile (see ``_population``).
HORIZON = timedelta(hours=1)


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


def _population() -> pl.DataFrame:
    """``N`` facts documents whose colour in this test (a visit to a high-risk area two hours
    ago) lasts at least ``HORIZON``. The documents are written directly, with no records
    behind them: were a colour to end during the test, the until sweep would re-evaluate that
    person from their records (none) and rightly find them green."""
    frame = population(2 * N, seed=11)
    visited = pl.lit(BENCH_NOW - timedelta(hours=2)).dt.cast_time_unit("ms")
    scenario = frame.with_columns(visited.dt.convert_time_zone("UTC").alias("high_area_last_visit"))
    rules = load_with_overlays(None, [])
    result = evaluate_frame(rules, scenario.select(list(SCHEMA)), clock=FixedClock(BENCH_NOW))
    until = result["until"]
    return frame.filter(until.is_null() | (until > BENCH_NOW + HORIZON)).head(N)


def _fill(db: Database) -> None:
    """``N`` people's facts documents (times moved to today), ``HELD`` of them applied here."""
    shift = datetime.now(UTC) - BENCH_NOW
    frame = _population()
    rows = []
    for i, row in enumerate(frame.iter_rows(named=True)):
        doc = {k: v + shift if isinstance(v, datetime) else v for k, v in row.items()}
        rows.append({**doc, "pseudonym": f"k{i:06d}", "updated_at": datetime.now(UTC)})
    people = [
        {
            "pseudonym": f"k{i:06d}",
            "id_digest": f"d{i:06d}",
            "id_type": "resident_id",
            "id_enc": b"x",
            "name_enc": b"x",
            "phone_enc": b"x",
            "masked_id": "4401**********0000",
            "masked_name": "张*",
            "residence_region": "440106",
            "applied_at": datetime.now(UTC),
        }
        for i in range(0, N, N // HELD)
    ]
    with db.write() as s:
        s.execute(person_summaries.insert(), rows)
        s.execute(Person.__table__.insert(), people)  # type: ignore[arg-type]


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
