"""core/codes/qr.py: alphanumeric mode, error correction per medium, PNG decodes back."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image

from healthcode.core.clock import FixedClock
from healthcode.core.codes.qr import make_qr, render_png, render_svg
from healthcode.core.errors import InvalidInput
from healthcode.core.trust.certs import make_root, make_signer
from healthcode.core.trust.issue import issue_code

T = datetime(2022, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def code() -> str:
    root = make_root(now=T)
    signer = make_signer(
        root=root, province="440000", not_before=T, not_after=T + timedelta(days=9)
    )
    return issue_code(
        signer=signer,
        subject="ab" * 32,
        colour="yellow",
        badges=["nat-24h", "vaccine-3", "pending-check"],
        rule_set="2022.11-9",
        masked_name="欧**娜",
        masked_id="4401**********123X",
        clock=FixedClock(T),
    )


def _decode(png: bytes) -> list[str]:
    image = Image.open(io.BytesIO(png)).convert("L")
    return [r.text for r in zxingcpp.read_barcodes(image) if r.valid]


@pytest.mark.parametrize(("medium", "level"), [("screen", "M"), ("paper", "Q")])
def test_png_decodes_back_to_the_code(code: str, medium: str, level: str) -> None:
    qr = make_qr(code, medium=medium)  # type: ignore[arg-type]
    assert qr.mode == "alphanumeric"
    assert qr.error in {level, "Q", "H"} and (level == "M" or qr.error in {"Q", "H"})
    assert _decode(render_png(code, medium=medium)) == [code]  # type: ignore[arg-type]


def test_a_full_code_fits_a_modest_version(code: str) -> None:
    assert make_qr(code, medium="screen").version <= 12
    assert make_qr(code, medium="paper").version <= 15


def test_svg(code: str) -> None:
    svg = render_svg(code)
    assert svg.startswith("<?xml") and "<svg" in svg


def test_refuses_non_alphanumeric_text() -> None:
    with pytest.raises(InvalidInput) as err:
        make_qr("cn1:lower")
    assert err.value.code == "QR_TEXT"
    with pytest.raises(InvalidInput) as err:
        make_qr("CN1:A", medium="billboard")  # type: ignore[arg-type]
    assert err.value.code == "QR_MEDIUM"
    with pytest.raises(InvalidInput):
        make_qr("A" * 5000)
