"""core/codes/paper.py: one A4 SVG page whose QR code decodes back to the code."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image

from healthcode.core.clock import FixedClock
from healthcode.core.codes.native import PAPER_LIFETIME
from healthcode.core.codes.paper import render_paper
from healthcode.core.errors import VerificationFailed
from healthcode.core.trust.certs import make_root, make_signer
from healthcode.core.trust.issue import issue_code

T = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def code() -> str:
    root = make_root(now=T)
    signer = make_signer(
        root=root, province="440000", not_before=T, not_after=T + timedelta(days=9)
    )
    return issue_code(
        signer=signer,
        subject="cd" * 16,
        colour="red",
        badges=["nat-72h"],
        rule_set="2022.11-9",
        masked_name="张*丰",
        masked_id="4401**********1234",
        clock=FixedClock(T),
        lifetime=PAPER_LIFETIME,
    )


def _raster(path_d: str, modules: int, quiet: int = 4, scale: int = 6) -> Image.Image:
    size = (modules + 2 * quiet) * scale
    image = Image.new("L", (size, size), 255)
    for x, y, n in re.findall(r"M(\d+),(\d+)h(\d+)v1h-\d+z", path_d):
        x0, y0 = (int(x) + quiet) * scale, (int(y) + quiet) * scale
        image.paste(0, (x0, y0, x0 + int(n) * scale, y0 + scale))
    return image


def test_page_is_one_a4_svg_with_the_facts(code: str) -> None:
    page = render_paper(code)
    root = ET.fromstring(page.encode())
    assert (root.get("width"), root.get("height")) == ("210mm", "297mm")
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for fact in [
        "张*丰",
        "4401**********1234",
        "广东省 (440000)",
        "红码 RED",
        "核酸 72h NAT",
        "2022-11-20 09:00 – 2022-11-21 09:00 (UTC+8)",
        "2022.11-9",
    ]:
        assert fact in texts, fact
    colour = next(r for r in root.iter(f"{SVG}rect") if r.get("id") == "colour")
    assert colour.get("fill") == "#d0262d"


def test_page_qr_decodes_back_to_the_code(code: str) -> None:
    root = ET.fromstring(render_paper(code).encode())
    path = next(p for p in root.iter(f"{SVG}path") if p.get("id") == "qr")
    image = _raster(path.get("d") or "", int(path.get("data-modules") or 0))
    assert [r.text for r in zxingcpp.read_barcodes(image) if r.valid] == [code]


def test_not_a_code_is_refused() -> None:
    with pytest.raises(VerificationFailed):
        render_paper("HC1:XYZ")
