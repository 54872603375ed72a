"""The columnar reader gives the frame the plain reader gives, on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from batch_db import Province
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from healthcode.batch.columns import in_set, joined_with_keys, read_frame, read_frame_reference
from healthcode.batch.rules import SCHEMA
from healthcode.core.rules import PERSON_FIELDS, SUMMARY_FIELDS

BASE = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)
times = st.integers(min_value=-(10**12), max_value=10**12).map(
    lambda us: BASE + timedelta(microseconds=us)
)
texts = st.one_of(
    st.sampled_from(["", "confirmed", '"quoted", comma', "\\N", "传染病防治法", "a\nb"]),
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=8
    ),
)


@st.composite
def summary_rows(draw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "updated_at": draw(times),
        "pseudonym": draw(st.text(alphabet="0123456789abcdef", min_size=1, max_size=64)),
    }
    for name in PERSON_FIELDS:  # what person_summaries stores
        kind = SUMMARY_FIELDS[name][0]
        if kind == "int":
            row[name] = draw(st.integers(min_value=0, max_value=2**31 - 1))
        elif draw(st.booleans()):
            row[name] = None
        else:
            row[name] = draw(times if kind == "time" else texts)
    return row


people = st.lists(summary_rows(), max_size=12, unique_by=lambda r: r["pseudonym"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=people, pick=st.integers(min_value=0, max_value=3))
def test_columnar_read_equals_plain_read(
    province: Province, rows: list[dict[str, Any]], pick: int
) -> None:
    province.clear()
    s = province.tables.summaries
    if rows:
        with province.db.write() as session:
            session.execute(s.insert(), rows)
    stored = {n: SCHEMA[n] for n in PERSON_FIELDS}
    schema = {"pseudonym": pl.String(), **stored, "updated_at": pl.Datetime("us", "UTC")}
    chosen = [r["pseudonym"] for r in rows[:: pick + 1]] + ["absent"]
    assert province.db.engine is not None
    with province.db.engine.connect() as conn:
        stmt = (
            select(*(s.c[n] for n in schema))
            .where(in_set(s.c.pseudonym, chosen, conn.dialect.name))
            .order_by(s.c.pseudonym)
        )
        fast = read_frame(conn, stmt, schema)
        plain = read_frame_reference(conn, stmt, schema)
    assert fast.schema == plain.schema
    assert fast.equals(plain), [
        (n, fast[n].to_list(), plain[n].to_list()) for n in schema if not fast[n].equals(plain[n])
    ]
    assert fast.height == len(set(chosen) - {"absent"})
    # the facts documents' times are cut to milliseconds, the others kept to microseconds
    for r, row in zip(
        sorted((r for r in rows if r["pseudonym"] in chosen), key=lambda r: r["pseudonym"]),
        fast.iter_rows(named=True),
        strict=True,
    ):
        t = r["nat_last_sample"]
        want = None if t is None else t.replace(microsecond=t.microsecond // 1000 * 1000)
        assert row["nat_last_sample"] == want


def test_empty_selection(province: Province) -> None:
    s = province.tables.summaries
    assert province.db.engine is not None
    with province.db.engine.connect() as conn:
        stmt = select(s.c.pseudonym, s.c.nat_last_sample)
        schema = {"pseudonym": pl.String(), "nat_last_sample": pl.Datetime("ms", "UTC")}
        assert read_frame(conn, stmt, schema).equals(pl.DataFrame(schema=schema))
        assert read_frame_reference(conn, stmt, schema).equals(pl.DataFrame(schema=schema))


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(st.text(alphabet="0123456789abcdef", min_size=1, max_size=6), max_size=10),
    chosen=st.lists(st.text(alphabet="0123456789abcdef", min_size=1, max_size=6), max_size=12),
)
def test_joined_with_keys_selects_as_in_set(
    province: Province, names: list[str], chosen: list[str]
) -> None:
    """A join with the values (repeated ones included) selects each row once, as ``IN``."""
    province.clear()
    s = province.tables.summaries
    rows = [{"pseudonym": n, "updated_at": BASE} for n in dict.fromkeys(names)]
    if rows:
        with province.db.write() as session:
            session.execute(s.insert(), rows)
    assert province.db.engine is not None
    with province.db.engine.connect() as conn:
        dialect = conn.dialect.name
        joined = select(s.c.pseudonym).select_from(
            joined_with_keys(s, s.c.pseudonym, chosen + chosen[:2], dialect)
        )
        tested = select(s.c.pseudonym).where(in_set(s.c.pseudonym, chosen, dialect))
        got = sorted(conn.execute(joined).scalars())
        assert got == sorted(conn.execute(tested).scalars())
    assert got == sorted(set(names) & set(chosen))
