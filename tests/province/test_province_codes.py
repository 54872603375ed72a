"""Codes signed by the province's signer, from the colour the rules gave; status reported to
the hub; the hub's signed national rule set taken, an overlay applied."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hub_testdata import ENV, NOW, ASGISyncTransport, network_in
from province_testdata import applicant, nat_record, province_settings
from sqlalchemy import func, select

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.core.codes.native import peek_code
from healthcode.core.errors import HealthcodeError
from healthcode.core.trust.network import Network
from healthcode.core.verify.native import NativeFormat, NativeSettings
from healthcode.hub.app import create_app as create_hub_app
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.codes import CodeService
from healthcode.province.models import Colour, StatusOutbox
from healthcode.province.service import ProvinceService
from healthcode.store.db import Database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def network(db: Database, home: Path) -> Network:
    return network_in(db, home, NOW - timedelta(days=1))


@pytest.fixture
def publishing_hub(db: Database, clock: FixedClock, home: Path, network: Network) -> Hub:
    settings = Settings.from_env({**ENV, "HEALTHCODE_HOME": str(home)})
    return Hub.build(settings=settings, db=db, clock=clock)


def _province(
    hub: Hub, db: Database, clock: FixedClock, home: Path | None, **extra: object
) -> ProvinceService:
    _, token = hub.orgs.add(kind="province", region_code="440000", name="Guangdong")
    if home is not None:
        extra["HEALTHCODE_HOME"] = str(home)
    return ProvinceService.build(
        settings=province_settings(token, **extra),
        db=db,
        clock=clock,
        transport=ASGISyncTransport(create_hub_app(hub)),
    )


@pytest.fixture
def signing(
    publishing_hub: Hub, province_db: Database, clock: FixedClock, home: Path
) -> Iterator[ProvinceService]:
    service = _province(publishing_hub, province_db, clock, home)
    yield service
    service.hub.close()


def _positive(hub: Hub, id_number: str) -> None:
    _, token = hub.orgs.add(kind="lab", region_code="440106", name="lab")
    lab = hub.orgs.authenticate(token)
    hub.ingest.submit(lab, "nat", [Located({"index": 0}, nat_record("S1", id_number))])


def test_a_screen_code_is_signed_with_the_colour_of_the_rules(
    signing: ProvinceService, network: Network, clock: FixedClock
) -> None:
    person = signing.applications.apply(applicant())
    code = signing.codes.issue(person["pseudonym"], "screen")
    payload = peek_code(code["code"])
    assert (payload.colour, payload.subject, payload.issuer) == (
        "green",
        person["pseudonym"],
        "440000",
    )
    assert payload.masked_name == "张*丰"
    assert payload.expires_at - payload.issued_at == timedelta(minutes=5)
    trust = network.trust_list(at=clock.now())
    result = NativeFormat(NativeSettings(trust=trust)).verify(code["code"], clock.now())
    assert result.colour == "green"
    with signing.db.read() as s:
        waiting = s.execute(
            select(StatusOutbox.serial, StatusOutbox.colour).where(
                StatusOutbox.pseudonym == person["pseudonym"]
            )
        ).all()
    # the serial names the colour state: the report of the first colour already carries it
    assert waiting == [(code["serial"], "green")]
    paper = signing.codes.issue(person["pseudonym"], "paper")
    assert paper["serial"] == code["serial"] == payload.serial.hex()
    p = peek_code(paper["code"])
    assert p.expires_at - p.issued_at == timedelta(days=1)


def test_status_reaches_the_hub_and_a_red_code_follows_a_positive_nat(
    signing: ProvinceService, publishing_hub: Hub, clock: FixedClock
) -> None:
    hub = publishing_hub
    person = signing.applications.apply(applicant())
    green = signing.codes.issue(person["pseudonym"])
    clock.advance(timedelta(seconds=1))  # the hub orders a person's reports by their time
    _positive(hub, applicant()["id_number"])
    signing.pull_all()
    red = signing.codes.issue(person["pseudonym"])
    assert red["colour"] == "red" and peek_code(red["code"]).colour == "red"
    assert [r["code"] for r in red["reasons"]] == ["NAT_POSITIVE"]
    while signing.report_once():
        pass
    _, token = hub.orgs.add(kind="checkpoint", region_code="110105", name="station")
    station = hub.orgs.authenticate(token)
    assert hub.status.query(station, serial=green["serial"])["colour"] == "green"
    assert hub.status.query(station, serial=red["serial"])["colour"] == "red"
    now_answer = hub.status.query(station, pseudonym=person["pseudonym"])
    assert now_answer["colour"] == "red"
    with signing.db.read() as s:
        assert s.execute(select(func.count()).select_from(StatusOutbox)).scalar_one() == 0


def test_a_stale_colour_is_evaluated_again_before_a_code_is_signed(
    signing: ProvinceService, publishing_hub: Hub, clock: FixedClock
) -> None:
    person = signing.applications.apply(applicant())
    _positive(publishing_hub, applicant()["id_number"])
    signing.pull_all()
    with signing.db.read() as s:
        colour = s.get(Colour, person["pseudonym"])
    assert colour is not None and colour.colour == "red" and colour.until is not None
    clock.advance(colour.until - clock.now())  # the sweep has not run
    assert signing.codes.issue(person["pseudonym"])["colour"] == "green"
    assert signing.codes.explain(person["pseudonym"])["colour"] == "green"


def test_without_a_signer_no_code_is_signed(
    hub: Hub, province_db: Database, clock: FixedClock
) -> None:
    service = _province(hub, province_db, clock, None)
    person = service.applications.apply(applicant())
    with pytest.raises(HealthcodeError) as caught:
        service.codes.issue(person["pseudonym"])
    assert caught.value.code == "SIGNER_UNAVAILABLE"


def test_unknown_people_have_no_code(signing: ProvinceService) -> None:
    with pytest.raises(HealthcodeError) as caught:
        signing.codes.issue("ab" * 32)
    assert caught.value.code == "PERSON_UNKNOWN"


def test_the_hubs_signed_rule_set_is_taken_and_a_forged_one_refused(
    signing: ProvinceService,
) -> None:
    signing.refresh_rules()
    assert signing.rules._held is not None  # opened against the national root
    held = signing.rules._held
    signing.rules._fetch = lambda: b"\x84forged"
    assert signing.refresh_rules() is False
    assert signing.rules._held == held


def test_the_overlay_is_applied_and_its_digest_recorded(
    publishing_hub: Hub, province_db: Database, clock: FixedClock, home: Path
) -> None:
    overlay = ROOT / "examples" / "overlay-guangdong.yaml"
    service = _province(
        publishing_hub, province_db, clock, home, HEALTHCODE_PROVINCE_OVERLAY=str(overlay)
    )
    assert service.rules.current().overlays == ("GD-OVERLAY@1.0.0",)
    person = service.applications.apply(applicant())
    with service.db.read() as s:
        colour = s.get(Colour, person["pseudonym"])
    assert colour is not None
    assert colour.ruleset_digest == service.rules.current().digest
    service.hub.close()


def _plain(province: ProvinceService) -> CodeService:
    """The same service reading on every request (the reference)."""
    kept = province.codes
    return CodeService(
        db=kept.db,
        clock=kept.clock,
        signers=kept.signers,
        serials=kept.serials,
        evaluate=kept.evaluate,
        ruleset_label=kept.ruleset_label,
        ruleset_digest=kept.ruleset_digest,
        detail=kept.detail,
        states_kept=0,
    )


def _same(kept: dict[str, Any], plain: dict[str, Any]) -> None:
    a, b = peek_code(kept.pop("code")), peek_code(plain.pop("code"))
    assert kept == plain
    assert a == b  # times, serial, colour, badges: all but the signature


@pytest.mark.parametrize("seed", range(4))
def test_kept_codes_say_what_a_fresh_read_says(
    signing: ProvinceService, publishing_hub: Hub, clock: FixedClock, seed: int
) -> None:
    """Random feeds, sweeps, time passing and requests: the kept service (a hit whenever it
    can) answers exactly as one that reads on every request."""
    province, hub = signing, publishing_hub
    rng = random.Random(seed)
    plain = _plain(province)
    people = [applicant(seq=f"{700 + i}") for i in range(4)]
    names = [province.applications.apply(p)["pseudonym"] for p in people]
    _, token = hub.orgs.add(kind="lab", region_code="440106", name="lab")
    lab = hub.orgs.authenticate(token)
    hits = 0
    for step in range(40):
        op = rng.choice(["nat", "advance", "sweep", "issue", "issue", "issue"])
        if op == "nat":
            who = rng.randrange(len(people))
            sampled = clock.now() - timedelta(hours=rng.choice([1, 20, 60]))
            record = nat_record(
                f"K{seed}-{step}",
                people[who]["id_number"],
                rng.choice(["positive", "negative"]),
                sampled_at=sampled.isoformat(),
            )
            hub.ingest.submit(lab, "nat", [Located({"index": 0}, record)])
            province.pull_all()
        elif op == "advance":
            clock.advance(timedelta(hours=rng.choice([1, 2, 6])))
        elif op == "sweep":
            province.sweep_once()
        else:
            p = rng.choice(names)
            hits += province.codes.kept.get(p) is not None
            medium = rng.choice(["screen", "paper"])
            _same(province.codes.issue(p, medium), plain.issue(p, medium))
            assert province.codes.explain(p) == plain.explain(p)
    assert hits > 0 and len(plain.kept) == 0


def test_each_colour_state_takes_an_index_and_the_older_one_is_superseded(
    signing: ProvinceService, publishing_hub: Hub, network: Network, clock: FixedClock
) -> None:
    from healthcode.core.codes.status_list import list_uri
    from healthcode.core.trust.status_lists import HeldStatusLists, open_status_list
    from healthcode.province.codes import light_subject

    hub = publishing_hub
    person = signing.applications.apply(applicant())
    green = signing.codes.issue(person["pseudonym"])
    green_status = peek_code(green["code"]).status
    assert green_status is not None and green_status.uri == list_uri("440000", 0)
    again = peek_code(signing.codes.issue(person["pseudonym"])["code"]).status
    assert again == green_status  # one colour state, one index, however many codes
    clock.advance(timedelta(seconds=1))
    _positive(hub, applicant()["id_number"])
    signing.pull_all()
    red = signing.codes.issue(person["pseudonym"])
    red_status = peek_code(red["code"]).status
    assert red_status is not None and red_status.idx > green_status.idx
    light = signing.codes.issue(person["pseudonym"], "light")
    light_payload = peek_code(light["code"])
    assert (light_payload.profile, light_payload.subject) == (
        "light",
        light_subject(person["pseudonym"]),
    )
    assert light_payload.masked_name == "" and light_payload.status == red_status
    while signing.report_once():
        pass
    _, token = hub.orgs.add(kind="checkpoint", region_code="110105", name="station")
    raw = hub.status_lists.token(hub.orgs.authenticate(token), "440000", 0)
    lists = HeldStatusLists([open_status_list(raw, root_cert=network.root.certificate)])
    settings = NativeSettings(
        trust=network.trust_list(at=clock.now()), rules=(), status_lists=lists
    )
    verify = NativeFormat(settings).verify
    with pytest.raises(HealthcodeError) as caught:
        verify(green["code"], clock.now())
    assert caught.value.code == "CODE_SUPERSEDED"
    assert verify(red["code"], clock.now()).colour == "red"
    assert verify(light["code"], clock.now()).profile == "light"
    with signing.db.read() as s:
        colour = s.get(Colour, person["pseudonym"])
        assert colour is not None and colour.status_index == red_status.idx
