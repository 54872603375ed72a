"""Serving the project's HTML pages (``web/templates/``): each page is a static file that
loads only local scripts and styles (``/static``), under a content security policy that lets
nothing else in. The pages fill themselves in from the service's JSON API, in Chinese or
English (``static/i18n.js``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.responses import HTMLResponse

__all__ = ["SECURITY_HEADERS", "TEMPLATES", "page"]

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: Nothing from another origin, no inline script, no framing; camera only for the page itself.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}


@functools.cache
def _read(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def page(name: str) -> HTMLResponse:
    """The page ``web/templates/<name>`` with the security headers."""
    return HTMLResponse(_read(name), headers=SECURITY_HEADERS)
