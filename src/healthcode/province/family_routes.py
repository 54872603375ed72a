"""Family members holding codes (``family.py``) and what the history page reads.

- ``POST /v1/me/held/code`` ``{"id_number", "id_type"?, "phone"}``: a consent code to that
  person's phone when both match an application; the same answer either way;
- ``POST /v1/me/held`` ``{"challenge", "code"}``: the holding, made with the code the person
  read out;
- ``GET /v1/me/held``: the people one holds; ``GET /v1/me/held/{id}/code/qr``: a held
  person's code with its QR (as ``GET /v1/me/code/qr``); ``GET /v1/me/held/{id}/paper``: their
  paper code; ``POST /v1/me/held/{id}/revoke``: stop holding;
- ``GET /v1/me/holders``: who holds one's code; ``POST /v1/me/holders/{id}/revoke``: end it;
- ``GET /v1/rules/reasons``: each rule's reason in words, for the colour log's rule ids
  (public: nothing about a colour is secret).

The ``/v1/me`` routes take a session token or the person token of an application.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from healthcode.core.codes.paper import render_paper
from healthcode.province.citizen_routes import scalable_svg
from healthcode.province.deps import Person, Province, checked_query, json_body
from healthcode.province.family import FamilyService

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(checked_query)])
HoldingId = Annotated[str, Path(min_length=1, max_length=24)]


def _family(request: Request) -> FamilyService:
    service: FamilyService = request.app.state.family
    return service


@router.post("/v1/me/held/code")
async def ask_consent(request: Request, person: Person) -> dict[str, Any]:
    """Ask the person named by ID number and phone for their consent (a code by SMS)."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(_family(request).ask, person, body)
    return answer


@router.post("/v1/me/held")
async def hold(request: Request, person: Person) -> dict[str, Any]:
    """Hold the person's code with the consent code they read out; answers the holding."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(_family(request).confirm, person, body)
    return answer


@router.get("/v1/me/held")
def held(request: Request, person: Person) -> dict[str, Any]:
    """The people whose codes one holds."""
    return {"held": _family(request).held(person)}


@router.get("/v1/me/held/{holding}/code/qr")
def held_code(
    request: Request, person: Person, province: Province, holding: HoldingId
) -> dict[str, Any]:
    """A fresh screen code of a held person, with its QR as SVG."""
    whose = _family(request).held_person(person, holding)
    answer = province.codes.issue(whose, "screen")
    return {**answer, "qr_svg": scalable_svg(answer["code"], "screen"), "holding": holding}


@router.get("/v1/me/held/{holding}/paper")
def held_paper(
    request: Request, person: Person, province: Province, holding: HoldingId
) -> Response:
    """A held person's paper code (valid a day) as a printable A4 SVG page."""
    answer = province.codes.issue(_family(request).held_person(person, holding), "paper")
    return Response(render_paper(answer["code"]), media_type="image/svg+xml")


@router.post("/v1/me/held/{holding}/revoke")
def stop_holding(request: Request, person: Person, holding: HoldingId) -> dict[str, Any]:
    """Stop holding a person's code."""
    return _family(request).revoke(person, holding)


@router.get("/v1/me/holders")
def holders(request: Request, person: Person) -> dict[str, Any]:
    """Who holds one's code."""
    return {"holders": _family(request).holders(person)}


@router.post("/v1/me/holders/{holding}/revoke")
def end_holder(request: Request, person: Person, holding: HoldingId) -> dict[str, Any]:
    """End someone's holding of one's code."""
    return _family(request).revoke(person, holding)


@router.get("/v1/rules/reasons")
def reasons(province: Province) -> dict[str, Any]:
    """Each rule of the rule set in force: its reason in Chinese and English."""
    rules = province.rules.current().rules
    return {"reasons": {r.id: {"zh": r.reason_zh, "en": r.reason_en} for r in rules}}
