"""Colour states: what a code's serial names.

A person's *colour state* is one stretch of one colour: the colour, its ``until`` and the
instant it began (``colours.since``, set when the colour or its ``until`` changed, kept by a
re-evaluation that changes neither). Every code issued while the state lasts carries the same
serial, and the status report queued in the transaction that began the state (the colour
change) carries it too; so issuing a code writes nothing, and the hub's status by serial
answers for every code of the state (``superseded`` once the person's state moved on).

:class:`StateSerials` is the one place a state's serial is computed: HMAC-SHA256 under a key
derived from the province's field key, over the province, the pseudonym, the colour, ``until``
and ``since`` (milliseconds since 1970; ``until`` -1 when open), truncated to
``SERIAL_BYTES``. Keyed, so nobody outside the province can tell a serial before the state
exists; bound to the province, so two provinces holding one person never share a serial.

>>> from datetime import datetime, timezone
>>> serials = StateSerials(field_key=bytes(32), province="440000")
>>> t = datetime(2022, 11, 20, tzinfo=timezone.utc)
>>> a = serials.serial(ColourState("ab" * 16, "green", None, t))
>>> len(a), a == serials.serial(ColourState("ab" * 16, "green", None, t))
(12, True)
>>> a == serials.serial(ColourState("ab" * 16, "red", None, t))
False
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from healthcode.core.codes.native import SERIAL_BYTES

__all__ = ["ColourState", "StateSerials"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLI = timedelta(milliseconds=1)


def _millis(t: datetime | None) -> int:
    """Whole milliseconds since 1970 (-1 for none): the precision both write paths keep."""
    if t is None:
        return -1
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return (t - _EPOCH) // _MILLI


@dataclass(frozen=True, slots=True)
class ColourState:
    """One stretch of one colour of a person: ``colour`` until ``until`` (None: open), begun
    at ``since``."""

    pseudonym: str
    colour: str
    until: datetime | None
    since: datetime


class StateSerials:
    """The serial of each colour state of one province (see the module)."""

    def __init__(self, *, field_key: bytes, province: str) -> None:
        self._key = hashlib.sha256(b"healthcode/colour-state/v1" + field_key).digest()
        self._province = province

    @property
    def province(self) -> str:
        return self._province

    def serial(self, state: ColourState) -> bytes:
        message = "|".join(
            (
                self._province,
                state.pseudonym,
                state.colour,
                str(_millis(state.until)),
                str(_millis(state.since)),
            )
        ).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:SERIAL_BYTES]

    def hex(self, state: ColourState) -> str:
        """The serial as a status report names it."""
        return self.serial(state).hex()
