"""Re-evaluating people: their records as facts, their summary, their colour, in the caller's
transaction.

``reevaluate(session, pseudonyms, ...)`` is the one seam every trigger goes through (a feed
page, an application, the until sweep, a risk-area change): it reads the people's current
records and the risk areas, writes ``person_summaries`` (``core.rules.summarise``, its fields
but the risk-area ones, which are derived on reading: ``documents.py``) and ``colours``
(``core.rules.evaluate`` at ``now``), and, for a person who applied here, puts a
status report in the outbox when the colour or its ``until`` changed: a new colour state
(``states.py``), begun at ``now`` (``colours.since``), reported under the state's serial, the
serial every code of the state carries. The columnar pipeline
(``batch/reevaluate.py``) re-evaluates many people (a risk area, a new rule set) and writes
the same rows (``tests/batch/test_province_rows.py`` keeps them equal).

An approved manual decision acting on a person at ``now`` (``decision_subjects``, read by
:func:`holds_of`) enters the outcome after the rules, on both paths, through
``core.safeguards.with_decisions``: stricter only, the decision a reason
``{"rule": "DECISION:<id>", "effect"}``, its end bounding ``until`` (the sweep re-evaluates
the person when it ends).

A ``colours`` row holds the outcome only: the colour, ``until``, the rule-set digest,
``reasons`` as the matching rules ``[{"rule", "effect"}]`` (colour reasons by severity then id,
then pending checks) and ``badges`` as ``{"antibody_igg", "vaccine_doses",
"nat_window_hours"}``. The full explanation (each rule's texts, own until and supporting facts,
the NAT's sampling time) is derived for one person on request (:func:`explanation`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from healthcode.core.clock import FixedClock
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import PersonFacts, RiskAreaDesignation, records
from healthcode.core.rules import PERSON_FIELDS, SUMMARY_FIELDS, RuleSet, evaluate, summarise
from healthcode.core.rules.evaluate import Evaluation
from healthcode.core.safeguards import Hold, with_decisions
from healthcode.province.documents import designations, summary_of
from healthcode.province.models import (
    Colour,
    DecisionSubject,
    FactRecord,
    Person,
    StatusIndexCounter,
    StatusOutbox,
    person_summaries,
)
from healthcode.province.states import ColourState, StateSerials

__all__ = [
    "ACCEPT_SKEW",
    "RECORD_KINDS",
    "Outcome",
    "explain_doc",
    "explanation",
    "facts_of",
    "holds_of",
    "queue_report",
    "reevaluate",
    "report_label",
    "reserve_indexes",
    "store_result",
    "stored_badges",
    "stored_reasons",
    "summary_row",
]

log = logging.getLogger("healthcode.province")

#: The hub checked every time when it took the record; the province only reads them back.
ACCEPT_SKEW = timedelta(days=3650)
#: hub record kind -> (PersonFacts field, the core.facts type that reads it)
RECORD_KINDS: Mapping[str, tuple[str, Any]] = {
    "nat": ("nat_results", records.NatResult),
    "antibody": ("antibody_results", records.AntibodyResult),
    "vaccination": ("vaccinations", records.Vaccination),
    "infection": ("infections", records.InfectionRecord),
    "contact": ("contacts", records.ContactRecord),
    "itinerary": ("visits", records.ItineraryVisit),
}
_CHUNK = 500  # pseudonyms a statement asks about


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one re-evaluation did to a person."""

    pseudonym: str
    colour: str
    until: datetime | None
    changed: bool  # colour or until differs from before (a status report was queued if held)
    before: str | None = None  # the colour before (None: the person had none)
    decision: str | None = None  # the decision the colour rests on (None: the rules)


def facts_of(pseudonym: str, rows: Iterable[FactRecord], now: datetime) -> PersonFacts:
    """The typed facts of a person from their current records; a record that no longer reads
    is left out (and logged), never the whole person."""
    kinds: dict[str, list[Any]] = defaultdict(list)
    clock = FixedClock(now)
    for row in rows:
        spec = RECORD_KINDS.get(row.kind)
        if spec is None or row.fact is None:
            continue
        try:
            kinds[spec[0]].append(spec[1].from_dict(row.fact, clock=clock, skew=ACCEPT_SKEW))
        except InvalidInput as exc:
            log.warning("record %s left out: %s", row.record_id, exc.code)
    return PersonFacts(person=pseudonym, **{k: tuple(v) for k, v in kinds.items()})


def summary_row(pseudonym: str, summary: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The ``person_summaries`` row of a summary (its stored fields, ``PERSON_FIELDS``): times
    as instants, the rest as they are."""
    row: dict[str, Any] = {"pseudonym": pseudonym, "updated_at": now}
    for name in PERSON_FIELDS:
        value = summary.get(name)
        if SUMMARY_FIELDS[name][0] == "time" and value is not None:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        row[name] = value
    return row


def stored_reasons(evaluation: Evaluation) -> list[dict[str, Any]]:
    """The ``colours.reasons`` of a result: the matching rules, ``{"rule", "effect"}`` each,
    colour reasons (by severity, then id) then pending checks, as ``core.rules.evaluate``
    orders them. The texts and supporting facts are derived on request (:func:`explanation`)."""
    return [
        {"rule": r.rule_id, "effect": r.effect} for r in (*evaluation.reasons, *evaluation.checks)
    ]


def stored_badges(evaluation: Evaluation) -> dict[str, Any]:
    """The ``colours.badges`` of a result (what a code carries; keys in this order)."""
    b = evaluation.badges
    return {
        "antibody_igg": b.antibody_igg,
        "vaccine_doses": b.vaccine_doses,
        "nat_window_hours": b.nat_window_hours,
    }


def explanation(
    session: Session, pseudonym: str, *, ruleset: RuleSet, now: datetime
) -> dict[str, Any]:
    """The full explanation of a person's current colour (:func:`explain_doc` of their facts
    document, ``documents.summary_of``)."""
    return explain_doc(summary_of(session, pseudonym), ruleset=ruleset, now=now)


def explain_doc(
    doc: Mapping[str, Any] | None, *, ruleset: RuleSet, now: datetime
) -> dict[str, Any]:
    """Every matching rule's ``Reason.to_dict()`` (texts, the rule's own until, supporting
    facts) and the badges with ``nat_sampled_at``, from the rules evaluated on a facts
    document at ``now``. While the stored colour is current (its ``until`` not passed, its
    rule-set digest the rule set's, no risk-area change still waiting for an area job to reach
    the person: the document's risk-area fields are derived when it is read) this is the
    evaluation that gave it. Empty lists without a document."""
    if doc is None:
        return {"reasons": [], "badges": {}}
    result = evaluate(ruleset, doc, clock=FixedClock(now))
    return {
        "reasons": [r.to_dict() for r in (*result.reasons, *result.checks)],
        "badges": result.badges.to_dict(),
    }


def report_label(evaluation: Evaluation) -> str:
    """The rule set a status report names (at most 64 characters)."""
    return evaluation.ruleset[:64]


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def reevaluate(
    session: Session,
    pseudonyms: Collection[str],
    *,
    ruleset: RuleSet,
    now: datetime,
    serials: StateSerials,
    areas: list[RiskAreaDesignation] | None = None,
) -> list[Outcome]:
    """Re-evaluate these people at ``now`` inside ``session``'s transaction (see the module).

    Raises RuleSetError when the rule set fails on someone's facts (nothing is written then:
    the caller's transaction rolls back).
    """
    wanted = sorted(set(pseudonyms))
    if not wanted:
        return []
    if areas is None:
        areas = designations(session)
    out: list[Outcome] = []
    for chunk in _chunks(wanted):
        rows: dict[str, list[FactRecord]] = defaultdict(list)
        for r in session.execute(
            select(FactRecord).where(FactRecord.pseudonym.in_(chunk)).order_by(FactRecord.record_id)
        ).scalars():
            rows[r.pseudonym].append(r)
        held = set(
            session.execute(select(Person.pseudonym).where(Person.pseudonym.in_(chunk))).scalars()
        )
        before = {
            c.pseudonym: c
            for c in session.execute(select(Colour).where(Colour.pseudonym.in_(chunk))).scalars()
        }
        summaries = {p: summarise(facts_of(p, rows[p], now), areas) for p in chunk}
        holds = holds_of(session, chunk, now)
        session.execute(delete(person_summaries).where(person_summaries.c.pseudonym.in_(chunk)))
        session.execute(
            insert(person_summaries), [summary_row(p, summaries[p], now) for p in chunk]
        )
        for p in chunk:
            result = evaluate(ruleset, summaries[p], clock=FixedClock(now))
            out.append(
                store_result(
                    session,
                    p,
                    result,
                    before.get(p),
                    held=p in held,
                    now=now,
                    serials=serials,
                    holds=holds[p],
                )
            )
    return out


def store_result(
    session: Session,
    pseudonym: str,
    result: Evaluation,
    old: Colour | None,
    *,
    held: bool,
    now: datetime,
    serials: StateSerials,
    holds: Collection[Hold] = (),
) -> Outcome:
    """Write the colour (the rules' with the person's active decisions, ``holds``); a changed
    colour or until begins a new colour state (``since`` ``now``), reported (queued) when the
    person is held here."""
    colour, reasons, until, decision = with_decisions(
        result.colour, stored_reasons(result), result.until, holds
    )
    changed = old is None or old.colour != colour or old.until != until
    before = None if old is None else old.colour
    if old is None:
        old = Colour(pseudonym=pseudonym)
        session.add(old)
    if changed:
        old.since = now
    old.colour, old.reasons, old.badges = colour, reasons, stored_badges(result)
    old.until, old.ruleset_digest, old.evaluated_at = until, result.digest, now
    if changed and held:
        old.status_index = reserve_indexes(session, 1)[0]
        state = ColourState(pseudonym, colour, until, now)
        queue_report(
            session,
            state,
            report_label(result),
            now,
            serials=serials,
            status_index=old.status_index,
        )
    elif changed:
        old.status_index = None  # a state nobody reported: its codes carry no status claim
    return Outcome(pseudonym, colour, until, changed, before, decision)


def holds_of(
    session: Session, pseudonyms: Collection[str], now: datetime
) -> defaultdict[str, list[Hold]]:
    """The approved decisions acting on each of these people at ``now`` (started, not ended)."""
    out: defaultdict[str, list[Hold]] = defaultdict(list)
    if not pseudonyms:
        return out
    d = DecisionSubject
    for row in session.execute(
        select(d.pseudonym, d.decision_id, d.colour, d.ends_at).where(
            d.pseudonym.in_(sorted(pseudonyms)), d.starts_at <= now, d.ends_at > now
        )
    ):
        out[row.pseudonym].append(Hold(row.decision_id, row.colour, row.ends_at))
    return out


def reserve_indexes(session: Session, count: int) -> list[int]:
    """``count`` new status-list indexes of the province, in the caller's transaction: from the
    sequence ``status_index_seq`` on PostgreSQL (no lock held until commit; an index of a
    rolled-back transaction stays unused, VALID in the list), else from the counter row (SQLite
    writes one transaction at a time). Never one index twice."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        query = text("SELECT nextval('status_index_seq') FROM generate_series(1, :n)")
        return [int(i) for i in session.execute(query, {"n": count}).scalars()]
    counter = StatusIndexCounter.__table__.c
    end = session.execute(
        update(StatusIndexCounter)
        .where(counter.id == 1)
        .values(next_index=counter.next_index + count)
        .returning(counter.next_index)
    ).scalar_one()
    return list(range(int(end) - count, int(end)))


def queue_report(
    session: Session,
    state: ColourState,
    ruleset_version: str,
    now: datetime,
    *,
    serials: StateSerials,
    status_index: int | None = None,
) -> None:
    """Put the status report of a colour state in the outbox, in the caller's transaction,
    under the state's serial (``since`` the state began; ``until`` left out once past) with
    the state's status-list index (None: the state has none)."""
    until = state.until
    session.add(
        StatusOutbox(
            pseudonym=state.pseudonym,
            serial=serials.hex(state),
            colour=state.colour,
            since=state.since,
            until=until if until is None or until > now else None,
            ruleset_version=ruleset_version,
            attempts=0,
            created_at=now,
            status_index=status_index,
        )
    )
