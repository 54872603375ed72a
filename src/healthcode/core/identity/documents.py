"""The other documents a person may register with (passports, travel and residence permits,
the foreigner's permanent residence card): their formats, and :func:`check_id` /
:func:`validate_id` for every kind of document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TypedDict, Unpack

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.identity.kinds import IdType
from healthcode.core.identity.resident import check18, id_error, require_check_digit, today_of

__all__ = ["CheckOptions", "ValidId", "check_id", "validate_id"]

_PASSPORT_CN = re.compile(r"E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8}|1[45][0-9]{7}")
_PASSPORT_FOREIGN = re.compile(r"[A-Z0-9]{5,20}")
_NATIONALITY = re.compile(r"[A-Z]{3}|D")
_HK_MACAO = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?")
_TAIWAN = re.compile(r"[0-9]{8}(?:[0-9]{2})?")
_FPR_2017 = re.compile(r"[A-Z]{3}[0-9]{12}")
_FPR_2023 = re.compile(r"9[0-9]{16}[0-9X]")
_SEPARATORS = re.compile(r"[\s\-]")

_FORMATS: dict[IdType, tuple[re.Pattern[str], str]] = {
    IdType.PASSPORT_CN: (
        _PASSPORT_CN,
        "a Chinese ordinary passport number is E + 8 digits, E + letter + 7 digits, "
        "G + 8 digits, or 14/15 + 7 digits",
    ),
    IdType.PASSPORT_FOREIGN: (_PASSPORT_FOREIGN, "a passport number is 5-20 letters and digits"),
    IdType.HK_MACAO_PERMIT: (
        _HK_MACAO,
        "a Hong Kong/Macao travel permit number is H or M + 8 digits (optionally + 2 digits)",
    ),
    IdType.TAIWAN_PERMIT: (_TAIWAN, "a Taiwan travel permit number is 8 (or 10) digits"),
}


def _id_type(value: IdType | str) -> IdType:
    try:
        return IdType(value)
    except ValueError:
        raise InvalidInput(
            ErrorCode.ID_TYPE_UNKNOWN, f"unknown ID type {value!r}", field="id_type"
        ) from None


def _nationality(value: str | None) -> str:
    code = (value or "").strip().upper()
    if not _NATIONALITY.fullmatch(code):
        raise InvalidInput(
            ErrorCode.ID_NATIONALITY,
            f"a foreign passport needs its issuing state as an ICAO 9303 code, got {value!r}",
            field="nationality",
        )
    return code


class CheckOptions(TypedDict, total=False):
    """The keyword options of :func:`check_id`, taken by the functions that call it."""

    nationality: str | None
    today: date | None
    clock: Clock | None


@dataclass(frozen=True, slots=True)
class ValidId:
    """A document number that passed :func:`check_id`: its type, the normalised number, and
    the issuing state (foreign passports; ``""`` otherwise). Give it to
    :meth:`Pseudonymiser.pseudonym_of` to derive the pseudonym without checking it again.
    Build it with :func:`check_id` only: the constructor checks nothing.
    """

    id_type: IdType
    number: str
    state: str = ""


def check_id(
    id_type: IdType | str,
    number: str,
    *,
    nationality: str | None = None,
    today: date | None = None,
    clock: Clock | None = None,
) -> ValidId:
    """Check ``number`` as a document of ``id_type``: :func:`validate_id` as a value object.

    >>> v = check_id("passport_foreign", "x1234567", nationality="usa")
    >>> v.id_type.value, v.number, v.state
    ('passport_foreign', 'X1234567', 'USA')

    Raises InvalidInput as :func:`validate_id`.
    """
    kind = _id_type(id_type)
    if not isinstance(number, str):
        raise id_error(ErrorCode.ID_FORMAT, "an ID number is a string")
    if kind is IdType.RESIDENT_ID or kind is IdType.HMT_RESIDENCE_PERMIT:
        return ValidId(kind, check18(number, today=today_of(today, clock), id_type=kind)[0])
    value = _SEPARATORS.sub("", number).upper()
    if kind is IdType.FOREIGN_PERMANENT_RESIDENCE:
        if _FPR_2017.fullmatch(value):
            return ValidId(kind, value)
        if not _FPR_2023.fullmatch(value):
            raise id_error(
                ErrorCode.ID_FORMAT,
                "a permanent residence card number is 3 letters + 12 digits (2017) "
                "or 9 + 16 digits + check digit (2023)",
            )
        require_check_digit(value)
        return ValidId(kind, value)
    state = _nationality(nationality) if kind is IdType.PASSPORT_FOREIGN else ""
    pattern, message = _FORMATS[kind]
    if not pattern.fullmatch(value):
        raise id_error(ErrorCode.ID_FORMAT, message)
    return ValidId(kind, value, state)


def validate_id(id_type: IdType | str, number: str, **options: Unpack[CheckOptions]) -> str:
    """Check ``number`` as a document of ``id_type`` and return it normalised.

    Normalising strips surrounding whitespace and upper-cases letters; for passports and
    permits it also removes inner spaces and hyphens. 18-character numbers (resident ID,
    residence permit, 2023 permanent residence card) get the full check of
    :func:`parse_resident_id` (or the check digit, for the residence card). A 15-digit
    resident ID is refused with ``ID_LENGTH``: convert it first with :func:`upgrade_15_to_18`.
    ``nationality`` (an ICAO 9303 code such as ``USA`` or ``D``) is required for
    ``PASSPORT_FOREIGN`` and ignored otherwise.

    >>> validate_id(IdType.PASSPORT_CN, " e12345678 ")
    'E12345678'
    >>> validate_id("hk_macao_permit", "h1234567801")
    'H1234567801'

    Raises InvalidInput: ``ID_TYPE_UNKNOWN``; ``ID_FORMAT`` (the message says the expected
    form); ``ID_NATIONALITY`` (foreign passport without a valid issuing state); and for
    18-character numbers ``ID_LENGTH``, ``ID_CHECK_DIGIT``, ``ID_REGION_UNKNOWN``,
    ``ID_BIRTH_DATE`` as :func:`parse_resident_id`.
    """
    return check_id(id_type, number, **options).number
