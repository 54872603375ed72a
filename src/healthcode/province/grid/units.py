"""Grid units: loaded from a CSV file or the API, and the grid of a person's residence.

A unit is ``(region_code, grid_id, name)``: ``region_code`` is the county (GB/T 2260, county
level) the grid lies in, inside the province; ``grid_id`` is unique in the province (letters,
digits, '-', at most 32, as a grid worker's ``--grid``). Loading the same id again renames or
moves it; units are never deleted (their tasks keep naming them).

A file is checked whole before anything is stored: every bad row is listed with its line
number (``GRID_CSV_INVALID``) and nothing is kept.

**Which grid a residence belongs to.** A person's residence is a region code (the county);
the address inside it is not shared with the province. So:

1. a person placed in a grid by a supervisor (``grid_assignments``: from their address, when
   a task of theirs was assigned from the county's queue) belongs to that grid;
2. else, a county with exactly one grid: that grid;
3. else (no grid, or several): the county's queue (``grid_id`` None), which supervisors of
   the region see and assign; an assignment also places the person for later tasks.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.province.grid.models import GridAssignment, GridUnit

__all__ = ["COLUMNS", "Unit", "grid_of_residence", "load_units", "parse_csv", "parse_units"]

COLUMNS = ("region_code", "grid_id", "name")
_GRID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
_NAME_MAX = 64
#: The most units one file or request may carry.
UNITS_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Unit:
    region_code: str
    grid_id: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"region_code": self.region_code, "grid_id": self.grid_id, "name": self.name}


def _unit(raw: Mapping[str, Any], province: str) -> Unit:
    """One checked unit. Raises InvalidInput GRID_UNIT_INVALID naming the field."""

    def text(key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(ErrorCode.GRID_UNIT_INVALID, f"{key} is missing", field=key)
        return value.strip()

    region_code, grid_id, name = text("region_code"), text("grid_id"), text("name")
    try:
        region = regions.lookup(region_code)
    except InvalidInput as exc:
        raise InvalidInput(
            ErrorCode.GRID_UNIT_INVALID, f"{region_code}: {exc.message}", field="region_code"
        ) from exc
    if region.level != "county" or not regions.is_within(region.code, province):
        raise InvalidInput(
            ErrorCode.GRID_UNIT_INVALID,
            f"{region_code} is not a county of the province {province}",
            field="region_code",
        )
    if not _GRID_ID.fullmatch(grid_id):
        raise InvalidInput(
            ErrorCode.GRID_UNIT_INVALID,
            "a grid id is letters, digits and '-', at most 32",
            field="grid_id",
        )
    if len(name) > _NAME_MAX or not name.isprintable():
        raise InvalidInput(
            ErrorCode.GRID_UNIT_INVALID, f"a name of 1-{_NAME_MAX} printable characters",
            field="name",
        )  # fmt: skip
    return Unit(region.code, grid_id, name)


def parse_units(items: Sequence[tuple[int, Mapping[str, Any]]], province: str) -> list[Unit]:
    """Every unit checked, located by ``(line or index, row)``. Raises InvalidInput
    GRID_CSV_INVALID with ``errors`` [{line, field, code, message}] when any is bad (or an
    id appears twice), and for more than ``UNITS_MAX``."""
    if len(items) > UNITS_MAX:
        raise InvalidInput(
            ErrorCode.GRID_CSV_INVALID, f"{len(items)} units; at most {UNITS_MAX} at once"
        )
    units: list[Unit] = []
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, raw in items:
        try:
            unit = _unit(raw, province)
        except InvalidInput as exc:
            errors.append({"line": line, "field": exc.details.get("field"), "message": exc.message})
            continue
        if unit.grid_id in seen:
            errors.append(
                {"line": line, "field": "grid_id", "message": f"also on line {seen[unit.grid_id]}"}
            )
            continue
        seen[unit.grid_id] = line
        units.append(unit)
    if errors:
        raise InvalidInput(
            ErrorCode.GRID_CSV_INVALID,
            f"{len(errors)} bad row(s); nothing was stored",
            errors=errors[:100],
        )
    return units


def parse_csv(text: str, province: str) -> list[Unit]:
    """A CSV file (UTF-8, a header naming ``region_code,grid_id,name``) to checked units.
    Raises InvalidInput GRID_CSV_INVALID (lines counted from 1, the header being line 1)."""
    text = text.removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames or []
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise InvalidInput(
                ErrorCode.GRID_CSV_INVALID,
                f"the header must name {', '.join(COLUMNS)}",
                errors=[{"line": 1, "field": missing[0], "message": "column missing"}],
            )
        rows = [(reader.line_num, dict(row)) for row in reader]
    except csv.Error as exc:
        raise InvalidInput(
            ErrorCode.GRID_CSV_INVALID,
            "the file is not CSV",
            errors=[{"line": reader.line_num, "field": None, "message": str(exc)}],
        ) from exc
    extra = [(line, row) for line, row in rows if None in row]
    if extra:
        raise InvalidInput(
            ErrorCode.GRID_CSV_INVALID,
            "rows with more fields than the header",
            errors=[{"line": line, "field": None, "message": "extra fields"} for line, _ in extra],
        )
    return parse_units(rows, province)


def load_units(session: Session, units: Iterable[Unit], now: datetime) -> int:
    """Store checked units in ``session``'s transaction (new, renamed or moved); how many."""
    count = 0
    for unit in units:
        row = session.get(GridUnit, unit.grid_id)
        if row is None:
            session.add(GridUnit(grid_id=unit.grid_id, region_code=unit.region_code,
                                 name=unit.name, updated_at=now))  # fmt: skip
        else:
            row.region_code, row.name, row.updated_at = unit.region_code, unit.name, now
        count += 1
    session.flush()
    return count


def grid_of_residence(session: Session, pseudonym: str, residence: str) -> str | None:
    """The grid a person living in ``residence`` belongs to (see the module), None: the
    county's queue."""
    placed = session.get(GridAssignment, pseudonym)
    if placed is not None:
        unit = session.get(GridUnit, placed.grid_id)
        if unit is not None and unit.region_code == residence:
            return unit.grid_id
    found = (
        session.execute(select(GridUnit.grid_id).where(GridUnit.region_code == residence).limit(2))
        .scalars()
        .all()
    )
    return found[0] if len(found) == 1 else None
