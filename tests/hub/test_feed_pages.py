"""A feed page built by the database (``Feeds.page_json``) is the plain page (``Feeds.page``,
``read_page``) as JSON: the same value for any stored entries, cursor and limit, and the same
errors. On SQLite ``page_json`` is the plain page rendered; on PostgreSQL the server writes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.feeds import NewEntry, render
from healthcode.hub.services import Hub
from healthcode.store.models import FeedCounter

PROVINCE = "440000"

_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_instants = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)
)


def province_principal(hub: Hub) -> Any:
    _, token = hub.orgs.add(kind="province", region_code=PROVINCE, name="province")
    return hub.orgs.authenticate(token)


def append(hub: Hub, payloads: list[Any], at: datetime) -> None:
    with hub.db.write() as s:
        entries = [NewEntry(PROVINCE, "record", i + 1, {"v": p}) for i, p in enumerate(payloads)]
        hub.feeds.append(s, entries, now=at)


def both(hub: Hub, principal: Any, after: int, limit: int) -> tuple[Any, Any]:
    """(plain answer rendered, page_json) as JSON values, or the error codes they raised."""
    out = []
    for call in (
        lambda: render(hub.feeds.page(principal, PROVINCE, after=after, limit=limit)),
        lambda: hub.feeds.page_json(principal, PROVINCE, after=after, limit=limit)[0],
    ):
        try:
            out.append(json.loads(call()))
        except InvalidInput as exc:
            out.append(exc.to_dict())
    return out[0], out[1]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payloads=st.lists(_json, max_size=6),
    at=_instants,
    whole_second=st.booleans(),
    after=st.integers(-2, 40),
    limit=st.integers(1, 8),
)
def test_page_json_is_the_plain_page(
    hub: Hub, payloads: list[Any], at: datetime, whole_second: bool, after: int, limit: int
) -> None:
    principal = province_principal(hub)
    if payloads:
        append(hub, payloads, at.replace(microsecond=0) if whole_second else at)
    plain, built = both(hub, principal, after, limit)
    assert built == plain


def test_page_json_counts_entries_and_refuses_a_purged_cursor(hub: Hub) -> None:
    principal = province_principal(hub)
    now = datetime(2022, 11, 20, 8, 0, 0, 120, tzinfo=UTC)
    body, count = hub.feeds.page_json(principal, PROVINCE, after=0, limit=5)
    assert (json.loads(body), count) == (
        {"province": PROVINCE, "entries": [], "next": 0, "more": False},
        0,
    )
    append(hub, ["a", 'é\u2028"\\/', {"x": [1, None, True]}], now)
    append(hub, ["b"], now + timedelta(seconds=1))
    body, count = hub.feeds.page_json(principal, PROVINCE, after=1, limit=2)
    page = json.loads(body)
    assert count == 2 and page["next"] == 3 and page["more"] is True
    assert page["entries"][0]["created_at"] == now.isoformat()
    assert page["entries"][0]["data"] == {"v": 'é\u2028"\\/'}
    with hub.db.write() as s:
        s.execute(update(FeedCounter).values(purged_through=2))
    for after, code in ((1, "CURSOR_EXPIRED"), (5, "CURSOR_INVALID"), (-1, "CURSOR_INVALID")):
        plain, built = both(hub, principal, after, 3)
        assert plain == built and built["code"] == code


def test_page_json_reads_only_the_callers_province(hub: Hub) -> None:
    principal = province_principal(hub)
    with pytest.raises(AccessDenied) as raised:
        hub.feeds.page_json(principal, "110000", after=0, limit=1)
    assert raised.value.to_dict()["code"] == "FEED_NOT_OWN"
