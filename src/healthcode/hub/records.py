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
from datetime import datetime
from typing import Any, NamedTuple

from healthcode.core import facts, identity, regions
from healthcode.core.clock import CHINA_TZ, Clock, FixedClock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

__all__ = ["KINDS", "RECORD_ID_MAX", "ParsedRecord", "RecordParser", "record_json"]

RECORD_ID_MAX = 128
_ENVELOPE = {"record_id", "id_type", "id_number", "nationality", "name", "phone", "home_region"}
_PHONE_MAX = 32
_NAME_MAX = 100


#: One encoder for every record (``json.dumps`` with these options builds a new one a call).
_RECORD_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def record_json(normal: Mapping[str, Any]) -> str:
    """The canonical text of a normalised record, what its digest covers:
    ``json.dumps(normal, sort_keys=True, ensure_ascii=False)``. Stored digests were made with
    exactly this form (default separators, unlike the compact ``core.rules.canonical_json`` of
    signed documents), so that a retry of an earlier record still matches: it never changes."""
    return _RECORD_ENCODER.encode(normal)


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
    """A checked record."""

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
    digest: str  # keyed digest of the normalised record: a retry must match it

    def identity_fields(self) -> list[tuple[str, str]]:
        """The identity values to encrypt, each with its context (table, column and
        pseudonym): the ID number, and the name and phone when given."""
        fields = [(self.id_number, f"identities.id_number|{self.pseudonym}")]
        if self.name:
            fields.append((self.name, f"identities.name|{self.pseudonym}"))
        if self.phone:
            fields.append((self.phone, f"identities.phone|{self.pseudonym}"))
        return fields

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


def _text(raw: Mapping[str, Any], name: str, limit: int, *, required: bool = False) -> str | None:
    """The stripped text of field ``name``; None when absent or empty (FIELD_MISSING if
    ``required``). Raises InvalidInput FIELD_TYPE, FIELD_TOO_LONG."""
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput(ErrorCode.FIELD_MISSING, f"{name} is required", field=name)
        return None
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput(ErrorCode.FIELD_TYPE, f"{name} must be a non-empty string", field=name)
    if len(text) > limit:
        raise InvalidInput(ErrorCode.FIELD_TOO_LONG, f"{name} is longer than {limit}", field=name)
    return text


class _Envelope(NamedTuple):
    """Who a record is about, and its own id: the fields around the fact."""

    record_id: str
    id_type: str
    id_number: str
    nationality: str | None
    name: str | None
    phone: str | None
    home_region: str | None

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> _Envelope:
        record_id = _text(raw, "record_id", RECORD_ID_MAX, required=True)
        id_number = _text(raw, "id_number", 32, required=True)
        assert record_id is not None and id_number is not None
        return cls(
            record_id=record_id,
            id_type=_text(raw, "id_type", 32) or identity.IdType.RESIDENT_ID.value,
            id_number=id_number,
            nationality=_text(raw, "nationality", 3),
            name=_text(raw, "name", _NAME_MAX),
            phone=_text(raw, "phone", _PHONE_MAX),
            home_region=_text(raw, "home_region", 6),
        )


class RecordParser:
    """Checks raw records of one kind for one organisation; holds the pseudonym key."""

    def __init__(self, *, pseudonym_key: bytes, clock: Clock) -> None:
        self._pseudonymiser = identity.Pseudonymiser(key=pseudonym_key)
        digest_key = hashlib.sha256(b"healthcode/record-digest/v1" + pseudonym_key).digest()
        self._digest = identity.KeyedHmac(digest_key)
        self.clock = clock

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
        if not isinstance(raw, Mapping):
            raise InvalidInput(ErrorCode.RECORD_NOT_OBJECT, "a record is a JSON object")
        env = _Envelope.of(raw)
        if now is None:
            now = self.clock.now()
        # The ID number's "today" and the facts' "now" from one instant.
        today = now.astimezone(CHINA_TZ).date()
        valid = identity.check_id(
            env.id_type, env.id_number, nationality=env.nationality, today=today
        )
        home = _home_region(env.id_type, valid.number, env.home_region)
        body = {k: v for k, v in raw.items() if k not in _ENVELOPE}
        for key, value in defaults.items():
            body.setdefault(key, value)
        checked = spec.parse(body, clock=FixedClock(now))
        fact = checked.to_dict()
        normal = {
            "kind": kind,
            "record_id": env.record_id,
            "id_type": env.id_type,
            "id_number": valid.number,
            "nationality": env.nationality,
            "name": env.name,
            "phone": env.phone,
            "home_region": home,
            "fact": fact,
        }
        return ParsedRecord(
            kind=kind,
            record_id=env.record_id,
            id_type=env.id_type,
            id_number=valid.number,
            pseudonym=self._pseudonymiser.pseudonym_of(valid),
            name=env.name,
            phone=env.phone,
            home_region=home,
            # The fact's own datetime (UTC, whole milliseconds), not its text parsed back.
            occurred_at=getattr(checked, spec.occurred),
            fact=fact,
            digest=self._digest.hexdigest(record_json(normal).encode("utf-8")),
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
