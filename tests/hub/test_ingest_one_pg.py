"""A group of single submissions stored by one statement on PostgreSQL (hub/ingest_one_pg.py)
answers and writes what the reference (hub/ingest_one.py, ``store_singles``) does: the same
outcomes, records, identities, feed entries and counters, and Idempotency-Keys, for groups of
new records, records stored before with the same or other content, keys used before with the
same or another request, people held by provinces or by nobody, a person twice in a group,
records of two organisations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hub_testdata import nat, resident_id
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from healthcode.core.errors import HealthcodeError
from healthcode.hub.batches import Located, parse_batch
from healthcode.hub.group_commit import Outcome
from healthcode.hub.ingest_one import One, store_singles
from healthcode.hub.ingest_one_pg import store_singles_pg
from healthcode.hub.orgs import Principal
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.models import IdempotencyKey

PEOPLE = [resident_id(region, seq=f"{n:03d}") for n, region in enumerate(("440106", "110101"))]
PEOPLE += [resident_id("310101", seq="777"), resident_id("440106", seq="778")]
HOLDERS = ("110000", "310000")

_record = st.fixed_dictionaries(
    {
        "rid": st.integers(0, 7),
        "lab": st.integers(0, 1),
        "person": st.integers(0, len(PEOPLE) - 1),
        "stored": st.sampled_from(["no", "same", "other"]),
        "key": st.sampled_from(["no", "new", "same", "other"]),
        "result": st.sampled_from(["negative", "positive"]),
        "phone": st.booleans(),
    }
)
_group = st.lists(_record, min_size=1, max_size=6, unique_by=lambda r: (r["lab"], r["rid"]))
_held = st.lists(st.lists(st.sampled_from(HOLDERS), unique=True), min_size=4, max_size=4)

Store = Callable[[Any, Sequence[One]], list[Outcome]]


def _raw(spec: dict[str, Any], *, other: bool = False) -> dict[str, Any]:
    result = spec["result"]
    if other:
        result = "positive" if result == "negative" else "negative"
    extra = {} if spec["phone"] else {"phone": ""}
    return nat(f"R{spec['rid']}", PEOPLE[spec["person"]], result=result, **extra)


def _run(
    hub: Hub, labs: list[Principal], group: list[dict[str, Any]], held: Any, store: Store
) -> list[Outcome]:
    provinces = {p: hub.orgs.add(kind="province", region_code=p, name=p)[1] for p in HOLDERS}
    for person, holders in enumerate(held):
        for p in holders:
            hub.status.register(
                hub.orgs.authenticate(provinces[p]), [{"id_number": PEOPLE[person]}]
            )
    for spec in group:
        lab = labs[spec["lab"]]
        if spec["stored"] != "no":
            item = Located({"index": 0}, _raw(spec, other=spec["stored"] == "other"))
            hub.ingest.submit(lab, "nat", [item])
        if spec["key"] in ("same", "other"):
            digest = f"d{spec['rid']}" if spec["key"] == "same" else "another"
            with hub.db.write() as s:
                s.add(
                    IdempotencyKey(
                        org_id=lab.org_id,
                        key=f"k{spec['rid']}",
                        request_digest=digest,
                        status_code=200,
                        response={"kind": "nat", "id": 12345},
                        created_at=hub.clock.now(),
                    )
                )
    ones = []
    for spec in group:
        lab, item = labs[spec["lab"]], Located({"index": 0}, _raw(spec))
        now = hub.clock.now()
        (parsed,) = parse_batch(hub.ingest.parser, lab, "nat", [item], now=now, single=True)
        key = None if spec["key"] == "no" else f"k{spec['rid']}"
        ones.append(One(lab, "nat", parsed, item, key, f"d{spec['rid']}"))
    return store(hub.ingest, ones)


def _dump(db: Database, labs: list[Principal], outcomes: list[Outcome]) -> dict[str, Any]:
    """Every row the hub writes and each outcome, record and organisation ids as their rank
    (sequences are not rolled back between the two runs)."""
    org = {lab.org_id: n for n, lab in enumerate(labs)}.__getitem__
    with db.read() as s:
        q = lambda sql: [tuple(r) for r in s.execute(text(sql)).all()]  # noqa: E731
        ids = [r[0] for r in q("SELECT id FROM records ORDER BY id")]
        rank = {rid: n for n, rid in enumerate(ids)}.get
        records = q(
            "SELECT id, org_id, kind, natural_key, digest, pseudonym, province, occurred_at,"
            " received_at, payload FROM records ORDER BY id"
        )
        entries = q(
            "SELECT province, seq, kind, ref_id, payload, created_at FROM feed_entries"
            " ORDER BY province, seq"
        )
        out = {
            "records": [(rank(r[0]), org(r[1]), *r[2:]) for r in records],
            "identities": q(
                "SELECT pseudonym, id_type, id_number_enc IS NULL, name_enc IS NULL,"
                " phone_enc IS NULL, home_region, last_seen_at FROM identities ORDER BY 1"
            ),
            "entries": [
                (*e[:3], rank(e[3]), {**e[4], "record": rank(e[4]["record"])}, e[5])
                for e in entries
            ],
            "counters": q("SELECT province, last_seq FROM feed_counters ORDER BY 1"),
            "keys": [
                (org(k[0]), *k[1:4], {**k[4], "id": rank(k[4]["id"], k[4]["id"])}, k[5])
                for k in q(
                    "SELECT org_id, key, request_digest, status_code, response, created_at"
                    " FROM idempotency_keys ORDER BY 1, 2"
                )
            ],
        }
    answers: list[Any] = []
    for o in outcomes:
        if isinstance(o, HealthcodeError):
            details = dict(o.details)
            if "record" in details:
                details["record"] = rank(details["record"])
            answers.append((o.code, o.message, details))
        else:
            assert isinstance(o, dict)
            answers.append({**o, "id": rank(o["id"], o["id"])})
    out["answers"] = answers
    return out


@pytest.fixture
def pg_db(db: Database) -> Database:
    """The test database, on PostgreSQL only (skipped before any example is drawn)."""
    if db.dialect != "postgresql":
        pytest.skip("the one-statement group is PostgreSQL's")
    return db


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(group=_group, held=_held)
@example(  # one person twice, new both times: the later record's identity is kept
    group=[
        {"rid": 0, "lab": 0, "person": 0, "stored": "no", "key": "no", "result": "negative",
         "phone": True},
        {"rid": 1, "lab": 1, "person": 0, "stored": "no", "key": "new", "result": "positive",
         "phone": False},
    ],
    held=[[], [], [], []],
)  # fmt: skip
def test_a_group_on_postgresql_writes_and_answers_as_the_reference(
    pg_db: Database, hub: Hub, group: list[dict[str, Any]], held: list[list[str]]
) -> None:
    db = pg_db
    assert db.connection is not None
    dumps = []
    for store in (store_singles, store_singles_pg):
        savepoint = db.connection.begin_nested()
        try:
            labs = [
                hub.orgs.authenticate(hub.orgs.add(kind="lab", region_code=r, name=r)[1])
                for r in ("440106", "110101")
            ]
            dumps.append(_dump(db, labs, _run(hub, labs, group, held, store)))
        finally:
            savepoint.rollback()
    reference, one_statement = dumps
    for part in reference:
        assert one_statement[part] == reference[part], part
