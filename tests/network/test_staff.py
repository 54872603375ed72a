"""A demo network's province staff (``network/staff.py``): made once by ``healthcode init``,
random tokens in 0600 files and only digests in the province's database, kept on the next
start; a member whose file was lost is replaced, not doubled; the demo grid lies where the
seeded risk persons live."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from healthcode.core.clock import SystemClock
from healthcode.network.init import init_network
from healthcode.network.population import generate
from healthcode.network.staff import DEMO_GRID, DEMO_STAFF, demo_grid_unit, staff_token_path
from healthcode.province.models import StaffMember
from healthcode.province.staff import StaffService
from healthcode.store.db import Database


def _staff(folder, province: str):  # type: ignore[no-untyped-def]
    db = Database.from_url(folder.database_url(folder.service(province)["database"]))
    return db, StaffService(db=db, clock=SystemClock(), province=province)


def test_init_makes_each_provinces_demo_staff_once(tmp_path: Path) -> None:
    folder = init_network(tmp_path / "net", base_port=18700).folder
    tokens = {}
    for province in folder.provinces:
        db, staff = _staff(folder, province)
        try:
            for member in DEMO_STAFF:
                path = staff_token_path(folder, province, member.role)
                assert stat.S_IMODE(path.stat().st_mode) == 0o600
                token = path.read_text(encoding="ascii").strip()
                assert token.startswith("hcs_") and len(token) == 47
                me = staff.authenticate(token)
                assert me.roles == (member.role,) and me.region_code == province
                assert me.grid_id == (DEMO_GRID if member.role == "grid-worker" else None)
                tokens[path] = token
            names = [m["name"] for m in staff.members()]
            assert len(names) == len(set(names)) == len(DEMO_STAFF)
            with db.read() as s:
                stored = set(s.execute(select(StaffMember.token_hash)).scalars())
            assert stored and not stored & set(tokens.values())  # digests only
        finally:
            db.dispose()
    assert len(set(tokens.values())) == len(tokens)  # every token its own
    again = init_network(tmp_path / "net")
    assert not [line for line in again.made if "staff" in line]
    assert {p: p.read_text(encoding="ascii").strip() for p in tokens} == tokens
    db, staff = _staff(folder, folder.provinces[0])
    try:
        assert len(staff.members()) == len(DEMO_STAFF)
    finally:
        db.dispose()


def test_a_lost_staff_token_is_replaced_not_doubled(tmp_path: Path) -> None:
    folder = init_network(tmp_path / "net", base_port=18710).folder
    path = staff_token_path(folder, "440000", "approver")
    old = path.read_text(encoding="ascii").strip()
    path.unlink()
    init_network(tmp_path / "net")
    new = path.read_text(encoding="ascii").strip()
    assert new != old
    db, staff = _staff(folder, "440000")
    try:
        assert staff.authenticate(new).roles == ("approver",)
        approvers = [m for m in staff.members() if m["roles"] == ["approver"]]
        assert [m["disabled"] for m in approvers] == [True, False]
    finally:
        db.dispose()


def test_the_demo_grid_lies_where_the_most_risk_persons_live() -> None:
    pop = generate(300, now=datetime(2022, 11, 20, 1, 0, tzinfo=UTC), seed=2022)
    unit = demo_grid_unit(pop, "440000")
    assert unit is not None and unit["grid_id"] == DEMO_GRID
    risk = [*pop.cases, *pop.close_contacts, *pop.secondary_contacts]
    here = [p for p in risk if p.region_code == unit["region_code"]]
    assert here and all(
        len(here) >= len([p for p in risk if p.region_code == p2.region_code]) for p2 in risk
    )
    other = demo_grid_unit(pop, "110000")  # nobody at risk there: where the most people live
    assert other is not None and other["region_code"].startswith("11")
    assert demo_grid_unit(pop, "310000") is None
