"""``healthcode audit changes`` over a province's colour changes and published decisions: a
clean log passes; a change resting on no approved decision, a change by the rules naming no
rule, and a decision inserted behind the service's back that broke the safeguards are listed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from province_testdata import applicant
from sqlalchemy import MetaData, insert, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from healthcode.cli.main import app as cli
from healthcode.core.audit.auditor import published_paths
from healthcode.core.audit.decisions import audit_changes, read_decisions
from healthcode.core.audit.leaf import ColourLeaf
from healthcode.core.audit.note import NoteSigner
from healthcode.core.clock import FixedClock
from healthcode.core.facts import format_instant
from healthcode.province.changes import ColourChange
from healthcode.province.models import Colour, Decision, DecisionSubject, Person, StaffMember
from healthcode.province.service import ProvinceService
from healthcode.store.audit_log import ColourLog, log_tables
from healthcode.store.db import Database

ORIGIN = "province.example/440000/colours"
runner = CliRunner()


class Recorder:
    """What a colour log receives: one leaf per colour change (as the province's log does)."""

    def __init__(self, province: ProvinceService) -> None:
        self.province = province
        self.leaves: list[ColourLeaf] = []
        province.changes.add(self)

    def __call__(self, s: Session, changes: Sequence[ColourChange], now: datetime) -> None:
        for c in changes:
            row = s.get(Colour, c.pseudonym)
            assert row is not None
            self.leaves.append(
                ColourLeaf(
                    subject=self.province.log_subject(c.pseudonym),
                    colour=c.colour,
                    basis=c.basis,
                    reasons=tuple(r["rule"] for r in row.reasons if r["effect"] == c.colour),
                    decision=c.decision,
                    ruleset=row.ruleset_digest,
                    at=now.replace(microsecond=0),
                )
            )


def _publish(tmp: Path, leaves: list[ColourLeaf], decisions: dict[str, Any]) -> list[str]:
    """A saved copy of the log (tiles, entry bundles, checkpoint) with the decisions beside it
    (``decisions.json``); the command's arguments."""
    db = Database.from_url(f"sqlite:///{tmp / 'log.db'}")
    metadata = MetaData()
    signer = NoteSigner.generate(ORIGIN)
    log = ColourLog(log_tables(metadata), ORIGIN, signer)
    assert db.engine is not None
    metadata.create_all(db.engine)
    at = leaves[-1].at
    copy = tmp / "copy"
    with db.write() as s:
        log.append(s, leaves, at)
        checkpoint = log.sign(s, at)
        for path in published_paths(len(leaves)):
            (copy / path).parent.mkdir(parents=True, exist_ok=True)
            (copy / path).write_bytes(log.tile(s, path))
    db.dispose()
    (copy / "checkpoint").write_bytes(checkpoint)
    (copy / "decisions.json").write_text(json.dumps(decisions))
    return ["audit", "changes", str(copy), "--key", signer.verifier.vkey, "--json"]


def _scenario(province: ProvinceService) -> tuple[Recorder, list[str]]:
    clock = province.clock
    assert isinstance(clock, FixedClock)
    recorder = Recorder(province)
    add = province.staff.add
    op, _ = add(name="op", roles=["operator"], region_code="440106")
    ap, _ = add(name="ap", roles=["approver"], region_code="440106")
    sup, _ = add(name="sup", roles=["supervisor"], region_code="440100")
    people = [
        province.applications.apply(applicant(seq=f"{200 + i}"))["pseudonym"] for i in range(3)
    ]
    expires = format_instant(clock.now() + timedelta(days=3))
    body = {
        "colour": "red",
        "legal_basis": "IDL-39-1-3",
        "evidence": [{"kind": "contact_tracing", "ref": "CT-9"}],
        "expires_at": expires,
    }
    one = province.decisions.propose(op, {**body, "subjects": people[:1]})
    clock.advance(timedelta(minutes=3))
    province.decisions.approve(ap, one["id"])
    many = province.decisions.propose(sup, {**body, "subjects": people[1:], "colour": "yellow"})
    province.decisions.approve(ap, many["id"])
    clock.advance(timedelta(hours=1))
    province.decisions.revoke(ap, many["id"], {"reason": "released"})
    clock.advance(timedelta(days=3))
    province.sweep_once()  # the first expires
    return recorder, people


def test_a_clean_log_passes_the_audit(province: ProvinceService, tmp_path: Path) -> None:
    recorder, _ = _scenario(province)
    decided = [leaf for leaf in recorder.leaves if leaf.basis == "decision"]
    assert len(decided) == 3 and len(recorder.leaves) == 3 + 3 + 3  # first colours, back
    published = province.decisions.public()
    result = runner.invoke(cli, _publish(tmp_path, recorder.leaves, published))
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["findings"] == [] and out["decisions"] == 2


def test_the_audit_checks_the_regions_as_they_were_when_staff_acted(
    province: ProvinceService, tmp_path: Path
) -> None:
    """Staff moved to Shenzhen and a person who moved house after the decisions change nothing
    the log published: the regions are the ones stored when each decision was made, and the
    audit of the same log still passes."""
    recorder, people = _scenario(province)
    before = province.decisions.public()
    with province.db.write() as s:
        s.execute(update(StaffMember).where(StaffMember.name == "op").values(region_code="440303"))
        s.execute(update(StaffMember).where(StaffMember.name == "ap").values(region_code="440300"))
        s.execute(
            update(Person).where(Person.pseudonym == people[1]).values(residence_region="440303")
        )
    published = province.decisions.public()
    assert published == before
    places = {
        (d["proposer_region"], d["approver_region"], d["people_region"])
        for d in published["decisions"]
    }
    assert places == {("440106", "440106", "440106"), ("440100", "440106", "440106")}
    result = runner.invoke(cli, _publish(tmp_path, recorder.leaves, published))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["findings"] == []


def test_the_audit_lists_unapproved_changes_and_decisions_that_broke_safeguards(
    province: ProvinceService, tmp_path: Path
) -> None:
    recorder, people = _scenario(province)
    now = province.clock.now().replace(microsecond=0)
    # An abuse behind the service's back: an official records a red for a depositor with a
    # free-text reason, no evidence, 30 days, approved by themselves.
    with province.db.write() as s:
        s.execute(
            insert(Decision),
            [
                {
                    "id": "dc_abuse0000000001",
                    "colour": "red",
                    "legal_basis": "维稳",
                    "evidence": [],
                    "note": None,
                    "subjects": 1,
                    "bulk": False,
                    "renews": None,
                    "state": "approved",
                    "proposed_by": "st_official",
                    "proposer_roles": ["operator"],
                    "proposed_at": now,
                    "expires_at": now + timedelta(days=30),
                    "approved_by": "st_official",
                    "approver_roles": ["operator"],
                    "approved_at": now,
                }
            ],
        )
        s.execute(
            insert(DecisionSubject),
            [
                {
                    "decision_id": "dc_abuse0000000001",
                    "pseudonym": people[2],
                    "colour": "red",
                    "starts_at": now,
                    "ends_at": now + timedelta(days=30),
                }
            ],
        )
    with province.db.write() as s:
        province.reevaluate(s, [people[2]], now)
    abused = recorder.leaves[-1]
    assert abused.decision == "dc_abuse0000000001" and abused.colour == "red"
    subject = province.log_subject(people[0])
    forged = [
        ColourLeaf(subject, "red", "decision", (), "dc_nosuchdecision", abused.ruleset, now),
        ColourLeaf(subject, "yellow", "rule", (), None, abused.ruleset, now),
    ]
    published = province.decisions.public()
    args = _publish(tmp_path, [*recorder.leaves, *forged], published)
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    findings = json.loads(result.output)["findings"]
    about_abuse = {f["code"] for f in findings if f["decision"] == "dc_abuse0000000001"}
    assert about_abuse >= {
        "DECISION_BASIS_UNKNOWN",
        "DECISION_EVIDENCE_MISSING",
        "MANUAL_TOO_LONG",
        "MANUAL_SELF_APPROVED",
        "DECISION_APPROVER_ROLE",
    }
    n = len(recorder.leaves)
    by_leaf = {f["index"]: f["code"] for f in findings if f["index"] is not None}
    assert by_leaf == {n: "DECISION_NOT_APPROVED", n + 1: "CHANGE_WITHOUT_RULE"}


def test_a_leaf_outside_its_decision_is_listed(province: ProvinceService) -> None:
    recorder, people = _scenario(province)
    decisions = read_decisions(province.decisions.public())
    first = next(leaf for leaf in recorder.leaves if leaf.basis == "decision")
    late = ColourLeaf(
        first.subject,
        first.colour,
        "decision",
        first.reasons,
        first.decision,
        first.ruleset,
        first.at + timedelta(days=4),
    )
    other = ColourLeaf(
        province.log_subject(people[2]),
        "red",
        "decision",
        (),
        first.decision,
        first.ruleset,
        first.at,
    )
    found = audit_changes([(0, first), (1, late), (2, other)], decisions)
    assert [(f.index, f.code) for f in found] == [
        (1, "DECISION_NOT_APPROVED"),
        (2, "DECISION_NOT_APPROVED"),
    ]


@pytest.mark.parametrize("broken", [{"decisions": "x"}, {"decisions": [{"id": "dc_1"}]}])
def test_a_malformed_decision_list_is_refused(broken: dict[str, Any]) -> None:
    from healthcode.core.errors import AuditError

    with pytest.raises(AuditError) as err:
        read_decisions(broken)
    assert err.value.code == "DECISION_LIST_INVALID"


def test_the_audit_lists_a_decision_whose_staff_did_not_serve_its_people(
    province: ProvinceService,
) -> None:
    """Staff of Shenzhen (440300) recording a red behind the service's back for a person of
    Guangzhou's 440106 are listed; the clean decisions (440106 and 440100 staff) are not, and a
    list without the regions (an older province) is not checked for it."""
    _, people = _scenario(province)
    far_op, _ = province.staff.add(name="far", roles=["operator"], region_code="440303")
    far_ap, _ = province.staff.add(name="far2", roles=["approver"], region_code="440300")
    now = province.clock.now().replace(microsecond=0)
    with province.db.write() as s:
        s.execute(
            insert(Decision),
            [
                {
                    "id": "dc_farfar000000001",
                    "colour": "red",
                    "legal_basis": "IDL-39-1-3",
                    "evidence": [{"kind": "contact_tracing", "ref": "CT-9"}],
                    "note": None,
                    "subjects": 1,
                    "bulk": False,
                    "renews": None,
                    "state": "approved",
                    "proposed_by": far_op.id,
                    "proposer_roles": ["operator"],
                    "proposed_at": now,
                    "expires_at": now + timedelta(days=3),
                    "approved_by": far_ap.id,
                    "approver_roles": ["approver"],
                    "approved_at": now,
                    "proposer_region": far_op.region_code,
                    "approver_region": far_ap.region_code,
                    "people_region": "440106",
                }
            ],
        )
        s.execute(
            insert(DecisionSubject),
            [
                {
                    "decision_id": "dc_farfar000000001",
                    "pseudonym": people[0],
                    "colour": "red",
                    "starts_at": now,
                    "ends_at": now + timedelta(days=3),
                }
            ],
        )
    published = province.decisions.public()
    far = next(d for d in published["decisions"] if d["id"] == "dc_farfar000000001")
    assert (far["proposer_region"], far["approver_region"], far["people_region"]) == (
        "440303",
        "440300",
        "440106",
    )
    assert {d["people_region"] for d in published["decisions"]} == {"440106"}
    found = audit_changes([], read_decisions(published))
    assert [(f.decision, f.code) for f in found] == [
        ("dc_farfar000000001", "STAFF_OUT_OF_REGION"),
        ("dc_farfar000000001", "STAFF_OUT_OF_REGION"),
    ]
    assert "440303" in found[0].message and "440300" in found[1].message
    older = [
        {k: v for k, v in d.items() if not k.endswith("_region")} for d in published["decisions"]
    ]
    assert audit_changes([], read_decisions(older)) == []
    bad = [{**published["decisions"][0], "people_region": "449999"}]
    from healthcode.core.errors import AuditError

    with pytest.raises(AuditError) as err:
        read_decisions(bad)
    assert err.value.code == "DECISION_LIST_INVALID"


def test_the_regions_check_follows_the_division_codes() -> None:
    from healthcode.core.safeguards import common_region, region_violations, serves

    assert common_region(["440106"]) == "440106"
    assert common_region(["440106", "440111", "440106"]) == "440100"
    assert common_region(["440106", "440303"]) == "440000"
    assert common_region(["440106", "110101"]) is None and common_region([]) is None
    assert serves("440000", None) and serves("440000", "110101")
    assert serves("440100", "440106") and not serves("440106", "440100")
    assert not serves("440100", None) and not serves("440300", "440106")
    assert region_violations("440106", "440106", "440100") == []
    assert [v.code for v in region_violations("440000", "440100", None)] == ["STAFF_OUT_OF_REGION"]
