"""Status queries on the event loop (``StatusQuery.query_async``: async psycopg on PostgreSQL,
inline through the driver on a SQLite file) answer exactly what the thread path (``query``,
SQLAlchemy) answers, errors included, in a fixed scenario and for any reports (a property
test); a query that finds no free connection answers DATABASE_BUSY."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from hub_testdata import NOW, resident_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcode.core.errors import HealthcodeError
from healthcode.hub.orgs import Principal
from healthcode.hub.services import Hub
from healthcode.store.errors import DatabaseBusy

GD, BJ, SH = "440000", "110000", "310000"


def _province(hub: Hub, region: str) -> Principal:
    _, token = hub.orgs.add(kind="province", region_code=region, name=f"province {region}")
    return hub.orgs.authenticate(token)


def _report(serial: str, pseudonym: str, colour: str, days: int, until: int | None) -> Any:
    since = NOW - timedelta(days=days)
    return {
        "serial": serial,
        "pseudonym": pseudonym,
        "colour": colour,
        "since": since.isoformat(),
        "until": None if until is None else (since + timedelta(days=until)).isoformat(),
        "ruleset_version": "paths-1",
    }


def _scenario(hub: Hub) -> tuple[list[str], list[str]]:
    """People held by one, two or three provinces (one registration ended), with current,
    expired, open-ended and superseded codes; the serials and pseudonyms to ask about."""
    provinces = {code: _province(hub, code) for code in (GD, BJ, SH)}
    people = [{"id_number": resident_id(seq=f"{i:03d}")} for i in range(6)]
    pseudonyms = hub.status.register(provinces[GD], people)
    hub.status.register(provinces[BJ], people[2:])
    hub.status.register(provinces[SH], people[4:])
    colours = ("green", "yellow", "red")
    serials = []
    for i, p in enumerate(pseudonyms):
        for j, (code, principal) in enumerate(provinces.items()):
            if (code == BJ and i < 2) or (code == SH and i < 4):
                continue
            reports = [
                _report(f"{code}-{i}-old", p, colours[(i + j) % 3], 9, 3),
                _report(f"{code}-{i}-new", p, colours[(i + 2 * j) % 3], 2, None if i % 2 else 1),
            ]
            hub.status.report(principal, reports)
            serials += [r["serial"] for r in reports]
    hub.status.end(provinces[SH], people[5:])  # its codes stay, no longer counted
    return [*serials, "NO-SUCH-SERIAL"], [*pseudonyms, "0" * 64]


def _outcome(call: Any) -> Any:
    try:
        return call()
    except HealthcodeError as exc:
        return (exc.code, exc.message, exc.details)


def test_the_event_loop_path_answers_what_the_thread_path_answers(real_hub: Hub) -> None:
    serials, pseudonyms = _scenario(real_hub)
    _, token = real_hub.orgs.add(kind="checkpoint", region_code="110105", name="station")
    station = real_hub.orgs.authenticate(token)
    _, token = real_hub.orgs.add(kind="lab", region_code="440106", name="lab")
    lab = real_hub.orgs.authenticate(token)
    queries = real_hub.status.queries
    asked = [{"serial": s} for s in serials] + [{"pseudonym": p} for p in pseudonyms]
    asked += [{}, {"serial": "a", "pseudonym": "b"}]

    async def on_the_loop() -> list[Any]:
        out = []
        for principal in (station, lab):
            for kw in asked:
                try:
                    out.append(await queries.query_async(principal, **kw))
                except HealthcodeError as exc:
                    out.append((exc.code, exc.message, exc.details))
        if queries.reader is not None:
            await queries.reader.close()
        return out

    expected = [
        _outcome(lambda p=principal, kw=kw: queries.query(p, **kw))
        for principal in (station, lab)
        for kw in asked
    ]
    assert asyncio.run(on_the_loop()) == expected
    assert any(isinstance(e, dict) and e.get("superseded") for e in expected)
    assert (queries.lite if real_hub.db.dialect == "sqlite" else queries.reader) is not None


_REPORT = st.tuples(
    st.sampled_from((GD, BJ, SH)),
    st.sampled_from(("green", "yellow", "red")),
    st.integers(0, 20),  # days before now it began
    st.one_of(st.none(), st.integers(1, 30)),  # days it lasts
)


_NEITHER: dict[str, Any] = {"serial": None, "pseudonym": None}


@pytest.mark.parametrize("fresh_db_url", ["sqlite"], indirect=True)
def test_the_driver_path_on_sqlite_answers_what_sqlalchemy_answers(real_hub: Hub) -> None:
    """Any reports by up to three provinces (some registrations ended): every serial and the
    person, asked through the driver (``_query_inline``) and through ``query``."""
    queries = real_hub.status.queries
    assert queries.lite is not None
    provinces = {code: _province(real_hub, code) for code in (GD, BJ, SH)}
    _, token = real_hub.orgs.add(kind="checkpoint", region_code="110105", name="station")
    station = real_hub.orgs.authenticate(token)
    people = iter(range(10_000))

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        reports=st.lists(_REPORT, min_size=1, max_size=6),
        ended=st.sets(st.sampled_from((GD, BJ, SH))),
    )
    def check(reports: list[Any], ended: set[str]) -> None:
        person = [{"id_number": resident_id(birth="19800101", seq=f"{next(people) % 1000:03d}")}]
        pseudonym = real_hub.status.register(provinces[GD], person)[0]
        for code in (BJ, SH):
            real_hub.status.register(provinces[code], person)
        serials = []
        for i, (code, colour, days, lasts) in enumerate(reports):
            serial = f"P-{pseudonym[:12]}-{i}"
            real_hub.status.report(
                provinces[code], [_report(serial, pseudonym, colour, days, lasts)]
            )
            serials.append(serial)
        for code in ended:
            real_hub.status.end(provinces[code], person)
        for kw in [{"serial": s} for s in serials] + [{"pseudonym": pseudonym}]:
            expected = _outcome(lambda kw=kw: queries.query(station, **kw))
            got = _outcome(lambda kw=kw: queries._query_inline(station, **{**_NEITHER, **kw}))
            assert got == expected

    check()


def test_a_query_that_finds_no_free_connection_answers_database_busy(real_hub: Hub) -> None:
    reader = real_hub.status.queries.reader
    if reader is None:
        pytest.skip("status queries read on the event loop's connections on PostgreSQL only")
    _, token = real_hub.orgs.add(kind="checkpoint", region_code="110105", name="station")
    station = real_hub.orgs.authenticate(token)
    reader.busy_seconds = 0.1

    async def all_taken() -> None:
        await reader.open_all()
        free, held = await reader.take_all()
        try:
            with pytest.raises(DatabaseBusy):
                await real_hub.status.queries.query_async(station, serial="X")
        finally:
            reader.give_back(free, held)
        # a connection free again: the query runs (and finds nothing)
        with pytest.raises(HealthcodeError, match="no status"):
            await real_hub.status.queries.query_async(station, serial="X")
        assert reader.opened == reader.size
        await reader.close()

    asyncio.run(all_taken())


def test_reads_waiting_for_a_connection_take_it_in_turn(real_hub: Hub) -> None:
    """A read that finds every connection taken waits its turn: a connection freed goes to
    the read that waited first, not to one that asks after it (an ``asyncio.Queue`` alone let
    later reads pass, and some waited hundreds of ms under load)."""
    reader = real_hub.status.queries.reader
    if reader is None:
        pytest.skip("status queries read on the event loop's connections on PostgreSQL only")
    done: list[str] = []

    async def read(name: str) -> None:
        await reader.fetch(b"SELECT 1", {})
        done.append(name)

    async def in_turn() -> None:
        await reader.open_all()
        free, held = await reader.take_all()
        first = asyncio.create_task(read("first"))
        await asyncio.sleep(0.05)  # it waits: every connection is taken
        assert done == []
        reader.give_back(free, held[:1])  # one connection free again...
        await read("later")  # ...and this task asks for it at once, in this step
        await asyncio.wait_for(first, 10)
        reader.give_back(free, held[1:])
        assert done == ["first", "later"]
        await reader.close()

    asyncio.run(in_turn())
