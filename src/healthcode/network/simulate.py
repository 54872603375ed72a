"""``healthcode simulate``: an outbreak driven over a running network through the hub's HTTP
API, as the departments would send it, watched at the provinces as their people see it.

The people come from the seeded population (the same seed gives the same people), each picked
only while their code is green at their province, so the scenario can run again on the same
network. Steps: a positive NAT (the case), the case report, close contacts and a contact of a
contact traced, visits to a county (also by a Beijing resident travelling to Guangdong), each
venue scan with the phone's itinerary there, and a forwarded venue code scanned at home in
Beijing (flagged, never used: the person stays green), that county designated a medium-risk
area and later lifted, and the case's older green code shown at
the checkpoint offline and online. After each fact the people it concerns are watched at their
provinces (``GET /v1/me``) until their colour changes: what each province's code did and how
long the transcoding took, from the fact accepted at the hub (its answer received) to the new
colour visible at the province.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from healthcode.core import regions
from healthcode.core.clock import CHINA_TZ, Clock, SystemClock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError
from healthcode.network.datadir import DataDir
from healthcode.network.population import SUBMITTERS, Person, Population
from healthcode.network.seed import plan_of, seeded

__all__ = ["Change", "Simulation", "Watched", "run"]

#: How long a watched colour change may take before the simulation says it did not come.
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.01


@dataclass
class Watched:
    """A person of the scenario, with their token at their province and what they see."""

    role: str
    person: Person
    token: str
    colour: str
    pseudonym: str
    masked_name: str


@dataclass(frozen=True)
class Change:
    """A colour change seen at a province, and how long after the fact was accepted."""

    role: str
    province: str
    masked_name: str
    before: str
    after: str
    reasons: tuple[str, ...]
    seconds: float | None  # None: no change within the wait


@dataclass
class Simulation:
    """The scenario over the network of ``folder``; ``say`` prints as it goes."""

    folder: DataDir
    say: Callable[[str], None] = print
    clock: Clock = field(default_factory=SystemClock)
    wait_seconds: float = WAIT_SECONDS
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    changes: list[Change] = field(default_factory=list)
    #: the forwarded scan's owner after the designation: their colour and their scans' flags
    forwarded: tuple[str, list[str]] | None = None
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _run: str = ""
    _started: float = field(default_factory=time.monotonic)

    # -- HTTP -----------------------------------------------------------------------------------
    def _hub(self, method: str, path: str, token_name: str, body: Any = None) -> Any:
        token = self.folder.token(token_name)
        response = self.client.request(
            method,
            self.folder.url("hub") + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code >= 400:
            raise HealthcodeError(
                ErrorCode.SEED_REFUSED,
                f"hub {path} answered {response.status_code}: {response.text[:200]}",
            )
        return response.json()

    def _province(
        self, province: str, path: str, token: str | None = None, body: Any = None
    ) -> Any:
        url = self.folder.url(province) + path
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = (
            self.client.post(url, json=body, headers=headers)
            if body is not None
            else self.client.get(url, headers=headers)
        )
        if response.status_code >= 400:
            raise HealthcodeError(
                ErrorCode.SEED_REFUSED,
                f"{province} {path} answered {response.status_code}: {response.text[:200]}",
            )
        return response.json()

    def me(self, who: Watched) -> dict[str, Any]:
        answer: dict[str, Any] = self._province(who.person.province, "/v1/me", who.token)
        return answer

    # -- the people -----------------------------------------------------------------------------
    def _apply(self, role: str, person: Person) -> Watched:
        answer = self._province(person.province, "/v1/applications", body=person.application())
        who = Watched(role, person, answer["token"], "", answer["pseudonym"], answer["masked_name"])
        who.colour = self.me(who)["colour"]
        return who

    def cast(self, population: Population, roles: dict[str, str]) -> dict[str, Watched]:
        """A green person of the named province for each role (in order), skipping anyone the
        seeded outbreak involves."""
        involved = {
            p.id_number
            for p in population.cases + population.close_contacts + population.secondary_contacts
        }
        pools = {
            p: iter([x for x in population.by_province(p) if x.id_number not in involved])
            for p in self.folder.provinces
        }
        cast: dict[str, Watched] = {}
        for role, province in roles.items():
            for person in pools[province]:
                who = self._apply(role, person)
                if who.colour == "green":
                    cast[role] = who
                    break
            else:
                raise HealthcodeError(ErrorCode.SEED_REFUSED, f"no green person left in {province}")
        return cast

    # -- facts ----------------------------------------------------------------------------------
    def _record_id(self) -> str:
        return f"SIM-{self._run}-{next(self._ids):04d}"

    def _iso(self, ago: timedelta) -> str:
        return (self.clock.now() - ago).astimezone(CHINA_TZ).replace(microsecond=0).isoformat()

    def submit(self, what: str, who: Watched, /, **fact: Any) -> float:
        """Send one record of ``who`` to the hub; the moment its acceptance came back."""
        record = {**who.person.envelope(self._record_id()), **fact}
        self._hub("POST", f"/v1/records/{what}", SUBMITTERS[what], record)
        return time.monotonic()

    def step(self, text: str) -> None:
        self.say(f"[{time.monotonic() - self._started:6.1f} s] {text}")

    def watch(self, accepted: float, people: list[Watched], *, wait: float | None = None) -> None:
        """Watch ``people`` whose facts were all accepted at ``accepted``."""
        self.watch_each([(who, accepted) for who in people], wait=wait)

    def watch_each(self, people: list[tuple[Watched, float]], *, wait: float | None = None) -> None:
        """Poll the provinces of ``people`` (each with the moment its fact was accepted) until
        each one's colour changed, or the wait ran out; print and keep each change with its
        latency."""
        pending = {id(w): (w, at) for w, at in people}
        last = max((at for _, at in people), default=time.monotonic())
        deadline = last + (wait if wait is not None else self.wait_seconds)
        while pending:
            for key, (who, at) in list(pending.items()):
                now = self.me(who)
                if now["colour"] != who.colour:
                    self._changed(who, now, time.monotonic() - at)
                    del pending[key]
            if pending and time.monotonic() > deadline:
                for who, _ in pending.values():
                    self._changed(who, self.me(who), None)
                return
            time.sleep(POLL_SECONDS)

    def _changed(self, who: Watched, now: dict[str, Any], seconds: float | None) -> None:
        reasons = tuple(str(r.get("code", r.get("reason", ""))) for r in now.get("reasons", []))
        change = Change(who.role, who.person.province, who.masked_name, who.colour,
                        now["colour"], reasons, seconds)  # fmt: skip
        self.changes.append(change)
        if seconds is None:
            self.say(f"           {change.province} {who.role:10} {who.masked_name:6} "
                     f"stays {who.colour} ({', '.join(reasons) or 'no rule'}, "
                     f"until {now.get('until')})")  # fmt: skip
            return
        who.colour = now["colour"]
        until = f", until {now['until']}" if now.get("until") else ""
        self.say(f"           {change.province} {who.role:10} {who.masked_name:6} "
                 f"{change.before} -> {change.after} ({', '.join(reasons)}{until}) "
                 f"in {seconds * 1000:.0f} ms")  # fmt: skip

    def await_status(self, who: Watched) -> None:
        """Poll the hub's status of ``who`` until it shows their colour at their province (the
        province reports each change through its outbox), or the wait ran out; print which."""
        started = time.monotonic()
        path = f"/v1/status?pseudonym={who.pseudonym}"
        while True:
            try:
                colour = self._hub("GET", path, "checkpoint").get("colour")
            except HealthcodeError:  # not reported yet (404)
                colour = None
            waited = time.monotonic() - started
            if colour == who.colour:
                self.say(f"           hub status of the {who.role}: {colour} "
                         f"(seen after {waited * 1000:.0f} ms)")  # fmt: skip
                return
            if waited > self.wait_seconds:
                self.say(f"           hub status of the {who.role}: still {colour}")
                return
            time.sleep(POLL_SECONDS * 5)

    # -- summary --------------------------------------------------------------------------------
    def summary(self) -> list[str]:
        """Per province: the changes seen and the transcoding latencies."""
        lines = []
        for province in self.folder.provinces:
            mine = [c for c in self.changes if c.province == province]
            timed = sorted(c.seconds for c in mine if c.seconds is not None)
            if not timed:
                lines.append(f"{province}: no colour change")
                continue
            moves = ", ".join(f"{c.before}->{c.after}" for c in mine if c.seconds is not None)
            lines.append(
                f"{province}: {len(timed)} transcoding(s) ({moves}); latency p50 "
                f"{statistics.median(timed) * 1000:.0f} ms, max {timed[-1] * 1000:.0f} ms"
            )
        return lines


def _forwarded_scan(sim: Simulation, who: Watched, area: str) -> None:
    """The forwarded scan's owner, at the province that re-evaluated the traveller already:
    still green, the scan in ``area`` flagged (``GET /v1/me/scans``)."""
    now = sim.me(who)
    scans = sim._province(who.person.province, "/v1/me/scans", who.token)["scans"]
    there = [str(s["flag"]) for s in scans if s["region_code"] == area]
    flags = ", ".join(there) or "none"
    sim.forwarded = (now["colour"], there)
    sim.say(f"           {who.person.province} {who.role:10} {who.masked_name:6} stays "
            f"{now['colour']}: scan flagged {flags}")  # fmt: skip


def _area_for(sim: Simulation, home: str, avoid: set[str]) -> str:
    """A county of ``home`` not designated now and not among ``avoid``."""
    listed = sim._hub("GET", "/v1/risk-areas", f"risk-authority-{home}")["areas"]
    taken = {a["region_code"] for a in listed} | avoid
    counties = [r.code for r in regions.all_regions("county") if regions.is_within(r.code, home)]
    return next(c for c in counties if c not in taken)


def run(
    folder: DataDir, *, say: Callable[[str], None] = print, wait: float = WAIT_SECONDS
) -> Simulation:
    """The scenario (see the module); what it saw."""
    if seeded(folder) is None:
        raise HealthcodeError(
            ErrorCode.SEED_REFUSED,
            f"the network in {folder.root} is not seeded (run healthcode serve)",
        )
    sim = Simulation(folder, say=say, wait_seconds=wait)
    sim._run = sim.clock.now().strftime("%Y%m%d%H%M%S")
    try:
        _scenario(sim)
    finally:
        sim.client.close()
    return sim


def _scenario(sim: Simulation) -> None:
    folder = sim.folder
    gd, bj = folder.provinces[0], folder.provinces[-1]
    plan = plan_of(folder, size=0, seed=0, clock=sim.clock)
    population = plan.population(tuple(folder.provinces))
    cast = sim.cast(
        population,
        {"case": gd, "close-1": gd, "close-2": gd, "secondary": gd, "visitor": gd, "traveller": bj,
         "forwarded": bj},
    )  # fmt: skip
    sim.step("the cast, green at their provinces: " + ", ".join(
        f"{w.role} {w.masked_name} ({w.person.province})" for w in cast.values()))  # fmt: skip
    _outbreak(sim, cast, gd)
    area = _area_for(sim, gd, {w.person.region_code for w in cast.values()})
    _risk_area(sim, cast, gd, area)
    for line in sim.summary():
        sim.say(line)


def _outbreak(sim: Simulation, cast: dict[str, Watched], gd: str) -> None:
    case, source = cast["case"], f"SIM-{sim._run}"
    old = sim._province(gd, "/v1/me/code", case.token)
    sim.step(f"lab: positive NAT of the case {case.masked_name} ({gd})")
    accepted = sim.submit(
        "nat",
        case,
        sampled_at=sim._iso(timedelta(hours=6)),
        result="positive",
        lab="广州金域医学检验中心",
        resulted_at=sim._iso(timedelta(minutes=5)),
    )
    sim.watch(accepted, [case])
    sim.step("disease control: case report (confirmed)")
    reported = sim._iso(timedelta(minutes=2))
    sim.submit("infection", case, status="confirmed", reported_at=reported, case_id=source)
    sim.step("disease control: two close contacts and a contact of a contact traced")
    exposure, found = sim._iso(timedelta(days=1)), sim._iso(timedelta(minutes=1))
    traced = []
    for role, kind in (("close-1", "close"), ("close-2", "close"), ("secondary", "secondary")):
        who = cast[role]
        at = sim.submit("contact", who, kind=kind, last_exposure_at=exposure,
                        identified_at=found, source_case=source)  # fmt: skip
        traced.append((who, at))
    sim.watch_each(traced)
    sim.await_status(case)
    _checkpoint(sim, old["code"])


def _checkpoint(sim: Simulation, code: str) -> None:
    checkpoint = sim.folder.url("checkpoint") + "/v1/check"
    # the checkpoint takes the hub's status lists now (it would within its refresh period):
    # offline, the old code stops as superseded once the list it got shows the case's new state
    sim.client.post(sim.folder.url("checkpoint") + "/v1/trust/refresh")
    sim.step("checkpoint: the case's code from before, still unexpired, is shown")
    for online in (False, True):
        answer = sim.client.post(checkpoint, json={"code": code, "online": online}).json()
        how = "online " if online else "offline"
        sim.say(f"           {how} {answer['decision']:4} {answer['reason'] or ''} "
                f"{answer['message']} (code colour {answer['colour']})")  # fmt: skip


def _risk_area(sim: Simulation, cast: dict[str, Watched], gd: str, area: str) -> None:
    visitor, traveller, forwarded = cast["visitor"], cast["traveller"], cast["forwarded"]
    name = regions.lookup(area).name
    sim.step(f"venue scans in {name} ({area}): {visitor.masked_name} ({gd}) and "
             f"{traveller.masked_name} travelling from {traveller.person.province}, their "
             f"phones there too; {forwarded.masked_name} scans a forwarded venue code at home "
             f"in {forwarded.person.region_code}")  # fmt: skip
    scanned, phoned = sim._iso(timedelta(hours=3)), sim._iso(timedelta(hours=2, minutes=40))
    for who in (visitor, traveller, forwarded):
        sim.submit("itinerary", who, region_code=area, at=scanned, source="venue_scan")
        phone = who.person.region_code if who is forwarded else area
        sim.submit("itinerary", who, region_code=phone, at=phoned, source="carrier_cell")
    token = f"risk-authority-{gd}"
    sim.step(f"{gd} designates {name} a medium-risk area")
    designated = sim._hub("POST", "/v1/risk-areas", token, {
        "region_code": area, "level": "medium", "effective_from": sim._iso(timedelta(hours=12)),
        "document": f"{name}疫情防控指挥部通告 (simulation {sim._run})"})  # fmt: skip
    accepted = time.monotonic()
    sim.watch(accepted, [visitor, traveller])
    _forwarded_scan(sim, forwarded, area)
    sim.step(f"{gd} lifts the area")
    sim._hub("POST", f"/v1/risk-areas/{designated['id']}/lift", token,
             {"document": f"{name}解除风险区通告 (simulation {sim._run})"})  # fmt: skip
    accepted = time.monotonic()
    sim.watch(accepted, [visitor, traveller], wait=min(sim.wait_seconds, 5.0))
