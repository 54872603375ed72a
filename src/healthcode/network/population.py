"""A synthetic but realistic population, the same for the same seed: people with valid resident
ID numbers (real county codes of their province, real birth dates, check digits), names and
phones; their NAT results, vaccinations and visits; a few cases with their close contacts and
the contacts of those; one medium-risk area where the cases live.

It comes in two shapes: :meth:`Person.application` (what a person gives their province to apply
for a code) and hub records (exactly the JSON the hub's ``POST /v1/records/{kind}/batch``
accepts, by kind, with the organisation of ``network/datadir.org_specs`` that submits each kind).
Every time lies before ``now`` (a record from the future is refused), and the people, their
records and the area are chosen by one ``random.Random(seed)``.

>>> from datetime import datetime, timezone
>>> pop = generate(200, now=datetime(2022, 11, 20, 1, 0, tzinfo=timezone.utc), seed=7)
>>> len(pop.people), pop.people[0].id_number[:2] in ("44", "11")
(200, True)
>>> pop == generate(200, now=datetime(2022, 11, 20, 1, 0, tzinfo=timezone.utc), seed=7)
True
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from healthcode.core import regions
from healthcode.core.clock import CHINA_TZ
from healthcode.core.facts.scans import same_place
from healthcode.core.facts.vocabulary import VACCINE_PRODUCTS
from healthcode.core.identity import check_digit

__all__ = [
    "SUBMITTERS",
    "Person",
    "Population",
    "generate",
    "resident_id",
]

#: Which organisation (a token name of ``org_specs``) submits each kind of record.
SUBMITTERS = {
    "nat": "lab",
    "antibody": "lab",
    "vaccination": "vaccination",
    "infection": "disease-control",
    "contact": "disease-control",
    "itinerary": "itinerary",
}

_SURNAMES = "".join(
    (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩",
        "冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁",
    )
)
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志军红梅海燕文斌宇浩然子涵欣怡梓轩"
    "晨曦嘉怡俊杰思远雨萱佳琪雅婷诗涵博文一鸣"
)
_PHONE_PREFIXES = ("130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                   "158", "159", "177", "180", "186", "187", "188", "189", "199")  # fmt: skip
_LABS = {
    "440000": ("广州金域医学检验中心", "广州达安临床检验中心", "深圳华大基因检测实验室"),
    "110000": ("北京迪安医学检验实验室", "北京金域医学检验实验室", "北京华大医学检验所"),
}
_SAMPLE_TYPES = ("oropharyngeal",) * 8 + ("nasopharyngeal", "nasal")
#: Products weighted as doses were given (inactivated vaccines first).
_PRODUCTS = ("BIBP",) * 5 + ("CoronaVac",) * 4 + ("WIBP", "KCONVAC", "ZF2001", "Ad5-nCoV")
_VENUE_SOURCES = ("venue_scan",) * 6 + ("transport_ticket", "declaration")


def resident_id(region: str, born: date, sequence: int) -> str:
    """An 18-character resident ID number: region, birth date, 3-digit sequence, check digit.

    >>> resident_id("440106", date(1990, 3, 7), 123)
    '440106199003071231'
    """
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + check_digit(body)


@cache
def _counties(province: str) -> tuple[str, ...]:
    """The current county-level codes of ``province`` (districts, counties, county cities)."""
    return tuple(
        r.code for r in regions.all_regions("county") if regions.is_within(r.code, province)
    )


@dataclass(frozen=True, slots=True)
class Person:
    """One resident: who they are and where they live."""

    id_number: str
    name: str
    phone: str
    region_code: str  # the county of residence (the ID number's, born there)
    province: str
    birth_date: date

    def application(self) -> dict[str, str]:
        """What the person gives their province to apply for a code."""
        return {
            "id_type": "resident_id",
            "id_number": self.id_number,
            "name": self.name,
            "phone": self.phone,
            "residence_region": self.region_code,
        }

    def envelope(self, record_id: str) -> dict[str, Any]:
        """The identity fields of a hub record about this person."""
        return {
            "record_id": record_id,
            "id_type": "resident_id",
            "id_number": self.id_number,
            "name": self.name,
            "phone": self.phone,
        }


@dataclass
class Population:
    """People, their records for the hub by kind, and the risk areas to designate."""

    people: list[Person]
    records: dict[str, list[dict[str, Any]]]
    risk_areas: list[dict[str, Any]]
    cases: list[Person] = field(default_factory=list)
    close_contacts: list[Person] = field(default_factory=list)
    secondary_contacts: list[Person] = field(default_factory=list)

    def by_province(self, province: str) -> list[Person]:
        return [p for p in self.people if p.province == province]

    def record_count(self) -> int:
        return sum(len(r) for r in self.records.values())


def _iso(at: datetime) -> str:
    return at.astimezone(CHINA_TZ).replace(microsecond=0).isoformat()


class _Maker:
    """The generator's state: one random source, ``now``, the records made so far."""

    def __init__(self, rng: random.Random, now: datetime, provinces: tuple[str, ...]) -> None:
        self.rng = rng
        self.now = now.astimezone(CHINA_TZ).replace(microsecond=0)
        self.provinces = provinces
        self.records: dict[str, list[dict[str, Any]]] = {k: [] for k in SUBMITTERS}
        self._ids: set[str] = set()
        self._serial = 0

    def record_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self.now:%Y%m%d}-{self._serial:06d}"

    def ago(self, low: timedelta, high: timedelta) -> datetime:
        """A time between ``high`` and ``low`` before now, to the minute."""
        span = int((high - low).total_seconds() // 60)
        return self.now - low - timedelta(minutes=self.rng.randint(0, max(span, 0)))

    def person(self, province: str) -> Person:
        rng = self.rng
        while True:
            region = rng.choice(_counties(province))
            born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 78))
            number = resident_id(region, born, rng.randint(1, 999))
            if number not in self._ids:
                self._ids.add(number)
                break
        name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2, 2))))
        phone = rng.choice(_PHONE_PREFIXES) + f"{rng.randint(0, 10**8 - 1):08d}"
        return Person(number, name, phone, region, province, born)

    def add(self, what: str, person: Person, prefix: str, /, **fact: Any) -> dict[str, Any]:
        record = {**person.envelope(self.record_id(prefix)), **fact}
        self.records[what].append(record)
        return record

    # -- everyday records -----------------------------------------------------------------------
    def nat(self, person: Person, *, result: str = "negative", within: timedelta) -> datetime:
        rng = self.rng
        sampled = self.ago(timedelta(hours=8), within)
        pooled = result == "negative" and rng.random() < 0.6
        self.add(
            "nat",
            person,
            "NAT",
            sampled_at=_iso(sampled),
            result=result,
            lab=rng.choice(_LABS.get(person.province, _LABS["440000"])),
            sample_type=rng.choice(_SAMPLE_TYPES),
            pooling="pooled" if pooled else "single",
            **({"pool_size": rng.choice((10, 20))} if pooled else {}),
            resulted_at=_iso(min(sampled + timedelta(hours=rng.randint(4, 8)), self.now)),
        )
        return sampled

    def antibody(self, person: Person) -> None:
        rng = self.rng
        self.add(
            "antibody",
            person,
            "AB",
            sampled_at=_iso(self.ago(timedelta(hours=12), timedelta(days=10))),
            kind=rng.choice(("IgM", "IgG", "total")),
            result=rng.choice(("negative",) * 4 + ("positive",)),
            lab=rng.choice(_LABS.get(person.province, _LABS["440000"])),
        )

    def vaccinations(self, person: Person) -> None:
        rng = self.rng
        age = (self.now.date() - person.birth_date).days // 365
        if age < 3 or rng.random() < 0.08:
            return
        product = rng.choice(_PRODUCTS)
        series = VACCINE_PRODUCTS[product][2]
        doses = min(series + rng.choice((0, 1, 1)), 5)
        first = self.now - timedelta(days=rng.randint(400, 640))
        day = first.replace(hour=rng.randint(8, 16), minute=rng.randrange(0, 60, 5), second=0)
        site = regions.lookup(person.region_code).name + "社区卫生服务中心接种门诊"
        for dose in range(1, doses + 1):
            if day >= self.now:
                break
            self.add(
                "vaccination",
                person,
                "VAC",
                product=product,
                dose=dose,
                administered_at=_iso(day),
                site=site,
            )
            day += timedelta(days=rng.randint(28, 60) if dose < series else rng.randint(180, 300))

    def visits(self, person: Person, *, travel: float = 0.1) -> None:
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            province = person.province
            if rng.random() < travel:
                province = rng.choice(
                    [p for p in self.provinces if p != person.province] or [province]
                )
            self.visit(person, rng.choice(_counties(province)), timedelta(days=6))

    def contact(
        self, person: Person, kind: str, exposure: datetime, after: timedelta, case_id: str
    ) -> None:
        """A close or secondary contact of ``case_id``, identified ``after`` the exposure."""
        self.add(
            "contact",
            person,
            "CT",
            kind=kind,
            last_exposure_at=_iso(exposure),
            identified_at=_iso(min(exposure + after, self.now)),
            source_case=case_id,
        )

    def visit(self, person: Person, region: str, within: timedelta, source: str = "") -> datetime:
        at = self.ago(timedelta(hours=1), within)
        chosen = source or self.rng.choice(_VENUE_SOURCES)
        self.add("itinerary", person, "ITN", region_code=region, at=_iso(at), source=chosen)
        return at


def _everyday(maker: _Maker, people: list[Person]) -> None:
    """Tests, vaccinations and visits of everybody."""
    for person in people:
        roll = maker.rng.random()
        if roll < 0.85:
            maker.nat(person, within=timedelta(hours=70))
        if roll < 0.3:
            maker.nat(person, within=timedelta(days=6))
        if roll > 0.97:
            maker.antibody(person)
        maker.vaccinations(person)
        maker.visits(person)


def _outbreak(maker: _Maker, pop: Population, cases: int) -> None:
    """``cases`` cases in the first province, their close contacts and the contacts of those;
    one medium-risk area (the first case's county), designated two days ago, with visits."""
    rng, now = maker.rng, maker.now
    home = maker.provinces[0]
    local = pop.by_province(home)
    chosen = rng.sample(local, min(len(local), cases * 12))
    pop.cases = chosen[:cases]
    rest = iter(chosen[cases:])
    for n, case in enumerate(pop.cases, start=1):
        case_id = f"{home[:2]}-{now:%Y}-{n:04d}"
        sampled = maker.nat(case, result="positive", within=timedelta(days=2))
        maker.add(
            "infection",
            case,
            "INF",
            status=rng.choice(("confirmed", "confirmed", "asymptomatic")),
            reported_at=_iso(min(sampled + timedelta(hours=10), now)),
            onset_at=_iso(sampled - timedelta(days=1)),
            case_id=case_id,
        )
        for close in _take(rest, rng.randint(4, 6)):
            pop.close_contacts.append(close)
            exposure = maker.ago(timedelta(days=2), timedelta(days=3))
            maker.contact(close, "close", exposure, timedelta(hours=20), case_id)
            for second in _take(rest, rng.randint(1, 2)):
                pop.secondary_contacts.append(second)
                seen = exposure + timedelta(hours=rng.randint(2, 20))
                maker.contact(second, "secondary", seen, timedelta(hours=12), case_id)
    area = pop.cases[0].region_code if pop.cases else _counties(home)[0]
    start = now - timedelta(days=2)
    pop.risk_areas.append(
        {
            "region_code": area,
            "level": "medium",
            "effective_from": _iso(start),
            "until": None,
            "document": f"{regions.lookup(area).name}疫情防控指挥部通告"
            f"〔{now:%Y}〕第{rng.randint(10, 99)}号",
        }
    )
    # A venue scan counts only when the phone's itinerary backs it (core/facts/scans.py): most
    # visitors' phones were there too; every fourth scan is a forwarded code, scanned while the
    # phone was in another city (flagged, not used).
    away = next(c for c in _counties(home) if not same_place(c, area))
    for n, visitor in enumerate(rng.sample(pop.people, min(len(pop.people), 12))):
        at = maker.visit(visitor, area, timedelta(days=1, hours=12), "venue_scan")
        phone = away if n % 4 == 3 else area
        maker.add("itinerary", visitor, "ITN", region_code=phone,
                  at=_iso(at + timedelta(minutes=30)), source="carrier_cell")  # fmt: skip


def _take(people: Iterator[Person], n: int) -> list[Person]:
    return [p for _, p in zip(range(n), people, strict=False)]


def generate(
    size: int = 2000,
    *,
    now: datetime,
    seed: int = 2022,
    provinces: tuple[str, ...] = ("440000", "110000"),
    cases: int | None = None,
) -> Population:
    """``size`` people split between ``provinces`` (the first gets the larger share), with their
    records as of ``now``; ``cases`` (default one per thousand people, at least 2) in the first
    province, with their contacts and a medium-risk area."""
    rng = random.Random(seed)
    maker = _Maker(rng, now, provinces)
    shares = [size * 3 // 5] + [0] * (len(provinces) - 1) if len(provinces) > 1 else [size]
    for i in range(1, len(provinces)):
        shares[i] = (size - shares[0]) // (len(provinces) - 1) + (
            1 if i <= (size - shares[0]) % (len(provinces) - 1) else 0
        )
    people = [maker.person(p) for p, n in zip(provinces, shares, strict=True) for _ in range(n)]
    pop = Population(people=people, records=maker.records, risk_areas=[])
    _everyday(maker, people)
    _outbreak(maker, pop, cases if cases is not None else max(2, size // 1000))
    return pop
