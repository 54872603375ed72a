"""What a checkpoint worker compares with the person's document, from a verification result, in
Chinese or English (``core/verify/words.py``).

- ``holder``: the name masked (``张*丰``, ``M********* E****``), the date of birth as the
  certificate gives it (EU DCC, SMART Health Cards; a native code carries none), the masked ID
  number (native codes; none on a light code, which carries no identity at all);
- ``certificate``: what it is in words (a health code, a light one, an EU DCC of vaccination,
  test or recovery, a SMART Health Card), and ``colour`` for native codes (``绿码``);
- ``reason``: why it is refused, in plain words (None when it is not).

>>> from healthcode.core.verify.result import VerificationResult
>>> r = VerificationResult(valid=True, format="native", colour="green", profile="full",
...                        subject={"name": "张*丰", "id": "4401**********1234"})
>>> view = worker_view(r, "zh")
>>> view["certificate"], view["colour"], view["holder"]["name"], view["reason"]
('健康码', '绿码', '张*丰', None)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthcode.core.errors import InvalidInput
from healthcode.core.identity import mask_name
from healthcode.core.verify.dcc.payload import dcc_kind
from healthcode.core.verify.result import VerificationResult
from healthcode.core.verify.words import certificate_words, check_lang, colour_words, words

__all__ = ["worker_view"]


def _masked(*parts: Any) -> str | None:
    """The parts of a name that are text, joined and masked; None when there are none."""
    text = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    if not text:
        return None
    try:
        return mask_name(text)
    except InvalidInput:
        return None


def _holder(result: VerificationResult) -> dict[str, Any]:
    subject: Mapping[str, Any] = result.subject
    if result.format == "native":
        return {"name": subject.get("name"), "date_of_birth": None, "id": subject.get("id")}
    if result.format == "dcc":
        name = _masked(subject.get("family_name"), subject.get("given_name"))
        return {"name": name, "date_of_birth": subject.get("dob"), "id": None}
    if result.format == "shc":
        name = _masked(subject.get("family"), subject.get("given"))
        return {"name": name, "date_of_birth": subject.get("birth_date"), "id": None}
    return {"name": None, "date_of_birth": None, "id": None}


def _kind(result: VerificationResult) -> str | None:
    if result.format == "native":
        return result.profile or "full"
    if result.format == "dcc" and isinstance(result.payload, Mapping):
        return dcc_kind(result.payload)
    return None


def worker_view(result: VerificationResult, lang: str = "zh") -> dict[str, Any]:
    """The worker's view of ``result`` in ``lang``. Raises InvalidInput ``LANG_UNKNOWN``."""
    check_lang(lang)
    return {
        "lang": lang,
        "certificate": certificate_words(result.format, _kind(result), lang),
        "colour": colour_words(result.colour, lang),
        "holder": _holder(result),
        "reason": None if result.valid else words(result.error_code, lang),
    }
