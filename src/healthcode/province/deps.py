"""What the province's routes share: the service, the caller (a person by their token, a
member of staff by theirs, the operator token), the checked JSON body, the query check.

Route modules (``routes.py`` and those beside it) take these as FastAPI dependencies, so each
route says whom it serves in its signature.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security.utils import get_authorization_scheme_param

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.fields import check_value, load_json
from healthcode.province.service import ProvinceService
from healthcode.province.signin import SESSION_PREFIX, SignInService
from healthcode.province.staff import Staff

__all__ = [
    "Person",
    "Province",
    "StaffCaller",
    "bearer",
    "bearer_of",
    "checked_query",
    "json_body",
    "operator",
    "person_of",
]


def checked_query(request: Request) -> None:
    """Query parameters pass the hub's checks of every text (TEXT_INVALID, ...)."""
    check_value(dict(request.query_params), max_depth=1, path="query")


def bearer(request: Request) -> str | None:
    """The bearer token of the request, if any."""
    return bearer_of(request.headers.get("authorization"))


def bearer_of(authorization: str | None) -> str | None:
    """The bearer token of an ``Authorization`` header's value, if any."""
    scheme, credentials = get_authorization_scheme_param(authorization)
    return credentials if scheme.lower() == "bearer" else None


async def _province(request: Request) -> ProvinceService:
    province: ProvinceService = request.app.state.province
    return province


Province = Annotated[ProvinceService, Depends(_province)]


async def person_of(province: ProvinceService, signin: SignInService, token: str | None) -> str:
    """The pseudonym of the person ``token`` names: a sign-in session (``hcse_...``,
    ``signin.py``, read in a worker thread) or the person token of an application.

    Raises AccessDenied SESSION_INVALID, PERSON_TOKEN_INVALID; DatabaseBusy."""
    if token and token.startswith(SESSION_PREFIX):
        pseudonym: str = await run_in_threadpool(signin.pseudonym_of, token)
        return pseudonym
    return province.tokens.pseudonym_of(token)


async def _person(request: Request) -> str:
    """The pseudonym of the person whose token the request carries (:func:`person_of`)."""
    state = request.app.state
    return await person_of(state.province, state.signin, bearer(request))


Person = Annotated[str, Depends(_person)]


async def _staff(request: Request) -> Staff:
    """The member of staff whose token the request carries (``staff.py``); each route asks
    for the role it needs (``Staff.require``). Raises AccessDenied STAFF_TOKEN_INVALID."""
    province: ProvinceService = request.app.state.province
    member: Staff = await run_in_threadpool(province.staff.authenticate, bearer(request))
    return member


StaffCaller = Annotated[Staff, Depends(_staff)]


async def json_body(request: Request) -> Any:
    """The JSON body, checked as the hub checks every body. Raises InvalidInput JSON_INVALID,
    JSON_TOO_DEEP, TEXT_INVALID, TIME_OUT_OF_RANGE, BODY_TOO_LARGE."""
    province: ProvinceService = request.app.state.province
    raw = await request.body()
    try:
        return load_json(raw, max_depth=province.settings.json_depth_max)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(ErrorCode.JSON_INVALID, "the body is not JSON") from exc


async def operator(request: Request) -> None:
    """The request carries the province's operator token. Raises AccessDenied
    OPERATOR_TOKEN_INVALID (always, when the province has none)."""
    province: ProvinceService = request.app.state.province
    expected = province.settings.operator_token
    given = bearer(request) or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise AccessDenied(ErrorCode.OPERATOR_TOKEN_INVALID, "a valid operator token is required")
