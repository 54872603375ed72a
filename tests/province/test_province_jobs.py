"""A new rule set or overlay re-evaluates everyone in the background: a durable job advanced
chunk by chunk, progress shown, codes asked for meanwhile evaluated under the new rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from hub_testdata import ASGISyncTransport
from province_testdata import applicant, nat_record
from sqlalchemy import select

from healthcode.core.rules import load_with_overlays
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.app import create_app
from healthcode.province.evaluation import reevaluate
from healthcode.province.models import Colour, ReevaluationJob, StatusOutbox, person_summaries
from healthcode.province.service import ProvinceService

OVERLAY = Path(__file__).resolve().parents[2] / "examples" / "overlay-guangdong.yaml"


def _people(province: ProvinceService, hub: Hub, org: Callable[..., str], n: int) -> list[str]:
    people = [applicant(seq=f"{300 + i}") for i in range(n)]
    names = [province.applications.apply(p)["pseudonym"] for p in people]
    principal = hub.orgs.authenticate(org("lab", "440106"))
    records = [
        nat_record(f"J{i}", p["id_number"], "positive" if i % 3 == 0 else "negative")
        for i, p in enumerate(people)
    ]
    hub.ingest.submit(principal, "nat", [Located({"index": i}, r) for i, r in enumerate(records)])
    province.pull_all()
    return names


def _colours(province: ProvinceService) -> dict[str, tuple[Any, ...]]:
    with province.db.read() as s:
        rows = s.execute(select(Colour)).scalars().all()
        return {
            c.pseudonym: (c.colour, c.reasons, c.badges, c.until, c.ruleset_digest) for c in rows
        }


def _reports(province: ProvinceService) -> int:
    with province.db.read() as s:
        return len(s.execute(select(StatusOutbox.id)).all())


def test_a_new_rule_set_reaches_everyone_chunk_by_chunk(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    names = _people(province, hub, org, 7)
    first = province.job_once()  # the first job: everyone, under the rules in use
    while province.job_once().state == "running":
        pass
    assert province.jobs()[0]["state"] == "done" and province.jobs()[0]["id"] == first.id
    before, reports = _colours(province), _reports(province)

    province.settings = dataclasses.replace(province.settings, reevaluate_chunk=3)
    new = load_with_overlays(None, [OVERLAY])
    province.rules._current = new  # a new overlay version taken
    seen = []
    while True:
        job = province.job_once()
        seen.append((job.done, job.total))
        if job.state != "running":
            break
    assert seen == [(3, 7), (6, 7), (7, 7), (7, 7)]
    jobs = province.jobs()
    assert [j["state"] for j in jobs[:2]] == ["done", "done"]
    assert jobs[0]["ruleset_digest"] == new.digest and jobs[0]["done"] == 7
    after = _colours(province)
    assert {v[4] for v in after.values()} == {new.digest}
    # a report for each held person whose colour or until changed, and only them
    moved = {p for p in names if (before[p][0], before[p][3]) != (after[p][0], after[p][3])}
    assert _reports(province) - reports == len(moved)
    # every colour state reported took an index of its own; a person's colour keeps the last
    with province.db.read() as s:
        indexed = s.execute(
            select(StatusOutbox.pseudonym, StatusOutbox.status_index).order_by(StatusOutbox.id)
        ).all()
        kept = {c.pseudonym: c.status_index for c in s.execute(select(Colour)).scalars()}
    indexes = [i for _, i in indexed]
    assert None not in indexes and len(set(indexes)) == len(indexes)
    assert {p: i for p, i in indexed} == {p: kept[p] for p, _ in indexed}
    # every stored row is what the scalar path gives
    with province.db.write() as s:
        reevaluate(s, names, ruleset=new, now=province.clock.now(), serials=province.serials)
    assert _colours(province) == after
    assert province.job_once().state == "done"  # nothing more to do: no new job


def test_a_code_asked_for_before_the_job_reaches_the_person_uses_the_new_rules(
    province: ProvinceService, hub: Hub, org: Callable[..., str]
) -> None:
    names = _people(province, hub, org, 2)
    new = load_with_overlays(None, [OVERLAY])
    province.rules._current = new
    answer = province.codes.explain(names[0])
    assert answer["ruleset_digest"] == new.digest
    assert all("code" in r for r in answer["reasons"])  # the full explanation
    with province.db.read() as s:
        other = s.get(Colour, names[1])
        assert other is not None and other.ruleset_digest != new.digest
        assert s.execute(select(person_summaries.c.pseudonym)).all()
        assert s.execute(select(ReevaluationJob)).first() is None


def test_jobs_route_needs_the_operator_token(province: ProvinceService) -> None:
    province.settings = dataclasses.replace(province.settings, operator_token="op-secret")
    province.job_once()
    with httpx.Client(
        transport=ASGISyncTransport(create_app(province)), base_url="http://province.test"
    ) as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            r = c.get("/v1/jobs", headers=headers)
            assert r.status_code == 401
            assert r.json()["error"]["code"] == "OPERATOR_TOKEN_INVALID"
        r = c.get("/v1/jobs", headers={"Authorization": "Bearer op-secret"})
        assert r.status_code == 200
        (job,) = r.json()["jobs"]
        assert job["state"] == "done" and job["total"] == job["done"] == 0
