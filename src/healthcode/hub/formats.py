"""Request bodies to records: JSON arrays, NDJSON and CSV files (UTF-8 with or without BOM, GBK).

CSV columns (header row required, any order, unknown columns refused): the record envelope
``record_id, id_type, id_number, nationality, name, phone, home_region`` and the fields of the
kind's fact (see ``CSV_COLUMNS``). An empty cell is an absent value. Line numbers count the
header as line 1.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub.batches import MAX_ERRORS_LISTED, Located

__all__ = ["CSV_COLUMNS", "decode_text", "parse_csv", "parse_json_array", "parse_ndjson"]

_ENVELOPE = ("record_id", "id_type", "id_number", "nationality", "name", "phone", "home_region")
#: The documented columns of each kind's CSV file.
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "nat": (
        *_ENVELOPE,
        "sampled_at",
        "result",
        "lab",
        "sample_type",
        "pooling",
        "pool_size",
        "resulted_at",
    ),
    "antibody": (*_ENVELOPE, "sampled_at", "kind", "result", "lab"),
    "vaccination": (*_ENVELOPE, "product", "dose", "administered_at", "site"),
    "infection": (*_ENVELOPE, "status", "reported_at", "onset_at", "released_at", "case_id"),
    "contact": (*_ENVELOPE, "kind", "last_exposure_at", "identified_at", "source_case"),
    "itinerary": (*_ENVELOPE, "region_code", "at", "source"),
}
_INT_COLUMNS = frozenset({"dose", "pool_size"})


def decode_text(raw: bytes) -> str:
    """UTF-8 (a BOM is dropped), else GBK (read as GB 18030, its superset).

    Raises InvalidInput ENCODING_UNSUPPORTED.
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            ErrorCode.ENCODING_UNSUPPORTED, "the file is neither UTF-8 nor GBK", byte=exc.start
        ) from exc


def parse_json_array(raw: bytes) -> list[Located]:
    """Raises InvalidInput JSON_INVALID, BATCH_NOT_ARRAY."""
    try:
        value = json.loads(decode_text(raw))
    except json.JSONDecodeError as exc:
        raise InvalidInput(ErrorCode.JSON_INVALID, f"not JSON: {exc.msg}", line=exc.lineno) from exc
    if not isinstance(value, list):
        raise InvalidInput(ErrorCode.BATCH_NOT_ARRAY, "a batch is a JSON array of records")
    return [Located({"index": i}, item) for i, item in enumerate(value)]


def parse_ndjson(raw: bytes) -> list[Located]:
    """One JSON object a line; blank lines are skipped. Raises InvalidInput BATCH_INVALID
    listing every line that is not JSON (code JSON_INVALID)."""
    items: list[Located] = []
    errors: list[dict[str, Any]] = []
    for number, line in enumerate(decode_text(raw).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(Located({"line": number}, json.loads(line)))
        except json.JSONDecodeError as exc:
            errors.append({"line": number, "code": ErrorCode.JSON_INVALID, "message": exc.msg})
    if errors:
        raise _malformed(errors, "lines are not JSON")
    return items


def parse_csv(kind: str, raw: bytes) -> list[Located]:
    """Raises InvalidInput CSV_HEADER (missing, duplicate or unknown columns), BATCH_INVALID
    (cells that do not parse, e.g. a dose that is not a number), ENCODING_UNSUPPORTED."""
    reader = csv.reader(io.StringIO(decode_text(raw), newline=""))
    header = _header(reader, CSV_COLUMNS[kind])
    items: list[Located] = []
    errors: list[dict[str, Any]] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            message = f"{len(row)} cells, the header has {len(header)}"
            errors.append({"line": line, "code": ErrorCode.CSV_ROW_WIDTH, "message": message})
            continue
        items.append(Located({"line": line}, _record(header, row, line, errors)))
    if errors:
        raise _malformed(errors, "rows are malformed")
    return items


def _header(reader: Iterator[list[str]], allowed: tuple[str, ...]) -> list[str]:
    """The column names. Raises InvalidInput CSV_HEADER."""
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InvalidInput(ErrorCode.CSV_HEADER, "the file has no header row", line=1) from None
    unknown = [h for h in header if h not in allowed]
    if unknown or len(set(header)) != len(header):
        raise InvalidInput(
            ErrorCode.CSV_HEADER,
            f"unknown or repeated columns: {', '.join(unknown) or 'repeated'}; "
            f"allowed: {', '.join(allowed)}",
            line=1,
        )
    return header


def _record(
    header: list[str], row: list[str], line: int, errors: list[dict[str, Any]]
) -> dict[str, Any]:
    """The record of a row: empty cells left out, integer columns as integers (a cell that is
    not one is appended to ``errors``)."""
    record: dict[str, Any] = {}
    for name, cell in zip(header, row, strict=True):
        value = cell.strip()
        if not value:
            continue
        if name not in _INT_COLUMNS:
            record[name] = value
            continue
        try:
            record[name] = int(value)
        except ValueError:
            message = f"{name} must be an integer"
            errors.append(
                {"line": line, "code": ErrorCode.FIELD_TYPE, "field": name, "message": message}
            )
    return record


def _malformed(errors: list[dict[str, Any]], what: str) -> InvalidInput:
    return InvalidInput(
        ErrorCode.BATCH_INVALID,
        f"{len(errors)} {what}; nothing was stored",
        rejected=len(errors),
        errors=errors[:MAX_ERRORS_LISTED],
    )
