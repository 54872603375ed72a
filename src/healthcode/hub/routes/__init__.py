"""The hub's HTTP routes, one router per domain; ``hub/app.py`` includes them in this order."""

from __future__ import annotations

from fastapi import APIRouter

from healthcode.hub.routes import (
    alerts,
    corrections,
    feeds,
    grid,
    health,
    ingest,
    ops,
    published,
    risk_areas,
    status,
    witness,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    ingest.router,
    corrections.router,
    feeds.router,
    status.router,
    risk_areas.router,
    published.router,
    alerts.router,
    witness.router,
    grid.router,
    ops.router,
    ops.pages,
)
