"""Masking names, document numbers and phone numbers for display."""

from __future__ import annotations

import re

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

__all__ = ["mask_id", "mask_name", "mask_phone"]

_NAME_SPLIT = re.compile(r"([\s·・.\-]+)")


def _mask_part(part: str, *, latin: bool) -> str:
    if len(part) <= 1:
        return part
    if latin or len(part) == 2:
        return part[0] + "*" * (len(part) - 1)
    return part[0] + "*" * (len(part) - 2) + part[-1]


def mask_name(name: str) -> str:
    """Mask a person's name for display.

    Chinese names: two characters keep the first (``张三`` → ``张*``), three or more keep the
    first and the last (``张三丰`` → ``张*丰``, ``欧阳娜娜`` → ``欧**娜``); one character is
    shown as it is (it is at most a surname). Names written with spaces, middle dots or hyphens
    (``John Smith``, ``阿卜杜拉·艾买提``) are masked part by part; a Latin part keeps only its
    first letter (``John Smith`` → ``J*** S****``), a Chinese part follows the rule above. The
    separators are kept.

    >>> mask_name("张三丰"), mask_name("张三"), mask_name("John Smith")
    ('张*丰', '张*', 'J*** S****')

    Raises InvalidInput ``NAME_EMPTY`` (field ``name``) for an empty or blank name.
    """
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        raise InvalidInput(ErrorCode.NAME_EMPTY, "a name to mask is empty", field="name")
    parts = _NAME_SPLIT.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a separator
            out.append(part)
        else:
            out.append(_mask_part(part, latin=part.isascii()))
    return "".join(out)


def mask_id(number: str) -> str:
    """Mask an ID or document number for display, keeping its length.

    18 characters or more (resident IDs, permits): the first 4 and the last 4 stay. 9-17: the
    first 2 and the last 2 (``E12345678`` → ``E1*****78``). 5-8: the first and the last. Four or
    fewer: every character is hidden. Surrounding whitespace is dropped and letters upper-cased.

    >>> mask_id("440106199003071234"), mask_id("E12345678"), mask_id("12345678")
    ('4401**********1234', 'E1*****78', '1******8')

    Raises InvalidInput ``ID_FORMAT`` when ``number`` is empty or not a string.
    """
    value = number.strip().upper() if isinstance(number, str) else ""
    if not value:
        raise InvalidInput(ErrorCode.ID_FORMAT, "an ID number to mask is empty", field="id_number")
    n = len(value)
    keep = 4 if n >= 15 else 2 if n >= 9 else 1 if n >= 5 else 0
    if keep == 0:
        return "*" * n
    return value[:keep] + "*" * (n - 2 * keep) + value[-keep:]


_PHONE_CHARS = re.compile(r"[\s\-()]")
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def mask_phone(phone: str) -> str:
    """Mask a phone number: a mainland mobile keeps its first 3 and last 4 digits.

    Spaces, hyphens and brackets are dropped. ``+86``/``0086`` before a mainland mobile is kept
    as ``+86``. Any other number of 7-15 digits (optionally after ``+``) keeps its last 4 digits.

    >>> mask_phone("138-1234-5678"), mask_phone("+86 13812345678"), mask_phone("+44 20 7946 0958")
    ('138****5678', '+86 138****5678', '+********0958')

    Raises InvalidInput ``PHONE_FORMAT`` (field ``phone``) for anything else.
    """
    value = _PHONE_CHARS.sub("", phone) if isinstance(phone, str) else ""
    for prefix in ("+86", "0086"):
        rest = value[len(prefix) :]
        if value.startswith(prefix) and _CN_MOBILE.fullmatch(rest):
            return f"+86 {rest[:3]}****{rest[-4:]}"
    if _CN_MOBILE.fullmatch(value):
        return f"{value[:3]}****{value[-4:]}"
    plus = value.startswith("+")
    digits = value[1:] if plus else value
    if not (digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 15):
        raise InvalidInput(ErrorCode.PHONE_FORMAT, "not a phone number", field="phone")
    return ("+" if plus else "") + "*" * (len(digits) - 4) + digits[-4:]
