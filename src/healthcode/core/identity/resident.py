"""Resident ID numbers (公民身份号码, GB 11643-1999) and residence permits for Hong Kong, Macao
and Taiwan residents: the check digit, the parsed :class:`ResidentId`, the 15-digit upgrade.

Checks run in this order, and the first failure is reported: length, format, check digit,
region, birth date. The check digit comes before the fields so that a single mistyped
character is reported as what it most likely is: a typo (``ID_CHECK_DIGIT``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from healthcode.core import regions
from healthcode.core.clock import CHINA_TZ, Clock, SystemClock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.identity.kinds import IdType, Sex

__all__ = [
    "BODY18",
    "ResidentId",
    "check18",
    "check_birth_date",
    "check_digit",
    "check_region",
    "id_error",
    "parse_residence_permit",
    "parse_resident_id",
    "require_check_digit",
    "today_of",
    "upgrade_15_to_18",
]

#: ISO 7064 MOD 11-2 weights for the 17 body digits: 2**(17 - i) mod 11.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS = "10X98765432"  # index: sum of weighted digits mod 11
_EARLIEST_BIRTH = date(1900, 1, 1)
_PERMIT_PROVINCES = {"81": "810000", "82": "820000", "83": "830000"}
_NOT_ON_RESIDENT_IDS = {"71", "81", "82", "83"}

BODY18 = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS15 = re.compile(r"[0-9]{15}")


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A parsed 18-character resident ID or residence permit number (always upper-case X).

    ``region_current`` is True when ``region_code`` is in the current GB/T 2260 list, False
    when only its province is (a county renamed or recoded since the number was issued).
    """

    number: str
    region_code: str
    birth_date: date
    sequence: str
    sex: Sex
    check: str
    id_type: IdType
    region_current: bool

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day`` (born 29 February: a year older on 1 March).

        >>> rid = parse_resident_id("11010519491231002X", today=date(2022, 1, 1))
        >>> rid.age_on(date(2021, 12, 30)), rid.age_on(date(2021, 12, 31))
        (71, 72)
        """
        before = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before)


def id_error(code: ErrorCode, message: str, **details: object) -> InvalidInput:
    """The error of a bad ``id_number``."""
    return InvalidInput(code, message, field="id_number", **details)


def check_digit(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a 17-digit body ('0'-'9' or 'X').

    >>> check_digit("11010519491231002")
    'X'

    Raises InvalidInput ``ID_FORMAT`` when ``body`` is not 17 ASCII digits.
    """
    if len(body) != 17 or not body.isascii() or not body.isdigit():
        raise id_error(ErrorCode.ID_FORMAT, "a check digit is computed over 17 digits")
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def require_check_digit(number: str) -> None:
    """Accept an 18-character number (17 digits and a check character) whose last character
    is the check digit of the first 17.

    Raises InvalidInput ``ID_CHECK_DIGIT`` (``details["expected"]`` gives the right one).
    """
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise id_error(
            ErrorCode.ID_CHECK_DIGIT,
            f"check digit is {number[17]}, expected {expected}",
            expected=expected,
        )


def today_of(today: date | None, clock: Clock | None) -> date:
    """``today``, or else the date of ``clock`` (else the system clock) in China."""
    if today is not None:
        return today
    return (clock or SystemClock()).now().astimezone(CHINA_TZ).date()


def _parse18(text: str, *, today: date, id_type: IdType) -> ResidentId:
    number, born, current = check18(text, today=today, id_type=id_type)
    sequence = number[14:17]
    return ResidentId(
        number=number,
        region_code=number[:6],
        birth_date=born,
        sequence=sequence,
        sex=Sex.MALE if int(sequence[2]) % 2 else Sex.FEMALE,
        check=number[17],
        id_type=id_type,
        region_current=current,
    )


def check18(text: str, *, today: date, id_type: IdType) -> tuple[str, date, bool]:
    """The checks of an 18-character number, in order: length, characters, check digit,
    region, birth date. Gives (normalised number, birth date, whether the region is current).

    Raises InvalidInput as :func:`parse_resident_id`.
    """
    if not isinstance(text, str):
        raise id_error(ErrorCode.ID_FORMAT, "an ID number is a string")
    number = text.strip().upper()
    if len(number) != 18:
        hint = (
            " (a 15-digit number can be converted with upgrade_15_to_18)"
            if len(number) == 15
            else ""
        )
        message = f"an ID number has 18 characters, got {len(number)}{hint}"
        raise id_error(ErrorCode.ID_LENGTH, message)
    if not BODY18.fullmatch(number):
        raise id_error(ErrorCode.ID_FORMAT, "an ID number is 17 digits followed by a digit or X")
    require_check_digit(number)
    current = check_region(number[:6], id_type)
    return number, check_birth_date(number, today), current


def check_region(region_code: str, id_type: IdType) -> bool:
    """Whether the address code is a current region code; raises when it cannot be one."""
    if id_type is IdType.HMT_RESIDENCE_PERMIT:
        if region_code not in _PERMIT_PROVINCES.values():
            raise id_error(
                ErrorCode.ID_REGION_UNKNOWN,
                f"a residence permit's address code is 810000, 820000 or 830000, got {region_code}",
                region_code=region_code,
            )
        return regions.is_known(region_code)
    province = region_code[:2]
    if province in _NOT_ON_RESIDENT_IDS:
        raise id_error(
            ErrorCode.ID_REGION_UNKNOWN,
            f"address code {region_code} is not used on resident ID cards "
            "(81/82/83 are residence permits)",
            region_code=region_code,
        )
    current = regions.is_known(region_code)
    if not current and not regions.is_known(province + "0000"):
        raise id_error(
            ErrorCode.ID_REGION_UNKNOWN,
            f"address code {region_code} is not in a known province",
            region_code=region_code,
        )
    return current


def check_birth_date(number: str, today: date) -> date:
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise id_error(ErrorCode.ID_BIRTH_DATE, f"{number[6:14]} is not a date") from None
    if born < _EARLIEST_BIRTH:
        raise id_error(ErrorCode.ID_BIRTH_DATE, f"birth date {born.isoformat()} is before 1900")
    if born > today:
        message = f"birth date {born.isoformat()} is after {today.isoformat()}"
        raise id_error(ErrorCode.ID_BIRTH_DATE, message)
    return born


def parse_resident_id(
    text: str, *, today: date | None = None, clock: Clock | None = None
) -> ResidentId:
    """Parse and check an 18-character resident ID number (GB 11643-1999).

    Surrounding whitespace is ignored and a lower-case ``x`` becomes ``X``. ``today`` (or else
    ``clock``, or else the system clock, in China Standard Time) bounds the birth date.

    >>> parse_resident_id(" 440106199003071234 ", today=date(2024, 1, 1))
    Traceback (most recent call last):
    ...
    healthcode.core.errors.InvalidInput: ID_CHECK_DIGIT: check digit is 4, expected 1
    >>> r = parse_resident_id("440106199003071231", today=date(2024, 1, 1))
    >>> r.region_code, r.sex.value, r.region_current
    ('440106', 'male', True)

    Raises InvalidInput with ``field="id_number"`` and one of the codes
    ``ID_LENGTH`` (not 18 characters), ``ID_FORMAT`` (not 17 digits + digit/X),
    ``ID_CHECK_DIGIT`` (the message and ``details["expected"]`` give the right one),
    ``ID_REGION_UNKNOWN`` (province unknown, or 71/81/82/83), ``ID_BIRTH_DATE`` (not a real
    date, before 1900-01-01, or after today).
    """
    return _parse18(text, today=today_of(today, clock), id_type=IdType.RESIDENT_ID)


def parse_residence_permit(
    text: str, *, today: date | None = None, clock: Clock | None = None
) -> ResidentId:
    """Parse a residence permit number for Hong Kong, Macao or Taiwan residents (港澳台居民居住证).

    The same 18-character layout and check digit as a resident ID, with address code 810000
    (Hong Kong), 820000 (Macao) or 830000 (Taiwan).

    >>> body = "83000019900101002"
    >>> parse_residence_permit(body + check_digit(body), today=date(2024, 1, 1)).sex.value
    'female'

    Raises InvalidInput with the codes of :func:`parse_resident_id`; ``ID_REGION_UNKNOWN``
    when the address code is not one of the three.
    """
    return _parse18(text, today=today_of(today, clock), id_type=IdType.HMT_RESIDENCE_PERMIT)


def upgrade_15_to_18(text: str, *, today: date | None = None, clock: Clock | None = None) -> str:
    """Convert a first-generation 15-digit ID number to its 18-character form.

    The 15-digit form (issued 1984-2004) is region (6) + birth date YYMMDD (6) + sequence (3),
    with no check digit. GB 11643-1999 makes the 18-character number by inserting the century
    ``19`` before the year (15-digit numbers were only issued to people born in the 1900s) and
    appending the check digit. The result is then parsed like any resident ID.

    >>> upgrade_15_to_18("110105491231002", today=date(2022, 1, 1))
    '11010519491231002X'

    Raises InvalidInput ``ID_LENGTH`` (not 15 characters), ``ID_FORMAT`` (not digits), and
    ``ID_REGION_UNKNOWN`` / ``ID_BIRTH_DATE`` as :func:`parse_resident_id`.
    """
    number = text.strip() if isinstance(text, str) else ""
    if len(number) != 15:
        raise id_error(
            ErrorCode.ID_LENGTH, f"a first-generation ID number has 15 digits, got {len(number)}"
        )
    if not _DIGITS15.fullmatch(number):
        raise id_error(ErrorCode.ID_FORMAT, "a first-generation ID number is 15 digits")
    body = number[:6] + "19" + number[6:]
    return parse_resident_id(body + check_digit(body), today=today, clock=clock).number
