"""Manual colour decision routes (``decisions.py``): staff propose, approve, reject, revoke,
renew and list them with their own tokens; anyone reads the decisions the colour log names,
without identities (``GET /log/decisions``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from healthcode.province.deps import Province, StaffCaller, checked_query, json_body

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(checked_query)], tags=["decisions"])

DecisionId = Annotated[str, Path(pattern=r"^dc_[0-9a-f]{16}$")]
_STAFF_ROLES = ("operator", "approver", "supervisor")


class StateChoice(StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    revoked = "revoked"


@router.post("/v1/decisions", status_code=201)
async def propose(request: Request, member: StaffCaller, province: Province) -> dict[str, Any]:
    """Propose a manual colour (subjects, colour, legal_basis, evidence, expires_at, note);
    a proposal breaking a safeguard is refused with its code and nothing is stored."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(province.decisions.propose, member, body)
    return answer


@router.post("/v1/decisions/{decision_id}/approve")
def approve(decision_id: DecisionId, member: StaffCaller, province: Province) -> dict[str, Any]:
    """Approve a proposal (a different member with the approver role); it acts from now."""
    return province.decisions.approve(member, decision_id)


@router.post("/v1/decisions/{decision_id}/reject")
async def reject(
    decision_id: DecisionId, request: Request, member: StaffCaller, province: Province
) -> dict[str, Any]:
    """Reject a proposal with a ``reason`` (an approver or a supervisor)."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(
        province.decisions.reject, member, decision_id, body
    )
    return answer


@router.post("/v1/decisions/{decision_id}/revoke")
async def revoke(
    decision_id: DecisionId, request: Request, member: StaffCaller, province: Province
) -> dict[str, Any]:
    """End a proposal or an approved decision now, with a ``reason``."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(
        province.decisions.revoke, member, decision_id, body
    )
    return answer


@router.post("/v1/decisions/{decision_id}/renew", status_code=201)
async def renew(
    decision_id: DecisionId, request: Request, member: StaffCaller, province: Province
) -> dict[str, Any]:
    """Propose an approved decision again (new evidence and expiry), checked the same way."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(
        province.decisions.renew, member, decision_id, body
    )
    return answer


@router.get("/v1/decisions")
def decisions(
    member: StaffCaller,
    province: Province,
    state: Annotated[StateChoice | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Decisions whose people all live inside the member's region, newest first (staff:
    operator, approver or supervisor)."""
    member.require(*_STAFF_ROLES)
    chosen = None if state is None else state.value
    return {"decisions": province.decisions.recent(member, state=chosen, limit=limit)}


@router.get("/v1/decisions/{decision_id}")
def decision(decision_id: DecisionId, member: StaffCaller, province: Province) -> dict[str, Any]:
    """One decision with its list of people (staff serving every one of them)."""
    member.require(*_STAFF_ROLES)
    return province.decisions.get(member, decision_id)


@router.get("/log/decisions")
def published_decisions(
    province: Province,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    """Every decision, oldest first, without identities: each person as their colour-log
    subject, staff by id and roles (for ``healthcode audit``)."""
    return province.decisions.public(offset=offset, limit=limit)
