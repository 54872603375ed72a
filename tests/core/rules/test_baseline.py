"""The national baseline: every rule, the minute before and after each duration ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from healthcode.core.clock import CHINA_TZ, FixedClock
from healthcode.core.errors import RuleSetError
from healthcode.core.facts import PersonFacts, RiskAreaDesignation, format_instant
from healthcode.core.rules import baseline, empty_summary, evaluate, evaluate_person, summarise
from healthcode.core.rules.evaluate import Evaluation

T0 = datetime(2022, 11, 18, 20, 0, tzinfo=CHINA_TZ)  # the event every case starts from
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def at(summary: dict[str, Any], when: datetime) -> Evaluation:
    return evaluate(baseline(), summary, clock=FixedClock(when))


def facts(**fields: Any) -> dict[str, Any]:
    s = empty_summary()
    for k, v in fields.items():
        s[k] = format_instant(v) if isinstance(v, datetime) else v
    return s


def rules_of(e: Evaluation) -> list[str]:
    return [r.rule_id for r in e.reasons]


# (rule, summary field, duration from the event, colour)
DURATION_RULES = [
    ("RED_CLOSE_CONTACT", "close_last_exposure", 10 * DAY, "red"),
    ("RED_HIGH_RISK_OUTFLOW", "high_area_last_visit", 7 * DAY, "red"),
    ("YELLOW_SECONDARY_CONTACT", "secondary_last_exposure", 7 * DAY, "yellow"),
    ("YELLOW_MEDIUM_RISK_OUTFLOW", "medium_area_last_visit", 7 * DAY, "yellow"),
    ("YELLOW_POST_RELEASE_MONITORING", "infection_released_at", 7 * DAY, "yellow"),
]


@pytest.mark.parametrize(("rule", "field", "duration", "colour"), DURATION_RULES)
def test_duration_rule_boundaries(rule: str, field: str, duration: timedelta, colour: str) -> None:
    s = facts(**{field: T0})
    end = T0 + duration
    assert at(s, T0 - MINUTE).colour == colour  # facts are time-independent: an earlier look
    start = at(s, T0)
    assert (start.colour, rules_of(start)) == (colour, [rule])
    assert start.until == end and start.reasons[0].until == end
    before = at(s, end - MINUTE)
    assert (before.colour, before.until) == (colour, end)
    assert before.reasons[0].supporting == {field: format_instant(T0)}
    after = at(s, end + MINUTE)
    assert (after.colour, after.reasons, after.until) == ("green", (), None)
    assert at(s, end).colour == "green"  # the end instant itself is free


def test_close_contact_is_seven_plus_three_days() -> None:
    rs = baseline()
    assert rs.parameters["close_contact_central_days"].value == 7
    assert rs.parameters["close_contact_home_days"].value == 3
    e = at(facts(close_last_exposure=T0), T0 + 8 * DAY)  # in home monitoring: still red
    assert e.colour == "red"
    assert e.reasons[0].follow_up["nat_days"] == [1, 2, 3, 5, 7]


@pytest.mark.parametrize(
    ("status", "rule"),
    [
        ("confirmed", "RED_INFECTION"),
        ("asymptomatic", "RED_INFECTION"),
        ("suspected", "RED_SUSPECTED"),
    ],
)
def test_infection_is_red_until_release(status: str, rule: str) -> None:
    s = facts(infection_status=status, infection_reported_at=T0)
    e = at(s, T0 + 60 * DAY)
    assert (e.colour, rules_of(e), e.until) == ("red", [rule], None)


def test_release_then_monitoring_from_facts() -> None:
    clock = FixedClock(T0 + 20 * DAY)
    person = PersonFacts.from_dict(
        {
            "infections": [
                {
                    "status": "confirmed",
                    "reported_at": format_instant(T0),
                    "released_at": format_instant(T0 + 10 * DAY),
                }
            ]
        },
        clock=clock,
    )
    s = summarise(person, ())
    assert s["infection_status"] is None
    assert at(s, T0 + 10 * DAY + 6 * DAY).colour == "yellow"
    assert at(s, T0 + 17 * DAY + MINUTE).colour == "green"
    unreleased = PersonFacts.from_dict(
        {"infections": [{"status": "asymptomatic", "reported_at": format_instant(T0)}]},
        clock=clock,
    )
    assert evaluate_person(baseline(), unreleased, (), clock=clock).colour == "red"


def test_overdue_mandated_test_starts_by_itself() -> None:
    due = T0 + 2 * DAY
    s = facts(mandated_test_due_at=due)
    before = at(s, due - MINUTE)
    assert (before.colour, before.until) == ("green", due)  # turns yellow at due by itself
    assert at(s, due).colour == "yellow"
    after = at(s, due + MINUTE)
    assert (after.colour, rules_of(after), after.until) == ("yellow", ["YELLOW_TEST_OVERDUE"], None)


@pytest.mark.parametrize(("colour", "rule"), [("red", "RED_MANUAL"), ("yellow", "YELLOW_MANUAL")])
def test_manual_assignment_boundaries(colour: str, rule: str) -> None:
    until = T0 + 5 * DAY
    s = facts(**{f"manual_{colour}_until": until, f"manual_{colour}_basis": "传染病防治法"})
    e = at(s, until - MINUTE)
    assert (e.colour, rules_of(e), e.until) == (colour, [rule], until)
    assert e.reasons[0].supporting[f"manual_{colour}_until"] == format_instant(until)
    assert at(s, until + MINUTE).colour == "green"


def test_coarse_visit_is_a_pending_check_not_a_colour() -> None:
    s = facts(coarse_risk_area_last_visit=T0)
    e = at(s, T0 + DAY)
    assert (e.colour, [c.rule_id for c in e.checks]) == ("green", ["CHECK_COARSE_RISK_AREA"])
    assert e.until == T0 + 7 * DAY
    assert at(s, T0 + 7 * DAY + MINUTE).checks == ()


def test_most_severe_wins_and_every_reason_is_kept() -> None:
    s = facts(
        close_last_exposure=T0,
        medium_area_last_visit=T0 + DAY,
        secondary_last_exposure=T0 - 3 * DAY,
    )
    e = at(s, T0 + 2 * DAY)
    assert e.colour == "red"
    assert rules_of(e) == [
        "RED_CLOSE_CONTACT",
        "YELLOW_MEDIUM_RISK_OUTFLOW",
        "YELLOW_SECONDARY_CONTACT",
    ]
    assert e.until == T0 + 4 * DAY  # the secondary-contact reason ends first


@pytest.mark.parametrize(
    ("age", "window"),
    [
        (timedelta(hours=23, minutes=59), 24),
        (timedelta(hours=24), 48),
        (timedelta(hours=47, minutes=59), 48),
        (timedelta(hours=48, minutes=1), 72),
        (timedelta(hours=100), 168),
        (timedelta(hours=168, minutes=1), None),
    ],
)
def test_nat_badge_windows(age: timedelta, window: int | None) -> None:
    s = facts(nat_last_negative=T0, nat_last_sample=T0, vaccine_doses=3, antibody_igg="positive")
    e = at(s, T0 + age)
    assert e.colour == "green"
    assert e.badges.nat_window_hours == window
    assert (e.badges.vaccine_doses, e.badges.antibody_igg) == (3, "positive")
    if window is not None:
        assert e.until == T0 + timedelta(hours=window)  # the badge changes by itself then
    else:
        assert e.until is None


def test_until_is_tight_at_badge_and_rule_ends() -> None:
    s = facts(nat_last_negative=T0, secondary_last_exposure=T0)
    now = T0 + timedelta(hours=1)
    e = at(s, now)
    assert e.until == T0 + timedelta(hours=24)
    assert at(s, e.until - MINUTE).key() == e.key()
    assert at(s, e.until).key() != e.key()


def test_outside_validity_is_refused() -> None:
    with pytest.raises(RuleSetError, match="RULESET_NOT_VALID"):
        at(empty_summary(), datetime(2022, 6, 1, tzinfo=UTC))


def test_risk_area_visits_are_summarised_by_level_and_source() -> None:
    clock = FixedClock(T0 + DAY)
    areas = (
        RiskAreaDesignation.from_dict(
            {"region_code": "440106", "level": "high", "effective_from": format_instant(T0 - DAY)},
            clock=clock,
        ),
        RiskAreaDesignation.from_dict(
            {
                "region_code": "110105",
                "level": "medium",
                "effective_from": format_instant(T0 - DAY),
                "lifted_at": format_instant(T0),
            },
            clock=clock,
        ),
    )
    person = PersonFacts.from_dict(
        {
            "visits": [
                {
                    "region_code": "440106",
                    "at": format_instant(T0 - 2 * DAY),
                    "source": "venue_scan",
                },
                {
                    "region_code": "440106",
                    "at": format_instant(T0 - 1 * MINUTE),
                    "source": "carrier_cell",
                },
                {
                    "region_code": "110105",
                    "at": format_instant(T0 - 2 * MINUTE),
                    "source": "transport_ticket",
                },
                {
                    "region_code": "110105",
                    "at": format_instant(T0 + MINUTE),
                    "source": "venue_scan",
                },
            ]
        },
        clock=clock,
    )
    s = summarise(person, areas)
    assert s["high_area_last_visit"] is None  # before the designation
    assert s["coarse_risk_area_last_visit"] == format_instant(T0 - MINUTE)
    assert s["medium_area_last_visit"] == format_instant(T0 - 2 * MINUTE)  # not after lifting
    e = evaluate_person(baseline(), person, areas, clock=clock)
    assert e.colour == "yellow" and [c.code for c in e.checks] == ["COARSE_RISK_AREA_VISIT"]


def test_nat_summary_ignores_negative_before_a_positive() -> None:
    clock = FixedClock(T0 + DAY)
    nat = {"lab": "L", "result": "negative", "sampled_at": format_instant(T0 - DAY)}
    person = PersonFacts.from_dict(
        {"nat_results": [nat, {**nat, "result": "positive", "sampled_at": format_instant(T0)}]},
        clock=clock,
    )
    s = summarise(person, ())
    assert (s["nat_last_negative"], s["nat_last_sample"]) == (None, format_instant(T0))


def test_evaluation_to_dict_is_json_ready() -> None:
    e = at(facts(close_last_exposure=T0), T0 + DAY)
    d = e.to_dict()
    assert d["colour"] == "red" and d["until"] == "2022-11-28T12:00:00.000Z"
    assert d["reasons"][0]["code"] == "CLOSE_CONTACT"
    assert d["ruleset"] == "CN-NHC-BASELINE@9.0.0" and d["digest"] == baseline().digest


def test_a_positive_nat_is_red_until_a_later_negative_or_its_days_run_out() -> None:
    def at(*nats: tuple[str, str]) -> dict[str, object]:
        d = {"nat_results": [{"sampled_at": t, "result": r, "lab": "L"} for t, r in nats]}
        return summarise(PersonFacts.from_dict(d, clock=FixedClock(T0 + timedelta(days=30))), ())

    positive = at(("2022-11-19T08:00:00+08:00", "positive"))
    red = evaluate(baseline(), positive, clock=FixedClock(datetime(2022, 11, 20, tzinfo=UTC)))
    assert red.colour == "red" and [r.code for r in red.reasons] == ["NAT_POSITIVE"]
    assert red.until == datetime(2022, 11, 26, 0, tzinfo=UTC)
    later = evaluate(baseline(), positive, clock=FixedClock(red.until))
    assert later.colour == "green"
    cleared = at(
        ("2022-11-19T08:00:00+08:00", "positive"), ("2022-11-19T20:00:00+08:00", "negative")
    )
    assert evaluate(baseline(), cleared, clock=FixedClock(red.at)).colour == "green"
