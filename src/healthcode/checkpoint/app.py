"""The checkpoint's HTTP API (FastAPI), thin routes over :class:`~.service.Checkpoint`.

- ``POST /v1/check`` ``{"code": "CN1:...", "online": false, "lang": "zh"}``: the decision
  (``pass`` or ``stop``), its reason code, the masked identity, ``shown`` (what the worker
  compares with the person's document, in Chinese or English: the kind of certificate, the
  colour, the masked name, date of birth and ID, the reason in plain words), the trust list's
  freshness and, with ``online``, what the hub said;
- ``GET /v1/trust``: the held trust list's freshness and the last refresh;
- ``POST /v1/trust/refresh``: fetch the hub's trust list now (an older one is refused);
- ``GET /v1/health``.

Errors have the project's one form (``web/errors.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, FastAPI

from healthcode.checkpoint.service import Checkpoint
from healthcode.core.verify.verifier import MAX_TEXT_LENGTH
from healthcode.web.errors import install_error_handlers

__all__ = ["create_app"]


def create_app(checkpoint: Checkpoint) -> FastAPI:
    """The application over ``checkpoint`` (its refresh loop is started by the caller)."""
    app = FastAPI(
        title="healthcode checkpoint",
        version="1",
        description="Verifies native codes, EU DCC and SMART Health Cards; offline first.",
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

    install_error_handlers(app)
    return app
