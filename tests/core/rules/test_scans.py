"""Venue scans are weak evidence: a scan counts only when the person's own movement backs it,
a scan their movement contradicts is flagged, and no colour rests on scans alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.clock import FixedClock
from healthcode.core.facts import ItineraryVisit, PersonFacts, RiskAreaDesignation
from healthcode.core.facts.scans import (
    CONTRADICTED,
    CONTRADICTION_WINDOW,
    CORROBORATION_WINDOW,
    UNCORROBORATED,
    counted_visits,
    same_place,
    scan_flags,
)
from healthcode.core.facts.vocabulary import ITINERARY_SOURCES
from healthcode.core.rules import baseline, evaluate, summarise

T = datetime(2022, 11, 19, 2, 0, tzinfo=UTC)
NOW = T + timedelta(days=1)
ZHENGZHOU = RiskAreaDesignation("410100", "medium", T - timedelta(days=1))


def scan(region: str = "410105", at: datetime = T) -> ItineraryVisit:
    return ItineraryVisit(region, at, "venue_scan")


def cell(region: str, at: datetime, source: Any = "carrier_cell") -> ItineraryVisit:
    return ItineraryVisit(region, at, source)


def colour(*visits: ItineraryVisit) -> str:
    summary = summarise(PersonFacts(visits=visits), [ZHENGZHOU])
    return evaluate(baseline(), summary, clock=FixedClock(NOW)).colour


def test_a_scan_alone_is_left_out_and_gives_no_colour() -> None:
    assert scan_flags([scan()]) == [UNCORROBORATED]
    assert scan_flags([scan(), scan(at=T + timedelta(hours=1))]) == [UNCORROBORATED] * 2
    assert colour(scan()) == "green"
    assert summarise(PersonFacts(visits=(scan(),)), [ZHENGZHOU])["medium_area_last_visit"] is None


def test_a_scan_backed_by_the_phone_or_a_ticket_in_the_same_city_counts() -> None:
    for source in ("carrier_cell", "transport_ticket", "declaration"):
        backed = cell("410100", T + timedelta(hours=20), source)
        assert scan_flags([scan(), backed]) == [None, None]
    assert colour(scan(), cell("410102", T - timedelta(hours=3))) == "yellow"
    # a witness naming only the province agrees with the city
    assert scan_flags([scan(), cell("410000", T)]) == [None, None]


def test_a_scan_the_persons_movement_contradicts_is_flagged() -> None:
    """Zhengzhou, June 2022: a venue code forwarded to someone who was at home elsewhere."""
    home = cell("440106", T + timedelta(minutes=30))
    assert scan_flags([scan(), home]) == [CONTRADICTED, None]
    assert colour(scan(), home) == "green"
    # a witness in the scan's city within the window outweighs one elsewhere (a traveller)
    there = cell("410100", T + timedelta(minutes=90))
    assert scan_flags([scan(), home, there]) == [None, None, None]


def test_the_windows_are_closed_intervals() -> None:
    assert scan_flags([scan(), cell("410100", T + CORROBORATION_WINDOW)])[0] is None
    late = T + CORROBORATION_WINDOW + timedelta(milliseconds=1)
    assert scan_flags([scan(), cell("410100", late)])[0] == UNCORROBORATED
    assert scan_flags([scan(), cell("440106", T - CONTRADICTION_WINDOW)])[0] == CONTRADICTED
    away = T - CONTRADICTION_WINDOW - timedelta(milliseconds=1)
    assert scan_flags([scan(), cell("440106", away)])[0] == UNCORROBORATED


def test_same_place() -> None:
    assert same_place("410105", "410100") and same_place("410105", "410000")
    assert not same_place("410105", "440106") and not same_place("410105", "410200")
    assert same_place("110101", "110105")


CODES = ["410100", "410105", "410000", "410200", "440106", "110101"]
visits = st.builds(
    ItineraryVisit,
    st.sampled_from(CODES),
    st.integers(min_value=0, max_value=72 * 60).map(lambda m: T + timedelta(minutes=m)),
    st.sampled_from(ITINERARY_SOURCES),
)


@settings(max_examples=300, deadline=None)
@given(mine=st.lists(visits, max_size=8))
def test_no_risk_area_field_rests_on_scans_alone(mine: list[ItineraryVisit]) -> None:
    flags = scan_flags(mine)
    counted = counted_visits(mine)
    # every visit of another source counts; a counted scan has a witness in its place
    assert all(f is None for v, f in zip(mine, flags, strict=True) if v.source != "venue_scan")
    for v in counted:
        if v.source == "venue_scan":
            assert any(
                w.source != "venue_scan"
                and same_place(w.region_code, v.region_code)
                and abs(w.at - v.at) <= CORROBORATION_WINDOW
                for w in mine
            )
    scans_only = PersonFacts(visits=tuple(v for v in mine if v.source == "venue_scan"))
    summary = summarise(scans_only, [ZHENGZHOU])
    assert summary["medium_area_last_visit"] is None and summary["high_area_last_visit"] is None
