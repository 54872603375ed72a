"""Seed a running network with the synthetic population, over HTTP as the departments would.

The plan (size, seed, the instant the population is made for) is written to the data folder
before anything is sent, and ``seeded.json`` after everything was: a run cut short is run again
with the same plan, and the hub takes the records it already holds again as no-ops (natural
keys), so nothing is stored twice. Records go in batches, each kind with the token of the
organisation that submits it (``population.SUBMITTERS``); the risk areas with the province's
risk-area authority; the people apply at their provinces through ``apply`` (the seam the
provinces fill), and each province's demo grid with its demo supervisor's token before the
records make tasks (``network/staff.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from healthcode.core import regions
from healthcode.core.clock import Clock, SystemClock, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError
from healthcode.network.datadir import DataDir
from healthcode.network.population import SUBMITTERS, Person, Population, generate
from healthcode.network.staff import demo_grid_unit, staff_token_path

__all__ = ["BATCH", "PLAN", "SEEDED", "Applier", "SeedPlan", "plan_of", "seed_network"]

PLAN = "seed-plan.json"
SEEDED = "seeded.json"
BATCH = 2000
#: Applies people at a province: (province code, people) -> how many it took.
Applier = Callable[[str, Sequence[Person]], int]


@dataclass(frozen=True)
class SeedPlan:
    size: int
    seed: int
    now: datetime

    def population(self, provinces: tuple[str, ...]) -> Population:
        return generate(self.size, now=self.now, seed=self.seed, provinces=provinces)


def _write_json(path: Any, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def plan_of(folder: DataDir, *, size: int, seed: int, clock: Clock) -> SeedPlan:
    """The plan in the folder, else a new one made now (and written)."""
    path = folder.root / PLAN
    if path.exists():
        doc = json.loads(path.read_text(encoding="utf-8"))
        return SeedPlan(int(doc["size"]), int(doc["seed"]), parse_instant(doc["now"]))
    plan = SeedPlan(size, seed, clock.now().replace(microsecond=0))
    _write_json(path, {"size": size, "seed": seed, "now": plan.now.isoformat()})
    return plan


def seeded(folder: DataDir) -> dict[str, Any] | None:
    """What an earlier run seeded (None when it has not finished)."""
    path = folder.root / SEEDED
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _post(client: httpx.Client, url: str, token: str, body: Any) -> dict[str, Any]:
    response = client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    if response.status_code >= 400:
        raise HealthcodeError(
            ErrorCode.SEED_REFUSED,
            f"seeding: {url} answered {response.status_code}: {response.text[:300]}",
        )
    answer: dict[str, Any] = response.json()
    return answer


def _risk_area_token(folder: DataDir, region: str) -> str:
    return folder.token(f"risk-authority-{regions.province_of(region).code}")


def _designate(client: httpx.Client, folder: DataDir, area: dict[str, Any]) -> Any:
    """Designate ``area`` unless the hub lists it already (a run cut short); its id."""
    token = _risk_area_token(folder, area["region_code"])
    hub = folder.url("hub")
    listed = client.get(f"{hub}/v1/risk-areas", headers={"Authorization": f"Bearer {token}"})
    for known in listed.json().get("areas", []) if listed.status_code == 200 else []:
        if (known["region_code"], known["document"]) == (area["region_code"], area["document"]):
            return known["id"]
    return _post(client, f"{hub}/v1/risk-areas", token, area).get("id")


def _demo_grids(
    client: httpx.Client, folder: DataDir, pop: Population, say: Callable[[str], None]
) -> None:
    """Each province's demo grid (``network/staff.py``) loaded by its demo supervisor, before
    the records make tasks, so the grid worker's grid has some."""
    for province in folder.provinces:
        path = staff_token_path(folder, province, "supervisor")
        unit = demo_grid_unit(pop, province)
        if unit is None or not path.is_file():
            continue
        token = path.read_text(encoding="ascii").strip()
        _post(client, f"{folder.url(province)}/v1/grid/units", token, {"units": [unit]})
        say(f"  grid {unit['grid_id']} ({unit['name']}) at province {province}")


def _demo(person: Person) -> dict[str, str]:
    """A person to look at after seeding (synthetic: a name and a phone may be shown)."""
    return {**person.application(), "province": person.province}


def _ordinary(pop: Population) -> list[Person]:
    """People the seeded outbreak does not involve."""
    involved = {p.id_number for p in pop.cases + pop.close_contacts + pop.secondary_contacts}
    return [p for p in pop.people if p.id_number not in involved]


def seed_network(
    folder: DataDir,
    *,
    size: int = 3000,
    seed: int = 2022,
    apply: Applier | None = None,
    clock: Clock | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Seed the hub (and, through ``apply``, the provinces) unless done; what was seeded."""
    done = seeded(folder)
    if done is not None:
        return done
    plan = plan_of(folder, size=size, seed=seed, clock=clock or SystemClock())
    pop = plan.population(tuple(folder.provinces))
    hub = folder.url("hub")
    say(f"seeding {len(pop.people)} people and {pop.record_count()} records into the hub ...")
    with httpx.Client(timeout=120) as client:
        if apply is not None:  # the provinces hold their people before the records arrive
            for province in folder.provinces:
                taken = apply(province, pop.by_province(province))
                say(f"  {taken} people applied for a code at province {province}")
            _demo_grids(client, folder, pop, say)
        for kind, records in pop.records.items():
            token = folder.token(SUBMITTERS[kind])
            for start in range(0, len(records), BATCH):
                chunk = records[start : start + BATCH]
                _post(client, f"{hub}/v1/records/{kind}/batch", token, chunk)
            if records:
                say(f"  {len(records):6} {kind} records")
        areas = [_designate(client, folder, area) for area in pop.risk_areas]
        for area in pop.risk_areas:
            say(f"  risk area {area['region_code']} ({area['level']}) designated")
    summary = {
        "demo": [_demo(p) for p in (*pop.cases[:1], *_ordinary(pop)[:1])],
        "people": len(pop.people),
        "records": {k: len(v) for k, v in pop.records.items()},
        "risk_areas": areas,
        "cases": [p.id_number for p in pop.cases],
        "seed": plan.seed,
        "now": plan.now.isoformat(),
    }
    _write_json(folder.root / SEEDED, summary)
    return summary
