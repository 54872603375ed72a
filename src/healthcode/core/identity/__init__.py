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
"""

from healthcode.core.identity.documents import CheckOptions, ValidId, check_id, validate_id
from healthcode.core.identity.kinds import IdType, Sex
from healthcode.core.identity.masking import mask_id, mask_name, mask_phone
from healthcode.core.identity.pseudonyms import MIN_KEY_BYTES, KeyedHmac, Pseudonymiser, pseudonym
from healthcode.core.identity.resident import (
    ResidentId,
    check_digit,
    parse_residence_permit,
    parse_resident_id,
    upgrade_15_to_18,
)

__all__ = [
    "MIN_KEY_BYTES",
    "CheckOptions",
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
