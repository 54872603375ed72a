"""The province's staff: who may do what, known by a token of their own.

Roles (a member may hold several):

- ``operator``: records a manual colour decision, answers appeals;
- ``approver``: approves a yellow or red decision another member recorded;
- ``supervisor``: the higher role bulk decisions (many people at once) need;
- ``grid-worker``: works the tasks of one grid (``grid_id``), nothing else.

A member acts only on people whose residence region lies inside the region they serve
(``require_serves``: a county serves its own people, a prefecture its counties', a
province-level member everyone the province holds); proposing, approving, rejecting and
revoking decisions, answering appeals and reading one person's data are refused with
``STAFF_OUT_OF_REGION`` otherwise. What a member lists and counts is kept to the same people:
appeals of people inside their region, decisions whose people all live inside it
(``served_decisions``), colour tallies of the regions inside theirs.

A member is added with the province's own tools (``healthcode province staff add``), which
write to its database directly; no route adds staff. Their token (``hcs_`` and 43 URL-safe
characters, 256 random bits) is shown once; the store keeps its SHA-256 digest, as the hub
keeps organisations' tokens. A member is disabled, never deleted, so their id stays meaningful
in the decisions and tasks that name them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from healthcode.core import regions
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.orgs import hash_token
from healthcode.province.models import Decision, DecisionSubject, Person, StaffMember
from healthcode.store.db import Database

__all__ = [
    "GRID_ROLES",
    "ROLES",
    "Staff",
    "StaffService",
    "out_of_region",
    "require_serves",
    "served_decisions",
    "served_regions",
]

ROLES = ("operator", "approver", "supervisor", "grid-worker")
#: Roles that serve one grid and need its id.
GRID_ROLES = frozenset({"grid-worker"})
TOKEN_PREFIX = "hcs_"
_GRID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
_NAME_MAX = 64


@dataclass(frozen=True, slots=True)
class Staff:
    """An authenticated member of staff."""

    id: str
    name: str
    roles: tuple[str, ...]
    region_code: str
    grid_id: str | None

    def has(self, role: str) -> bool:
        return role in self.roles

    def require(self, *roles: str) -> Staff:
        """Self when the member holds one of ``roles``; raises AccessDenied
        STAFF_ROLE_REQUIRED."""
        if not any(r in self.roles for r in roles):
            raise AccessDenied(
                ErrorCode.STAFF_ROLE_REQUIRED, f"this needs the role {' or '.join(roles)}"
            )
        return self

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "roles": list(self.roles),
            "region_code": self.region_code,
            "grid_id": self.grid_id,
        }


def served_regions(member: Staff) -> frozenset[str] | None:
    """The region codes whose residents the member serves: their region and every region
    inside it; None for a province-level member (everyone the province holds)."""
    region = regions.lookup(member.region_code)
    if region.level == "province":
        return None
    codes, todo = {region.code}, [region.code]
    while todo:
        for child in regions.children(todo.pop()):
            codes.add(child.code)
            todo.append(child.code)
    return frozenset(codes)


def out_of_region(s: Session, member: Staff, pseudonyms: Sequence[str]) -> list[str]:
    """The pseudonyms (in their order) of people the member does not serve: whose residence
    region is outside theirs, or who have no residence here (a colour alone), unless the
    member is province-level."""
    served = served_regions(member)
    if served is None:
        return []
    inside: set[str] = set()
    for start in range(0, len(pseudonyms), 500):
        part = pseudonyms[start : start + 500]
        rows = s.execute(
            select(Person.pseudonym, Person.residence_region).where(Person.pseudonym.in_(part))
        ).all()
        inside.update(p for p, residence in rows if residence in served)
    return [p for p in pseudonyms if p not in inside]


def require_serves(s: Session, member: Staff, pseudonyms: Sequence[str]) -> None:
    """Every person is one the member serves (all or nothing). Raises AccessDenied
    STAFF_OUT_OF_REGION, naming how many are outside, never who."""
    outside = out_of_region(s, member, pseudonyms)
    if outside:
        raise AccessDenied(
            ErrorCode.STAFF_OUT_OF_REGION,
            f"{len(outside)} of the people live outside the region {member.region_code}"
            " the member serves",
            region=member.region_code,
            outside=len(outside),
        )


def served_decisions(member: Staff) -> ColumnElement[bool] | None:
    """The condition on ``decisions`` a member's lists and counts keep: every person the
    decision names lives inside the member's region now (``require_serves`` would let them
    open it); None for a province-level member (every decision). A decision naming someone
    outside is left out whole, not shown with the outsiders counted: its note, evidence and
    size speak of people the member does not serve, and they could not act on it anyway."""
    served = served_regions(member)
    if served is None:
        return None
    outsider = (
        select(DecisionSubject.pseudonym)
        .outerjoin(Person, Person.pseudonym == DecisionSubject.pseudonym)
        .where(
            DecisionSubject.decision_id == Decision.id,
            or_(
                Person.residence_region.is_(None),
                Person.residence_region.not_in(sorted(served)),
            ),
        )
    )
    return ~outsider.exists()


def _of(row: StaffMember) -> Staff:
    return Staff(row.id, row.name, tuple(row.roles), row.region_code, row.grid_id)


@dataclass(kw_only=True, eq=False)
class StaffService:
    db: Database
    clock: Clock
    province: str

    def add(
        self, *, name: str, roles: Iterable[str], region_code: str, grid_id: str | None = None
    ) -> tuple[Staff, str]:
        """A new member and their token (shown once). Raises InvalidInput STAFF_NAME_INVALID,
        STAFF_ROLE_UNKNOWN, STAFF_REGION_OUTSIDE, STAFF_GRID_INVALID, REGION_*."""
        wanted = tuple(dict.fromkeys(roles))
        name = name.strip()
        if not name or len(name) > _NAME_MAX or not name.isprintable():
            raise InvalidInput(
                ErrorCode.STAFF_NAME_INVALID, f"a name of 1-{_NAME_MAX} printable characters"
            )
        unknown = [r for r in wanted if r not in ROLES]
        if not wanted or unknown:
            raise InvalidInput(
                ErrorCode.STAFF_ROLE_UNKNOWN, f"roles are some of {', '.join(ROLES)}", field="role"
            )
        region = regions.lookup(region_code)
        if not regions.is_within(region.code, self.province):
            raise InvalidInput(
                ErrorCode.STAFF_REGION_OUTSIDE,
                f"{region.code} is not in the province {self.province}",
                field="region",
            )
        grid_role = any(r in GRID_ROLES for r in wanted)
        if grid_role != (grid_id is not None) or (
            grid_id is not None and not _GRID_ID.fullmatch(grid_id)
        ):
            raise InvalidInput(
                ErrorCode.STAFF_GRID_INVALID,
                "a grid role needs a grid id (letters, digits, '-', at most 32); others none",
                field="grid",
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = StaffMember(
            id="st_" + secrets.token_hex(8),
            name=name,
            roles=list(wanted),
            region_code=region.code,
            grid_id=grid_id,
            token_hash=hash_token(token),
            created_at=self.clock.now(),
        )
        with self.db.write() as s:
            s.add(row)
            s.flush()
            return _of(row), token

    def authenticate(self, token: str | None) -> Staff:
        """The active member holding ``token``. Raises AccessDenied STAFF_TOKEN_INVALID."""
        if not token or not token.startswith(TOKEN_PREFIX):
            raise AccessDenied(ErrorCode.STAFF_TOKEN_INVALID, "a valid staff token is required")
        with self.db.read() as s:
            row = s.execute(
                select(StaffMember).where(StaffMember.token_hash == hash_token(token))
            ).scalar_one_or_none()
            if row is None or row.disabled_at is not None:
                raise AccessDenied(ErrorCode.STAFF_TOKEN_INVALID, "a valid staff token is required")
            return _of(row)

    def get(self, staff_id: str) -> Staff:
        """Raises InvalidInput STAFF_UNKNOWN."""
        with self.db.read() as s:
            row = s.get(StaffMember, staff_id)
            if row is None:
                raise InvalidInput(ErrorCode.STAFF_UNKNOWN, f"no staff member {staff_id}")
            return _of(row)

    def disable(self, staff_id: str) -> None:
        """Disable a member (their token stops working at once). Raises STAFF_UNKNOWN."""
        with self.db.write() as s:
            row = s.get(StaffMember, staff_id)
            if row is None:
                raise InvalidInput(ErrorCode.STAFF_UNKNOWN, f"no staff member {staff_id}")
            if row.disabled_at is None:
                row.disabled_at = self.clock.now()

    def members(self) -> list[dict[str, object]]:
        """Every member, active or not, oldest first."""
        with self.db.read() as s:
            rows = s.execute(select(StaffMember).order_by(StaffMember.created_at)).scalars()
            return [{**_of(r).to_dict(), "disabled": r.disabled_at is not None} for r in rows]
