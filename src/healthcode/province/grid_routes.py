"""The grid's routes (``grid/``): units, tasks worked by grid workers, assignments by
supervisors, "four early" timeliness. Every route takes a staff token (``hcs_...``) and names
the role it needs; none reads or writes a colour.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from healthcode.province.deps import Province, StaffCaller, checked_query, json_body

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(checked_query)], tags=["grid"])

TaskId = Annotated[str, Path(min_length=1, max_length=24)]


@router.get("/v1/grid/units")
def units(member: StaffCaller, province: Province) -> dict[str, Any]:
    """Every grid unit with its workers (grid workers and supervisors)."""
    member.require("grid-worker", "supervisor")
    return {"units": province.grid.units()}


@router.post("/v1/grid/units")
async def load_units(request: Request, member: StaffCaller, province: Province) -> dict[str, Any]:
    """A supervisor loads units of their region: ``{"units": [{region_code, grid_id, name}]}``,
    all or nothing."""
    member.require("supervisor")
    body = await json_body(request)
    items = body.get("units") if isinstance(body, dict) else None
    loaded: int = await run_in_threadpool(province.grid.load, member, items)
    return {"loaded": loaded}


@router.get("/v1/grid/tasks")
def tasks(
    member: StaffCaller, province: Province, closed: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    """A grid worker's grid's tasks, a supervisor's region's; overdue first."""
    return {"tasks": province.grid.tasks(member, closed=closed)}


@router.get("/v1/grid/tasks/{task_id}")
def task(task_id: TaskId, member: StaffCaller, province: Province) -> dict[str, Any]:
    """One task with its events; contact details in clear for its own grid's workers only."""
    return province.grid.task(member, task_id)


@router.post("/v1/grid/tasks/{task_id}/state")
async def record_state(
    task_id: TaskId, request: Request, member: StaffCaller, province: Province
) -> dict[str, Any]:
    """A grid worker records what happened: ``{"state", "note"?, "residence_region"?,
    "action_id"?}`` (the client's id: a repeat is answered as the same action, applied once)."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(province.grid.act, member, task_id, body)
    return answer


@router.post("/v1/grid/tasks/{task_id}/escalate")
async def escalate(
    task_id: TaskId, request: Request, member: StaffCaller, province: Province
) -> dict[str, Any]:
    """A grid worker escalates a task to the supervisors: ``{"note", "action_id"?}``."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(province.grid.escalate, member, task_id, body)
    return answer


@router.post("/v1/grid/tasks/{task_id}/assign")
async def assign(
    task_id: TaskId, request: Request, member: StaffCaller, province: Province
) -> dict[str, Any]:
    """A supervisor assigns a task to a grid of its county: ``{"grid_id", "note"?}``."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(province.grid.assign, member, task_id, body)
    return answer


@router.get("/v1/grid/timeliness")
def timeliness(
    member: StaffCaller,
    province: Province,
    by: Annotated[str, Query(pattern="^(grid|county)$")] = "grid",
) -> dict[str, Any]:
    """'Four early' figures per grid or county and day."""
    return {"by": by, "figures": province.grid.figures(member, by=by)}


@router.get("/v1/grid/timeliness.csv")
def timeliness_csv(member: StaffCaller, province: Province) -> Response:
    """Each risk person's timeliness as CSV, the overdue first."""
    return Response(province.grid.export(member), media_type="text/csv; charset=utf-8")
