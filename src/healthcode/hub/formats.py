"""Request bodies to records: JSON arrays, NDJSON and CSV files (UTF-8 with or without BOM, GBK).

Every record passes ``fields.check_value`` (nesting depth, texts, times) here, before any of its
fields is read; the first that fails is refused with its code, the field and its ``index`` or
``line``. NDJSON lines end at ``\n`` only (a ``\r`` before it is dropped): U+2028 and the other
Unicode line breaks may appear inside a string. A CSV cell holds at most ``CSV_CELL_MAX``
characters (the standard ``csv`` module's limit).

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
from healthcode.hub.fields import check_value, parse_json

__all__ = [
    "CSV_CELL_MAX",
    "CSV_COLUMNS",
    "decode_text",
    "parse_csv",
    "parse_json_array",
    "parse_ndjson",
]

#: The longest CSV cell read, in characters (``csv.field_size_limit()``'s default).
CSV_CELL_MAX = 131_072

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


def parse_json_array(raw: bytes, *, max_depth: int) -> list[Located]:
    """Raises InvalidInput JSON_INVALID, BATCH_NOT_ARRAY; JSON_TOO_DEEP, TEXT_INVALID,
    TIME_OUT_OF_RANGE (with ``index``)."""
    try:
        value = parse_json(decode_text(raw), max_depth=max_depth)
    except json.JSONDecodeError as exc:
        raise InvalidInput(ErrorCode.JSON_INVALID, f"not JSON: {exc.msg}", line=exc.lineno) from exc
    return _array(value, max_depth=max_depth)


def _array(value: Any, *, max_depth: int) -> list[Located]:
    if not isinstance(value, list):
        raise InvalidInput(ErrorCode.BATCH_NOT_ARRAY, "a batch is a JSON array of records")
    return [_checked({"index": i}, item, max_depth - 1) for i, item in enumerate(value)]


def _checked(where: dict[str, int], value: Any, max_depth: int) -> Located:
    """``value`` at ``where``, checked by ``fields.check_value``. Raises InvalidInput."""
    try:
        check_value(value, max_depth=max_depth)
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.message, **where, **exc.details) from exc
    return Located(where, value)


def parse_ndjson(raw: bytes, *, max_depth: int) -> list[Located]:
    """One JSON object a line (lines end at ``\n``); blank lines are skipped. Raises
    InvalidInput BATCH_INVALID listing every line that is not JSON (code JSON_INVALID);
    JSON_TOO_DEEP, TEXT_INVALID, TIME_OUT_OF_RANGE (with ``line``)."""
    items: list[Located] = []
    errors: list[dict[str, Any]] = []
    for number, line in enumerate(decode_text(raw).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = parse_json(line, max_depth=max_depth)
        except json.JSONDecodeError as exc:
            errors.append({"line": number, "code": ErrorCode.JSON_INVALID, "message": exc.msg})
            continue
        except InvalidInput as exc:
            raise InvalidInput(exc.code, exc.message, line=number, **exc.details) from exc
        items.append(_checked({"line": number}, value, max_depth))
    if errors:
        raise _malformed(errors, "lines are not JSON")
    return items


def parse_csv(kind: str, raw: bytes) -> list[Located]:
    """Raises InvalidInput CSV_HEADER (missing, duplicate or unknown columns), BATCH_INVALID
    (cells that do not parse, e.g. a dose that is not a number), ENCODING_UNSUPPORTED,
    FIELD_TOO_LONG (a cell over ``CSV_CELL_MAX``); TEXT_INVALID, TIME_OUT_OF_RANGE (with the
    column as ``field`` and its ``line``)."""
    reader = csv.reader(io.StringIO(decode_text(raw), newline=""))
    header = _header(reader, CSV_COLUMNS[kind])
    items: list[Located] = []
    errors: list[dict[str, Any]] = []
    for row in _rows(reader):
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            message = f"{len(row)} cells, the header has {len(header)}"
            errors.append({"line": line, "code": ErrorCode.CSV_ROW_WIDTH, "message": message})
            continue
        items.append(_checked({"line": line}, _record(header, row, line, errors), 1))
    if errors:
        raise _malformed(errors, "rows are malformed")
    return items


def _rows(reader: Any) -> Iterator[list[str]]:
    """The rows of ``reader`` (a ``csv.reader``). Raises InvalidInput FIELD_TOO_LONG for a cell
    over ``CSV_CELL_MAX`` characters (the only error the reader raises in its default dialect
    with ``strict`` off), with its line."""
    try:
        yield from reader
    except csv.Error as exc:
        raise InvalidInput(
            ErrorCode.FIELD_TOO_LONG,
            f"a cell is longer than {CSV_CELL_MAX} characters ({exc})",
            line=reader.line_num,
            limit=CSV_CELL_MAX,
        ) from exc


def _header(reader: Iterator[list[str]], allowed: tuple[str, ...]) -> list[str]:
    """The column names. Raises InvalidInput CSV_HEADER."""
    try:
        header = [h.strip() for h in next(_rows(reader))]
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
