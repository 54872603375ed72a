"""Purge: expired rows go, the statement is signed and says what went."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from hub_testdata import nat, network_in, resident_id
from sqlalchemy import func, select

from healthcode.core.clock import FixedClock
from healthcode.core.errors import TrustError
from healthcode.core.trust.certs import make_root
from healthcode.hub.purge import PurgeService, verify_statement
from healthcode.hub.services import Hub
from healthcode.store.models import FeedEntry, Identity, PurgeStatement, Record

Org = Callable[..., dict[str, str]]


def test_purge_deletes_expired_and_signs_a_statement(
    client: httpx.Client, hub: Hub, org: Org, clock: FixedClock, tmp_path: Path
) -> None:
    lab, gd = org("lab"), org("province", "440000")
    client.post("/v1/records/nat", json=nat("S1", resident_id()), headers=lab)
    vac = org("vaccination")
    client.post(
        "/v1/records/vaccination",
        json={
            "record_id": "V1",
            "id_number": resident_id(seq="222"),
            "product": "BIBP",
            "dose": 1,
            "administered_at": "2022-06-01T10:00",
            "site": "s",
        },
        headers=vac,
    )
    clock.advance(timedelta(days=200))  # NAT (30 d), feed entries (30 d) expire; doses stay
    net = network_in(hub.db, tmp_path / "keys", clock.now())
    purge = PurgeService.of_network(db=hub.db, clock=clock, home=net.home, passphrase=None)
    signed = purge.run()
    root = net.root_certificate
    assert verify_statement(signed.cose, root_cert=root, clock=clock) == signed.statement
    stranger = make_root(now=clock.now()).certificate
    with pytest.raises(TrustError) as err:  # the root of another network does not vouch for it
        verify_statement(signed.cose, root_cert=stranger, clock=clock)
    assert err.value.code == "ENVELOPE_PUBLISHER_INVALID"
    deleted = signed.statement["deleted"]
    assert deleted["records.nat"]["count"] == 1
    assert deleted["records.nat"]["from"].startswith("2022-11-19")
    assert deleted["records.vaccination"]["count"] == 0
    assert deleted["feed_entries"]["count"] == 2
    assert deleted["identities"]["count"] == 1  # the NAT person's; the dose keeps the other
    with hub.db.read() as s:
        assert s.execute(select(func.count()).select_from(Record)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(FeedEntry)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Identity)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(PurgeStatement)).scalar_one() == 1
    # a cursor older than what was purged is refused, not silently gapped
    r = client.get("/v1/feeds/440000", params={"after": 0}, headers=gd)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CURSOR_EXPIRED"
    assert client.get("/v1/feeds/440000", params={"after": 2}, headers=gd).status_code == 200
