"""QR rendering of native codes: alphanumeric mode, SVG and PNG.

The Base45 alphabet (RFC 9285) is exactly the QR alphanumeric character set, and the ``CN1:``
prefix fits it too, so the whole code is encoded in alphanumeric mode (5.5 bits a character,
against 8 in byte mode): a typical native code of ~320 characters fits version 11 at level M.

Error correction, the minimum per medium (segno raises it for free when the version does not
grow):

* ``screen`` → **M** (15 % of the symbol recoverable). A phone screen is clean and flat; what
  hurts scanning there is module size, not damage, so a lower level keeps the symbol small and
  its modules large (easier for cheap scanners at a distance, and on small screens).
* ``paper`` → **Q** (25 %). Paper is folded, worn, stained and printed on poor printers; the
  page has room for the larger symbol. H (30 %) would grow it two more versions for little gain.

>>> qr = make_qr("CN1:ABC", medium="paper")
>>> (qr.mode, qr.error in ("Q", "H"))  # raised to H: a tiny text fits the same version
('alphanumeric', True)
>>> render_svg("CN1:ABC").startswith("<?xml")
True
"""

from __future__ import annotations

import io
from typing import Literal

import segno

from healthcode.core.codes.base45 import ALPHABET
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

__all__ = ["ERROR_LEVELS", "Medium", "make_qr", "render_png", "render_svg"]

Medium = Literal["screen", "paper"]
#: The minimum error-correction level per medium (see the module docstring for why).
ERROR_LEVELS: dict[str, str] = {"screen": "m", "paper": "q"}
#: QR quiet zone, in modules (ISO/IEC 18004 asks for 4).
QUIET_ZONE = 4
_ALPHANUMERIC = frozenset(ALPHABET)


def make_qr(text: str, *, medium: Medium = "screen") -> segno.QRCode:
    """A QR symbol for ``text`` in alphanumeric mode at the medium's error-correction level.

    Raises InvalidInput ``QR_TEXT`` when the text has characters outside the QR alphanumeric
    set (a native code never has) or is too long for a QR code, and ``QR_MEDIUM`` for an
    unknown medium.
    """
    level = ERROR_LEVELS.get(medium)
    if level is None:
        raise InvalidInput(ErrorCode.QR_MEDIUM, f"medium must be screen or paper, not {medium!r}")
    bad = set(text) - _ALPHANUMERIC
    if bad or not text:
        raise InvalidInput(
            ErrorCode.QR_TEXT, f"not QR alphanumeric: {sorted(bad)[:5]}", field="text"
        )
    try:
        return segno.make(text, error=level, mode="alphanumeric", micro=False)
    except segno.DataOverflowError as exc:
        raise InvalidInput(
            ErrorCode.QR_TEXT, f"too long for a QR code: {exc}", field="text"
        ) from exc


def render_svg(text: str, *, medium: Medium = "screen", scale: int = 4) -> str:
    """An SVG document of the QR code (``scale`` pixels a module, quiet zone included)."""
    out = io.BytesIO()
    make_qr(text, medium=medium).save(out, kind="svg", scale=scale, border=QUIET_ZONE)
    return out.getvalue().decode("utf-8")


def render_png(text: str, *, medium: Medium = "screen", scale: int = 6) -> bytes:
    """PNG bytes of the QR code (``scale`` pixels a module, quiet zone included)."""
    out = io.BytesIO()
    make_qr(text, medium=medium).save(out, kind="png", scale=scale, border=QUIET_ZONE)
    return out.getvalue()
