"""The operators' dashboard and the public rules pages of a province (docs/pages.md).

Staff (operator, approver or supervisor, with their own ``hcs_`` token): ``GET
/v1/ops/summary``, ``/v1/ops/colours`` (each region's colours now and hour by hour),
``/v1/ops/transcodings`` (per hour, with latency). Anyone: ``GET /v1/rules`` (a rule-set
version rule by rule, the one in use by default), ``/v1/rules/diff``, ``/v1/risk-areas``.
Pages: ``/ops`` and ``/rules``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from healthcode.province.deps import Province, StaffCaller, checked_query
from healthcode.province.ops.summary import summary
from healthcode.province.staff import served_regions
from healthcode.web.pages import page

__all__ = ["pages", "router"]

router = APIRouter(dependencies=[Depends(checked_query)], tags=["operators"])
pages = APIRouter(include_in_schema=False)

_STAFF_ROLES = ("operator", "approver", "supervisor")
Hours = Annotated[int, Query(ge=1, le=24 * 14)]
_DIGEST = r"^[A-Za-z0-9:_.-]+$"
Digest = Annotated[str, Query(min_length=1, max_length=80, pattern=_DIGEST)]


class Level(StrEnum):
    city = "city"
    county = "county"


@router.get("/v1/ops/summary")
def ops_summary(member: StaffCaller, province: Province) -> dict[str, Any]:
    """Counts for the dashboard's head and what the proposal form offers (staff)."""
    member.require(*_STAFF_ROLES)
    return summary(province.db, member, province.clock.now())


@router.get("/v1/ops/colours")
async def ops_colours(
    member: StaffCaller, province: Province, hours: Hours = 48, level: Level = Level.city
) -> dict[str, Any]:
    """Each region's people by colour now and at the end of each of the last ``hours``
    (staff: the regions inside theirs)."""
    member.require(*_STAFF_ROLES)
    answer: dict[str, Any] = await run_in_threadpool(
        province.tallies.colours, hours=hours, level=level.value, within=served_regions(member)
    )
    return answer


@router.get("/v1/ops/transcodings")
async def ops_transcodings(
    member: StaffCaller, province: Province, hours: Hours = 48
) -> dict[str, Any]:
    """Transcodings per hour into each colour and their latency from the fact's arrival at
    the hub (staff: of the people living inside their region)."""
    member.require(*_STAFF_ROLES)
    answer: dict[str, Any] = await run_in_threadpool(
        province.tallies.transcodings, hours=hours, within=served_regions(member)
    )
    return answer


@router.get("/v1/rules")
def rules(province: Province, digest: Digest | None = None) -> dict[str, Any]:
    """A rule-set version used here (the one in use by default), rule by rule, with its
    overlay and every version used (public)."""
    return province.rulebook.view(digest)


@router.get("/v1/rules/diff")
def rules_diff(
    province: Province,
    old: Annotated[str, Query(alias="from", max_length=80, pattern=_DIGEST)],
    new: Annotated[str, Query(alias="to", max_length=80, pattern=_DIGEST)],
) -> dict[str, Any]:
    """What version ``to`` says differently from version ``from`` (public)."""
    return province.rulebook.difference(old, new)


@router.get("/v1/risk-areas")
def risk_areas(province: Province) -> dict[str, Any]:
    """The risk areas the province holds, each with its state now (public)."""
    return province.rulebook.risk_areas()


@pages.get("/ops")
def ops_page() -> HTMLResponse:
    return page("ops.html")


@pages.get("/rules")
def rules_page() -> HTMLResponse:
    return page("rules.html")
