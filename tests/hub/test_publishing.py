"""Signed publishing: what the hub serves opens at a checkpoint; sequences grow per kind and a
rollback is refused; a new risk-area designation bumps the risk-areas document."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from hub_testdata import ENV, NOW, ASGISyncTransport

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.core.errors import TrustError
from healthcode.core.trust.envelope import open_envelope
from healthcode.core.trust.network import Network
from healthcode.core.trust.trustlist import TrustList
from healthcode.hub.app import create_app
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.trust_state import SqlStateStore

Org = Callable[..., dict[str, str]]
AREA = {
    "region_code": "440106",
    "level": "high",
    "effective_from": "2022-11-21T00:00:00+08:00",  # announced ahead
    "document": "穗防指〔2022〕7号",
}


@pytest.fixture
def network(tmp_path: Path, db: Database) -> Network:
    clock = FixedClock(NOW - timedelta(days=1))
    store = SqlStateStore(db, clock=clock)
    return Network.init(tmp_path / "net", store=store, provinces=["440000", "110000"], clock=clock)


@pytest.fixture
def pub_hub(db: Database, clock: FixedClock, network: Network) -> Hub:
    settings = Settings.from_env({**ENV, "HEALTHCODE_HOME": str(network.home)})
    return Hub.build(settings=settings, db=db, clock=clock)


@pytest.fixture
def pub_client(pub_hub: Hub) -> Iterator[httpx.Client]:
    with httpx.Client(transport=ASGISyncTransport(create_app(pub_hub)), base_url="http://t") as c:
        yield c


def token(hub: Hub, kind: str, region: str = "440000") -> dict[str, str]:
    _, secret = hub.orgs.add(kind=kind, region_code=region, name=f"{kind} {region}")
    return {"Authorization": f"Bearer {secret}"}


def root(network: Network) -> x509.Certificate:
    return network.root.certificate


def test_checkpoint_opens_every_kind_and_refuses_a_rollback(
    pub_client: httpx.Client, pub_hub: Hub, network: Network, clock: FixedClock
) -> None:
    checkpoint = token(pub_hub, "checkpoint")
    for kind in ("rule-set", "value-set", "risk-areas", "trust-list"):
        r = pub_client.get(f"/v1/published/{kind}", headers=checkpoint)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/cose")
        doc = open_envelope(r.content, root_cert=root(network), kind=kind, clock=clock)
        assert doc.sequence == int(r.headers["x-sequence"]) >= 1
        assert json.loads(doc.content)
        # served again unchanged: the same envelope, the same sequence
        assert pub_client.get(f"/v1/published/{kind}", headers=checkpoint).content == r.content
    trust = open_envelope(
        pub_client.get("/v1/published/trust-list", headers=checkpoint).content,
        root_cert=root(network),
        kind="trust-list",
        clock=clock,
    )
    listed = TrustList.from_content(trust.content, root_cert=root(network))
    assert {e.province for e in listed.signers} == {"440000", "110000"}
    assert set(listed.rule_sets) == {"national-baseline"} and set(listed.value_sets) == {"hub"}
    # a rollback: the checkpoint holds #2 and is offered #1
    first = pub_client.get("/v1/published/risk-areas", headers=checkpoint).content
    held = open_envelope(first, root_cert=root(network), kind="risk-areas", clock=clock).held
    pub_client.post("/v1/risk-areas", json=AREA, headers=token(pub_hub, "risk-authority", "440100"))
    second = pub_client.get("/v1/published/risk-areas", headers=checkpoint).content
    newer = open_envelope(
        second, root_cert=root(network), kind="risk-areas", clock=clock, held=held
    )
    with pytest.raises(TrustError) as info:
        open_envelope(
            first, root_cert=root(network), kind="risk-areas", clock=clock, held=newer.held
        )
    assert info.value.code == "ENVELOPE_ROLLBACK"
    with pytest.raises(TrustError) as info:  # and a document of another kind is not taken
        open_envelope(second, root_cert=root(network), kind="rule-set", clock=clock)
    assert info.value.code == "ENVELOPE_KIND"


def test_new_designation_bumps_the_risk_areas_sequence(
    pub_client: httpx.Client, pub_hub: Hub, network: Network, clock: FixedClock
) -> None:
    province = token(pub_hub, "province", "110000")
    authority = token(pub_hub, "risk-authority", "440100")

    def areas() -> tuple[int, list[dict[str, object]]]:
        r = pub_client.get("/v1/published/risk-areas", headers=province)
        doc = open_envelope(r.content, root_cert=root(network), kind="risk-areas", clock=clock)
        return doc.sequence, json.loads(doc.content)["areas"]

    seq0, before = areas()
    assert before == []
    r = pub_client.post("/v1/risk-areas", json=AREA, headers=authority)
    assert r.status_code == 200, r.text  # effective tomorrow: accepted (core.facts fix)
    seq1, after = areas()
    assert seq1 == seq0 + 1
    assert [(a["region_code"], a["level"]) for a in after] == [("440106", "high")]
    assert areas()[0] == seq1  # nothing changed: no new sequence
    change = {"level": "medium", "document": "穗防指〔2022〕8号"}
    r = pub_client.patch(f"/v1/risk-areas/{r.json()['id']}", json=change, headers=authority)
    assert r.status_code == 200, r.text
    seq2, changed = areas()
    assert seq2 == seq1 + 1 and [a["level"] for a in changed] == ["medium"]
    # cancelled before it starts: no longer published
    cancel = {"document": "穗防指〔2022〕9号"}
    r = pub_client.post(f"/v1/risk-areas/{r.json()['id']}/lift", json=cancel, headers=authority)
    assert r.status_code == 200 and r.json()["cancelled_at"] is not None, r.text
    seq3, cancelled = areas()
    assert seq3 == seq2 + 1 and cancelled == []
    # the rule set did not move
    rs = pub_client.get("/v1/published/rule-set", headers=province)
    assert rs.headers["x-sequence"] == "1"


def test_documents_are_resealed_after_half_their_validity(
    pub_client: httpx.Client, pub_hub: Hub, network: Network, clock: FixedClock
) -> None:
    checkpoint = token(pub_hub, "checkpoint")
    first = pub_client.get("/v1/published/value-set", headers=checkpoint)
    clock.advance(timedelta(hours=13))
    second = pub_client.get("/v1/published/value-set", headers=checkpoint)
    assert int(second.headers["x-sequence"]) == int(first.headers["x-sequence"]) + 1
    doc = open_envelope(second.content, root_cert=root(network), kind="value-set", clock=clock)
    assert doc.expires == clock.now().replace(microsecond=0) + timedelta(hours=24)


def test_trust_list_sequence_continues_after_the_cli(
    pub_client: httpx.Client, pub_hub: Hub, network: Network, clock: FixedClock
) -> None:
    network.publish(clock=clock)
    network.publish(clock=clock)
    r = pub_client.get("/v1/published/trust-list", headers=token(pub_hub, "checkpoint"))
    assert r.headers["x-sequence"] == "3"


def test_a_hub_without_a_network_publishes_nothing(client: httpx.Client, org: Org) -> None:
    r = client.get("/v1/published/rule-set", headers=org("checkpoint"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_PUBLISHED"
    r = client.get("/v1/published/nonsense", headers=org("checkpoint"))
    assert r.status_code == 422
    assert client.get("/v1/published/rule-set").status_code == 401
