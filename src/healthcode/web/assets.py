"""The pages' files, served by each service itself: nothing a page or ``/docs`` loads comes
from another host, so a checkpoint without a network keeps working.

- ``/static/...``: the project's own scripts and styles (``web/static/``) and, under
  ``/static/dist/``, the third-party assets that ``make install`` copied there from npm
  packages (``package.json``, ``package-lock.json``, ``scripts/build_assets.mjs``): jsQR and
  Swagger UI. They are never committed; a service started without them logs a warning and
  answers 404 for them.
- ``/docs``: FastAPI's Swagger UI over those local files (FastAPI's own page would load them
  from a CDN); ReDoc, which has no local copy here, is off.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

__all__ = ["DIST", "STATIC", "assets_built", "install_assets"]

log = logging.getLogger("healthcode.web")

STATIC = Path(__file__).resolve().parent / "static"
DIST = STATIC / "dist"
_DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")


def assets_built() -> bool:
    """True when ``make install`` (``npm ci`` + ``npm run build``) has built the assets."""
    return all((DIST / name).is_file() for name in (*_DOCS_ASSETS, "jsQR.js"))


def install_assets(app: FastAPI) -> None:
    """Mount ``/static`` and a ``/docs`` served from it on ``app``, which was made with
    ``docs_url=None, redoc_url=None``."""
    if not assets_built():
        log.warning("web assets missing in %s: run `make install` (npm ci; npm run build)", DIST)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    title = f"{app.title} - API"
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url="/static/dist/swagger-ui-bundle.js",
            swagger_css_url="/static/dist/swagger-ui.css",
            swagger_favicon_url="/static/dist/swagger-favicon.png",
        )
