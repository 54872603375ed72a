"""The synthetic population: deterministic, valid ID numbers, and every record one the hub takes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from healthcode.core import facts, identity, regions
from healthcode.core.clock import FixedClock
from healthcode.hub.records import RecordParser
from healthcode.network.population import SUBMITTERS, Population, generate

NOW = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def population() -> Population:
    return generate(1500, now=NOW, seed=11)


def test_same_seed_same_population(population: Population) -> None:
    assert generate(1500, now=NOW, seed=11) == population
    assert generate(1500, now=NOW, seed=12).people != population.people


def test_people_have_valid_unique_ids_in_their_province(population: Population) -> None:
    numbers = [p.id_number for p in population.people]
    assert len(set(numbers)) == len(numbers) == 1500
    for person in population.people:
        rid = identity.parse_resident_id(person.id_number, today=NOW.date())
        assert rid.region_current and regions.is_within(rid.region_code, person.province)
        assert rid.birth_date == person.birth_date
        assert regions.lookup(person.region_code).level == "county"
    assert {p.province for p in population.people} == {"440000", "110000"}


def test_every_record_passes_the_hubs_checks(population: Population) -> None:
    parser = RecordParser(pseudonym_key=b"k" * 32, clock=FixedClock(NOW))
    keys = set()
    for kind, records in population.records.items():
        assert kind in SUBMITTERS
        for record in records:
            parsed = parser.parse(kind, record, defaults={}, now=NOW)
            keys.add((kind, parsed.record_id))
    assert len(keys) == population.record_count()  # record ids are unique per kind
    assert all(population.records[k] for k in SUBMITTERS)


def test_an_outbreak_with_contacts_and_a_risk_area(population: Population) -> None:
    assert population.cases and len(population.close_contacts) >= 4 * len(population.cases)
    assert population.secondary_contacts
    involved = population.cases + population.close_contacts + population.secondary_contacts
    assert len({p.id_number for p in involved}) == len(involved)
    (area,) = population.risk_areas
    checked = facts.RiskAreaDesignation.from_dict(
        {k: area[k] for k in ("region_code", "level", "effective_from")}, clock=FixedClock(NOW)
    )
    assert checked.level == "medium" and regions.is_within(checked.region_code, "440000")
    visits = [r for r in population.records["itinerary"] if r["region_code"] == area["region_code"]]
    assert len(visits) >= 10


def test_applications_carry_the_identity(population: Population) -> None:
    person = population.people[0]
    application = person.application()
    assert application["id_number"] == person.id_number
    assert application["residence_region"] == person.region_code
    identity.mask_phone(application["phone"])
