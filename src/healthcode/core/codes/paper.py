"""A printable paper code: one A4 page (SVG) for people without phones.

The page shows what a checkpoint officer needs to read at a glance, all taken from the code
itself (so the page cannot disagree with it): the colour as a band and a word, the QR code
(error-correction level Q, 120 mm wide), the issuing province, the masked name and ID number,
the validity in China Standard Time, badges, the serial and the rule-set version.

SVG because it prints sharp at any size, needs no PDF library, and is plain text a test can
read: the QR code is drawn as one ``<path id="qr">`` of horizontal runs in module units (one
``M x,y h n v 1 h -n z`` per run of dark modules), so a test can rebuild the symbol, rasterise
it and decode it.

>>> from datetime import datetime, timedelta, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.core.codes.native import PAPER_LIFETIME
>>> from healthcode.core.trust.issue import issue_code
>>> from healthcode.core.trust.certs import make_root, make_signer
>>> t = datetime(2022, 11, 20, tzinfo=timezone.utc)
>>> root = make_root(now=t)
>>> signer = make_signer(root=root, province="440000", not_before=t,
...                      not_after=t + timedelta(days=30))
>>> text = issue_code(signer=signer, subject="ab" * 16, colour="green", rule_set="2022.11",
...                   masked_name="张*丰", masked_id="4401**********1234",
...                   clock=FixedClock(t), lifetime=PAPER_LIFETIME)
>>> page = render_paper(text)
>>> "广东省" in page and "张*丰" in page and 'width="210mm"' in page
True
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from healthcode.core.clock import CHINA_TZ
from healthcode.core.codes.native import NativePayload, peek_code
from healthcode.core.codes.qr import QUIET_ZONE, make_qr
from healthcode.core.errors import InvalidInput
from healthcode.core.regions import lookup

__all__ = ["COLOUR_STYLE", "qr_path", "render_paper"]

#: Fill colour and bilingual label per code colour.
COLOUR_STYLE: dict[str, tuple[str, str]] = {
    "green": ("#1a9b3c", "绿码 GREEN"),
    "yellow": ("#e0b000", "黄码 YELLOW"),
    "red": ("#d0262d", "红码 RED"),
}
_BADGE_LABELS = {
    "nat-24h": "核酸 24h NAT",
    "nat-48h": "核酸 48h NAT",
    "nat-72h": "核酸 72h NAT",
    "nat-7d": "核酸 7d NAT",
    "vaccine-1": "疫苗 1 剂 dose",
    "vaccine-2": "疫苗 2 剂 doses",
    "vaccine-3": "疫苗 3 剂 doses",
    "vaccine-4": "疫苗 4 剂 doses",
    "pending-check": "待核验 CHECK",
}
QR_WIDTH_MM = 120


def qr_path(text: str) -> tuple[str, int]:
    """The QR code (level Q, paper) as SVG path data in module units, and its size in modules
    without the quiet zone."""
    matrix = make_qr(text, medium="paper").matrix
    parts: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start},{y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return "".join(parts), len(matrix)


def _province(code: str) -> str:
    try:
        return f"{lookup(code).name} ({code})"
    except InvalidInput:
        return code


def _text(x: float, y: float, content: str, size: float, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x}" y="{y}" font-size="{size}"{extra}>{escape(content)}</text>'


def _lines(p: NativePayload) -> list[str]:
    fmt = "%Y-%m-%d %H:%M"
    start = p.issued_at.astimezone(CHINA_TZ).strftime(fmt)
    end = p.expires_at.astimezone(CHINA_TZ).strftime(fmt)
    badges = " · ".join(_BADGE_LABELS.get(b, b) for b in p.badges) or "—"
    return [
        f"姓名 Name: {p.masked_name}",
        f"证件 ID: {p.masked_id}",
        f"签发 Issued by: {_province(p.issuer)}",
        f"有效 Valid: {start} – {end} (UTC+8)",
        f"标记 Badges: {badges}",
        f"编号 Serial: {p.serial.hex()}   规则 Rules: {p.rule_set}",
    ]


def render_paper(text: str) -> str:
    """An A4 SVG page for a native code. Raises VerificationFailed when ``text`` is not a
    well-formed native code (the page is built from its content, unverified)."""
    payload = peek_code(text)
    fill, label = COLOUR_STYLE[payload.colour]
    path, modules = qr_path(text)
    total = modules + 2 * QUIET_ZONE
    scale = QR_WIDTH_MM / total
    qr_x, qr_y = (210 - QR_WIDTH_MM) / 2, 62
    body = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" '
        'viewBox="0 0 210 297" font-family="Noto Sans CJK SC, Source Han Sans, sans-serif">',
        "<title>健康码 Health code</title>",
        '<rect width="210" height="297" fill="#fff"/>',
        _text(105, 22, "健康码 · Health code", 11, text_anchor="middle", font_weight="bold"),
        f'<rect id="colour" x="15" y="30" width="180" height="24" rx="3" fill="{fill}"/>',
        _text(105, 46.5, label, 12, text_anchor="middle", fill="#fff", font_weight="bold"),
        f'<g transform="translate({qr_x},{qr_y}) scale({scale:.6f})">',
        f'<rect width="{total}" height="{total}" fill="#fff"/>',
        f'<path id="qr" transform="translate({QUIET_ZONE},{QUIET_ZONE})" fill="#000" '
        f'data-modules="{modules}" d="{path}"/>',
        "</g>",
    ]
    y = qr_y + QR_WIDTH_MM + 12
    for line in _lines(payload):
        body.append(_text(20, y, line, 6))
        y += 10
    body.append(
        _text(
            105,
            285,
            "请在有效期内出示 · Show this page before the time above; checkpoints scan it offline.",
            4,
            text_anchor="middle",
            fill="#555",
        )
    )
    body.append("</svg>")
    return "\n".join(body) + "\n"
