"""Appeal routes (``appeals.py``): a person's appeals and flagged venue scans (person token);
the operators' queue, one appeal with what made the colour, the answer (staff token).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from healthcode.province.deps import Person, Province, StaffCaller, checked_query, json_body

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(checked_query)])
AppealId = Annotated[str, Path(min_length=1, max_length=24)]


@router.post("/v1/me/appeals")
async def file_appeal(request: Request, person: Person, province: Province) -> dict[str, Any]:
    """Appeal one's colour: ``reason`` and ``evidence`` (references); answers the appeal with
    its state and deadline."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(province.appeals.file, person, body)
    return answer


@router.get("/v1/me/appeals")
def my_appeals(person: Person, province: Province) -> dict[str, Any]:
    """One's appeals, newest first, with their state and answer."""
    return {"appeals": province.appeals.mine(person)}


@router.get("/v1/me/scans")
def my_flagged_scans(person: Person, province: Province) -> dict[str, Any]:
    """One's venue scans left out of the colour, each with its reason code."""
    return {"scans": province.appeals.scans(person)}


@router.get("/v1/staff/appeals")
def appeal_queue(
    member: StaffCaller, province: Province, state: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    """Appeals waiting for an answer (or in ``state``; supervisors: ``escalated``), the
    earliest deadline first (operator or supervisor)."""
    return {"appeals": province.appeals.queue(member, state)}


@router.get("/v1/staff/appeals/{appeal}")
def appeal_detail(member: StaffCaller, province: Province, appeal: AppealId) -> dict[str, Any]:
    """One appeal with the person's facts and the rules that made their colour."""
    return province.appeals.show(member, appeal)


@router.post("/v1/staff/appeals/{appeal}/answer")
async def answer_appeal(
    request: Request, member: StaffCaller, province: Province, appeal: AppealId
) -> dict[str, Any]:
    """Answer: ``reject`` with the ``answer``, or ``correct`` naming the wrong ``records``
    (withdrawn at the hub) (operator)."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(province.appeals.answer, member, appeal, body)
    return answer
