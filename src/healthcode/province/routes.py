"""The province's routes: apply for a code, see one's colour and why, get one's code.

A person is known by the token their application answered (``Authorization: Bearer hcp1...``,
``people.PersonTokens``); no route takes a colour from anyone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from healthcode.province.codes import Medium
from healthcode.province.deps import (
    Person,
    Province,
    StaffCaller,
    checked_query,
    json_body,
    operator,
)

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(checked_query)])


class MediumChoice(StrEnum):
    screen = "screen"
    paper = "paper"
    light = "light"


_MEDIA: dict[MediumChoice, Medium] = {
    MediumChoice.screen: "screen",
    MediumChoice.paper: "paper",
    MediumChoice.light: "light",
}


@router.get("/v1/health")
def health(province: Province) -> dict[str, Any]:
    return {"status": "ok", "province": province.settings.region}


@router.get("/v1/staff/me")
def staff_me(member: StaffCaller) -> dict[str, object]:
    """Who the staff token belongs to: id, name, roles, region, grid."""
    return member.to_dict()


@router.get("/v1/jobs", dependencies=[Depends(operator)])
def reevaluation_jobs(province: Province) -> dict[str, Any]:
    """The re-evaluations of everyone (a new rule set or overlay), newest first, with progress
    (operator token)."""
    return {"jobs": province.jobs(), "dead_letters": province.dead_letters()}


@router.post("/v1/applications")
async def apply(request: Request, province: Province) -> dict[str, Any]:
    """Apply for the province's code (ID, name, phone, residence region); answers the person
    and their token. Applying again answers the first application."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(province.applications.apply, body)
    return answer


@router.get("/v1/me")
def explain(person: Person, province: Province) -> dict[str, Any]:
    """The person's colour, badges, reasons and until, without a code."""
    return province.codes.explain(person)


@router.get("/v1/me/code")
def code(
    person: Person,
    province: Province,
    medium: Annotated[MediumChoice, Query()] = MediumChoice.screen,
) -> dict[str, Any]:
    """A fresh signed code: 5 minutes for a screen, a day for paper; ``light``: a screen code
    carrying only the colour and a pseudonym of its own (for venues that need pass or stop)."""
    return province.codes.issue(person, _MEDIA[medium])
