"""The citizen's pages, served by the province (docs/pages.md): sign in (``/sign-in``), the
code (``/code``, a held family member's with ``?held=``), the history of colour changes with
the appeals (``/history``) and the family's codes (``/family``). They are static HTML over the
province's JSON API (``citizen_routes``, ``family_routes``, ``log_routes``, ``appeal_routes``);
``/`` leads to the code page, which sends a visitor without a session to sign in.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from healthcode.web.pages import page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/code", status_code=303)


@router.get("/sign-in")
def sign_in_page() -> HTMLResponse:
    return page("sign-in.html")


@router.get("/code")
def code_page() -> HTMLResponse:
    return page("code.html")


@router.get("/history")
def history_page() -> HTMLResponse:
    """Colour changes with their inclusion in the colour log checked in the page; appeals."""
    return page("history.html")


@router.get("/family")
def family_page() -> HTMLResponse:
    """The people whose codes one holds, adding one with their consent, one's own holders."""
    return page("family.html")
