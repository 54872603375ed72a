"""The province's routes: apply for a code, see one's colour and why, get one's code.

A person is known by the token their application answered (``Authorization: Bearer hcp1...``,
``people.PersonTokens``); no route takes a colour from anyone.
"""

from __future__ import annotations

import hmac
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security.utils import get_authorization_scheme_param

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.fields import check_value, load_json
from healthcode.province.service import ProvinceService

__all__ = ["router"]


def _checked(request: Request) -> None:
    """Query parameters pass the hub's checks of every text (TEXT_INVALID, ...)."""
    check_value(dict(request.query_params), max_depth=1, path="query")


router = APIRouter(dependencies=[Depends(_checked)])


class MediumChoice(StrEnum):
    screen = "screen"
    paper = "paper"


async def _province(request: Request) -> ProvinceService:
    province: ProvinceService = request.app.state.province
    return province


Province = Annotated[ProvinceService, Depends(_province)]


async def _person(request: Request) -> str:
    """The pseudonym of the person whose token the request carries.

    Raises AccessDenied PERSON_TOKEN_INVALID."""
    province: ProvinceService = request.app.state.province
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    token = credentials if scheme.lower() == "bearer" else None
    return province.tokens.pseudonym_of(token)


Person = Annotated[str, Depends(_person)]


async def _json_body(request: Request) -> Any:
    """The JSON body, checked as the hub checks every body. Raises InvalidInput JSON_INVALID,
    JSON_TOO_DEEP, TEXT_INVALID, TIME_OUT_OF_RANGE, BODY_TOO_LARGE."""
    province: ProvinceService = request.app.state.province
    raw = await request.body()
    try:
        return load_json(raw, max_depth=province.settings.json_depth_max)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(ErrorCode.JSON_INVALID, "the body is not JSON") from exc


@router.get("/v1/health")
def health(province: Province) -> dict[str, Any]:
    return {"status": "ok", "province": province.settings.region}


async def _operator(request: Request) -> None:
    """The request carries the province's operator token. Raises AccessDenied
    OPERATOR_TOKEN_INVALID (always, when the province has none)."""
    province: ProvinceService = request.app.state.province
    expected = province.settings.operator_token
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    given = credentials if scheme.lower() == "bearer" else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise AccessDenied(ErrorCode.OPERATOR_TOKEN_INVALID, "a valid operator token is required")


@router.get("/v1/jobs", dependencies=[Depends(_operator)])
def reevaluation_jobs(province: Province) -> dict[str, Any]:
    """The re-evaluations of everyone (a new rule set or overlay), newest first, with progress
    (operator token)."""
    return {"jobs": province.jobs()}


@router.post("/v1/applications")
async def apply(request: Request, province: Province) -> dict[str, Any]:
    """Apply for the province's code (ID, name, phone, residence region); answers the person
    and their token. Applying again answers the first application."""
    body = await _json_body(request)
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
    """A fresh signed code: 5 minutes for a screen, a day for paper."""
    return province.codes.issue(person, "paper" if medium is MediumChoice.paper else "screen")
