"""A demo network's province staff, so that ``/ops`` and ``/grid`` open on first start.

Each province of the folder gets four members (``province/staff.py``), made by ``healthcode
init`` and kept after: an operator and an approver (two people, so a manual decision one
records the other approves), a supervisor of the whole province, and a grid worker of the grid
``DEMO_GRID``. Their tokens are random, as ``healthcode province staff add`` makes them; the
province's database keeps only their digests and each plaintext is written once to
``secrets/staff-<province>-<role>.token`` (0600). A file that exists is kept, so starting again
changes nothing; a member whose file was lost (a run cut short between the database and the
file) is disabled and made again with a new token, never left as a second active member.

The demo grid becomes a grid unit when the population is seeded (:func:`demo_grid_unit`), in
the county of the province where the most of its risk persons live: the only grid of that
county, so their tasks go to it (``province/grid/units.py``) and the grid worker has work.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from healthcode.core import regions
from healthcode.core.clock import Clock
from healthcode.network.datadir import DataDir, write_secret
from healthcode.network.population import Person, Population

__all__ = [
    "DEMO_GRID",
    "DEMO_STAFF",
    "DemoMember",
    "demo_grid_unit",
    "ensure_demo_staff",
    "staff_token_path",
]

#: The grid id of the demo grid worker, in every province.
DEMO_GRID = "demo-grid"


@dataclass(frozen=True, slots=True)
class DemoMember:
    role: str
    name: str


DEMO_STAFF = (
    DemoMember("operator", "演示值班员 王敏"),
    DemoMember("approver", "演示审核员 李强"),
    DemoMember("supervisor", "演示督导员 张静"),
    DemoMember("grid-worker", "演示网格员 刘洋"),
)


def staff_token_path(folder: DataDir, province: str, role: str) -> Path:
    """Where the demo member of ``role`` at ``province`` finds their token."""
    return folder.secrets / f"staff-{province}-{role}.token"


def ensure_demo_staff(folder: DataDir, clock: Clock) -> tuple[list[str], list[str]]:
    """The demo staff of every province of ``folder``, made once: (what it made, what it
    kept), one line each. Migrates each province's database."""
    from healthcode.province.schema import upgrade
    from healthcode.province.staff import StaffService
    from healthcode.store.db import Database

    made: list[str] = []
    kept: list[str] = []
    for province in folder.provinces:
        db = Database.from_url(folder.database_url(folder.service(province)["database"]))
        try:
            upgrade(db)
            staff = StaffService(db=db, clock=clock, province=province)
            active = {str(m["name"]): str(m["id"]) for m in staff.members() if not m["disabled"]}
            for member in DEMO_STAFF:
                path = staff_token_path(folder, province, member.role)
                if path.exists():
                    kept.append(f"staff token {path.name}")
                    continue
                if member.name in active:  # its token was never written: replace the member
                    staff.disable(active[member.name])
                grid = DEMO_GRID if member.role == "grid-worker" else None
                added, token = staff.add(
                    name=member.name, roles=[member.role], region_code=province, grid_id=grid
                )
                write_secret(path, token.encode("ascii") + b"\n")
                made.append(f"staff {added.id} {member.role} at {province}: token {path} (0600)")
        finally:
            db.dispose()
    return made, kept


def _risk_people(pop: Population) -> list[Person]:
    return [*pop.cases, *pop.close_contacts, *pop.secondary_contacts]


def demo_grid_unit(pop: Population, province: str) -> dict[str, str] | None:
    """The demo grid as a unit (``POST /v1/grid/units``): in the county of ``province`` where
    the most of ``pop``'s risk persons live, else where the most people live (ties: the
    smaller code); None when nobody lives in the province."""
    counts = Counter(p.region_code for p in _risk_people(pop) if p.province == province)
    if not counts:
        counts = Counter(p.region_code for p in pop.by_province(province))
    if not counts:
        return None
    best = max(counts.values())
    county = min(c for c, n in counts.items() if n == best)
    return {
        "region_code": county,
        "grid_id": DEMO_GRID,
        "name": f"{regions.lookup(county).name} 演示网格",
    }
