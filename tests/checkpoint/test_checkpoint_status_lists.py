"""The checkpoint holds the hub's Token Status Lists offline: a superseded or revoked colour state
stops at once, a list past the checkpoint's maximum age stops every code pointing into it, an
older list is refused, a list of another network is refused."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from healthcode.checkpoint.service import STATUS_LIST_FOLDER, Checkpoint
from healthcode.core.clock import FixedClock, SystemClock
from healthcode.core.codes.status_list import StatusList, list_uri, reference_of
from healthcode.core.errors import TrustError
from healthcode.core.identity import check_digit
from healthcode.core.trust.certs import make_publisher, make_root
from healthcode.core.trust.issue import issue_code
from healthcode.core.trust.status_lists import StatusListStore, seal_status_list
from healthcode.core.trust.trustlist import TrustStore
from live_network import LiveNetwork, live_network

GD = "440000"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNetwork]:
    with live_network(tmp_path_factory.mktemp("network")) as running:
        yield running


def _resident(seq: str) -> str:
    body = "440106" + "19900307" + seq
    return body + check_digit(body)


def _register(net: LiveNetwork, seq: str) -> str:
    answer = httpx.post(
        net.services["hub"].url + "/v1/registrations",
        json={"people": [{"id_number": _resident(seq)}]},
        headers=net.token("province-440000"),
    )
    assert answer.status_code == 200, answer.text
    pseudonym: str = answer.json()["pseudonyms"][0]
    return pseudonym


def _report(net: LiveNetwork, pseudonym: str, index: int, colour: str, **kw: object) -> None:
    report = {
        "serial": secrets.token_hex(12),
        "pseudonym": pseudonym,
        "colour": colour,
        "since": datetime.now(UTC).isoformat(),
        "ruleset_version": "national-baseline",
        "status_index": index,
        **kw,
    }
    answer = httpx.post(
        net.services["hub"].url + "/v1/status",
        json={"reports": [report]},
        headers=net.token("province-440000"),
    )
    assert answer.status_code == 200, answer.text


def _code(net: LiveNetwork, colour: str, index: int, pseudonym: str, *, light: bool = False) -> str:
    clock = SystemClock()
    return issue_code(
        signer=net.network().active_signer(GD, at=clock.now()),
        subject=pseudonym,
        colour=colour,
        rule_set="national-baseline",
        masked_name="张*丰",
        masked_id="4401**********1231",
        clock=clock,
        status=reference_of(GD, index),
        light=light,
    )


def test_superseded_and_revoked_states_stop_offline(net: LiveNetwork) -> None:
    anna, bo = _register(net, "201"), _register(net, "202")
    _report(net, anna, 10, "green")
    _report(net, anna, 11, "red")  # Anna's colour changed: state 10 is superseded
    _report(net, bo, 12, "green", revoked=True)
    refreshed = httpx.post(net.services["checkpoint"].url + "/v1/trust/refresh").json()
    taken = refreshed["status_lists"]["taken"]
    assert [t["uri"] for t in taken] == [list_uri(GD, 0)], refreshed
    old_green = net.check(_code(net, "green", 10, anna))
    assert (old_green["decision"], old_green["reason"]) == ("stop", "CODE_SUPERSEDED")
    assert net.check(_code(net, "red", 11, anna))["reason"] == "CODE_RED"
    assert net.check(_code(net, "green", 12, bo))["reason"] == "CODE_REVOKED"
    assert net.check(_code(net, "green", 13, bo))["decision"] == "pass"  # never reported: VALID
    light = net.check(_code(net, "green", 10, anna, light=True))  # the light code: the same
    assert light["reason"] == "CODE_SUPERSEDED"
    trust = httpx.get(net.services["checkpoint"].url + "/v1/trust").json()
    assert [s["uri"] for s in trust["status_lists"]] == [list_uri(GD, 0)]


def _checkpoint(net: LiveNetwork, at: datetime, max_age: timedelta) -> Checkpoint:
    folder = net.folder.trust_store
    root = TrustStore.recorded_root(folder)
    assert root is not None
    clock = FixedClock(at)
    return Checkpoint(
        store=TrustStore(folder, root_cert=root, clock=clock, max_staleness=timedelta(days=2)),
        clock=clock,
        status_lists=StatusListStore(folder / STATUS_LIST_FOLDER, root_cert=root),
        status_max_age=max_age,
    )


def test_a_list_past_the_max_age_stops_codes_pointing_into_it(net: LiveNetwork) -> None:
    anna = _register(net, "203")
    _report(net, anna, 20, "green")
    httpx.post(net.services["checkpoint"].url + "/v1/trust/refresh")
    code = _code(net, "green", 20, anna)
    assert (
        _checkpoint(net, datetime.now(UTC), timedelta(hours=12)).check(code)["decision"] == "pass"
    )
    later = _checkpoint(net, datetime.now(UTC) + timedelta(minutes=3), timedelta(minutes=1))
    answer = later.check(code)
    assert (answer["decision"], answer["reason"]) == ("stop", "STATUS_LIST_STALE")


def test_an_older_or_foreign_list_is_refused_and_the_held_one_stays(net: LiveNetwork) -> None:
    _report(net, _register(net, "204"), 30, "green")
    httpx.post(net.services["checkpoint"].url + "/v1/trust/refresh")
    now = datetime.now(UTC).replace(microsecond=0)
    checkpoint = _checkpoint(net, now, timedelta(hours=12))
    publisher = net.network().active_publisher(at=now)
    uri = list_uri(GD, 0)
    held = checkpoint.status_lists.token_for(uri) if checkpoint.status_lists else None
    assert held is not None
    older = seal_status_list(
        StatusList.empty(1 << 24),  # everyone valid, as before the revocations
        uri=uri,
        # a second earlier (or as early as the publisher may sign: the same iat, other bytes)
        issued_at=max(
            held.issued_at - timedelta(seconds=1), publisher.certificate.not_valid_before_utc
        ),
        expires_at=now + timedelta(days=1),
        ttl=timedelta(minutes=5),
        publisher=publisher,
    )
    with pytest.raises(TrustError) as caught:
        checkpoint.accept_status_list(older)
    assert caught.value.code == "ENVELOPE_ROLLBACK"
    other_root = make_root(now=now - timedelta(days=1))
    stranger = make_publisher(
        root=other_root, not_before=now - timedelta(days=1), not_after=now + timedelta(days=9)
    )
    foreign = seal_status_list(
        StatusList.empty(1 << 24),
        uri=uri,
        issued_at=now + timedelta(minutes=1),
        expires_at=now + timedelta(days=1),
        ttl=timedelta(minutes=5),
        publisher=stranger,
    )
    with pytest.raises(TrustError) as caught:
        checkpoint.accept_status_list(foreign)
    assert caught.value.code == "STATUS_LIST_SIGNER_INVALID"
    again = _checkpoint(net, now, timedelta(hours=12))
    kept = again.status_lists.token_for(uri) if again.status_lists else None
    assert kept is not None and kept.raw == held.raw


def test_a_checkpoint_started_from_its_folder_holds_its_lists(
    net: LiveNetwork, tmp_path: Path
) -> None:
    checkpoint = _checkpoint(net, datetime.now(UTC), timedelta(hours=12))
    assert checkpoint.status_lists is not None and len(checkpoint.status_lists) == 1


@pytest.mark.parametrize(
    ("lang", "certificate", "colour"), [("zh", "健康码", "红码"), ("en", "health code", "red code")]
)
def test_the_check_answer_shows_what_the_worker_compares(
    net: LiveNetwork, lang: str, certificate: str, colour: str
) -> None:
    url = net.services["checkpoint"].url + "/v1/check"
    answer = httpx.post(url, json={"code": net.issue("440000", "red"), "lang": lang}).json()
    shown = answer["shown"]
    assert (shown["lang"], shown["certificate"], shown["colour"]) == (lang, certificate, colour)
    assert shown["holder"] == {"name": "张*丰", "date_of_birth": None, "id": "4401**********1231"}
    assert (
        shown["reason"]
        == {
            "zh": "红码：不予通行，请按防疫要求处置",
            "en": "Red code: stop; follow the health rules.",
        }[lang]
    )
    assert httpx.post(url, json={"code": "x", "lang": "fr"}).status_code == 422


def test_a_light_code_passes_a_venue_and_shows_no_identity(net: LiveNetwork) -> None:
    clock = SystemClock()
    light = issue_code(
        signer=net.network().active_signer(GD, at=clock.now()),
        subject="cd" * 16,
        colour="green",
        rule_set="national-baseline",
        masked_name="张*丰",
        masked_id="4401**********1231",
        clock=clock,
        light=True,
    )
    answer = net.check(light)
    assert (answer["decision"], answer["profile"], answer["identity"]) == ("pass", "light", {})
    assert answer["shown"]["holder"] == {"name": None, "date_of_birth": None, "id": None}
