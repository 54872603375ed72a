"""The kinds of identity document, and sex as a resident ID encodes it."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["IdType", "Sex"]


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
