"""QR codes from pictures: a PNG, a JPEG or a photo, decoded with zxing-cpp.

>>> import io, segno
>>> buf = io.BytesIO()
>>> segno.make("HC1:ABC", error="q").save(buf, kind="png", scale=4)
>>> decode_image(buf.getvalue())
['HC1:ABC']

Raises :class:`healthcode.core.errors.VerificationFailed` ``QR_UNREADABLE`` (stage ``"qr"``)
when the picture cannot be read or holds no QR code.
"""

from __future__ import annotations

import io

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed

__all__ = ["MAX_IMAGE_PIXELS", "decode_image"]

#: A phone photo is about 12 megapixels; a larger picture is refused, not decoded.
MAX_IMAGE_PIXELS = 40_000_000


def decode_image(data: bytes) -> list[str]:
    """The texts of every QR code in the picture, in reading order; at least one."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise VerificationFailed(
                    ErrorCode.QR_UNREADABLE,
                    f"picture of {image.width}x{image.height} is too large",
                )
            image.load()
            gray = image.convert("L")
    except UnidentifiedImageError as exc:
        raise VerificationFailed(
            ErrorCode.QR_UNREADABLE, "not a picture format that can be read (PNG, JPEG, GIF, ...)"
        ) from exc
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise VerificationFailed(ErrorCode.QR_UNREADABLE, f"not a readable picture: {exc}") from exc
    results = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)  # type: ignore[arg-type]
    texts = [r.text for r in results if r.valid and r.text]
    if not texts:
        raise VerificationFailed(ErrorCode.QR_UNREADABLE, "no readable QR code in the picture")
    return texts
