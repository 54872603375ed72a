"""The national dashboard's aggregates: records received per department and hour, a
province's feed lag from the cursor it last read, only with the hub's operator token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from hub_testdata import ASGISyncTransport, nat, resident_id

from healthcode.core.clock import FixedClock
from healthcode.hub.app import create_app
from healthcode.hub.services import Hub

_SECRET = {"Authorization": "Bearer national-secret"}


@pytest.fixture
def national(hub: Hub) -> Iterator[httpx.Client]:
    """A client of the hub with an operator token."""
    hub = replace(hub, settings=replace(hub.settings, operator_token="national-secret"))
    with httpx.Client(transport=ASGISyncTransport(create_app(hub)), base_url="http://hub") as c:
        yield c


def _register(c: httpx.Client, headers: dict[str, str], seq: str) -> str:
    number = resident_id(seq=seq)
    body = {"people": [{"id_number": number}]}
    assert c.post("/v1/registrations", json=body, headers=headers).status_code < 300
    return number


def test_ingest_per_department_and_hour_and_the_feed_lag(
    national: httpx.Client, org: Callable[..., dict[str, str]], clock: FixedClock
) -> None:
    c = national
    lab = org("lab", "440106", name="广州金域")
    other = org("lab", "440106", name="广州迪安")
    province = org("province", "440000")
    number = _register(c, province, "201")
    for i in range(3):
        r = c.post("/v1/records/nat", json=nat(f"A{i}", number), headers=lab)
        assert r.status_code < 300, r.text
    clock.advance(timedelta(hours=1))
    assert c.post("/v1/records/nat", json=nat("B1", number), headers=other).status_code < 300

    for path in ("/v1/ops/ingest", "/v1/ops/reports", "/v1/ops/feeds"):
        assert c.get(path, headers=province).json()["error"]["code"] == "OPERATOR_TOKEN_INVALID"
    got = c.get("/v1/ops/ingest?hours=3", headers=_SECRET).json()
    assert [(d["org"], d["counts"], d["total"]) for d in got["departments"]] == [
        ("广州金域", [0, 3, 0], 3),
        ("广州迪安", [0, 0, 1], 1),
    ]
    assert c.get("/v1/ops/ingest?hours=0", headers=_SECRET).status_code == 422

    feeds = c.get("/v1/ops/feeds", headers=_SECRET).json()["provinces"]
    assert [(f["province"], f["read_after"], f["lag_seconds"]) for f in feeds] == [
        ("440000", None, None)  # entries, read by no one yet
    ]
    assert c.get("/v1/feeds/440000?after=1", headers=province).status_code == 200
    clock.advance(timedelta(minutes=30))
    [feed] = c.get("/v1/ops/feeds", headers=_SECRET).json()["provinces"]
    assert feed["read_after"] == 1 and feed["waiting"] == feed["last_seq"] - 1 > 0
    # the oldest entry waiting was appended 90 minutes ago (the first records)
    assert feed["lag_seconds"] == 90 * 60
    reports = c.get("/v1/ops/reports?hours=2", headers=_SECRET).json()
    assert reports["provinces"] == [] and reports["mean_seconds"] == [None, None]
    assert c.get("/ops").headers["content-security-policy"].startswith("default-src")
