"""The dashboard's tables (migration ``p0013``), on the province's metadata.

- ``colour_moves``: what the colour-change listener writes, insert only (no row two
  transactions fight over): per hour, region and colour of one batch of changes, how many
  entered and left the colour, how many of those were transcodings (a change of a colour the
  person had) and their latency from the fact's arrival at the hub;
- ``colour_hours`` and ``colour_tallies``: the moves folded (``Tallies.fold``): per hour, and
  the current count of each colour per region;
- ``ruleset_versions``: each rule set the province has used (national document and overlay),
  by digest, for the public rules pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from healthcode.province.models import ProvinceBase
from healthcode.store.base import BigId, Json, UTCDateTime

__all__ = ["ColourHour", "ColourMove", "ColourTally", "RuleSetVersion"]


class _Figures:
    """What a move and an hour count."""

    entered: Mapped[int] = mapped_column(Integer)
    left: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    timed: Mapped[int] = mapped_column(Integer)
    seconds_sum: Mapped[float] = mapped_column(Float)
    seconds_max: Mapped[float] = mapped_column(Float)


class ColourMove(_Figures, ProvinceBase):
    """One batch of colour changes of one hour, region (``""``: unknown) and colour."""

    __tablename__ = "colour_moves"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    region_code: Mapped[str] = mapped_column(String(6))
    colour: Mapped[str] = mapped_column(String(8))


class ColourHour(_Figures, ProvinceBase):
    """The moves of one hour, region and colour, folded."""

    __tablename__ = "colour_hours"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    colour: Mapped[str] = mapped_column(String(8), primary_key=True)


class ColourTally(ProvinceBase):
    """How many people of a region have a colour, as of the last fold."""

    __tablename__ = "colour_tallies"

    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    colour: Mapped[str] = mapped_column(String(8), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class RuleSetVersion(ProvinceBase):
    """A rule set the province used: the national document, the overlay (None: none)."""

    __tablename__ = "ruleset_versions"

    digest: Mapped[str] = mapped_column(String(80), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    national: Mapped[dict[str, Any]] = mapped_column(Json)
    overlay: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
