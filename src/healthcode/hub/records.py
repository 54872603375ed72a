"""One submitted record, checked and split into identity (encrypted apart) and fact (by pseudonym).

The JSON form of a record of every kind::

    {"record_id": "S-2022-000001",        # the department's own id: lab sample id, dose id, ...
     "id_type": "resident_id",            # optional, default resident_id (core.identity.IdType)
     "id_number": "440106199003071231",
     "nationality": "USA",                # foreign passports only
     "name": "张三", "phone": "13812345678",   # optional; encrypted at rest
     "home_region": "440106",             # optional routing hint when the ID carries no region
     ...the fields of the kind's fact (core.facts): e.g. sampled_at, result, lab for "nat"}

The fact fields are validated by ``core.facts`` (value sets, region codes, time sanity); the
identity by ``core.identity`` (check digit, region of the ID number, formats). The natural key
of a record is (organisation, kind, record_id): submitting it again is a no-op.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from healthcode.core import facts, identity, regions
from healthcode.core.clock import CHINA_TZ, Clock, FixedClock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.store.bulk import JsonText

__all__ = ["KINDS", "RECORD_ID_MAX", "ParsedRecord", "RecordParser"]

RECORD_ID_MAX = 128
_ENVELOPE = {"record_id", "id_type", "id_number", "nationality", "name", "phone", "home_region"}
_PHONE_MAX = 32
#: The canonical JSON of a normalised record (what its digest covers). One encoder, built once:
#: the same output as ``json.dumps(normal, sort_keys=True, ensure_ascii=False)``, which stored
#: digests were made with, so retries of earlier records still match.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
#: That encoder's C core, made once (``JSONEncoder.encode`` makes a new one on every call),
#: with the same arguments the encoder passes it, except no ``markers``: a normalised record is
#: built fresh by ``parse`` and holds no reference cycles. None without the C accelerator.
_C_CANONICAL = (
    None
    if json.encoder.c_make_encoder is None  # type: ignore[attr-defined]
    else json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None,
        _CANONICAL.default,
        json.encoder.encode_basestring,
        None,
        _CANONICAL.key_separator,
        _CANONICAL.item_separator,
        True,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
)

_NAME_MAX = 100


#: A JSON string literal of a text (non-ASCII kept), as the canonical encoder writes it.
_string = json.encoder.encode_basestring


def _opt(text: str | None) -> str:
    return "null" if text is None else _string(text)


def _canonical(normal: dict[str, Any]) -> str:
    """``_CANONICAL.encode(normal)``: the same text, through the encoder's C core made once."""
    if _C_CANONICAL is None:
        return _CANONICAL.encode(normal)
    return "".join(_C_CANONICAL(normal, 0))


@dataclass(frozen=True, slots=True)
class _Kind:
    parse: Callable[..., Any]
    occurred: str  # the fact field that dates the record (retention counts from it)


#: record kind -> the core.facts type that validates it and the field that dates it.
KINDS: dict[str, _Kind] = {
    "nat": _Kind(facts.NatResult.from_dict, "sampled_at"),
    "antibody": _Kind(facts.AntibodyResult.from_dict, "sampled_at"),
    "vaccination": _Kind(facts.Vaccination.from_dict, "administered_at"),
    "infection": _Kind(facts.InfectionRecord.from_dict, "reported_at"),
    "contact": _Kind(facts.ContactRecord.from_dict, "last_exposure_at"),
    "itinerary": _Kind(facts.ItineraryVisit.from_dict, "at"),
}


class ParsedRecord(NamedTuple):
    """A checked record (a named tuple: immutable, and several times cheaper to make than a
    frozen dataclass, once per record of every batch)."""

    kind: str
    record_id: str
    id_type: str
    id_number: str
    pseudonym: str
    name: str | None
    phone: str | None
    home_region: str | None  # from the ID number, else the record's hint
    occurred_at: datetime
    fact: dict[str, Any]
    fact_json: str  # ``fact`` as canonical JSON (sorted keys): stored as it is on PostgreSQL
    digest: str  # keyed digest of the normalised record: a retry must match it

    def feed_data(self, record_id: int) -> dict[str, Any]:
        """What a province receives: the fact by pseudonym, with masked identity."""
        return {
            "record": record_id,
            "kind": self.kind,
            "pseudonym": self.pseudonym,
            "id_type": self.id_type,
            "masked_id": identity.mask_id(self.id_number),
            "masked_name": identity.mask_name(self.name) if self.name else None,
            "fact": self.fact,
        }

    def feed_json(self, record_id: int) -> JsonText:
        """:meth:`feed_data` as JSON text, with the fact's JSON reused rather than encoded
        again (what a batch writes on PostgreSQL; tests compare it with ``feed_data``)."""
        name = _string(identity.mask_name(self.name)) if self.name else "null"
        return JsonText(
            f'{{"record": {int(record_id)}, "kind": {_string(self.kind)}, '
            f'"pseudonym": {_string(self.pseudonym)}, "id_type": {_string(self.id_type)}, '
            f'"masked_id": {_string(identity.mask_id(self.id_number))}, '
            f'"masked_name": {name}, "fact": {self.fact_json}}}'
        )


def _text(raw: Mapping[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = raw.get(name)
    if type(value) is str:  # the common case first: a non-blank string within the limit
        text = value.strip()
        if text and len(text) <= limit:
            return text
    if value is None or value == "":
        if required:
            raise InvalidInput(ErrorCode.FIELD_MISSING, f"{name} is required", field=name)
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(ErrorCode.FIELD_TYPE, f"{name} must be a non-empty string", field=name)
    if len(value.strip()) > limit:
        raise InvalidInput(ErrorCode.FIELD_TOO_LONG, f"{name} is longer than {limit}", field=name)
    return value.strip()


class RecordParser:
    """Checks raw records of one kind for one organisation; holds the pseudonym key."""

    def __init__(self, *, pseudonym_key: bytes, clock: Clock) -> None:
        self._pseudonymiser = identity.Pseudonymiser(key=pseudonym_key)
        digest_key = hashlib.sha256(b"healthcode/record-digest/v1" + pseudonym_key).digest()
        self._digest = identity.KeyedHmac(digest_key)
        self.clock = clock
        # (now, its date in China, a clock fixed at it) of the last instant given to parse:
        # a batch's records share one. One tuple, replaced whole: threads may share a parser.
        self._at: tuple[datetime, date, FixedClock] | None = None

    def parse(
        self,
        kind: str,
        raw: Any,
        *,
        defaults: Mapping[str, Any],
        now: datetime | None = None,
    ) -> ParsedRecord:
        """Check one record. ``defaults`` fill absent fact fields (a lab's name as ``lab``);
        ``now`` is when it was received (a batch's records share one; the clock's if None).

        Raises InvalidInput naming the field: RECORD_NOT_OBJECT, FIELD_*, ID_*, REGION_*,
        VALUE_*, TIME_*, and the other codes of core.facts and core.identity.
        """
        spec = KINDS.get(kind)
        if spec is None:
            raise InvalidInput(
                ErrorCode.RECORD_KIND_UNKNOWN, f"unknown record kind {kind!r}", field="kind"
            )
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise InvalidInput(ErrorCode.RECORD_NOT_OBJECT, "a record is a JSON object")
        record_id = _text(raw, "record_id", RECORD_ID_MAX, required=True)
        id_type = _text(raw, "id_type", 32, required=False) or identity.IdType.RESIDENT_ID.value
        id_number = _text(raw, "id_number", 32, required=True)
        # Absent optional fields (the common case) without a call each; _text for the rest.
        get = raw.get
        nationality = (
            None if get("nationality") is None else _text(raw, "nationality", 3, required=False)
        )
        name = None if get("name") is None else _text(raw, "name", _NAME_MAX, required=False)
        phone = None if get("phone") is None else _text(raw, "phone", _PHONE_MAX, required=False)
        hint = None if get("home_region") is None else _text(raw, "home_region", 6, required=False)
        assert record_id is not None and id_number is not None
        if now is None:
            now = self.clock.now()
        at = self._at
        if at is None or at[0] is not now:
            at = self._at = (now, now.astimezone(CHINA_TZ).date(), FixedClock(now))
        today = at[1]  # the ID number's "today" and the facts' "now" from one instant
        valid = identity.check_id(id_type, id_number, nationality=nationality, today=today)
        number = valid.number
        pseudonym = self._pseudonymiser.pseudonym_of(valid)
        home = _home_region(id_type, number, hint)
        body = {k: v for k, v in raw.items() if k not in _ENVELOPE}
        for key, value in defaults.items():
            body.setdefault(key, value)
        parsed = spec.parse(body, clock=at[2])
        fact = parsed.to_dict()
        # The fact's own datetime (UTC, whole milliseconds), not its text parsed back.
        occurred = getattr(parsed, spec.occurred)
        fact_json = _canonical(fact)
        # The canonical text of the normalised record, {envelope..., "fact": fact} with sorted
        # keys, as json.dumps(sort_keys=True, ensure_ascii=False) writes it: "fact" sorts first,
        # so the fact's own canonical text (kept for storage) is spliced in; the envelope's
        # fields (all text or None) follow in key order.
        text = (
            f'{{"fact": {fact_json}, "home_region": {_opt(home)}, '
            f'"id_number": {_string(number)}, "id_type": {_string(id_type)}, '
            f'"kind": {_string(kind)}, "name": {_opt(name)}, '
            f'"nationality": {_opt(nationality)}, "phone": {_opt(phone)}, '
            f'"record_id": {_string(record_id)}}}'
        )
        digest = self._digest.hexdigest(text.encode("utf-8"))
        return ParsedRecord(
            kind=kind,
            record_id=record_id,
            id_type=id_type,
            id_number=number,
            pseudonym=pseudonym,
            name=name,
            phone=phone,
            home_region=home,
            occurred_at=occurred,
            fact=fact,
            fact_json=fact_json,
            digest=digest,
        )


#: ID types whose number starts with the holder's region code.
_REGION_IN_NUMBER = frozenset(
    {identity.IdType.RESIDENT_ID.value, identity.IdType.HMT_RESIDENCE_PERMIT.value}
)


def _home_region(id_type: str, number: str, hint: str | None) -> str | None:
    if id_type in _REGION_IN_NUMBER:
        return number[:6]
    if hint is None:
        return None
    try:
        regions.lookup(hint)
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.message, field="home_region") from exc
    return hint
