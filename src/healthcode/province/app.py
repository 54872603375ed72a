"""The province's HTTP API (FastAPI): thin routes over ``ProvinceService`` and one error form.

Errors answer the project's one form (``web/errors.py``). Bodies are bounded while they stream
(the hub's ``BodyLimit``, ``HEALTHCODE_PROVINCE_BODY_MAX_BYTES``) and parsed with the hub's
checks of every value (``hub/fields.py``: nesting depth, texts, times).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from healthcode.hub.routes.common import BodyLimit
from healthcode.province import (
    citizen_routes,
    decision_routes,
    family_routes,
    grid_pages,
    log_routes,
    pages,
)
from healthcode.province.appeal_routes import router as appeal_router
from healthcode.province.family import FamilyService
from healthcode.province.grid_routes import router as grid_router
from healthcode.province.me_reads import MeReads
from healthcode.province.ops import routes as ops_routes
from healthcode.province.routes import router
from healthcode.province.service import ProvinceService
from healthcode.province.signin import LogSender, SignInService, SmsSender
from healthcode.store.crypto import FieldCipher
from healthcode.web.assets import install_assets
from healthcode.web.errors import install_error_handlers

__all__ = ["create_app"]


def create_app(province: ProvinceService, *, sms: SmsSender | None = None) -> FastAPI:
    """The application over ``province`` (routes reach it as ``request.app.state.province``)
    with the citizen's pages; one-time sign-in codes go through ``sms`` (by default to the
    server log, ``signin.LogSender``). It does not start the loops: the caller runs
    ``province.start()`` / ``stop()``."""
    app = FastAPI(
        title=f"healthcode province {province.settings.region}",
        version="1",
        description="A province's service: applications, codes, explanations (docs/province.md).",
        lifespan=_threads_limited,
        docs_url=None,  # served from local files (web/assets.py)
        redoc_url=None,
    )
    app.state.province = province
    app.state.signin = SignInService(
        db=province.db,
        clock=province.clock,
        tokens=province.tokens,
        cipher=FieldCipher(key=province.settings.field_key),
        sender=sms or LogSender(),
    )
    app.state.family = FamilyService(
        db=province.db,
        clock=province.clock,
        tokens=province.tokens,
        cipher=app.state.signin.cipher,
        sender=app.state.signin.sender,
    )
    app.add_middleware(BodyLimit, max_bytes=province.settings.body_max_bytes)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(decision_routes.router)
    app.include_router(log_routes.router)
    app.include_router(grid_router)
    app.include_router(appeal_router)
    app.include_router(citizen_routes.router)
    app.include_router(family_routes.router)
    app.include_router(pages.router)
    app.include_router(grid_pages.router)
    app.include_router(ops_routes.router)
    app.include_router(ops_routes.pages)
    install_assets(app)
    # a person's code and colour answered before FastAPI's routing (province/me_reads.py)
    app.add_middleware(MeReads, province=province, signin=app.state.signin)
    return app


@asynccontextmanager
async def _threads_limited(app: FastAPI) -> AsyncIterator[None]:
    """Run the routes' blocking work in ``HEALTHCODE_WORKER_THREADS`` threads, as the hub does:
    each holds at most one pooled connection, and the pool is sized from the same setting."""
    limiter = to_thread.current_default_thread_limiter()
    limiter.total_tokens = app.state.province.settings.worker_threads
    yield
