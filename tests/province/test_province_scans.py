"""Venue scans at the province: a scan alone, a scan backed by the phone's itinerary, and a
forwarded scan the phone contradicts (flagged, shown to the person), on the columnar path (a
risk area designated) and on the scalar path (a record arriving) alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import applicant, nat_record

from healthcode.core.clock import FixedClock
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.province.app import create_app
from healthcode.province.documents import summary_of
from healthcode.province.models import Colour
from healthcode.province.service import ProvinceService

SCAN_AT = "2022-11-19T10:00:00+08:00"


@pytest.fixture
def client(province: ProvinceService) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


def _itinerary(hub: Hub, org: Callable[..., str], *visits: dict[str, Any]) -> None:
    principal = hub.orgs.authenticate(org("itinerary", "440000"))
    hub.ingest.submit(
        principal, "itinerary", [Located({"index": i}, v) for i, v in enumerate(visits)]
    )


def _visit(record_id: str, seq: str, region: str, at: str, source: str) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "id_number": applicant(seq=seq)["id_number"],
        "region_code": region,
        "at": at,
        "source": source,
    }


def _state(province: ProvinceService, pseudonym: str) -> tuple[str, Any]:
    with province.db.read() as s:
        colour = s.get(Colour, pseudonym)
        summary = summary_of(s, pseudonym)
    assert colour is not None and summary is not None
    return colour.colour, summary["medium_area_last_visit"]


def test_scans_count_only_when_backed_on_both_paths(
    province: ProvinceService,
    hub: Hub,
    org: Callable[..., str],
    client: httpx.Client,
    clock: FixedClock,
) -> None:
    people = {}
    for name, seq in (("alone", "301"), ("backed", "302"), ("forwarded", "303")):
        answer = client.post("/v1/applications", json=applicant(seq=seq)).json()
        people[name] = (seq, answer["pseudonym"], {"Authorization": f"Bearer {answer['token']}"})
    _itinerary(
        hub,
        org,
        *(_visit(f"S{seq}", seq, "440106", SCAN_AT, "venue_scan") for seq, _, _ in people.values()),
        # the phone of the one backed is in Guangzhou two hours later
        _visit("C302", "302", "440100", "2022-11-19T12:00:00+08:00", "carrier_cell"),
        # the forwarded scan's phone is in Beijing at the time of the scan
        _visit("C303", "303", "110105", "2022-11-19T10:30:00+08:00", "carrier_cell"),
    )
    province.pull_all()
    clock.advance(timedelta(minutes=1))
    # the columnar path: a designation re-evaluates the area's visitors
    authority = hub.orgs.authenticate(org("risk-authority", "440106"))
    hub.risk_areas.designate(
        authority,
        {
            "region_code": "440106",
            "level": "medium",
            "effective_from": "2022-11-19T00:00:00+08:00",
            "document": "穗防控〔2022〕9号",
        },
    )
    province.pull_all()
    columnar = {name: _state(province, p) for name, (_, p, _) in people.items()}
    assert columnar["alone"] == ("green", None)
    assert columnar["forwarded"] == ("green", None)
    assert columnar["backed"][0] == "yellow" and columnar["backed"][1] is not None
    scans = {
        name: client.get("/v1/me/scans", headers=auth).json()["scans"]
        for name, (_, _, auth) in people.items()
    }
    assert [s["flag"] for s in scans["alone"]] == ["VENUE_SCAN_UNCORROBORATED"]
    assert [s["flag"] for s in scans["forwarded"]] == ["VENUE_SCAN_CONTRADICTED"]
    assert scans["backed"] == []
    assert scans["forwarded"][0]["region_code"] == "440106"
    # the scalar path: a record for each re-evaluates them one by one, with the same answer
    lab = hub.orgs.authenticate(org("lab", "440106"))
    hub.ingest.submit(
        lab,
        "nat",
        [
            Located(
                {"index": i}, nat_record(f"N{seq}", applicant(seq=seq)["id_number"], "negative")
            )
            for i, (seq, _, _) in enumerate(people.values())
        ],
    )
    province.pull_all()
    assert {name: _state(province, p) for name, (_, p, _) in people.items()} == columnar
    # the phone's itinerary arriving later backs the scan: it counts from then on
    _itinerary(
        hub, org, _visit("C301", "301", "440100", "2022-11-19T09:00:00+08:00", "carrier_cell")
    )
    province.pull_all()
    assert _state(province, people["alone"][1])[0] == "yellow"
    assert client.get("/v1/me/scans", headers=people["alone"][2]).json()["scans"] == []
