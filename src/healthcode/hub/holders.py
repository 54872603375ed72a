"""Who holds a person: the provinces with a current registration of them, and where their
records and corrections go.

A person may be held by several provinces at once (their home province and one they are
visiting, say); each registration says why (``REASONS``) and lasts until the province that made
it ends it. A record goes to every province holding its person; when nobody holds them, to the
record's own province (that of the ID number's region, chosen at ingest: ``records.province``).
Writers read the holders under ``Feeds.hold_routing`` (shared), registrations change them under
it held exclusively, so a write routes by the holders as they are when it commits.

>>> destinations([], "440000"), destinations(["110000", "440000"], "440000")
(['440000'], ['110000', '440000'])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, String, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from healthcode.store.bulk import is_postgresql
from healthcode.store.models import REGISTRATION_REASONS, Registration

__all__ = ["DEFAULT_REASON", "REASONS", "destinations", "holders"]

#: Why a province holds a person: where they live, a stay (a visit), where they work.
REASONS = REGISTRATION_REASONS
#: The reason of a registration that gives none (the wire format before reasons): the hub then
#: knew one holder per person, the province where the person's code lives.
DEFAULT_REASON = "residence"
#: Pseudonyms a statement names at most (``IN`` lists).
_CHUNK = 500


def holders(session: Session, pseudonyms: Iterable[str]) -> dict[str, list[str]]:
    """The provinces (sorted) currently holding each of ``pseudonyms`` that anybody holds."""
    found: dict[str, list[str]] = defaultdict(list)
    for condition in _conditions(session, sorted(set(pseudonyms))):
        rows = session.execute(
            select(Registration.pseudonym, Registration.province)
            .where(condition, Registration.ended_at.is_(None))
            .order_by(Registration.pseudonym, Registration.province)
        ).all()
        for pseudonym, province in rows:
            found[pseudonym].append(province)
    return dict(found)


def _conditions(session: Session, wanted: list[str]) -> list[ColumnElement[bool]]:
    """Conditions on ``registrations.pseudonym`` covering ``wanted``: one ``= ANY(array)`` on
    PostgreSQL (one bound value; a list of 500 bound values took several times the server and
    client time), ``IN`` lists of ``_CHUNK`` on SQLite."""
    if is_postgresql(session):
        array = bindparam("pseudonyms", wanted, type_=postgresql.ARRAY(String(64)))
        return [Registration.pseudonym == any_(array)] if wanted else []
    return [
        Registration.pseudonym.in_(wanted[start : start + _CHUNK])
        for start in range(0, len(wanted), _CHUNK)
    ]


def destinations(held: Sequence[str], fallback: str) -> list[str]:
    """The feeds a person's record or correction goes to: every province holding the person,
    else ``fallback`` (the record's own province)."""
    return list(held) if held else [fallback]
