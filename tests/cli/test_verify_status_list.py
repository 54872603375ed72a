"""`healthcode verify --status-list FILE --lang zh|en`, and `healthcode code issue --light`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healthcode.cli import options
from healthcode.cli.main import app
from healthcode.core.clock import FixedClock, parse_instant
from healthcode.core.codes.status_list import (
    STATUS_INVALID,
    STATUS_SUPERSEDED,
    StatusList,
    list_uri,
)
from healthcode.core.trust.certs import make_publisher, make_root
from healthcode.core.trust.status_lists import seal_status_list

runner = CliRunner()
NOW = "2022-11-20T09:00"


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def home(tmp_path: Path) -> Path:
    # keys made two days before: a publisher could sign lists issued since
    _run(
        "keys",
        "init",
        "--provinces",
        "440000",
        "--home",
        str(tmp_path),
        "--now",
        "2022-11-18T09:00",
    )
    _run(
        "trust",
        "publish",
        "--home",
        str(tmp_path),
        "--now",
        NOW,
        "--out",
        str(tmp_path / "tl.cose"),
    )
    return tmp_path


def _list(
    home: Path, statuses: dict[int, int], *, hours_ago: float = 0, foreign: bool = False
) -> Path:
    at = parse_instant(NOW) - timedelta(hours=hours_ago)
    clock = FixedClock(parse_instant(NOW))
    publisher = options.open_network(home, None, None, clock=clock).active_publisher(at=clock.now())
    if foreign:
        other = make_root(now=at - timedelta(days=1))
        publisher = make_publisher(
            root=other, not_before=at - timedelta(days=1), not_after=at + timedelta(days=30)
        )
    token = seal_status_list(
        StatusList.of(1 << 16, statuses.items()),
        uri=list_uri("440000", 0),
        issued_at=at,
        expires_at=at + timedelta(days=1),
        ttl=timedelta(minutes=5),
        publisher=publisher,
    )
    path = home / f"list-{hours_ago}-{foreign}.cwt"
    path.write_bytes(token)
    return path


def _code(home: Path, index: int, *extra: str) -> str:
    args = ("code", "issue", "--province", "440000", "--home", str(home), "--now", NOW)
    return _run(*args, "--status-index", str(index), *extra).strip()


def _verify(home: Path, code: str, *extra: str) -> tuple[int, str]:
    args = [
        "verify",
        code,
        "--trust",
        str(home / "tl.cose"),
        "--national-root",
        str(home / "root.cert.pem"),
    ]
    result = runner.invoke(app, [*args, "--at", NOW, "--trust-store", str(home / "store"), *extra])
    return result.exit_code, result.output


def test_superseded_and_revoked_codes_are_refused_with_a_list(home: Path) -> None:
    listed = str(_list(home, {1: STATUS_SUPERSEDED, 2: STATUS_INVALID}))
    code, out = _verify(home, _code(home, 1), "--status-list", listed)
    assert code == 1 and "status_list: CODE_SUPERSEDED" in out
    assert "持码人的健康码颜色已变更" in out  # Chinese by default
    code, out = _verify(home, _code(home, 2), "--status-list", listed, "--lang", "en")
    assert code == 1 and "CODE_REVOKED" in out and "The issuer has revoked this code." in out
    code, out = _verify(home, _code(home, 3), "--status-list", listed)
    assert code == 0 and "\nVALID" in out and "绿码 · 张*丰 · 4401**********1234" in out
    code, out = _verify(home, _code(home, 1))  # no list given: the status is not checked
    assert code == 0


def test_a_stale_list_and_a_foreign_one(home: Path) -> None:
    stale = str(_list(home, {}, hours_ago=30))
    code, out = _verify(
        home, _code(home, 3), "--status-list", stale, "--status-max-age-hours", "24"
    )
    assert code == 1 and "STATUS_LIST_STALE" in out
    old = str(_list(home, {}, hours_ago=13))
    code, out = _verify(home, _code(home, 3), "--status-list", old)
    assert code == 1 and "STATUS_LIST_STALE" in out
    code, out = _verify(home, _code(home, 3), "--status-list", old, "--status-max-age-hours", "14")
    assert code == 0, out
    code, out = _verify(home, _code(home, 3), "--status-list", str(_list(home, {}, foreign=True)))
    assert code == 2 and "STATUS_LIST_SIGNER_INVALID" in out


def test_the_json_result_carries_the_workers_view(home: Path) -> None:
    code, out = _verify(home, _code(home, 3), "--json", "--lang", "en")
    shown = json.loads(out.strip().splitlines()[-1])["shown"]
    assert shown["certificate"] == "health code" and shown["colour"] == "green code"
    assert shown["holder"] == {"name": "张*丰", "date_of_birth": None, "id": "4401**********1234"}
    code, out = _verify(home, _code(home, 3), "--lang", "fr")
    assert code == 2 and "LANG_UNKNOWN" in out


def test_a_light_code_shows_no_identity(home: Path) -> None:
    light = _code(home, 4, "--light")
    full = _code(home, 4)
    assert len(light) < len(full)
    code, out = _verify(home, light, "--json")
    result = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and result["profile"] == "light" and result["payload"]["name"] == ""
    assert result["shown"]["holder"] == {"name": None, "date_of_birth": None, "id": None}
    assert "张" not in light and result["shown"]["certificate"].startswith("简版健康码")
