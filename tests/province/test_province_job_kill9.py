"""kill -9 of a province during a population re-evaluation (a new overlay): after restart the
job completes, every colour is the scalar answer, each held person's change is reported once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kill9_population import fill, lasting
from live import free_port
from live_province import LiveProvince, keys_init, wait_for
from sqlalchemy import select

from healthcode.core.clock import FixedClock
from healthcode.core.rules import evaluate, load_with_overlays
from healthcode.province.documents import summary_of
from healthcode.province.evaluation import stored_badges, stored_reasons
from healthcode.province.models import Colour
from healthcode.province.schema import upgrade
from healthcode.store.db import Database

OVERLAY = Path(__file__).resolve().parents[2] / "examples" / "overlay-guangdong.yaml"
N, HELD = 30_000, 1_500


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys"
    monkeypatch.setenv("HEALTHCODE_HOME", str(path))
    return path


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'province-440000.db'}")
    upgrade(db)
    yield db
    db.dispose()


def _fill(db: Database) -> None:
    """``N`` people whose colour lasts through the test (see ``kill9_population``)."""
    fill(db, lasting(N, load_with_overlays(None, [OVERLAY])), every=N // HELD)


@pytest.mark.slow
@pytest.mark.parametrize("fresh_db_url", ["sqlite"], indirect=True)
def test_kill9_during_a_population_reevaluation(
    fresh_db_url: str, home: Path, tmp_path: Path, database: Database
) -> None:
    keys_init(fresh_db_url, home)
    _fill(database)
    province = LiveProvince(
        region="440000",
        hub_url=f"http://127.0.0.1:{free_port()}",  # no hub: the outbox stays for counting
        hub_token="none",
        hub_db=fresh_db_url,
        home=home,
        folder=tmp_path,
        HEALTHCODE_PROVINCE_OVERLAY=str(OVERLAY),
        HEALTHCODE_PROVINCE_REEVALUATE_CHUNK="500",
        HEALTHCODE_PROVINCE_JOB_SECONDS="0.05",
    )
    province.start()
    try:
        wait_for(
            "the job under way",
            lambda: (province.scalar("SELECT done FROM reevaluation_jobs") or 0) >= 1000,
        )
        province.kill9()
        done, total = province.query("SELECT done, total FROM reevaluation_jobs")[0]
        assert 0 < done < total == N  # the kill landed mid-job
        assert province.scalar("SELECT count(*) FROM colours") == done  # chunk and progress
        province.start()
        wait_for(
            "the job done",
            lambda: province.scalar("SELECT state FROM reevaluation_jobs") == "done",
            timeout=180,
        )
    finally:
        province.stop()
    assert province.query("SELECT count(*), max(done), max(total) FROM reevaluation_jobs") == [
        (1, N, N)
    ]
    rules = load_with_overlays(None, [OVERLAY])
    with database.read() as s:
        colours = s.execute(select(Colour)).scalars().all()
        assert len(colours) == N
        for c in colours:
            doc = summary_of(s, c.pseudonym)
            assert doc is not None
            want = evaluate(rules, doc, clock=FixedClock(c.evaluated_at))
            have = (c.colour, c.reasons, c.badges, c.until, c.ruleset_digest)
            assert have == (
                want.colour,
                stored_reasons(want),
                stored_badges(want),
                want.until,
                rules.digest,
            ), c.pseudonym
    # every held person had no colour before: one report each, none twice, nobody else
    reports = province.query("SELECT pseudonym, count(*) FROM status_outbox GROUP BY pseudonym")
    assert len(reports) == HELD and {n for _, n in reports} == {1}
    assert {p for p, _ in reports} == {f"k{i:06d}" for i in range(0, N, N // HELD)}
