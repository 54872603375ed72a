"""Plain words for a checkpoint worker, in Chinese and English: why a code is refused (one entry
per stable code the verifiers can raise), colours and kinds of certificate.

The stable code stays the machine's answer; these words are what a person at a gate reads.
``tests/core/verify/test_words.py`` fails when a code named in the verifier's modules (or a
checkpoint decision) has no words here, in either language.

>>> words(ErrorCode.CWT_EXPIRED, "en")
'The code has expired: ask for a fresh one.'
>>> colour_words("red", "zh")
'红码'
"""

from __future__ import annotations

from collections.abc import Mapping

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

__all__ = ["LANGS", "REFUSALS", "certificate_words", "check_lang", "colour_words", "words"]

#: The languages a worker may read: Chinese (the default) and English.
LANGS = ("zh", "en")
_E = ErrorCode
_READ = (
    "二维码无法识读，请重新扫描或换一个码",
    "The code cannot be read: scan again or ask for another.",
)
_FORGED = (
    "码未通过签名核验，可能被篡改或伪造，不予通行",
    "The code fails its signature check: it may be forged.",
)
_BROKEN = (
    "码的内容不完整或有误，请对方重新出示",
    "The code's content is incomplete or wrong: ask for it again.",
)
_ISSUER = (
    "签发机构不可信或其密钥已失效，不予通行",
    "The issuer is not trusted or its key is no longer valid.",
)
_LIST = (
    "本机状态清单不可用，请联网更新后再核验",
    "This checkpoint's status list cannot be used: update it online.",
)
_MATERIAL = (
    "本机核验资料有误，请联系管理员",
    "This checkpoint's verification data is faulty: call an operator.",
)
_VALUE = (
    "证书中的项目不在欧盟取值表内，不予通行",
    "An entry of the certificate is not in the EU value sets.",
)

#: Code -> (Chinese, English): the reason for a refusal in plain words.
REFUSALS: Mapping[ErrorCode, tuple[str, str]] = {
    _E.QR_UNREADABLE: _READ,
    _E.TEXT_NOT_UNICODE: _READ,
    _E.TEXT_TOO_LONG: _READ,
    _E.PREFIX_UNKNOWN: (
        "不是可识别的健康码或证书",
        "Not a health code or certificate this checkpoint knows.",
    ),
    _E.PREFIX_INVALID: (
        "不是可识别的健康码或证书",
        "Not a health code or certificate this checkpoint knows.",
    ),
    _E.BASE45_INVALID: _READ,
    _E.SHC_NUMERIC_INVALID: _READ,
    _E.SHC_CHUNK_MISSING: (
        "多段二维码缺少其中一段，请扫全",
        "A part of a multi-part code is missing: scan all.",
    ),
    _E.DECOMPRESS_FAILED: _READ,
    _E.COSE_MALFORMED: _READ,
    _E.JWS_MALFORMED: _READ,
    _E.KID_MISSING: _FORGED,
    _E.ALG_UNSUPPORTED: _FORGED,
    _E.SIGNATURE_INVALID: _FORGED,
    _E.KEY_NOT_IN_TRUST_LIST: _ISSUER,
    _E.KEY_REVOKED: ("签发密钥已被吊销，不予通行", "The issuer's key has been revoked."),
    _E.KEY_EXPIRED: _ISSUER,
    _E.KEY_NOT_YET_VALID: _ISSUER,
    _E.SHC_X5C_INVALID: _ISSUER,
    _E.KEY_USAGE_MISMATCH: (
        "签发方无权签发此类证书，不予通行",
        "The issuer may not sign this kind of certificate.",
    ),
    _E.CWT_EXPIRED: (
        "健康码已过期，请对方刷新后重新出示",
        "The code has expired: ask for a fresh one.",
    ),
    _E.CWT_NOT_YET_VALID: (
        "码的生效时间未到（或本机时钟有误）",
        "The code is not valid yet (or this clock is wrong).",
    ),
    _E.CWT_MALFORMED: _BROKEN,
    _E.CWT_OUTSIDE_SIGNER_VALIDITY: _ISSUER,
    _E.ISSUER_MISMATCH: _FORGED,
    _E.ISSUER_COUNTRY_MISMATCH: _FORGED,
    _E.SHC_ISSUER_MISMATCH: _FORGED,
    _E.SIGNER_RETIRED: _ISSUER,
    _E.PAYLOAD_INVALID: _BROKEN,
    _E.PAYLOAD_VERSION_UNKNOWN: (
        "码的版本过新，请更新本机软件",
        "The code's version is newer than this software.",
    ),
    _E.SCHEMA_INVALID: _BROKEN,
    _E.SCHEMA_UNAVAILABLE: _MATERIAL,
    _E.VALUE_SET_DISEASE_UNKNOWN: _VALUE,
    _E.VALUE_SET_VACCINE_UNKNOWN: _VALUE,
    _E.VALUE_SET_PRODUCT_UNKNOWN: _VALUE,
    _E.VALUE_SET_MANUFACTURER_UNKNOWN: _VALUE,
    _E.VALUE_SET_TEST_TYPE_UNKNOWN: _VALUE,
    _E.VALUE_SET_TEST_DEVICE_UNKNOWN: _VALUE,
    _E.VALUE_SET_TEST_RESULT_UNKNOWN: _VALUE,
    _E.VALUE_SET_COUNTRY_UNKNOWN: _VALUE,
    _E.VALUE_SETS_UNAVAILABLE: _MATERIAL,
    _E.CODE_REVOKED: ("此码已被签发机构撤销，不予通行", "The issuer has revoked this code."),
    _E.DCC_REVOKED: ("此证书已被撤销，不予通行", "This certificate has been revoked."),
    _E.REVOKED: ("此证书已被撤销，不予通行", "This certificate has been revoked."),
    _E.REVOCATION_UNAVAILABLE: _MATERIAL,
    _E.CODE_SUPERSEDED: (
        "持码人的健康码颜色已变更，此码作废，请出示最新的码",
        "The holder's colour has changed since: this code is void, ask for the current one.",
    ),
    _E.STATUS_LIST_MISSING: _LIST,
    _E.STATUS_LIST_STALE: _LIST,
    _E.STATUS_LIST_INVALID: _LIST,
    _E.STATUS_LIST_SIGNER_INVALID: _LIST,
    _E.STATUS_INDEX_OUT_OF_RANGE: _BROKEN,
    _E.RULE_FAILED: (
        "不符合本处的通行要求",
        "The code does not meet this checkpoint's entry rules.",
    ),
    _E.RULES_FAILED: (
        "不符合入境地的通行规则",
        "The certificate does not meet the destination's rules.",
    ),
    _E.RULE_ERROR: _MATERIAL,
    _E.STAGE_FAULT: ("此码无法核验，不予通行", "This code cannot be verified: it is refused."),
    _E.CODE_RED: ("红码：不予通行，请按防疫要求处置", "Red code: stop; follow the health rules."),
    _E.CODE_YELLOW: ("黄码：不予通行，请先核酸检测", "Yellow code: stop; a test is needed first."),
    # trust material a checkpoint loads (a refusal of the material, not of the person)
    _E.CERT_MALFORMED: _MATERIAL,
    _E.CRL_INVALID: _MATERIAL,
    _E.DSC_INVALID: _MATERIAL,
    _E.JWKS_INVALID: _MATERIAL,
    _E.TRUST_LIST_INVALID: _MATERIAL,
    _E.SHC_DIRECTORY_INVALID: _MATERIAL,
    _E.DCC_REVOCATION_LIST_INVALID: _MATERIAL,
    _E.HUB_UNREACHABLE: (
        "无法连接国家平台，按离线结果处理",
        "The national hub cannot be reached: offline result.",
    ),
    _E.STATUS_UNKNOWN: (
        "国家平台无此码的状态，按离线结果处理",
        "The hub knows no status of this code: offline result.",
    ),
    _E.TRUST_LIST_MISSING: _MATERIAL,
    _E.ENVELOPE_ROLLBACK: _MATERIAL,
}
_BY_NAME = {code.value: code for code in ErrorCode}

_COLOURS = {
    "green": ("绿码", "green code"),
    "yellow": ("黄码", "yellow code"),
    "red": ("红码", "red code"),
}
_CERTIFICATES = {
    ("native", "full"): ("健康码", "health code"),
    ("native", "light"): ("简版健康码（不含身份信息）", "light health code (no identity)"),
    ("dcc", "v"): ("欧盟数字新冠证书：疫苗接种", "EU Digital COVID Certificate: vaccination"),
    ("dcc", "t"): ("欧盟数字新冠证书：检测", "EU Digital COVID Certificate: test"),
    ("dcc", "r"): ("欧盟数字新冠证书：康复", "EU Digital COVID Certificate: recovery"),
    ("dcc", None): ("欧盟数字新冠证书", "EU Digital COVID Certificate"),
    ("shc", None): ("SMART 健康卡", "SMART Health Card"),
}
_UNKNOWN = ("未知的码", "unknown code")


def check_lang(lang: str) -> str:
    """``lang`` when it is ``zh`` or ``en``; raises InvalidInput ``LANG_UNKNOWN`` otherwise."""
    if lang not in LANGS:
        raise InvalidInput(ErrorCode.LANG_UNKNOWN, f"lang is zh or en, not {lang!r}", field="lang")
    return lang


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[LANGS.index(check_lang(lang))]


def words(code: str | None, lang: str) -> str | None:
    """The plain words of a refusal code (its catalogue meaning if it has none); None for none."""
    if code is None:
        return None
    known = _BY_NAME.get(str(code))
    if known is None:
        return str(code)
    entry = REFUSALS.get(known)
    return known.meaning if entry is None else _pick(entry, lang)


def colour_words(colour: str | None, lang: str) -> str | None:
    """``绿码`` / ``green code`` ...; None for no colour."""
    return _pick(_COLOURS[colour], lang) if colour in _COLOURS else None


def certificate_words(fmt: str, kind: str | None, lang: str) -> str:
    """The kind of certificate in words: a (light) health code, a DCC of a kind, a card."""
    entry = _CERTIFICATES.get((fmt, kind)) or _CERTIFICATES.get((fmt, None)) or _UNKNOWN
    return _pick(entry, lang)
