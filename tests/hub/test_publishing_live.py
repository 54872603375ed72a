"""Issue 9 scenario over real HTTP: two hub processes and the CLI revoke, rotate and publish in
turn on one database while a checkpoint follows the hubs' trust lists.

No list misses a revocation made before it, no sequence carries two documents, and a
rolled-back list handed to the checkpoint is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from live import LiveHub, add_org, cli

from healthcode.core.clock import SystemClock
from healthcode.core.errors import TrustError
from healthcode.core.trust.certs import load_certificate
from healthcode.core.trust.trustlist import TrustList, TrustStore


@pytest.fixture
def hubs(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[LiveHub]]:
    home = tmp_path / "keys"
    done = cli(fresh_db_url, "keys", "init", "--provinces", "110000,440000", "--home", str(home))
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("HEALTHCODE_HOME", str(home))  # the hubs' key home (publisher keys)
    started = [LiveHub(fresh_db_url, tmp_path / f"hub{i}.log") for i in range(2)]
    try:
        for hub in started:
            hub.start()
        yield started
    finally:
        for hub in started:
            hub.stop()


def _keys(db_url: str, home: Path, *args: str) -> str:
    done = cli(db_url, *args, "--home", str(home))
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_two_hubs_and_the_cli_never_lose_a_revocation(
    hubs: list[LiveHub], fresh_db_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "keys"
    root = load_certificate((home / "root.cert.pem").read_bytes())
    checkpoint = TrustStore(tmp_path / "checkpoint", root_cert=root, clock=SystemClock())
    token = add_org(fresh_db_url, "checkpoint", "440000", "gate 1")
    seen: dict[int, bytes] = {}
    revoked_kids: set[str] = set()
    revoked_serials: set[str] = set()
    taken: list[bytes] = []

    def follow(hub: LiveHub) -> TrustList:
        r = httpx.get(
            hub.url + "/v1/published/trust-list",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        doc = checkpoint.accept(r.content)
        assert seen.setdefault(doc.sequence, doc.digest) == doc.digest
        taken.append(r.content)
        listed = checkpoint.current()
        assert {k.hex() for k in listed.revoked_signers} >= revoked_kids & {
            e.kid.hex() for e in listed.signers
        }
        assert {s.hex() for s in listed.revoked_serials} >= revoked_serials
        return listed

    signers = json.loads(_keys(fresh_db_url, home, "keys", "list", "--json"))
    bj = next(s["kid"] for s in signers if s["province"] == "110000")
    follow(hubs[0])
    _keys(fresh_db_url, home, "keys", "revoke", "--kid", bj)
    revoked_kids.add(bj)
    assert bj in {k.hex() for k in follow(hubs[1]).revoked_signers}
    assert bj in {k.hex() for k in follow(hubs[0]).revoked_signers}  # no restart needed
    _keys(fresh_db_url, home, "keys", "rotate", "--province", "440000")
    follow(hubs[1])
    published = _keys(fresh_db_url, home, "trust", "publish")
    assert "#" in published
    cli_list = (home / "published" / "trust-list.cose").read_bytes()
    doc = checkpoint.accept(cli_list)  # the CLI's list comes from the same counter
    assert seen.setdefault(doc.sequence, doc.digest) == doc.digest
    _keys(fresh_db_url, home, "keys", "revoke", "--serial", "ab" * 12)
    revoked_serials.add("ab" * 12)
    follow(hubs[0])
    follow(hubs[1])
    assert len(seen) >= 5
    with pytest.raises(TrustError) as err:  # last week's list, handed over by an attacker
        checkpoint.accept(taken[0])
    assert err.value.code == "ENVELOPE_ROLLBACK"
    assert checkpoint.status().stale_by == timedelta(0)
