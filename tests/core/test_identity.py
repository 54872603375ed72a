"""Tests for core/identity.py: resident IDs, other documents, pseudonyms, masking."""

from __future__ import annotations

import doctest
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthcode.core import identity
from healthcode.core.clock import FixedClock
from healthcode.core.errors import InvalidInput
from healthcode.core.identity import (
    IdType,
    Pseudonymiser,
    Sex,
    check_digit,
    mask_id,
    mask_name,
    mask_phone,
    parse_residence_permit,
    parse_resident_id,
    pseudonym,
    upgrade_15_to_18,
    validate_id,
)

TODAY = date(2022, 11, 20)
KEY = bytes(range(32))
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]  # GB 11643-1999, table 1


def reference_check(body: str) -> str:
    """The check character as the standard writes it out: (12 - S mod 11) mod 11, X for 10."""
    value = (12 - sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11) % 11
    return "X" if value == 10 else str(value)


def make(body: str) -> str:
    return body + reference_check(body)


def code_of(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    return exc.value.code


def test_doctests() -> None:
    assert doctest.testmod(identity, raise_on_error=False).failed == 0


# --- check digit ---------------------------------------------------------------------------


def test_standard_worked_example() -> None:
    # The example of GB 11643-1999: 11010519491231002X, a woman born 1949-12-31 in 朝阳区.
    rid = parse_resident_id("11010519491231002X", today=TODAY)
    assert rid.number == "11010519491231002X"
    assert rid.region_code == "110105"
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sequence == "002"
    assert rid.sex is Sex.FEMALE
    assert rid.check == "X"
    assert rid.id_type is IdType.RESIDENT_ID
    assert rid.region_current is True


def test_standard_second_example() -> None:
    # The standard's other example: 440524188001010014 (汕头 潮阳, 1880) - valid check digit,
    # but born before 1900, which this project refuses.
    assert check_digit("44052418800101001") == "4"
    with pytest.raises(InvalidInput) as exc:
        parse_resident_id("440524188001010014", today=TODAY)
    assert code_of(exc) == "ID_BIRTH_DATE"


@pytest.mark.parametrize(
    "body",
    ["44010619900307123", "11010119800101001", "31011519951231456", "50010320000229009"],
)
def test_check_digit_matches_standard(body: str) -> None:
    assert check_digit(body) == reference_check(body)
    assert parse_resident_id(make(body), today=TODAY).number == make(body)


def test_lowercase_x_normalised_and_whitespace_stripped() -> None:
    assert parse_resident_id(" 11010519491231002x\n", today=TODAY).number == "11010519491231002X"


def test_sex_from_sequence_parity() -> None:
    assert parse_resident_id(make("44010619900307123"), today=TODAY).sex is Sex.MALE
    assert parse_resident_id(make("44010619900307124"), today=TODAY).sex is Sex.FEMALE


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_any_body_with_computed_check_digit_passes_the_check(body: str) -> None:
    assert check_digit(body) == reference_check(body)


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["110101", "440106", "650102", "429004", "310115", "540102"]))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    seq = draw(st.integers(min_value=0, max_value=999))
    return make(f"{region}{born:%Y%m%d}{seq:03d}")


@given(valid_ids())
def test_random_valid_ids_parse(number: str) -> None:
    rid = parse_resident_id(number, today=TODAY)
    assert rid.number == number
    assert rid.birth_date.strftime("%Y%m%d") == number[6:14]
    assert rid.sex is (Sex.MALE if int(number[16]) % 2 else Sex.FEMALE)


@given(valid_ids(), st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=10))
def test_any_single_character_change_fails_the_check_digit(number: str, pos: int, k: int) -> None:
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    changed = alphabet[(alphabet.index(number[pos]) + k) % len(alphabet)]
    if changed == number[pos]:
        return
    mutated = number[:pos] + changed + number[pos + 1 :]
    with pytest.raises(InvalidInput) as exc:
        parse_resident_id(mutated, today=TODAY)
    assert code_of(exc) == "ID_CHECK_DIGIT"


# --- every error code ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "ID_LENGTH"),
        ("1101051949123100", "ID_LENGTH"),
        ("11010519491231002X1", "ID_LENGTH"),
        ("110105491231002", "ID_LENGTH"),
        ("1101051949123100XX", "ID_FORMAT"),
        ("11010519491231 02X", "ID_FORMAT"),
        ("A1010519491231002X", "ID_FORMAT"),
        ("١١010519491231002X", "ID_FORMAT"),  # Arabic-Indic digits are not ASCII digits
        ("110105194912310021", "ID_CHECK_DIGIT"),
        (make("00010519491231002"), "ID_REGION_UNKNOWN"),
        (make("99010519491231002"), "ID_REGION_UNKNOWN"),
        (make("81000019900101002"), "ID_REGION_UNKNOWN"),
        (make("71000019900101002"), "ID_REGION_UNKNOWN"),
        (make("11010519490231002"), "ID_BIRTH_DATE"),  # 31 February... 1949-02-31
        (make("11010519491331002"), "ID_BIRTH_DATE"),
        (make("11010518991231002"), "ID_BIRTH_DATE"),
        (make("11010520221121002"), "ID_BIRTH_DATE"),  # the day after TODAY
        (make("11010519000229002"), "ID_BIRTH_DATE"),  # 1900 was not a leap year
    ],
)
def test_error_codes(text: str, code: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_resident_id(text, today=TODAY)
    assert code_of(exc) == code
    assert exc.value.details["field"] == "id_number"


def test_check_digit_message_names_expected_digit() -> None:
    with pytest.raises(InvalidInput, match="expected X") as exc:
        parse_resident_id("110105194912310021", today=TODAY)
    assert exc.value.details["expected"] == "X"


def test_length_message_suggests_upgrade_for_15_digits() -> None:
    with pytest.raises(InvalidInput, match="upgrade_15_to_18"):
        parse_resident_id("110105491231002", today=TODAY)


def test_birth_today_is_accepted_and_clock_is_injected() -> None:
    number = make("11010520221120002")
    assert parse_resident_id(number, today=TODAY).birth_date == TODAY
    # 2022-11-19 20:00 UTC is already 2022-11-20 in China.
    clock = FixedClock(datetime(2022, 11, 19, 20, 0, tzinfo=UTC))
    assert parse_resident_id(number, clock=clock).birth_date == TODAY
    with pytest.raises(InvalidInput) as exc:
        parse_resident_id(number, clock=FixedClock(datetime(2022, 11, 19, 15, 0, tzinfo=UTC)))
    assert code_of(exc) == "ID_BIRTH_DATE"


def test_historical_county_code_accepted_when_province_known() -> None:
    # 440102 was 东山区 (广州), merged into 越秀区 in 2005: not in the current list.
    rid = parse_resident_id(make("44010219800101001"), today=TODAY)
    assert rid.region_code == "440102"
    assert rid.region_current is False


def test_age_on() -> None:
    rid = parse_resident_id(make("11010520000229001"), today=TODAY)
    assert rid.age_on(date(2001, 2, 28)) == 0
    assert rid.age_on(date(2001, 3, 1)) == 1


# --- 15-digit numbers ----------------------------------------------------------------------


def test_upgrade_15_to_18() -> None:
    assert upgrade_15_to_18("110105491231002", today=TODAY) == "11010519491231002X"
    assert upgrade_15_to_18(" 440106900307123 ", today=TODAY) == make("44010619900307123")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("11010549123100", "ID_LENGTH"),
        ("11010519491231002X", "ID_LENGTH"),
        ("11010549123100X", "ID_FORMAT"),
        ("990105491231002", "ID_REGION_UNKNOWN"),
        ("110105491331002", "ID_BIRTH_DATE"),
    ],
)
def test_upgrade_errors(text: str, code: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        upgrade_15_to_18(text, today=TODAY)
    assert code_of(exc) == code


# --- residence permits and other documents --------------------------------------------------


@pytest.mark.parametrize("region", ["810000", "820000", "830000"])
def test_residence_permit(region: str) -> None:
    number = make(f"{region}19900101003")
    rid = parse_residence_permit(number, today=TODAY)
    assert rid.id_type is IdType.HMT_RESIDENCE_PERMIT
    assert rid.sex is Sex.MALE
    assert validate_id(IdType.HMT_RESIDENCE_PERMIT, number.lower(), today=TODAY) == number


def test_residence_permit_refuses_mainland_region() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_residence_permit("11010519491231002X", today=TODAY)
    assert code_of(exc) == "ID_REGION_UNKNOWN"


@pytest.mark.parametrize(
    ("id_type", "text", "normal"),
    [
        (IdType.RESIDENT_ID, "11010519491231002x", "11010519491231002X"),
        (IdType.PASSPORT_CN, " e12345678 ", "E12345678"),
        (IdType.PASSPORT_CN, "EA1234567", "EA1234567"),
        (IdType.PASSPORT_CN, "G12345678", "G12345678"),
        (IdType.PASSPORT_CN, "141234567", "141234567"),
        (IdType.HK_MACAO_PERMIT, "H12345678", "H12345678"),
        (IdType.HK_MACAO_PERMIT, "m1234567801", "M1234567801"),
        (IdType.TAIWAN_PERMIT, "12345678", "12345678"),
        (IdType.TAIWAN_PERMIT, "1234567801", "1234567801"),
        (IdType.FOREIGN_PERMANENT_RESIDENCE, "usa110180101011", "USA110180101011"),
        (IdType.FOREIGN_PERMANENT_RESIDENCE, make("91184019800101001"), make("91184019800101001")),
        ("passport_cn", "E-1234-5678", "E12345678"),
    ],
)
def test_validate_id_accepts_and_normalises(id_type: IdType | str, text: str, normal: str) -> None:
    assert validate_id(id_type, text, today=TODAY) == normal


def test_validate_foreign_passport_needs_nationality() -> None:
    assert validate_id(IdType.PASSPORT_FOREIGN, "x1234567", nationality="usa") == "X1234567"
    assert validate_id(IdType.PASSPORT_FOREIGN, "C01X00T47", nationality="D") == "C01X00T47"
    for bad in (None, "", "US", "U5A", "USAA"):
        with pytest.raises(InvalidInput) as exc:
            validate_id(IdType.PASSPORT_FOREIGN, "X1234567", nationality=bad)
        assert code_of(exc) == "ID_NATIONALITY"


@pytest.mark.parametrize(
    ("id_type", "text", "code"),
    [
        (IdType.PASSPORT_CN, "E1234567", "ID_FORMAT"),
        (IdType.PASSPORT_CN, "EI1234567", "ID_FORMAT"),  # no I or O after E
        (IdType.PASSPORT_CN, "X12345678", "ID_FORMAT"),
        (IdType.HK_MACAO_PERMIT, "K12345678", "ID_FORMAT"),
        (IdType.HK_MACAO_PERMIT, "H123456789", "ID_FORMAT"),
        (IdType.TAIWAN_PERMIT, "1234567", "ID_FORMAT"),
        (IdType.TAIWAN_PERMIT, "A1234567", "ID_FORMAT"),
        (IdType.FOREIGN_PERMANENT_RESIDENCE, "US1101801010111", "ID_FORMAT"),
        (IdType.FOREIGN_PERMANENT_RESIDENCE, make("81184019800101001"), "ID_FORMAT"),
        (IdType.FOREIGN_PERMANENT_RESIDENCE, "911840198001010011", "ID_CHECK_DIGIT"),
        (IdType.RESIDENT_ID, "110105491231002", "ID_LENGTH"),
        (IdType.HMT_RESIDENCE_PERMIT, "11010519491231002X", "ID_REGION_UNKNOWN"),
        ("driving_licence", "123", "ID_TYPE_UNKNOWN"),
    ],
)
def test_validate_id_errors(id_type: IdType | str, text: str, code: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_id(id_type, text, nationality="USA", today=TODAY)
    assert code_of(exc) == code


def test_foreign_passport_length_bounds() -> None:
    assert validate_id(IdType.PASSPORT_FOREIGN, "A" * 20, nationality="GBR") == "A" * 20
    for bad in ("A" * 4, "A" * 21, "AB_123"):
        with pytest.raises(InvalidInput) as exc:
            validate_id(IdType.PASSPORT_FOREIGN, bad, nationality="GBR")
        assert code_of(exc) == "ID_FORMAT"


# --- pseudonyms ----------------------------------------------------------------------------


def test_pseudonym_is_stable_hex_and_matches_the_documented_encoding() -> None:
    import hashlib
    import hmac
    import struct

    def field(s: str) -> bytes:
        return struct.pack(">I", len(s.encode())) + s.encode()

    msg = (
        b"healthcode/pseudonym/v1" + field("resident_id") + field("") + field("11010519491231002X")
    )
    expected = hmac.new(KEY, msg, hashlib.sha256).hexdigest()
    got = pseudonym(KEY, IdType.RESIDENT_ID, "11010519491231002x", today=TODAY)
    assert got == expected
    assert len(got) == 64 and got == got.lower()
    assert Pseudonymiser(key=KEY).pseudonym("resident_id", "11010519491231002X") == got


def test_pseudonym_separates_keys_types_and_nationalities() -> None:
    a = pseudonym(KEY, IdType.TAIWAN_PERMIT, "12345678")
    assert a != pseudonym(b"\x01" + KEY[1:], IdType.TAIWAN_PERMIT, "12345678")
    assert a != pseudonym(KEY, IdType.PASSPORT_FOREIGN, "12345678", nationality="USA")
    usa = pseudonym(KEY, IdType.PASSPORT_FOREIGN, "12345678", nationality="USA")
    assert usa != pseudonym(KEY, IdType.PASSPORT_FOREIGN, "12345678", nationality="CAN")
    assert usa == pseudonym(KEY, IdType.PASSPORT_FOREIGN, "12345678", nationality="usa")


def test_pseudonym_key_length() -> None:
    for bad in (b"", b"k" * 31, "k" * 32):
        with pytest.raises(InvalidInput) as exc:
            pseudonym(bad, IdType.TAIWAN_PERMIT, "12345678")  # type: ignore[arg-type]
        assert code_of(exc) == "PSEUDONYM_KEY_TOO_SHORT"
    p = Pseudonymiser(key=b"s" * 40)
    assert "sss" not in repr(p)


def test_pseudonym_validates_the_number() -> None:
    with pytest.raises(InvalidInput) as exc:
        pseudonym(KEY, IdType.RESIDENT_ID, "110105194912310021")
    assert code_of(exc) == "ID_CHECK_DIGIT"


# --- masking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三丰", "张*丰"),
        ("张三", "张*"),
        ("张", "张"),
        ("欧阳娜娜", "欧**娜"),
        ("John Smith", "J*** S****"),
        ("Jean-Luc Picard", "J***-L** P*****"),
        ("阿卜杜拉·艾买提", "阿**拉·艾*提"),
        (" 李四 ", "李*"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_name_empty() -> None:
    with pytest.raises(InvalidInput) as exc:
        mask_name("  ")
    assert code_of(exc) == "NAME_EMPTY"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("440106199003071234", "4401**********1234"),
        ("11010519491231002x", "1101**********002X"),
        ("E12345678", "E1*****78"),
        ("H1234567801", "H1*******01"),
        ("12345678", "1******8"),
        ("USA110180101011", "USA1*******1011"),
        ("1234", "****"),
    ],
)
def test_mask_id(number: str, masked: str) -> None:
    assert mask_id(number) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("+8613812345678", "+86 138****5678"),
        ("008613812345678", "+86 138****5678"),
        ("010-12345678", "*******5678"),
        ("+1 (415) 555-0100", "+*******0100"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("phone", ["", "12345", "abc12345678", "+" + "1" * 16])
def test_mask_phone_errors(phone: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        mask_phone(phone)
    assert code_of(exc) == "PHONE_FORMAT"


# --- check_id / pseudonym_of: one check per number ------------------------------------------


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_digit_agrees_with_the_weighted_sum_of_gb_11643(body: str) -> None:
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    total = sum(int(c) * w for c, w in zip(body, weights, strict=True))
    assert check_digit(body) == "10X98765432"[total % 11]


@pytest.mark.parametrize(
    ("id_type", "number", "nationality"),
    [
        ("resident_id", " 11010519491231002x ", None),
        ("hmt_residence_permit", "830000199001010020", None),
        ("passport_cn", "e1234-5678", None),
        ("passport_foreign", "x 1234567", " usa"),
        ("hk_macao_permit", "h1234567801", None),
        ("taiwan_permit", "12345678", None),
        ("foreign_permanent_residence", "abc123456789012", None),
    ],
)
def test_check_id_then_pseudonym_of_equals_pseudonym(
    id_type: str, number: str, nationality: str | None
) -> None:
    if id_type == "hmt_residence_permit":
        number = number[:17] + check_digit(number[:17])
    p = Pseudonymiser(key=bytes(range(32)))
    valid = identity.check_id(id_type, number, nationality=nationality, today=TODAY)
    assert valid.number == validate_id(id_type, number, nationality=nationality, today=TODAY)
    assert p.pseudonym_of(valid) == p.pseudonym(
        id_type, number, nationality=nationality, today=TODAY
    )
    assert p.pseudonym_of(valid) == pseudonym(
        bytes(range(32)), id_type, number, nationality=nationality, today=TODAY
    )


def test_pseudonym_of_matches_the_documented_encoding() -> None:
    import hashlib
    import hmac
    import struct

    def field(v: str) -> bytes:
        return struct.pack(">I", len(v.encode())) + v.encode()

    key = bytes(range(32))
    valid = identity.check_id("passport_foreign", "X1234567", nationality="USA")
    message = b"healthcode/pseudonym/v1" + field("passport_foreign") + field("USA")
    message += field("X1234567")
    expected = hmac.new(key, message, hashlib.sha256).hexdigest()
    assert Pseudonymiser(key=key).pseudonym_of(valid) == expected


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("11010519491231002", "ID_LENGTH"),
        ("11010519491231002Y", "ID_FORMAT"),
        ("110105194912310021", "ID_CHECK_DIGIT"),
        ("81000019900101002", "ID_REGION_UNKNOWN"),
    ],
)
def test_check_id_refuses_with_the_codes_of_validate_id(number: str, code: str) -> None:
    if code == "ID_REGION_UNKNOWN":
        number += check_digit(number)
    with pytest.raises(InvalidInput) as exc:
        identity.check_id("resident_id", number, today=TODAY)
    assert exc.value.code == code


# -- fast paths against their definitions -------------------------------------------------------


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_char_is_the_weighted_sum_mod_11(body: str) -> None:
    weighted = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
    assert identity.check_digit(body) == "10X98765432"[weighted % 11]


@given(st.binary(min_size=32, max_size=200), st.text(max_size=40))
def test_pseudonym_is_hmac_sha256_of_the_documented_message(key: bytes, number: str) -> None:
    import hmac
    import struct

    def field(value: str) -> bytes:
        raw = value.encode("utf-8")
        return struct.pack(">I", len(raw)) + raw

    valid = identity.ValidId(identity.IdType.PASSPORT_FOREIGN, number, "USA")
    message = b"healthcode/pseudonym/v1" + field("passport_foreign") + field("USA") + field(number)
    expected = hmac.new(key, message, "sha256").hexdigest()
    assert identity.Pseudonymiser(key=key).pseudonym_of(valid) == expected


@given(st.sampled_from([t.value for t in identity.IdType]) | st.text(max_size=12))
def test_id_type_lookup_matches_the_enum(value: str) -> None:
    try:
        identity.IdType(value)
        known = True
    except ValueError:
        known = False
    try:
        identity.check_id(value, "E12345678", nationality="USA", today=date(2024, 1, 1))
        code = None
    except InvalidInput as exc:
        code = exc.code
    assert (code == "ID_TYPE_UNKNOWN") is (not known)


def test_public_surface() -> None:
    from types import ModuleType

    assert sorted(identity.__all__) == sorted(
        name
        for name, value in vars(identity).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    )
