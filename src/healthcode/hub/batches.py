"""The checks of a submitted batch, before anything is stored: all records valid, a size within
bounds, no natural key twice with different content, none stored before with other content.

A rejected batch names every wrong record by where it was in the request (``Located.where``:
``{"index": 3}`` in a JSON array, ``{"line": 4}`` in NDJSON or CSV, ``{"entry": 2}`` in a FHIR
Bundle), with its field and code, at most ``MAX_ERRORS_LISTED`` of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub.orgs import Principal
from healthcode.hub.records import ParsedRecord, RecordParser
from healthcode.hub.records_fast import NatFastPath

__all__ = [
    "MAX_ERRORS_LISTED",
    "Located",
    "check_digests",
    "check_size",
    "first_of_keys",
    "parse_batch",
    "position",
    "refused",
]

#: A rejected batch lists at most this many wrong records (and says how many there were).
MAX_ERRORS_LISTED = 1000


@dataclass(frozen=True, slots=True)
class Located:
    """A raw record and where it was in the request: ``{"index": 3}`` or ``{"line": 4}``."""

    where: dict[str, int]
    raw: Any


def position(entry: dict[str, Any]) -> tuple[int, ...]:
    """The sort key of a located answer or error: request order."""
    return tuple(int(entry.get(k, 0)) for k in ("entry", "index", "line"))


def check_size(count: int, batch_max: int) -> None:
    """Raises InvalidInput BATCH_EMPTY, BATCH_TOO_LARGE."""
    if not count:
        raise InvalidInput(ErrorCode.BATCH_EMPTY, "the request holds no records")
    if count > batch_max:
        raise InvalidInput(
            ErrorCode.BATCH_TOO_LARGE,
            f"{count} records; at most {batch_max} a request",
            limit=batch_max,
        )


def refused(rejected: int, total: int, errors: list[dict[str, Any]]) -> InvalidInput:
    """The BATCH_INVALID error of a batch with ``rejected`` wrong records of ``total``."""
    return InvalidInput(
        ErrorCode.BATCH_INVALID,
        f"{rejected} of {total} records are invalid; nothing was stored",
        rejected=rejected,
        errors=errors[:MAX_ERRORS_LISTED],
    )


def parse_batch(
    parser: RecordParser,
    principal: Principal,
    kind: str,
    items: Sequence[Located],
    *,
    now: datetime,
    single: bool,
    fast_nat: NatFastPath | None = None,
) -> list[ParsedRecord]:
    """Every record of ``items`` checked, received at ``now`` (a lab's name is the default
    ``lab`` of its test results). Raises BATCH_INVALID listing every wrong record; for
    ``single``, the record's own error.

    NAT results of the common shape are checked by ``fast_nat`` (``hub/records_fast.py``)
    when given; every other record, and every record with an error, by ``parser``."""
    defaults = {"lab": principal.name} if kind in ("nat", "antibody") else {}
    fast: Sequence[ParsedRecord | None] = [None] * len(items)
    if kind == "nat" and fast_nat is not None:
        fast = fast_nat.parse_many([item.raw for item in items], lab=principal.name, now=now)
    parsed: list[ParsedRecord] = []
    errors: list[dict[str, Any]] = []
    rejected = 0
    for item, checked in zip(items, fast, strict=True):
        if checked is not None:
            parsed.append(checked)
            continue
        try:
            parsed.append(parser.parse(kind, item.raw, defaults=defaults, now=now))
        except InvalidInput as exc:
            if single:
                raise
            rejected += 1
            if len(errors) < MAX_ERRORS_LISTED:
                errors.append({**item.where, **exc.to_dict()})
    if rejected:
        raise refused(rejected, len(items), errors)
    return parsed


def first_of_keys(parsed: Sequence[ParsedRecord], items: Sequence[Located]) -> list[int]:
    """For each record, the index of the first record in the batch with its natural key.

    Raises InvalidInput DUPLICATE_IN_BATCH for a key sent twice with different content.
    """
    first: dict[str, int] = {}
    out: list[int] = []
    for i, p in enumerate(parsed):
        j = first.setdefault(p.record_id, i)
        if parsed[j].digest != p.digest:
            raise InvalidInput(
                ErrorCode.DUPLICATE_IN_BATCH,
                f"record_id {p.record_id!r} appears twice with different content",
                field="record_id",
                **items[i].where,
            )
        out.append(j)
    return out


def check_digests(
    parsed: Iterable[ParsedRecord],
    items: Sequence[Located],
    stored: dict[str, tuple[int, str]],
) -> None:
    """A natural key stored before (``stored``: its id and digest) must come back with the same
    content. Raises InvalidInput NATURAL_KEY_CONFLICT for the first that does not, in batch
    order."""
    for p, item in zip(parsed, items, strict=True):
        earlier = stored.get(p.record_id)
        if earlier is not None and earlier[1] != p.digest:
            raise InvalidInput(
                ErrorCode.NATURAL_KEY_CONFLICT,
                f"record_id {p.record_id!r} was stored before with different content",
                field="record_id",
                record=earlier[0],
                **item.where,
            )
