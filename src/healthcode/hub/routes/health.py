"""The health route: the process answers (no database read)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(tags=["service"])


@router.get("/v1/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
