"""The province's staff: members with roles and tokens, refused input, disabling, the route
that says who a token is, and the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hub_testdata import ASGISyncTransport
from province_testdata import PROVINCE_KEY
from typer.testing import CliRunner

from healthcode.cli.main import app as cli
from healthcode.core.errors import AccessDenied, HealthcodeError
from healthcode.province.app import create_app
from healthcode.province.service import ProvinceService


@pytest.fixture
def client(province: ProvinceService) -> Iterator[httpx.Client]:
    transport = ASGISyncTransport(create_app(province))
    with httpx.Client(transport=transport, base_url="http://province.test") as c:
        yield c


def test_a_member_is_known_by_their_token_and_holds_only_their_roles(
    province: ProvinceService, client: httpx.Client
) -> None:
    member, token = province.staff.add(
        name="王五", roles=["operator", "operator"], region_code="440106"
    )
    assert member.roles == ("operator",) and token.startswith("hcs_")
    assert province.staff.authenticate(token) == member
    assert member.require("operator", "approver") is member
    with pytest.raises(AccessDenied) as err:
        member.require("approver")
    assert err.value.code == "STAFF_ROLE_REQUIRED"
    me = client.get("/v1/staff/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": member.id,
        "name": "王五",
        "roles": ["operator"],
        "region_code": "440106",
        "grid_id": None,
    }
    # the province keeps the digest only
    with province.db.read() as s:
        from healthcode.province.models import StaffMember

        row = s.get(StaffMember, member.id)
    assert row is not None and token not in row.token_hash


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"name": " "}, "STAFF_NAME_INVALID"),
        ({"name": "x" * 65}, "STAFF_NAME_INVALID"),
        ({"name": "a\nb"}, "STAFF_NAME_INVALID"),
        ({"roles": []}, "STAFF_ROLE_UNKNOWN"),
        ({"roles": ["admin"]}, "STAFF_ROLE_UNKNOWN"),
        ({"region_code": "110105"}, "STAFF_REGION_OUTSIDE"),
        ({"region_code": "449999"}, "REGION_UNKNOWN"),
        ({"roles": ["grid-worker"]}, "STAFF_GRID_INVALID"),
        ({"grid_id": "G-1"}, "STAFF_GRID_INVALID"),
        ({"roles": ["grid-worker"], "grid_id": "../etc"}, "STAFF_GRID_INVALID"),
        ({"roles": ["grid-worker"], "grid_id": "g" * 33}, "STAFF_GRID_INVALID"),
    ],
)
def test_bad_members_are_refused_and_nothing_is_stored(
    province: ProvinceService, change: dict[str, object], code: str
) -> None:
    spec: dict[str, object] = {"name": "王五", "roles": ["operator"], "region_code": "440106"}
    with pytest.raises(HealthcodeError) as err:
        province.staff.add(**{**spec, **change})  # type: ignore[arg-type]
    assert err.value.code == code
    assert province.staff.members() == []


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer ",
        "Bearer hcs_nothing",
        "Bearer hcp1.x.y",
        "Basic hcs_x",
        "Bearer " + "A" * 5000,
    ],
)
def test_a_missing_or_wrong_staff_token_is_refused(
    client: httpx.Client, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    r = client.get("/v1/staff/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "STAFF_TOKEN_INVALID"


def test_a_disabled_member_is_refused_at_once(
    province: ProvinceService, client: httpx.Client
) -> None:
    member, token = province.staff.add(
        name="赵六", roles=["grid-worker"], region_code="440106", grid_id="G-440106-001"
    )
    assert member.grid_id == "G-440106-001"
    province.staff.disable(member.id)
    province.staff.disable(member.id)  # again: no change
    r = client.get("/v1/staff/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert province.staff.members()[0]["disabled"] is True
    with pytest.raises(HealthcodeError) as err:
        province.staff.disable("st_nobody")
    assert err.value.code == "STAFF_UNKNOWN"


def test_the_command_line_adds_lists_and_disables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHCODE_PROVINCE_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("HEALTHCODE_PROVINCE_REGION", "440000")
    monkeypatch.setenv("HEALTHCODE_PROVINCE_FIELD_KEY", PROVINCE_KEY)
    monkeypatch.setenv("HEALTHCODE_PROVINCE_HUB_URL", "http://hub.test")
    monkeypatch.setenv("HEALTHCODE_PROVINCE_HUB_TOKEN", "hc_unused")
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["province", "staff", "add", "--name", "王五", "--role", "operator", "--role",
         "approver", "--serves", "440106"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    staff_id = added.output.split()[1]
    assert "token: hcs_" in added.output
    listed = runner.invoke(cli, ["province", "staff", "list"])
    assert staff_id in listed.output and "operator,approver" in listed.output
    assert "active" in listed.output
    disabled = runner.invoke(cli, ["province", "staff", "disable", staff_id])
    assert disabled.exit_code == 0, disabled.output
    assert "disabled" in runner.invoke(cli, ["province", "staff", "list"]).output
    bad = runner.invoke(
        cli, ["province", "staff", "add", "--name", "x", "--role", "root", "--serves", "440106"]
    )
    assert bad.exit_code == 1 and "STAFF_ROLE_UNKNOWN" in bad.output
