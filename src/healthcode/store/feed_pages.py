"""A feed page as JSON text built by PostgreSQL: one statement, no Python object per entry.

``hub/feeds.py`` reads a page as rows and builds each entry in Python (``read_page``, the plain
path, which SQLite uses). On PostgreSQL, ``json_page`` asks the server for the feed's counter
and the page's entries already written as one JSON array text, in one statement (one snapshot,
one round trip): each entry is ``{"seq","kind","ref_id","created_at","data"}`` in that order,
``created_at`` as Python's ``datetime.isoformat()`` writes a UTC instant, ``data`` the stored
``jsonb`` as PostgreSQL writes it (the same JSON value as the plain path's; only the spaces
after ``:`` and ``,`` inside it differ).
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, text

__all__ = ["JsonPage", "json_page"]

#: ``isoformat()`` of a UTC instant: six digits of fraction, or none when it is zero.
_ISO = (
    "to_char(e.created_at AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', e.created_at)"
    ' = e.created_at THEN \'YYYY-MM-DD"T"HH24:MI:SS"+00:00"\''
    ' ELSE \'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\' END)'
)
_ENTRY = (
    "'{\"seq\":' || e.seq || ',\"kind\":' || to_json(e.kind)::text"
    ' || \',"ref_id":\' || e.ref_id || \',"created_at":"\' || ' + _ISO + " || '\"'"
    " || ',\"data\":' || e.payload::text || '}'"
)
_PAGE = text(
    "WITH page AS (SELECT seq, kind, ref_id, created_at, payload FROM feed_entries"
    " WHERE province = :province AND seq > :after ORDER BY seq LIMIT :limit + 1),"
    " shown AS (SELECT * FROM page ORDER BY seq LIMIT :limit)"
    " SELECT c.last_seq, c.purged_through,"
    " (SELECT count(*) FROM page),"
    " (SELECT max(seq) FROM shown),"
    f" (SELECT '[' || coalesce(string_agg({_ENTRY}, ',' ORDER BY e.seq), '') || ']'"
    " FROM shown e)"
    " FROM (SELECT 1) AS one LEFT JOIN feed_counters c ON c.province = :province"
)


class JsonPage(NamedTuple):
    last_seq: int  # the feed's counter (0 for a province with no feed yet)
    purged_through: int
    fetched: int  # entries after the cursor, at most limit + 1
    last_shown: int | None  # the seq of the page's last entry
    entries: str  # the page's entries, a JSON array


def json_page(conn: Connection, province: str, *, after: int, limit: int) -> JsonPage:
    """The counter of ``province`` and its entries with ``seq > after`` (at most ``limit``,
    oldest first) as JSON text (PostgreSQL only)."""
    row = conn.execute(_PAGE, {"province": province, "after": after, "limit": limit}).one()
    last, purged, fetched, shown, entries = row
    return JsonPage(last or 0, purged or 0, int(fetched), shown, entries)
