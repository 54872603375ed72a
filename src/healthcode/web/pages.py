"""Serving the project's HTML pages (``web/templates/``): each page is a static file that
loads only local scripts and styles (``/static``), under a content security policy that lets
nothing else in. The pages fill themselves in from the service's JSON API, in Chinese or
English (``static/i18n.js``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
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


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@functools.cache
def _read(name: str) -> tuple[str, dict[str, str]]:
    """The page's text and headers: an inline script of the template (one that must run
    before any file could load) is allowed by its SHA-256 in ``script-src``, nothing else."""
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.findall(text)
    ]
    headers = dict(SECURITY_HEADERS)
    if hashes:
        policy = headers["Content-Security-Policy"]
        headers["Content-Security-Policy"] = policy.replace(
            "script-src 'self';", f"script-src 'self' {' '.join(hashes)};"
        )
    return text, headers


def page(name: str) -> HTMLResponse:
    """The page ``web/templates/<name>`` with the security headers."""
    text, headers = _read(name)
    return HTMLResponse(text, headers=headers)
