"""The grid over an in-process hub: tasks made from colour changes in the right grid, once and
with the colour; masked details and refused acts for other grids; the state machine; the CSV
of units; timeliness figures and export; hand-over to another province through the hub."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import applicant, province_settings
from sqlalchemy import func, select

from healthcode.core.clock import FixedClock
from healthcode.core.errors import AccessDenied, HealthcodeError, InvalidInput
from healthcode.hub.app import create_app as create_hub_app
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.feed import read_cursor
from healthcode.province.grid.models import GridTask, GridUnit
from healthcode.province.models import Colour
from healthcode.province.schema import upgrade
from healthcode.province.service import ProvinceService
from healthcode.province.staff import Staff
from healthcode.store.db import Database
from healthcode.store.retry import run_write

UNITS = "region_code,grid_id,name\n440106,TH-01,天河一网格\n440103,LW-01,荔湾一网格\n"


def _contact(id_number: str, record: str = "C1", kind: str = "close") -> dict[str, Any]:
    return {
        "record_id": record,
        "id_number": id_number,
        "kind": kind,
        "last_exposure_at": "2022-11-19T08:00:00+08:00",
        "identified_at": "2022-11-19T20:00:00+08:00",
    }


def _submit(hub: Hub, org: Callable[..., str], *records: dict[str, Any]) -> None:
    principal = hub.orgs.authenticate(org("disease-control", "440106"))
    hub.ingest.submit(
        principal, "contact", [Located({"index": i}, r) for i, r in enumerate(records)]
    )


def _worker(province: ProvinceService, grid: str, region: str = "440106") -> Staff:
    member, _ = province.staff.add(
        name=f"worker {grid}", roles=["grid-worker"], region_code=region, grid_id=grid
    )
    return member


def _tasks(province: ProvinceService) -> list[GridTask]:
    with province.db.read() as s:
        return list(s.execute(select(GridTask).order_by(GridTask.created_at)).scalars())


@pytest.fixture
def close_contact(province: ProvinceService, hub: Hub, org: Callable[..., str]) -> dict[str, Any]:
    """A person living in 440106 who becomes a close contact (red) through the feed."""
    province.grid.load_csv(UNITS)
    person = province.applications.apply(applicant())
    _submit(hub, org, _contact(applicant()["id_number"]))
    province.pull_all()
    return person


def test_a_close_contact_gets_one_task_in_the_grid_of_their_residence(
    province: ProvinceService, close_contact: dict[str, Any], hub: Hub, clock: FixedClock
) -> None:
    with province.db.read() as s:
        colour = s.get(Colour, close_contact["pseudonym"])
    assert colour is not None and colour.colour == "red"
    [task] = _tasks(province)
    assert (task.pseudonym, task.grid_id, task.state) == (
        close_contact["pseudonym"],
        "TH-01",
        "new",
    )
    assert (task.kind, task.rule, task.colour) == ("close_contact", "RED_CLOSE_CONTACT", "red")
    assert task.asks["isolation"] == "central"
    assert task.asks["nat_dates"][0] == "2022-11-20" and len(task.asks["nat_dates"]) == 5
    assert task.contact_due == task.created_at + timedelta(hours=2)
    assert task.fact_at is not None and task.fact_at <= task.changed_at  # the hub's entry time
    # the page read again: skipped by the cursor, no second task
    with province.db.read() as s:
        cursor = read_cursor(s)
    page = province.hub.feed(after=0, limit=100)
    run_write(province.db, lambda s: province.feed.apply(s, page["entries"], clock.now()))
    assert len(_tasks(province)) == 1
    with province.db.read() as s:
        assert read_cursor(s) == cursor


def test_a_second_fact_of_the_same_kind_makes_no_second_open_task(
    province: ProvinceService, close_contact: dict[str, Any], hub: Hub, org: Callable[..., str],
    clock: FixedClock,
) -> None:  # fmt: skip
    with province.db.read() as s:
        colour = s.get(Colour, close_contact["pseudonym"])
    assert colour is not None and colour.until is not None
    clock.advance(colour.until - clock.now())
    province.sweep_once()  # green again
    later = {**_contact(applicant()["id_number"], record="C2"),
             "last_exposure_at": "2022-11-29T06:00:00+08:00",
             "identified_at": "2022-11-29T07:00:00+08:00"}  # fmt: skip
    _submit(hub, org, later)
    province.pull_all()
    assert len(_tasks(province)) == 1  # the first is still open: no second task
    assert _tasks(province)[0].state == "new"


def test_a_failing_listener_rolls_the_task_back_with_the_colour(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    province.grid.load_csv(UNITS)
    person = province.applications.apply(applicant())

    def broken(*_: object) -> None:
        raise RuntimeError("the log is down")

    province.changes.add(broken)
    _submit(hub, org, _contact(applicant()["id_number"]))
    with pytest.raises(RuntimeError):
        province.pull_all()
    assert _tasks(province) == []
    with province.db.read() as s:
        colour = s.get(Colour, person["pseudonym"])
    assert colour is not None and colour.colour == "green"


def test_details_are_clear_for_the_grid_and_masked_elsewhere(
    province: ProvinceService, close_contact: dict[str, Any]
) -> None:
    own, other = _worker(province, "TH-01"), _worker(province, "LW-01", "440103")
    supervisor, _ = province.staff.add(name="S", roles=["supervisor"], region_code="440100")
    [task] = _tasks(province)
    mine = province.grid.task(own, task.id)["person"]
    assert (mine["name"], mine["phone"], mine["shown"]) == ("张三丰", "13812345678", True)
    for member in (other, supervisor):
        seen = province.grid.task(member, task.id)["person"]
        assert (seen["name"], seen["phone"], seen["shown"]) == ("张*丰", "138****5678", False)
    assert [t["id"] for t in province.grid.tasks(own)] == [task.id]
    assert province.grid.tasks(other) == []
    assert [t["person"]["phone"] for t in province.grid.tasks(supervisor)] == ["138****5678"]
    with pytest.raises(AccessDenied) as err:
        province.grid.act(other, task.id, {"state": "contacted"})
    assert err.value.code == "GRID_NOT_OWN"
    with pytest.raises(AccessDenied) as err:
        province.grid.escalate(other, task.id, {"note": "x"})
    assert err.value.code == "GRID_NOT_OWN"
    with pytest.raises(AccessDenied):
        province.grid.act(supervisor, task.id, {"state": "contacted"})
    assert _tasks(province)[0].state == "new"


def test_the_state_machine_refuses_illegal_moves_and_records_who_and_when(
    province: ProvinceService, close_contact: dict[str, Any], clock: FixedClock
) -> None:
    worker = _worker(province, "TH-01")
    [task] = _tasks(province)
    moves = ("released", "isolated", "handed_over")
    refused = [*((m, "GRID_TRANSITION_INVALID") for m in moves), ("green", "GRID_STATE_UNKNOWN")]
    for state, code in refused:
        with pytest.raises(InvalidInput) as err:
            province.grid.act(worker, task.id, {"state": state})
        assert err.value.code == code
    for note in ("x" * 501, "bell\x07", 12):
        with pytest.raises(InvalidInput) as err:
            province.grid.act(worker, task.id, {"state": "contacted", "note": note})
        assert err.value.code == "GRID_NOTE_INVALID"
    clock.advance(timedelta(minutes=30))
    province.grid.act(worker, task.id, {"state": "contacted", "note": "reached by phone"})
    with pytest.raises(InvalidInput) as err:  # isolation asked, never recorded
        province.grid.act(worker, task.id, {"state": "released"})
    assert err.value.code == "GRID_TRANSITION_INVALID"
    for state in ("isolated", "tested", "tested", "released"):
        clock.advance(timedelta(hours=1))
        province.grid.act(worker, task.id, {"state": state})
    with pytest.raises(InvalidInput) as err:
        province.grid.act(worker, task.id, {"state": "contacted"})
    assert err.value.code == "GRID_TRANSITION_INVALID"
    detail = province.grid.task(worker, task.id)
    assert [e["to"] for e in detail["events"]] == [
        "new", "contacted", "isolated", "tested", "tested", "released"
    ]  # fmt: skip
    assert {e["staff_id"] for e in detail["events"][1:]} == {worker.id}
    assert detail["events"][1]["note"] == "reached by phone"
    assert detail["times"]["contacted_at"] is not None and detail["state"] == "released"


def test_overdue_tasks_come_first_and_escalation_is_recorded(
    province: ProvinceService, hub: Hub, org: Callable[..., str], clock: FixedClock
) -> None:
    province.grid.load_csv(UNITS)
    worker = _worker(province, "TH-01")
    first = province.applications.apply(applicant(seq="301"))
    _submit(hub, org, _contact(applicant(seq="301")["id_number"], record="C1",
                               kind="secondary"))  # fmt: skip
    province.pull_all()
    clock.advance(timedelta(hours=1))
    second = province.applications.apply(applicant(seq="302", phone="13900000000"))
    _submit(hub, org, _contact(applicant(seq="302")["id_number"], record="C2"))
    province.pull_all()
    clock.advance(timedelta(hours=2, minutes=30))  # the red one's 2 h contact deadline passed
    listed = province.grid.tasks(worker)
    assert [t["pseudonym"] for t in listed] == [second["pseudonym"], first["pseudonym"]]
    assert [t["overdue"] for t in listed] == [True, False]
    escalated = province.grid.escalate(worker, listed[0]["id"], {"note": "no answer at the door"})
    assert escalated["escalated_at"] == clock.now().isoformat()
    csv_text = province.grid.export(None)
    lines = csv_text.splitlines()
    assert lines[0].startswith("task_id,pseudonym,kind,state,grid_id,county,deadline,overdue")
    assert lines[1].split(",")[1] == second["pseudonym"] and lines[1].split(",")[7] == "1800.0"
    assert lines[2].split(",")[7] == ""
    [fig] = province.grid.figures(None, by="grid")
    assert (fig["grid"], fig["tasks"], fig["overdue"], fig["contacted"]) == ("TH-01", 2, 1, 0)
    [county] = province.grid.figures(None, by="county")
    assert county["county"] == "440106" and county["to_task_max"] is not None


def test_timeliness_counts_each_step_from_the_facts_arrival(
    province: ProvinceService, close_contact: dict[str, Any], clock: FixedClock
) -> None:
    worker = _worker(province, "TH-01")
    [task] = _tasks(province)
    clock.advance(timedelta(minutes=10))
    province.grid.act(worker, task.id, {"state": "contacted"})
    clock.advance(timedelta(minutes=50))
    province.grid.act(worker, task.id, {"state": "isolated"})
    [row] = province.grid.figures(None, by="grid")
    assert task.fact_at is not None
    base = (task.created_at - task.fact_at).total_seconds()
    assert row["to_contact_p50"] == pytest.approx(base + 600)
    assert row["to_isolation_max"] == pytest.approx(base + 3600)
    assert (row["contacted"], row["isolated"], row["overdue"]) == (1, 1, 0)


def test_a_county_with_several_grids_queues_for_the_supervisor_who_assigns(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    province.grid.load_csv(UNITS + "440106,TH-02,天河二网格\n")
    supervisor, _ = province.staff.add(name="S", roles=["supervisor"], region_code="440106")
    far, _ = province.staff.add(name="F", roles=["supervisor"], region_code="440103")
    worker = _worker(province, "TH-02")
    province.applications.apply(applicant())
    _submit(hub, org, _contact(applicant()["id_number"]))
    province.pull_all()
    [task] = _tasks(province)
    assert task.grid_id is None and task.county == "440106"
    assert [t["id"] for t in province.grid.tasks(supervisor)] == [task.id]
    assert province.grid.tasks(far) == [] and province.grid.tasks(worker) == []
    for who, grid, code in ((far, "TH-02", "GRID_NOT_OWN"), (supervisor, "LW-01", "GRID_UNKNOWN"),
                            (worker, "TH-02", "STAFF_ROLE_REQUIRED")):  # fmt: skip
        with pytest.raises(HealthcodeError) as err:
            province.grid.assign(who, task.id, {"grid_id": grid})
        assert err.value.code == code
    province.grid.assign(supervisor, task.id, {"grid_id": "TH-02"})
    assert [t["person"]["shown"] for t in province.grid.tasks(worker)] == [True]


def test_bad_unit_files_are_refused_with_line_numbers_and_store_nothing(
    province: ProvinceService,
) -> None:
    bad = (
        "region_code,grid_id,name\n"
        "440106,TH-01,ok\n"
        "440100,CITY,a city is not a county\n"
        "110105,BJ-01,another province\n"
        "440106,bad id!,x\n"
        "440106,TH-01,twice\n"
        "440106,TH-09,\n"
    )
    with pytest.raises(InvalidInput) as err:
        province.grid.load_csv(bad)
    assert err.value.code == "GRID_CSV_INVALID"
    assert [(e["line"], e["field"]) for e in err.value.details["errors"]] == [
        (3, "region_code"), (4, "region_code"), (5, "grid_id"), (6, "grid_id"), (7, "name")
    ]  # fmt: skip
    for text in ("grid,name\nx,y\n", "region_code,grid_id,name\n440106,A,b,extra\n", ""):
        with pytest.raises(InvalidInput) as err:
            province.grid.load_csv(text)
        assert err.value.code == "GRID_CSV_INVALID"
    with province.db.read() as s:
        assert s.execute(select(func.count()).select_from(GridUnit)).scalar_one() == 0
    assert province.grid.load_csv(UNITS) == 2
    assert province.grid.load_csv(UNITS.replace("天河一网格", "天河东")) == 2  # renamed, kept
    assert {u["name"] for u in province.grid.units()} == {"天河东", "荔湾一网格"}


def test_a_person_living_in_another_province_is_handed_over_through_the_hub(
    province: ProvinceService, hub: Hub, org: Callable[..., str], clock: FixedClock
) -> None:
    own_db = Database.from_url("sqlite://")  # Beijing's own database
    upgrade(own_db)
    beijing = ProvinceService.build(
        settings=province_settings(org("province", "110000"), region="110000"),
        db=own_db,
        clock=clock,
        transport=ASGISyncTransport(create_hub_app(hub)),
    )
    try:
        beijing.grid.load_csv("region_code,grid_id,name\n110105,CY-01,朝阳一网格\n")
        worker = _worker(beijing, "CY-01", "110105")
        who = applicant(seq="401", region="110105", residence_region="110105", reason="stay")
        worker_gd = _worker(province, "TH-01")
        person = province.applications.apply(who)
        _submit(hub, org, _contact(who["id_number"]))
        province.pull_all()
        [sent] = _tasks(province)
        assert (sent.state, sent.handed_to, sent.grid_id) == ("handed_over", "110000", None)
        assert province.grid.send_once() == 1 and province.grid.send_once() == 0
        beijing.pull_all()
        [task] = _tasks(beijing)
        assert (task.pseudonym, task.grid_id, task.source_task) == (
            person["pseudonym"], "CY-01", sent.id
        )  # fmt: skip
        assert task.fact_at == sent.fact_at and task.kind == "close_contact"
        assert task.source_province == "440000" and task.state == "new"
        # Beijing does not hold the person: no contact details to show, even to its grid
        assert beijing.grid.task(worker, task.id)["person"]["held"] is False
        with pytest.raises(AccessDenied) as err:  # handed over: no grid here works it
            province.grid.act(worker_gd, sent.id, {"state": "contacted"})
        assert err.value.code == "GRID_NOT_OWN"
        beijing.grid.act(worker, task.id, {"state": "contacted"})
        # delivered again (a retried hand-over): still one task
        run_write(province.db, lambda s: _resend(s, sent))
        province.grid.send_once()
        beijing.pull_all()
        assert len(_tasks(beijing)) == 1
    finally:
        beijing.hub.close()
        own_db.dispose()


def _resend(s: Any, task: GridTask) -> None:
    from healthcode.province.grid.models import GridHandoverOut
    from healthcode.province.grid.tasks import handover_payload

    s.add(GridHandoverOut(task_id=task.id, payload=handover_payload(task), attempts=0,
                          created_at=task.created_at))  # fmt: skip


def test_the_hub_refuses_hand_overs_of_people_not_held_or_living_at_home(
    hub: Hub, org: Callable[..., str]
) -> None:
    principal = hub.orgs.authenticate(org("province", "440000"))
    good = {"task": "gt_0123456789abcdef", "pseudonym": "p" * 64, "residence_region": "110105",
            "kind": "close_contact", "rule": "RED_CLOSE_CONTACT", "colour": "red", "asks": {},
            "changed_at": "2022-11-20T09:00:00+08:00"}  # fmt: skip
    with pytest.raises(AccessDenied) as err:
        hub.grid.hand_over(principal, [good])
    assert err.value.code == "GRID_HANDOVER_NOT_HELD"
    for change in ({"residence_region": "440106"}, {"task": "x"}, {"colour": "green"}):
        with pytest.raises(InvalidInput) as bad:
            hub.grid.hand_over(principal, [{**good, **change}])
        assert bad.value.code == "GRID_HANDOVER_INVALID"
    lab = hub.orgs.authenticate(org("lab", "440106"))
    with pytest.raises(AccessDenied) as err:
        hub.grid.hand_over(lab, [good])
    assert err.value.code == "KIND_NOT_ALLOWED"


def test_a_high_risk_area_makes_tasks_through_the_columnar_path(
    province: ProvinceService, hub: Hub, org: Callable[..., str], clock: FixedClock
) -> None:
    province.grid.load_csv(UNITS)
    there = applicant(seq="501", residence_region="440103")
    person = province.applications.apply(there)
    scan = {"record_id": "V1", "id_number": there["id_number"], "region_code": "440106",
            "at": "2022-11-19T10:00:00+08:00", "source": "transport_ticket"}  # fmt: skip
    principal = hub.orgs.authenticate(org("itinerary", "440000"))
    hub.ingest.submit(principal, "itinerary", [Located({"index": 0}, scan)])
    province.pull_all()
    clock.advance(timedelta(minutes=1))
    authority = hub.orgs.authenticate(org("risk-authority", "440106"))
    hub.risk_areas.designate(
        authority,
        {"region_code": "440106", "level": "high", "effective_from": "2022-11-19T00:00:00+08:00",
         "document": "穗防控〔2022〕1号"},
    )  # fmt: skip
    clock.advance(timedelta(seconds=3))
    province.pull_all()
    [task] = _tasks(province)
    assert (task.pseudonym, task.kind, task.grid_id) == (person["pseudonym"], "high_risk_area",
                                                         "LW-01")  # fmt: skip
    assert task.fact_at is not None
    assert (task.changed_at - task.fact_at) == timedelta(seconds=3)  # the area's entry time


def test_a_malformed_hand_over_entry_is_skipped_and_the_feed_moves_on(
    province: ProvinceService, clock: FixedClock
) -> None:
    entries = [
        {"seq": 1, "kind": "grid_task", "created_at": clock.now().isoformat(),
         "data": {"task": "gt_0123456789abcdef", "residence_region": "999999"}},
        {"seq": 2, "kind": "grid_task", "created_at": clock.now().isoformat(), "data": {}},
    ]  # fmt: skip
    page = run_write(province.db, lambda s: province.feed.apply(s, entries, clock.now()))
    assert (page.applied, page.cursor) == (2, 2)
    assert _tasks(province) == []


def test_a_person_who_moved_away_gets_their_task_in_the_new_grid(
    province: ProvinceService, close_contact: dict[str, Any], clock: FixedClock
) -> None:
    worker, there = _worker(province, "TH-01"), _worker(province, "LW-01", "440103")
    [task] = _tasks(province)
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidInput):  # a new residence goes with moved_away only
        province.grid.act(worker, task.id, {"state": "contacted", "residence_region": "440103"})
    province.grid.act(worker, task.id, {"state": "moved_away", "residence_region": "440103",
                                        "note": "搬到荔湾"})  # fmt: skip
    old, new = _tasks(province)
    assert (old.state, new.state, new.grid_id, new.county) == ("moved_away", "new", "LW-01",
                                                               "440103")  # fmt: skip
    assert new.fact_at == old.fact_at and new.contact_due == clock.now() + timedelta(hours=2)
    assert [t["id"] for t in province.grid.tasks(there)] == [new.id]
    assert province.grid.tasks(worker) == []


def test_a_hand_over_the_hub_refuses_for_good_is_dropped(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    from healthcode.province.grid.models import GridHandoverOut

    who = applicant(seq="402", region="110105", residence_region="110105", reason="stay")
    province.applications.apply(who)
    _submit(hub, org, _contact(who["id_number"]))
    province.pull_all()
    principal = hub.orgs.authenticate(province.settings.hub_token)
    hub.status.end(principal, [{"id_number": who["id_number"]}])  # the stay is over
    assert province.grid.send_once() == 1  # refused (not held): dropped, not retried
    with province.db.read() as s:
        assert s.execute(select(func.count()).select_from(GridHandoverOut)).scalar_one() == 0
