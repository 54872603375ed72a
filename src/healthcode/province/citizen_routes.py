"""The citizen's routes beside the application's (``routes.py``): sign in with a one-time code
(``signin.py``), sign out, and the code as the citizen's page shows it (the QR drawn by the
server as SVG, the printable paper code).

- ``POST /v1/sign-in/code`` ``{"id_number", "phone"}``: a code is sent when they match an
  application; answers the challenge id;
- ``POST /v1/sign-in`` ``{"challenge", "code"}``: answers a session token;
- ``POST /v1/sign-out``: ends the session given as the bearer token;
- ``GET /v1/me/code/qr?medium=screen|paper``: ``GET /v1/me/code``'s answer with ``qr_svg``;
- ``GET /v1/me/paper``: a fresh paper code as a one-page A4 SVG.

The ``/v1/me`` routes take a session token or the person token of an application.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from healthcode.core.codes.paper import render_paper
from healthcode.core.codes.qr import QUIET_ZONE, make_qr
from healthcode.province.codes import Medium
from healthcode.province.deps import Person, Province, bearer, checked_query, json_body
from healthcode.province.routes import MediumChoice
from healthcode.province.signin import SignInService

__all__ = ["router", "scalable_svg"]

router = APIRouter(dependencies=[Depends(checked_query)])


def _signin(request: Request) -> SignInService:
    service: SignInService = request.app.state.signin
    return service


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/v1/sign-in/code")
async def ask_code(request: Request) -> dict[str, Any]:
    """Ask for a one-time code by SMS (ID number, phone); the same answer whether or not they
    match an application."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(
        _signin(request).start, body, _address(request)
    )
    return answer


@router.post("/v1/sign-in")
async def sign_in(request: Request) -> dict[str, Any]:
    """Give the one-time code back; answers a session token and its expiry."""
    body = await json_body(request)
    answer: dict[str, Any] = await run_in_threadpool(
        _signin(request).verify, body, _address(request)
    )
    return answer


@router.post("/v1/sign-out")
def sign_out(request: Request) -> dict[str, Any]:
    """End the session whose token the request carries."""
    _signin(request).sign_out(bearer(request))
    return {"signed_out": True}


@router.get("/v1/me/code/qr")
def code_with_qr(
    person: Person,
    province: Province,
    medium: Annotated[MediumChoice, Query()] = MediumChoice.screen,
) -> dict[str, Any]:
    """A fresh signed code with its QR as SVG (error correction M on screen, Q on paper)."""
    chosen: Medium = "paper" if medium is MediumChoice.paper else "screen"
    answer = province.codes.issue(person, chosen)
    return {**answer, "qr_svg": scalable_svg(answer["code"], chosen)}


def scalable_svg(text: str, medium: Medium) -> str:
    """The QR as an SVG element that scales to its box (a viewBox, no size, no XML
    declaration), for the page to place inline."""
    out = io.BytesIO()
    make_qr(text, medium="paper" if medium == "paper" else "screen").save(
        out, kind="svg", scale=1, border=QUIET_ZONE, omitsize=True, xmldecl=False
    )
    return out.getvalue().decode("utf-8")


@router.get("/v1/me/paper")
def paper(person: Person, province: Province) -> Response:
    """A fresh paper code (valid a day) as a printable A4 SVG page."""
    answer = province.codes.issue(person, "paper")
    return Response(render_paper(answer["code"]), media_type="image/svg+xml")
