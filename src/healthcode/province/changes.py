"""Colour changes, handed to whoever must act on them in the transaction that made them.

Every path that writes a person's colour (the scalar ``evaluation.reevaluate`` through
``ProvinceService.reevaluate``, the columnar ``bulk.reevaluate_chunk`` of a risk area or of a
whole-population job; a manual decision's approval, revocation or expiry goes through them)
ends by calling the service's ``ChangeListeners`` with the people whose *colour* changed (a new
``until`` alone is not a colour change; a first colour, ``before is None``, is one); a change
whose colour rests on an approved decision (the rules alone give a milder one) has
``basis="decision"`` and its id. Listeners run inside the caller's transaction, so what they
write (a log leaf, a grid task) commits or rolls back with the colour; a listener that raises
rolls the whole change back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy.orm import Session

__all__ = ["ChangeListener", "ChangeListeners", "ColourChange", "changes_of_frame"]


@dataclass(frozen=True, slots=True)
class ColourChange:
    """One person's colour moved from ``before`` (None: they had none) to ``colour``."""

    pseudonym: str
    before: str | None
    colour: str
    until: datetime | None
    basis: str = "rule"  # "rule": the rule set gave it; "decision": a recorded decision
    decision: str | None = None  # the decision's id when basis is "decision"


#: Acts on colour changes inside the transaction that made them, at ``now``.
ChangeListener = Callable[[Session, Sequence[ColourChange], datetime], None]


class ChangeListeners:
    """The listeners of a province, called in the order they were added."""

    def __init__(self, listeners: Iterable[ChangeListener] = ()) -> None:
        self._listeners: list[ChangeListener] = list(listeners)

    def add(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def __call__(self, session: Session, changes: Sequence[ColourChange], now: datetime) -> None:
        if not changes:
            return
        for listener in self._listeners:
            listener(session, changes, now)


def changes_of_frame(changed: pl.DataFrame) -> list[ColourChange]:
    """The colour changes among the columnar pipeline's ``changed`` rows
    (``batch.reevaluate.CHANGED_SCHEMA``: colour or until changed)."""
    return [
        ColourChange(
            pseudonym,
            before,
            colour,
            until,
            "rule" if decision is None else "decision",
            decision,
        )
        for pseudonym, before, colour, until, decision in changed.select(
            "pseudonym", "colour_before", "colour", "until", "decision"
        ).iter_rows()
        if before != colour
    ]
