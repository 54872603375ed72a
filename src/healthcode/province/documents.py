"""A person's facts document as one person's readers see it: the stored fields with the
risk-area fields derived at the time of reading.

``person_summaries`` stores the fields the person's own records decide
(``core.rules.PERSON_FIELDS``); the risk-area fields (``core.rules.AREA_FIELDS``) are not
stored, since a designation or a lift would otherwise rewrite the summary of everyone with a
visit there. :func:`area_facts_of` derives them for one person from their counted visits (the
``visits`` rows without a flag, ``province/scans.py``) and the risk areas held
(:func:`designations`) with ``core.rules.area_facts``, the one scalar derivation (the scalar
re-evaluation reaches the same function through ``summarise``; the columnar path derives the
fields in columns, ``batch.areas.area_visits``, kept equal to it by property tests).

Every reader of one person's document goes through :func:`document_of` (the code's
explanation, ``codes.py``) or :func:`summary_of` (``evaluation.explanation``, appeals).

>>> from healthcode.store.db import Database
>>> from healthcode.province.schema import upgrade
>>> db = Database.from_url("sqlite://")
>>> upgrade(db)
>>> with db.read() as s:
...     summary_of(s, "nobody") is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from healthcode.core.facts import ItineraryVisit, RiskAreaDesignation, format_instant
from healthcode.core.rules import PERSON_FIELDS, SUMMARY_FIELDS, area_facts
from healthcode.province.models import RiskAreaRow, Visit, person_summaries

__all__ = ["area_facts_of", "designations", "document_of", "stored_doc", "summary_of"]

Bind = Session | Connection

_R, _V = RiskAreaRow.__table__.c, Visit.__table__.c


def designations(bind: Bind) -> list[RiskAreaDesignation]:
    """The risk areas held, as designations (a planned end counts as the lift)."""
    out = []
    rows = bind.execute(
        select(_R.region_code, _R.level, _R.effective_from, _R.until, _R.lifted_at)
        .where(_R.cancelled.is_(False))
        .order_by(_R.id)
    )
    for region_code, level, effective_from, until, lifted_at in rows:
        ends = [t for t in (until, lifted_at) if t is not None]
        end = min(ends) if ends else None
        if end is not None and end <= effective_from:
            continue
        out.append(
            RiskAreaDesignation(
                region_code=region_code,
                level=level,
                effective_from=effective_from,
                lifted_at=end,
            )
        )
    return out


def area_facts_of(
    bind: Bind, pseudonym: str, risk_areas: Iterable[RiskAreaDesignation]
) -> dict[str, str | None]:
    """The risk-area fields of one person's document: their counted visits (no flag) against
    ``risk_areas``."""
    rows = bind.execute(
        select(_V.region_code, _V.at, _V.source).where(_V.pseudonym == pseudonym, _V.flag.is_(None))
    )
    visits = [ItineraryVisit(code, at, cast(Any, source)) for code, at, source in rows]
    return area_facts(visits, risk_areas)


def stored_doc(values: Mapping[str, Any]) -> dict[str, Any]:
    """The stored fields of a document (a ``person_summaries`` row's values) as ``summarise``
    gives them (times as instants in text)."""
    doc: dict[str, Any] = {}
    for name in PERSON_FIELDS:
        value = values[name]
        if SUMMARY_FIELDS[name][0] == "time" and value is not None:
            value = format_instant(value)
        doc[name] = value
    return doc


def document_of(
    bind: Bind,
    pseudonym: str,
    stored: Mapping[str, Any] | None,
    risk_areas: Iterable[RiskAreaDesignation] | None = None,
) -> dict[str, Any] | None:
    """The person's whole facts document, fields in :data:`SUMMARY_FIELDS` order, from their
    stored fields (``stored``: the summary row's values; None: the person has none, and so no
    document) and the risk-area fields derived now (``risk_areas``: the ones held when
    None)."""
    if stored is None:
        return None
    areas = designations(bind) if risk_areas is None else risk_areas
    doc = {**stored_doc(stored), **area_facts_of(bind, pseudonym, areas)}
    return {name: doc[name] for name in SUMMARY_FIELDS}


def summary_of(
    bind: Bind, pseudonym: str, risk_areas: Iterable[RiskAreaDesignation] | None = None
) -> dict[str, Any] | None:
    """The person's facts document as ``summarise`` gives it (:func:`document_of` of their
    stored summary); None without one."""
    row = bind.execute(
        select(person_summaries).where(person_summaries.c.pseudonym == pseudonym)
    ).first()
    stored = None if row is None else dict(row._mapping)
    return document_of(bind, pseudonym, stored, risk_areas)
