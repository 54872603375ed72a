"""Identity documents: ID number checks, keyed pseudonyms, masking for display.

Resident ID numbers (公民身份号码, GB 11643-1999) are parsed into a :class:`ResidentId`; the
other documents a person may register with (passports, travel and residence permits, the
foreigner's permanent residence card) are checked for format by :func:`validate_id`. Every
check raises :class:`~healthcode.core.errors.InvalidInput` with a stable code; nothing here
returns ``False`` for a bad number.

>>> from datetime import date
>>> rid = parse_resident_id("11010519491231002x", today=date(2022, 1, 1))
>>> rid.number, rid.birth_date.isoformat(), rid.sex.value
('11010519491231002X', '1949-12-31', 'female')
>>> mask_id(rid.number), mask_name("张三丰"), mask_phone("13812345678")
('1101**********002X', '张*丰', '138****5678')
>>> len(pseudonym(b"k" * 32, IdType.RESIDENT_ID, rid.number))
64

Region codes of resident IDs. The address code is the county's code *when the number was
issued*; counties are renamed, merged and recoded, and this module ships only the current list
(:mod:`healthcode.core.regions`). So a code is accepted when it is a current GB/T 2260 code, or
when its first two digits are a current mainland province (11-65); ``ResidentId.region_current``
says which. Provincial codes 71 (Taiwan), 81 (Hong Kong), 82 (Macao) and 83 are not issued on
resident ID cards: 81/82/83 numbers are residence permits for Hong Kong, Macao and Taiwan
residents (:data:`IdType.HMT_RESIDENCE_PERMIT`, :func:`parse_residence_permit`).

Checks run in this order, and the first failure is reported: length, format, check digit,
region, birth date. The check digit comes before the fields so that a single mistyped
character is reported as what it most likely is: a typo (``ID_CHECK_DIGIT``).
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from healthcode.core import regions
from healthcode.core.clock import CHINA_TZ, Clock, SystemClock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

__all__ = [
    "MIN_KEY_BYTES",
    "IdType",
    "KeyedHmac",
    "Pseudonymiser",
    "ResidentId",
    "Sex",
    "ValidId",
    "check_digit",
    "check_id",
    "mask_id",
    "mask_name",
    "mask_phone",
    "parse_residence_permit",
    "parse_resident_id",
    "pseudonym",
    "upgrade_15_to_18",
    "validate_id",
]

#: ISO 7064 MOD 11-2 weights for the 17 body digits: 2**(17 - i) mod 11.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS = "10X98765432"  # index: sum of weighted digits mod 11
_EARLIEST_BIRTH = date(1900, 1, 1)
_PERMIT_PROVINCES = {"81": "810000", "82": "820000", "83": "830000"}
_NOT_ON_RESIDENT_IDS = {"71", "81", "82", "83"}

_BODY18 = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS15 = re.compile(r"[0-9]{15}")


class Sex(StrEnum):
    """Sex as encoded by the parity of the sequence code (odd: male, even: female)."""

    MALE = "male"
    FEMALE = "female"


class IdType(StrEnum):
    """Kinds of identity document. The values are part of every pseudonym: never change them."""

    #: 居民身份证: 18 characters, GB 11643-1999.
    RESIDENT_ID = "resident_id"
    #: 中华人民共和国普通护照: E + 8 digits, E + letter + 7 digits, G + 8 digits, 14/15 + 7 digits.
    PASSPORT_CN = "passport_cn"
    #: A foreign passport: 5-20 letters and digits, with the issuing state (ICAO 9303 code).
    PASSPORT_FOREIGN = "passport_foreign"
    #: 港澳居民来往内地通行证: H (Hong Kong) or M (Macao) + 8 digits (+ 2-digit issue count).
    HK_MACAO_PERMIT = "hk_macao_permit"
    #: 台湾居民来往大陆通行证: 8 digits (card since 2015) or 10 digits (older, with issue count).
    TAIWAN_PERMIT = "taiwan_permit"
    #: 港澳台居民居住证: 18 characters like a resident ID, address code 810000/820000/830000.
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"
    #: 外国人永久居留身份证: 3 letters + 12 digits (2017), or 9 + 16 digits + check (2023).
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence"


#: IdType by its value: IdType(value) is a slow enum call, and check_id runs once per record.
_ID_TYPES: dict[str, IdType] = {t.value: t for t in IdType}


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


def _bad(
    code: ErrorCode, message: str, field: str = "id_number", **details: object
) -> InvalidInput:
    return InvalidInput(code, message, field=field, **details)


def check_digit(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a 17-digit body ('0'-'9' or 'X').

    >>> check_digit("11010519491231002")
    'X'

    Raises InvalidInput ``ID_FORMAT`` when ``body`` is not 17 ASCII digits.
    """
    if len(body) != 17 or not body.isascii() or not body.isdigit():
        raise _bad(ErrorCode.ID_FORMAT, "a check digit is computed over 17 digits")
    return _check_char(body)


def _check_char(body: str) -> str:
    # ``body`` is 17 ASCII digits (checked by the caller). The weighted sum is
    # sum(d[i] * 2**(17 - i)) = 2 * sum(d[i] * 2**(16 - i)), and 13 = 2 (mod 11), so it is
    # 2 * int(body, 13) mod 11: one C call instead of a weighted sum over the digits.
    return _CHECK_CHARS[2 * int(body, 13) % 11]


def _today(today: date | None, clock: Clock | None) -> date:
    if today is not None:
        return today
    return (clock or SystemClock()).now().astimezone(CHINA_TZ).date()


def _parse18(text: str, *, today: date, id_type: IdType) -> ResidentId:
    number, born, current = _check18(text, today=today, id_type=id_type)
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


def _check18(text: str, *, today: date, id_type: IdType) -> tuple[str, date, bool]:
    """The checks of an 18-character number: (normalised number, birth date, region current)."""
    # 1. length  2. characters  3. check digit  4. region  5. birth date
    if not isinstance(text, str):
        raise _bad(ErrorCode.ID_FORMAT, "an ID number is a string")
    number = text.strip().upper()
    if len(number) != 18:
        hint = (
            " (a 15-digit number can be converted with upgrade_15_to_18)"
            if len(number) == 15
            else ""
        )
        raise _bad(ErrorCode.ID_LENGTH, f"an ID number has 18 characters, got {len(number)}{hint}")
    if not _BODY18.fullmatch(number):
        raise _bad(ErrorCode.ID_FORMAT, "an ID number is 17 digits followed by a digit or X")
    expected = _check_char(number[:17])
    if number[17] != expected:
        raise _bad(
            ErrorCode.ID_CHECK_DIGIT,
            f"check digit is {number[17]}, expected {expected}",
            expected=expected,
        )
    region_code = number[:6]
    province = region_code[:2]
    if id_type is IdType.HMT_RESIDENCE_PERMIT:
        if region_code not in _PERMIT_PROVINCES.values():
            raise _bad(
                ErrorCode.ID_REGION_UNKNOWN,
                f"a residence permit's address code is 810000, 820000 or 830000, got {region_code}",
                region_code=region_code,
            )
        current = regions.is_known(region_code)
    else:
        if province in _NOT_ON_RESIDENT_IDS:
            raise _bad(
                ErrorCode.ID_REGION_UNKNOWN,
                f"address code {region_code} is not used on resident ID cards "
                "(81/82/83 are residence permits)",
                region_code=region_code,
            )
        current = regions.is_known(region_code)
        if not current and not regions.is_known(province + "0000"):
            raise _bad(
                ErrorCode.ID_REGION_UNKNOWN,
                f"address code {region_code} is not in a known province",
                region_code=region_code,
            )
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _bad(ErrorCode.ID_BIRTH_DATE, f"{number[6:14]} is not a date") from None
    if born < _EARLIEST_BIRTH:
        raise _bad(ErrorCode.ID_BIRTH_DATE, f"birth date {born.isoformat()} is before 1900")
    if born > today:
        raise _bad(
            ErrorCode.ID_BIRTH_DATE, f"birth date {born.isoformat()} is after {today.isoformat()}"
        )
    return number, born, current


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
    return _parse18(text, today=_today(today, clock), id_type=IdType.RESIDENT_ID)


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
    return _parse18(text, today=_today(today, clock), id_type=IdType.HMT_RESIDENCE_PERMIT)


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
        raise _bad(
            ErrorCode.ID_LENGTH, f"a first-generation ID number has 15 digits, got {len(number)}"
        )
    if not _DIGITS15.fullmatch(number):
        raise _bad(ErrorCode.ID_FORMAT, "a first-generation ID number is 15 digits")
    body = number[:6] + "19" + number[6:]
    return parse_resident_id(body + check_digit(body), today=today, clock=clock).number


# --- other documents -------------------------------------------------------------------------

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
    kind = _ID_TYPES.get(value) if type(value) is str else None
    if kind is not None:  # the common case: a plain string, one dict lookup
        return kind
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
        raise _bad(ErrorCode.ID_FORMAT, "an ID number is a string")
    if kind is IdType.RESIDENT_ID or kind is IdType.HMT_RESIDENCE_PERMIT:
        return ValidId(kind, _check18(number, today=_today(today, clock), id_type=kind)[0])
    value = _SEPARATORS.sub("", number).upper()
    if kind is IdType.FOREIGN_PERMANENT_RESIDENCE:
        if _FPR_2017.fullmatch(value):
            return ValidId(kind, value)
        if not _FPR_2023.fullmatch(value):
            raise _bad(
                ErrorCode.ID_FORMAT,
                "a permanent residence card number is 3 letters + 12 digits (2017) "
                "or 9 + 16 digits + check digit (2023)",
            )
        expected = check_digit(value[:17])
        if value[17] != expected:
            raise _bad(
                ErrorCode.ID_CHECK_DIGIT,
                f"check digit is {value[17]}, expected {expected}",
                expected=expected,
            )
        return ValidId(kind, value)
    state = _nationality(nationality) if kind is IdType.PASSPORT_FOREIGN else ""
    pattern, message = _FORMATS[kind]
    if not pattern.fullmatch(value):
        raise _bad(ErrorCode.ID_FORMAT, message)
    return ValidId(kind, value, state)


def validate_id(
    id_type: IdType | str,
    number: str,
    *,
    nationality: str | None = None,
    today: date | None = None,
    clock: Clock | None = None,
) -> str:
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
    return check_id(id_type, number, nationality=nationality, today=today, clock=clock).number


# --- pseudonyms --------------------------------------------------------------------------------

#: A pseudonym key must have at least this many bytes (256 bits, the HMAC-SHA256 output size).
MIN_KEY_BYTES = 32
_DOMAIN = b"healthcode/pseudonym/v1"


class KeyedHmac:
    """HMAC-SHA256 under one key, keyed once and reused for many messages.

    The same bytes as ``hmac.new(key, message, "sha256")``: the inner and outer SHA-256
    states of RFC 2104 are built once and copied per message. Written by hand because the
    stdlib's ``hmac.HMAC.copy`` is Python-level and costs more than the hash itself at the
    rate the hub checks records.

    >>> import hmac
    >>> KeyedHmac(b"k" * 32).hexdigest(b"msg") == hmac.new(b"k" * 32, b"msg", "sha256").hexdigest()
    True
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # the SHA-256 block size
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def hexdigest(self, message: bytes) -> str:
        """HMAC-SHA256 of ``message`` as 64 lower-case hex digits."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def _field(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">I", len(raw)) + raw


class Pseudonymiser:
    """Derives keyed pseudonyms of identity documents; holds the key, never shows it.

    The pseudonym is HMAC-SHA256(key, message), written as 64 lower-case hex digits. The
    message is the domain tag ``healthcode/pseudonym/v1`` followed by three fields, each a
    4-byte big-endian length and its UTF-8 bytes: the :class:`IdType` value, the issuing state
    (foreign passports; empty otherwise) and the number normalised by :func:`validate_id`.
    Length prefixes make the encoding unambiguous, so every service that shares the key
    derives the same pseudonym for the same document, and no two documents share one.

    >>> p = Pseudonymiser(key=bytes(range(32)))
    >>> p.pseudonym(IdType.PASSPORT_CN, "e12345678") == p.pseudonym("passport_cn", "E12345678")
    True
    >>> p
    Pseudonymiser(key=<32 bytes>)

    Raises InvalidInput ``PSEUDONYM_KEY_TOO_SHORT`` (field ``key``) for a key shorter than
    :data:`MIN_KEY_BYTES` bytes, or one that is not bytes.
    """

    __slots__ = ("_hmac", "_key", "_prefixes")

    def __init__(self, *, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
            raise InvalidInput(
                ErrorCode.PSEUDONYM_KEY_TOO_SHORT,
                f"a pseudonym key needs at least {MIN_KEY_BYTES} bytes",
                field="key",
            )
        self._key = bytes(key)
        # Keyed once; the message prefixes (domain tag, type, state) kept by (type, state).
        self._hmac = KeyedHmac(self._key)
        self._prefixes: dict[tuple[IdType, str], bytes] = {}

    def __repr__(self) -> str:
        return f"Pseudonymiser(key=<{len(self._key)} bytes>)"

    def pseudonym(
        self,
        id_type: IdType | str,
        number: str,
        *,
        nationality: str | None = None,
        today: date | None = None,
        clock: Clock | None = None,
    ) -> str:
        """The pseudonym of a document: 64 lower-case hex digits.

        The number is validated first (see :func:`validate_id`), so ``e12345678`` and
        ``E12345678`` give the same pseudonym. Raises InvalidInput as :func:`validate_id`.
        """
        valid = check_id(id_type, number, nationality=nationality, today=today, clock=clock)
        return self.pseudonym_of(valid)

    def pseudonym_of(self, valid: ValidId) -> str:
        """The pseudonym of a number already checked by :func:`check_id` (no second check).

        >>> p = Pseudonymiser(key=bytes(range(32)))
        >>> p.pseudonym_of(check_id("passport_cn", "e12345678")) == p.pseudonym(
        ...     "passport_cn", "E12345678")
        True
        """
        key = (valid.id_type, valid.state)
        prefix = self._prefixes.get(key)
        if prefix is None:
            prefix = _DOMAIN + _field(valid.id_type.value) + _field(valid.state)
            if len(self._prefixes) < 4096:  # types x issuing states: a few hundred at most
                self._prefixes[key] = prefix
        return self._hmac.hexdigest(prefix + _field(valid.number))


def pseudonym(
    key: bytes,
    id_type: IdType | str,
    number: str,
    *,
    nationality: str | None = None,
    today: date | None = None,
    clock: Clock | None = None,
) -> str:
    """The keyed pseudonym of a document (see :class:`Pseudonymiser` for the exact encoding).

    >>> pseudonym(b"0" * 32, IdType.TAIWAN_PERMIT, "12345678")[:16]
    '722ad499f1d9f3a4'

    Raises InvalidInput ``PSEUDONYM_KEY_TOO_SHORT`` and the codes of :func:`validate_id`.
    """
    return Pseudonymiser(key=key).pseudonym(
        id_type, number, nationality=nationality, today=today, clock=clock
    )


# --- masking -------------------------------------------------------------------------------------

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
        raise _bad(ErrorCode.ID_FORMAT, "an ID number to mask is empty")
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
