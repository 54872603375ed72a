"""A venue's acceptance rules: chosen from the published list over the checkpoint's API, kept
on the device across a restart, applied to every code the verifier passes (a valid green code
without a recent NAT stops with the rule's words); unknown ids and hostile bodies refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from healthcode.checkpoint.service import VENUE_FILE, Checkpoint
from healthcode.checkpoint.venue import VenueRules, published
from healthcode.core import certlogic
from healthcode.core.errors import ConfigError
from live_network import LiveNetwork, live_network


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNetwork]:
    with live_network(tmp_path_factory.mktemp("network")) as running:
        yield running


def _choose(net: LiveNetwork, rules: object) -> httpx.Response:
    return httpx.put(net.services["checkpoint"].url + "/v1/venue", json={"rules": rules})


def test_every_published_rule_compiles_and_names_itself_in_both_languages() -> None:
    doc = published()
    ids = [r["id"] for r in doc["rules"]]
    assert len(ids) == len(set(ids)) and {"GREEN-ONLY", "NAT-48H", "VACCINATED"} <= set(ids)
    for rule in doc["rules"]:
        certlogic.compile(rule["logic"])
        assert all(rule[k].strip() for k in ("zh", "en", "stop_zh", "stop_en"))


def test_a_valid_green_code_without_a_recent_nat_stops_at_a_nat_48h_venue(
    net: LiveNetwork,
) -> None:
    try:
        assert _choose(net, ["NAT-48H"]).json()["chosen"] == ["NAT-48H"]
        plain = net.check(net.issue("440000", "green"))
        assert (plain["decision"], plain["reason"], plain["venue_rule"]) == (
            "stop",
            "RULE_FAILED",
            "NAT-48H",
        )
        assert plain["shown"]["reason"] == "本场所要求48小时内核酸阴性"  # type: ignore[index]
        assert plain["colour"] == "green" and plain["identity"]
        for badge in ("nat-48h", "nat-24h"):
            tested = net.check(net.issue("440000", "green", badges=(badge,)))
            assert (tested["decision"], tested["venue_rule"]) == ("pass", None)
        older = net.check(net.issue("440000", "green", badges=("nat-72h", "vaccine-3")))
        assert older["decision"] == "stop"
        red = net.check(net.issue("440000", "red", badges=("nat-24h",)))
        assert (red["reason"], red["venue_rule"]) == ("CODE_RED", None)
        assert _choose(net, ["VACCINATED", "NAT-72H"]).json()["chosen"] == ["NAT-72H", "VACCINATED"]
        assert (
            net.check(net.issue("440000", "green", badges=("nat-72h", "vaccine-3")))["decision"]
            == "pass"
        )
    finally:
        _choose(net, [])
    assert net.check(net.issue("440000", "green"))["decision"] == "pass"


def test_unknown_rules_and_hostile_bodies_are_refused_and_change_nothing(
    net: LiveNetwork,
) -> None:
    url = net.services["checkpoint"].url + "/v1/venue"
    assert _choose(net, ["GREEN-ONLY"]).status_code == 200
    try:
        for bad in (["NO-SUCH"], "GREEN-ONLY", [1], None, ["GREEN-ONLY"] * 17):
            r = _choose(net, bad)
            assert (r.status_code, r.json()["error"]["code"]) == (422, "VENUE_RULE_UNKNOWN")
        r = httpx.put(url, content=b"{" * 10)
        assert r.json()["error"]["code"] == "JSON_INVALID"
        r = httpx.put(url, content=b" " * 5000)
        assert r.json()["error"]["code"] == "BODY_TOO_LARGE"
        assert httpx.get(url).json()["chosen"] == ["GREEN-ONLY"]
    finally:
        _choose(net, [])


def test_the_choice_is_kept_on_the_device_across_a_restart(net: LiveNetwork) -> None:
    checkpoint: Checkpoint = net.services["checkpoint"].loops  # type: ignore[assignment]
    try:
        _choose(net, ["FULL-CODE", "GREEN-ONLY"])
        kept = Path(checkpoint.store.directory) / VENUE_FILE
        assert VenueRules(kept).chosen == ("GREEN-ONLY", "FULL-CODE")
        assert VenueRules(kept).describe()["version"] == published()["version"]
    finally:
        _choose(net, [])
    assert VenueRules(kept).chosen == ()


@pytest.mark.parametrize("text", ["{", "[]", '{"rules": "NAT-48H"}', '{"rules": [1]}'])
def test_a_damaged_choice_stops_the_checkpoint_from_starting(tmp_path: Path, text: str) -> None:
    """Starting without the venue's rules would let through what the venue chose to stop."""
    kept = tmp_path / VENUE_FILE
    kept.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        VenueRules(kept)
    assert caught.value.code == "CONFIG_INVALID"
