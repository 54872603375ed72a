"""A large risk-area change becomes a durable background job; a feed entry that can never take
effect is set aside; stop() does not wait for a whole long poll."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from province_testdata import applicant, province_settings
from sqlalchemy import select

from healthcode.core.clock import FixedClock
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.changes import ColourChange
from healthcode.province.models import Colour, FeedCursor, FeedDeadLetter, ReevaluationJob
from healthcode.province.schema import upgrade
from healthcode.province.service import WAIT_SLICE_SECONDS, ProvinceService
from healthcode.store.db import Database


def _visitors(province: ProvinceService, hub: Hub, org: Callable[..., str], n: int) -> list[str]:
    people = [applicant(seq=f"{500 + i}") for i in range(n)]
    names = [province.applications.apply(p)["pseudonym"] for p in people]
    scans = [
        {
            "record_id": f"AV{i}",
            "id_number": p["id_number"],
            "region_code": "440106",
            "at": "2022-11-19T10:00:00+08:00",
            "source": "transport_ticket",
        }
        for i, p in enumerate(people)
    ]
    principal = hub.orgs.authenticate(org("itinerary", "440000"))
    hub.ingest.submit(
        principal, "itinerary", [Located({"index": i}, r) for i, r in enumerate(scans)]
    )
    province.pull_all()
    return names


def _designate(hub: Hub, org: Callable[..., str]) -> None:
    authority = hub.orgs.authenticate(org("risk-authority", "440106"))
    hub.risk_areas.designate(
        authority,
        {
            "region_code": "440106",
            "level": "high",
            "effective_from": "2022-11-19T00:00:00+08:00",
            "document": "穗防控〔2022〕9号",
        },
    )


def _colours(province: ProvinceService, names: list[str]) -> list[str]:
    with province.db.read() as s:
        rows = {c.pseudonym: c.colour for c in s.execute(select(Colour)).scalars()}
    return [rows[p] for p in names]


def test_a_large_area_becomes_a_job_advanced_chunk_by_chunk(
    province: ProvinceService, hub: Hub, org: Callable[..., str], clock: FixedClock
) -> None:
    names = _visitors(province, hub, org, 7)
    while province.job_once().state == "running":  # the first rule-set job, out of the way
        pass
    assert {province.codes.explain(p)["colour"] for p in names} == {"green"}  # kept
    province.settings = dataclasses.replace(
        province.settings, area_job_people=5, reevaluate_chunk=3
    )
    seen: list[ColourChange] = []
    province.changes.add(lambda s, changes, now: seen.extend(changes))
    clock.advance(timedelta(minutes=1))
    _designate(hub, org)
    page = province.pull_once()
    # the page committed with the job and the cursor: nobody re-evaluated yet
    assert page.applied == 1 and set(_colours(province, names)) == {"green"}
    job = province.jobs()[0]
    assert (job["kind"], job["state"], job["total"], job["done"]) == ("area", "running", 7, 0)
    assert job["scope"][0][0] == "440106"
    progress = []
    while (step := province.job_once()).kind == "area" and step.state == "running":
        progress.append(step.done)
    assert progress == [3, 6, 7]
    assert province.jobs()[0]["state"] == "done"
    assert set(_colours(province, names)) == {"red"}
    assert {province.codes.explain(p)["colour"] for p in names} == {"red"}
    assert sorted(c.pseudonym for c in seen) == sorted(names)  # through the seam


def test_a_small_area_is_reevaluated_in_the_page(
    province: ProvinceService, hub: Hub, org: Callable[..., str], clock: FixedClock
) -> None:
    names = _visitors(province, hub, org, 3)
    assert {province.codes.explain(p)["colour"] for p in names} == {"green"}  # kept
    province.settings = dataclasses.replace(province.settings, area_job_people=3)
    clock.advance(timedelta(minutes=1))
    _designate(hub, org)
    assert province.pull_once().people == 3
    assert set(_colours(province, names)) == {"red"}
    assert {province.codes.explain(p)["colour"] for p in names} == {"red"}  # not kept stale
    with province.db.read() as s:
        kinds = s.execute(select(ReevaluationJob.kind)).scalars().all()
    assert "area" not in kinds


def _entries(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"entries": list(entries), "more": False}


def test_an_entry_that_can_never_apply_is_set_aside_and_the_feed_goes_on(
    province: ProvinceService,
) -> None:
    unknown = {
        "seq": 1,
        "kind": "risk_area",
        "data": {
            "id": 1,
            "version": 1,
            "region_code": "449999",
            "level": "high",
            "effective_from": "2022-11-19T00:00:00+08:00",
        },
    }
    malformed = {"seq": 2, "kind": "record", "data": {"record": "x", "pseudonym": "ab"}}
    fine = {"seq": 3, "kind": "unknown-kind", "data": {}}
    now = province.clock.now()
    with province.db.write() as s:
        page = province.feed.apply(s, [unknown, malformed, fine], now)
    assert (page.applied, page.cursor) == (3, 3)
    with province.db.write() as s:  # delivered again: nothing twice
        assert province.feed.apply(s, [unknown], now).applied == 0
    with province.db.read() as s:
        letters = s.execute(select(FeedDeadLetter).order_by(FeedDeadLetter.seq)).scalars().all()
        cursor = s.get(FeedCursor, 1)
    assert [(d.seq, d.code) for d in letters] == [
        (1, "REGION_UNKNOWN"),
        (2, "FIELD_TYPE"),
    ]
    assert letters[0].entry == unknown and cursor is not None and cursor.seq == 3
    assert province.dead_letters() == 2


class _HoldingHub(httpx.BaseTransport):
    """A hub whose feed holds every read for the wait it is asked (nothing new)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wait = float(request.url.params.get("wait", 0))
        if request.url.path.startswith("/v1/feeds/"):
            self.waits.append(wait)
            threading.Event().wait(wait)
            return httpx.Response(200, json={"entries": [], "more": False})
        return httpx.Response(404, json={"error": {"code": "NOT_FOUND", "message": "none"}})


def test_stop_does_not_wait_for_a_long_poll(tmp_path: Path, org: Callable[..., str]) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'province.db'}")
    upgrade(db)
    held = _HoldingHub()
    settings = dataclasses.replace(
        province_settings(org("province", "440000")), feed_wait_seconds=30
    )
    province = ProvinceService.build(settings=settings, db=db, transport=held)
    province.start()
    threading.Event().wait(0.3)
    province.stop(timeout=10)
    try:
        assert held.waits and max(held.waits) <= WAIT_SLICE_SECONDS
        assert all(not t.is_alive() for t in threading.enumerate() if "feed" in t.name)
    finally:
        province.close()


def test_a_bulk_change_of_someone_not_held_leaves_their_state_without_an_index(
    province_db: Database,
) -> None:
    """The columnar paths report only the people the province holds: the new state of anyone
    else carries no status-list index (as on the scalar path), the others' rows are left."""
    import polars as pl

    from healthcode.batch.reevaluate import CHANGED_SCHEMA
    from healthcode.province.bulk import report_changes
    from healthcode.province.states import StateSerials

    now = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)
    rows = {"a" * 64: 7, "b" * 64: 8}  # an index from before, as a held person's state had
    with province_db.write() as s:
        for pseudonym, index in rows.items():
            s.add(
                Colour(
                    pseudonym=pseudonym,
                    colour="red",
                    reasons=[],
                    badges={},
                    until=None,
                    ruleset_digest="sha256:x",
                    evaluated_at=now,
                    since=now,
                    status_index=index,
                )
            )
    changed = pl.DataFrame(
        [("a" * 64, "red", "green", None, None)], schema=CHANGED_SCHEMA, orient="row"
    )
    serials = StateSerials(field_key=bytes(32), province="440000")
    with province_db.write() as s:
        assert report_changes(s, changed, label="t", now=now, serials=serials) == 0
    with province_db.read() as s:
        kept = {p: i for p, i in s.execute(select(Colour.pseudonym, Colour.status_index))}
    assert kept == {"a" * 64: None, "b" * 64: 8}
