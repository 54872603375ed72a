"""Fields of the hub's request bodies: the checks every value passes, and the fields that are
not records (required texts and times).

Every JSON body, NDJSON line, CSV row and FHIR Bundle goes through :func:`load_json` or
:func:`check_value` before anything reads its fields, so no field can bring a value the rest of
the hub cannot store or compute with: arrays and objects nest at most ``max_depth`` deep
(``JSON_TOO_DEEP``); no text holds a lone surrogate or a NUL (``TEXT_INVALID``: neither can be
encoded as UTF-8 nor stored by PostgreSQL); and a text that is an ISO 8601 date or date-time
lies within the years ``EARLIEST_YEAR`` to ``LATEST_YEAR`` (``TIME_OUT_OF_RANGE``: near the
ends of the calendar, moving a time to UTC or by a few days overflows). Each error names the
field by its path (``people.0.nationality``).

>>> check_value({"name": "\\ud800"}, max_depth=8)
Traceback (most recent call last):
...
healthcode.core.errors.InvalidInput: TEXT_INVALID: name holds a lone surrogate or a NUL character

Every time the hub reads from a request (a status's ``since``, a risk area's ``until``, a lift's
``at``) goes through :func:`time_field`: ISO 8601 by ``core.clock.parse_instant`` (a time
without an offset is China Standard Time), and one error, ``TIME_FORMAT`` naming the field.

>>> time_field({"at": "2022-11-20T09:00"}, "at").isoformat()
'2022-11-20T09:00:00+08:00'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from healthcode.core.clock import parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

__all__ = [
    "EARLIEST_YEAR",
    "LATEST_YEAR",
    "check_value",
    "load_json",
    "optional_text",
    "parse_json",
    "required_text",
    "time_field",
]

#: The years a date or time in a request may lie in (health records, codes, areas).
EARLIEST_YEAR = 1800
LATEST_YEAR = 2999

_BAD_TEXT = re.compile("[\ud800-\udfff\x00]")
_ISO_TIME = re.compile(
    r"\s*([+-]?\d{4,})-\d\d(?:-\d\d)?(?:[T ][0-9:.,]*(?:Z|[+-][0-9:]+)?)?\s*", re.ASCII
)


def load_json(raw: bytes | str, *, max_depth: int) -> Any:
    """The JSON value of ``raw``, checked by :func:`check_value`.

    Raises json.JSONDecodeError (callers say which part was not JSON), UnicodeDecodeError;
    InvalidInput JSON_TOO_DEEP, TEXT_INVALID, TIME_OUT_OF_RANGE.
    """
    value = parse_json(raw, max_depth=max_depth)
    check_value(value, max_depth=max_depth)
    return value


def parse_json(raw: bytes | str, *, max_depth: int) -> Any:
    """The JSON value of ``raw``, not yet checked (the caller checks its parts).

    Raises json.JSONDecodeError, UnicodeDecodeError; InvalidInput JSON_TOO_DEEP when the
    parser itself gives up (a thousand levels or so, far beyond ``max_depth``), JSON_INVALID
    for a number of more digits than Python converts (4,300).
    """
    try:
        return json.loads(raw)
    except RecursionError:
        raise _too_deep("", max_depth) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # int(): "Exceeds the limit (4300 digits) ..."
        raise InvalidInput(ErrorCode.JSON_INVALID, f"a number is too long: {exc}") from None


def check_value(value: Any, *, max_depth: int, path: str = "") -> None:
    """Check every array, object and text inside ``value`` (``path`` is where it sits).

    Raises InvalidInput JSON_TOO_DEEP, TEXT_INVALID, TIME_OUT_OF_RANGE naming the field.
    """
    if isinstance(value, str) and (code := _text_error(value)):
        raise _refused(code, path or "body")
    if not isinstance(value, dict | list):
        return
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        node, where, depth = stack.pop()
        if depth > max_depth:
            raise _too_deep(where, max_depth)
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in items:
            if isinstance(key, str) and (code := _text_error(key)):
                raise _refused(code, _field(where, key))
            if isinstance(item, str):
                if code := _text_error(item):
                    raise _refused(code, _field(where, key))
            elif isinstance(item, dict | list):
                stack.append((item, _field(where, key), depth + 1))


def _text_error(text: str) -> ErrorCode | None:
    """The code of a text no field may hold, or None."""
    if _BAD_TEXT.search(text):
        return ErrorCode.TEXT_INVALID
    time = _ISO_TIME.fullmatch(text) if text[:1].isdigit() else None
    if time and not EARLIEST_YEAR <= int(time.group(1)) <= LATEST_YEAR:
        return ErrorCode.TIME_OUT_OF_RANGE
    return None


def _field(where: str, key: object) -> str:
    """The path of ``key`` inside ``where``; a key no text may hold is shown with U+FFFD."""
    name = _BAD_TEXT.sub("\ufffd", key) if isinstance(key, str) else str(key)
    return f"{where}.{name}" if where else name


def _refused(code: ErrorCode, field: str) -> InvalidInput:
    if code is ErrorCode.TEXT_INVALID:
        message = f"{field} holds a lone surrogate or a NUL character"
    else:
        message = f"{field} lies outside the years {EARLIEST_YEAR}-{LATEST_YEAR}"
    return InvalidInput(code, message, field=field)


def _too_deep(field: str, max_depth: int) -> InvalidInput:
    where = {"field": field} if field else {}
    return InvalidInput(
        ErrorCode.JSON_TOO_DEEP,
        f"the JSON nests arrays and objects deeper than {max_depth}",
        limit=max_depth,
        **where,
    )


def time_field(raw: Mapping[str, Any], name: str, *, required: bool = False) -> datetime | None:
    """The instant in field ``name`` of ``raw``; None when it is absent (or null) and not
    ``required``. Raises InvalidInput TIME_FORMAT (field ``name``)."""
    value = raw.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidInput(ErrorCode.TIME_FORMAT, f"{name} must be an ISO 8601 time", field=name)
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise InvalidInput(
            ErrorCode.TIME_FORMAT, f"{name} is not ISO 8601: {value!r}", field=name
        ) from exc


def optional_text(raw: Mapping[str, Any], name: str) -> str | None:
    """The text of field ``name`` of ``raw``, or None when it is absent or null.

    Raises InvalidInput FIELD_TYPE (field ``name``) for any other JSON value.
    """
    value = raw.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput(ErrorCode.FIELD_TYPE, f"{name} must be a text", field=name)


def required_text(raw: Mapping[str, Any], name: str, limit: int, *, what: str = "") -> str:
    """The stripped text of field ``name`` (``what`` says what it is, in the error).

    Raises InvalidInput FIELD_MISSING (absent, not text or blank), FIELD_TOO_LONG.
    """
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        explained = f" ({what})" if what else ""
        raise InvalidInput(ErrorCode.FIELD_MISSING, f"{name} is required{explained}", field=name)
    if len(value.strip()) > limit:
        raise InvalidInput(ErrorCode.FIELD_TOO_LONG, f"{name} is longer than {limit}", field=name)
    return value.strip()
