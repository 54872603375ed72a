"""The checkpoint's HTTP API (FastAPI), thin routes over :class:`~.service.Checkpoint`.

- ``POST /v1/check`` ``{"code": "CN1:...", "online": false, "lang": "zh"}``: the decision
  (``pass`` or ``stop``), its reason code, the masked identity, ``shown`` (what the worker
  compares with the person's document, in Chinese or English: the kind of certificate, the
  colour, the masked name, date of birth and ID, the reason in plain words), the trust list's
  freshness and, with ``online``, what the hub said;
- ``GET /v1/trust``: the held trust list's freshness and the last refresh;
- ``POST /v1/trust/refresh``: fetch the hub's trust list now (an older one is refused);
- ``POST /v1/trust/load``: take a trust list file brought by hand (an older one is refused);
- ``GET /v1/venue``: the published acceptance rules a venue may choose and the venue's choice;
- ``PUT /v1/venue`` ``{"rules": ["NAT-48H", ...]}``: the venue's choice, kept on the device;
- ``GET /v1/health``;
- ``/``: the scanner page (docs/pages.md), which sends what it decodes to ``/v1/check``.

Errors have the project's one form (``web/errors.py``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request
from fastapi.responses import HTMLResponse

from healthcode.checkpoint.service import Checkpoint
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.verify.verifier import MAX_TEXT_LENGTH
from healthcode.web.assets import install_assets
from healthcode.web.errors import install_error_handlers
from healthcode.web.pages import page

__all__ = ["TRUST_FILE_MAX", "VENUE_BODY_MAX", "create_app"]

#: The largest trust list file taken by hand (a list of every province's signers is ~10 KB).
TRUST_FILE_MAX = 1 << 20
#: The largest body choosing a venue's rules (a handful of short ids).
VENUE_BODY_MAX = 4096


def create_app(checkpoint: Checkpoint) -> FastAPI:
    """The application over ``checkpoint`` (its refresh loop is started by the caller)."""
    app = FastAPI(
        title="healthcode checkpoint",
        version="1",
        description="Verifies native codes, EU DCC and SMART Health Cards; offline first.",
        docs_url=None,  # served from local files (web/assets.py)
        redoc_url=None,
    )
    app.state.checkpoint = checkpoint

    @app.get("/v1/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "trust_list": checkpoint.trust_status()}

    @app.post("/v1/check")
    def check(
        code: Annotated[str, Body(min_length=1, max_length=MAX_TEXT_LENGTH + 2)],
        online: Annotated[bool, Body()] = False,
        lang: Annotated[str, Body(pattern="^(zh|en)$")] = "zh",
    ) -> dict[str, Any]:
        """Verify one code; the decision with its reason, and ``shown``: what the worker
        compares with the person's document, in ``lang`` (zh, the default, or en)."""
        return checkpoint.check(code, online=online, lang=lang)

    @app.get("/v1/trust")
    def trust() -> dict[str, Any]:
        return {
            "trust_list": checkpoint.trust_status(),
            "status_lists": checkpoint.status_list_status(),
            "last_refresh": checkpoint.last_refresh,
        }

    @app.post("/v1/trust/refresh")
    def refresh() -> dict[str, Any]:
        return {**checkpoint.refresh(), "trust_list": checkpoint.trust_status()}

    @app.post("/v1/trust/load")
    async def load(request: Request) -> dict[str, Any]:
        """Take a trust list file (the signed envelope's bytes as the body)."""
        raw = await _bounded_body(request)
        return {**checkpoint.load(raw), "trust_list": checkpoint.trust_status()}

    _venue_routes(app, checkpoint)

    @app.get("/", include_in_schema=False)
    def scanner() -> HTMLResponse:
        return page("checkpoint.html")

    install_error_handlers(app)
    install_assets(app)
    return app


def _venue_routes(app: FastAPI, checkpoint: Checkpoint) -> None:
    """``GET``/``PUT /v1/venue``: the venue's acceptance rules (``venue.py``)."""

    @app.get("/v1/venue")
    def venue() -> dict[str, Any]:
        """The published acceptance rules (id and names) and the ones this venue chose."""
        return checkpoint.venue.describe()

    @app.put("/v1/venue")
    async def choose_venue_rules(request: Request) -> dict[str, Any]:
        """Choose this venue's rules from the published ones: ``{"rules": [id, ...]}``
        (at most ``VENUE_BODY_MAX`` bytes)."""
        raw = await _bounded_body(request, VENUE_BODY_MAX)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(ErrorCode.JSON_INVALID, "the body is not JSON") from exc
        rules = body.get("rules") if isinstance(body, dict) else None
        return checkpoint.venue.choose(rules)


async def _bounded_body(request: Request, limit: int = TRUST_FILE_MAX) -> bytes:
    """The body, at most ``limit`` bytes. Raises InvalidInput BODY_TOO_LARGE."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InvalidInput(ErrorCode.BODY_TOO_LARGE, f"at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
