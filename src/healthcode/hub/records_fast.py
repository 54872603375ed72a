"""The common NAT result of a batch checked in one straight pass: a fast path beside
``RecordParser.parse`` (``hub/records.py``), which stays the reference and the only source of
errors.

A lab's upload is thousands of records of one shape: a resident ID number, a name, a phone,
two times, a result. For each record of that shape, :class:`NatFastPath` gives exactly the
``ParsedRecord`` the reference gives (same fields, same fact, same pseudonym, same digest)
without its general machinery (a ``Fields`` reader, a frozen dataclass and its ``to_dict``, a
``ValidId``, the JSON encoder): the checks are written out once for this kind, work that
depends on a value shared by many records (a county's region code, a birth date) is done once
a batch, and the canonical text of the digest is laid out by a template.

Anything else answers ``None``, and the caller asks the reference: a record of another shape
(another ID type, a nationality or ``home_region``, a value of an unexpected type or with
surrounding spaces to trim to nothing, a time before year 1000), and every record with an
error. So an error is always the reference's own, with its code, field and message.
``tests/hub/test_records_fast.py`` keeps the two equal (hypothesis).

>>> from datetime import UTC, datetime
>>> fast = NatFastPath(pseudonym_key=bytes(32))
>>> now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
>>> [p.fact["sampled_at"] for p in fast.parse_many([{"record_id": "S-1",
...     "id_number": "11010519491231002X", "sampled_at": "2026-12-01T08:00:00+08:00",
...     "result": "negative"}], lab="GZ-LAB-01", now=now)]
['2026-12-01T00:00:00.000Z']
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from healthcode.core.clock import CHINA_TZ
from healthcode.core.errors import InvalidInput
from healthcode.core.facts import vocabulary as vocab
from healthcode.core.identity import IdType
from healthcode.core.identity.resident import BODY18 as _BODY18
from healthcode.core.identity.resident import check_birth_date, check_region
from healthcode.hub.fields import time_field
from healthcode.hub.records import RECORD_ID_MAX, ParsedRecord

__all__ = ["NatFastPath"]

_ID = IdType.RESIDENT_ID
_RESIDENT = _ID.value
_NAME_MAX = 100
_PHONE_MAX = 32
_CHECK_CHARS = "10X98765432"
_RESULTS = frozenset(vocab.TEST_RESULTS)
_SAMPLE_TYPES = frozenset(vocab.NAT_SAMPLE_TYPES)
_POOLINGS = frozenset(vocab.NAT_POOLING)
#: The envelope fields this path reads; any other envelope field present sends the record to
#: the reference (``id_type`` other than resident ID, ``nationality``, ``home_region``).
_ABSENT = ("nationality", "home_region")
#: ``json.dumps(normal, sort_keys=True, ensure_ascii=False)`` of a NAT record of a resident
#: ID, laid out (``record_json`` in ``hub/records.py``; the test compares every byte).
_CANONICAL = (
    '{"fact": {"lab": %s, "pool_size": %d, "pooling": %s, "result": %s, "resulted_at": %s, '
    '"sample_type": %s, "sampled_at": "%s"}, "home_region": "%s", "id_number": "%s", '
    '"id_type": "resident_id", "kind": "nat", "name": %s, "nationality": null, '
    '"phone": %s, "record_id": %s}'
)


def _digit_ok(number: str) -> bool:
    """The ISO 7064 MOD 11-2 check character of a 17-digit body, as ``2 * int(body, 13) % 11``
    (13 = 2 mod 11: the same weighted sum as ``core.identity.check_digit``)."""
    return _CHECK_CHARS[2 * int(number[:17], 13) % 11] == number[17]


def _optional(value: Any, limit: int) -> tuple[bool, str | None]:
    """(fits, text) of an optional envelope text: absent or empty is None; a string is
    stripped; anything else does not fit this path."""
    if value is None or value == "":
        return True, None
    if type(value) is not str:
        return False, None
    text = value.strip()
    return bool(text) and len(text) <= limit, text


def _instant(raw: Any, name: str) -> datetime | None:
    """``Fields.time`` of field ``name`` of ``raw`` (the hub's one time parser, UTC, whole
    milliseconds); None for what this path leaves to the reference."""
    try:
        value = time_field(raw, name, required=True)
    except InvalidInput:
        return None
    assert value is not None  # required: absent or null raises
    value = value.astimezone(UTC)
    value = value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value if value.year >= 1000 else None  # strftime and isoformat agree from 1000 on


def _text_of(value: datetime) -> str:
    """``format_instant`` of a UTC instant of year 1000 or later."""
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


class NatFastPath:
    """Checks the NAT results of one batch (see the module's docstring); holds the keys of
    the pseudonym and of the record digest, as ``RecordParser`` does."""

    def __init__(self, *, pseudonym_key: bytes) -> None:
        number_field = struct.pack(">I", 18)
        prefix = b"healthcode/pseudonym/v1" + struct.pack(">I", len(_RESIDENT))
        prefix += _RESIDENT.encode() + struct.pack(">I", 0) + number_field
        self._pseudonym = hmac.new(bytes(pseudonym_key), prefix, hashlib.sha256)
        digest_key = hashlib.sha256(b"healthcode/record-digest/v1" + pseudonym_key).digest()
        self._digest = hmac.new(digest_key, None, hashlib.sha256)

    def parse_many(
        self, raws: Sequence[Any], *, lab: str | None, now: datetime
    ) -> list[ParsedRecord | None]:
        """Each of ``raws`` (NAT results received at ``now``, ``lab`` the default lab) as
        ``RecordParser.parse("nat", raw, defaults={"lab": lab}, now=now)`` gives it, or None
        where the reference must decide (another shape, or an error)."""
        batch = _Batch(now)
        return [self._one(raw, lab, batch) for raw in raws]

    def _one(self, raw: Any, lab: str | None, batch: _Batch) -> ParsedRecord | None:
        if type(raw) is not dict or raw.get("id_type") not in (None, "", _RESIDENT):
            return None
        if any(raw.get(name) not in (None, "") for name in _ABSENT):
            return None
        record_id, number = raw.get("record_id"), raw.get("id_number")
        if type(record_id) is not str or type(number) is not str:
            return None
        record_id, number = record_id.strip(), number.strip().upper()
        if not record_id or len(record_id) > RECORD_ID_MAX or not batch.valid_id(number):
            return None
        fits_name, name = _optional(raw.get("name"), _NAME_MAX)
        fits_phone, phone = _optional(raw.get("phone"), _PHONE_MAX)
        checked = _nat_fact(raw, lab, batch) if fits_name and fits_phone else None
        if checked is None:
            return None
        sampled, fact = checked
        canonical = _CANONICAL % (
            encode_basestring(fact["lab"]),
            fact["pool_size"],
            encode_basestring(fact["pooling"]),
            encode_basestring(fact["result"]),
            _json_text(fact["resulted_at"]),
            encode_basestring(fact["sample_type"]),
            fact["sampled_at"],
            number[:6],
            number,
            _json_text(name),
            _json_text(phone),
            encode_basestring(record_id),
        )
        return ParsedRecord(
            kind="nat",
            record_id=record_id,
            id_type=_RESIDENT,
            id_number=number,
            pseudonym=_hexdigest(self._pseudonym, number.encode()),
            name=name,
            phone=phone,
            home_region=number[:6],
            occurred_at=sampled,
            fact=fact,
            digest=_hexdigest(self._digest, canonical.encode("utf-8")),
        )


def _json_text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _hexdigest(keyed: Any, message: bytes) -> str:
    """HMAC-SHA256 of ``message`` under a keyed state (copied: the state stays as it was)."""
    mac = keyed.copy()
    mac.update(message)
    return str(mac.hexdigest())


def _nat_fact(
    raw: dict[str, Any], lab: str | None, batch: _Batch
) -> tuple[datetime, dict[str, Any]] | None:
    """``NatResult.read`` and ``to_dict`` of a record: (sample time, fact), or None."""
    sampled = _instant(raw, "sampled_at")
    result = raw.get("result")
    lab = raw.get("lab", lab)
    sample_type = raw.get("sample_type", "oropharyngeal")
    pooling = raw.get("pooling", "single")
    if (
        sampled is None
        or sampled > batch.latest
        or type(result) is not str
        or result not in _RESULTS
        or type(lab) is not str
        or type(sample_type) is not str
        or sample_type not in _SAMPLE_TYPES
        or type(pooling) is not str
        or pooling not in _POOLINGS
    ):
        return None
    lab = lab.strip()
    pool_size: Any = 1
    if pooling == "pooled":
        pool_size = raw.get("pool_size")
        if type(pool_size) is not int or not 2 <= pool_size <= vocab.MAX_POOL_SIZE:
            return None
    resulted_text = None
    if raw.get("resulted_at") is not None:
        resulted = _instant(raw, "resulted_at")
        if resulted is None or resulted > batch.latest or resulted < sampled:
            return None
        resulted_text = _text_of(resulted)
    if not lab:
        return None
    return sampled, {
        "sampled_at": _text_of(sampled),
        "result": result,
        "lab": lab,
        "sample_type": sample_type,
        "pooling": pooling,
        "pool_size": pool_size,
        "resulted_at": resulted_text,
    }


class _Batch:
    """What the records of one batch share: the instant they were received, and the checks of
    region codes and birth dates already made (many records share them)."""

    def __init__(self, now: datetime) -> None:
        self.latest = now + vocab.MAX_CLOCK_SKEW
        self.today = now.astimezone(CHINA_TZ).date()
        self._regions: dict[str, bool] = {}
        self._births: dict[str, bool] = {}

    def valid_id(self, number: str) -> bool:
        """Whether ``number`` (stripped, upper-case) passes ``check18`` as a resident ID."""
        if len(number) != 18 or not _BODY18.fullmatch(number) or not _digit_ok(number):
            return False
        region = self._regions.get(number[:6])
        if region is None:
            region = self._regions[number[:6]] = _passes(check_region, number[:6], _ID)
        born = self._births.get(number[6:14])
        if born is None:
            born = self._births[number[6:14]] = _passes(check_birth_date, number, self.today)
        return region and born


def _passes(check: Any, *args: Any) -> bool:
    try:
        check(*args)
    except InvalidInput:
        return False
    return True
