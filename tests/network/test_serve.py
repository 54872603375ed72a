"""``healthcode serve`` as a subprocess on a fresh data folder: every service prints its address
and answers; the population is seeded once; a second start keeps the folder and seeds nothing."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from healthcode.network.datadir import DataDir
from healthcode.network.staff import DEMO_GRID, DEMO_STAFF, staff_token_path
from live_network import free_base_port

CLI = [sys.executable, "-m", "healthcode.cli.main"]
ADDRESS = re.compile(r"^(\S+)\s+on (http://\S+)$")


class Served:
    """``healthcode serve`` running; its output read as it comes."""

    def __init__(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
        self.proc = subprocess.Popen([*CLI, "serve", *args], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, seconds: float = 240) -> None:
        deadline = time.monotonic() + seconds
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, "\n".join(self.lines)
            time.sleep(0.1)

    def addresses(self) -> dict[str, str]:
        return {m[1]: m[2] for line in self.lines if (m := ADDRESS.match(line))}

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


def _demo_staff_sign_in(folder: DataDir, lines: list[str]) -> dict[str, str]:
    """Each province's demo staff token file (0600, printed by serve) signs in with its role
    (``GET /v1/staff/me``); the tokens by file."""
    tokens = {}
    for province in folder.provinces:
        for member in DEMO_STAFF:
            path = staff_token_path(folder, province, member.role)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert any(str(path) in line for line in lines), lines
            token = path.read_text(encoding="ascii").strip()
            me = httpx.get(folder.url(province) + "/v1/staff/me",
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert me.status_code == 200, me.text
            assert me.json()["roles"] == [member.role]
            assert me.json()["region_code"] == province
            tokens[str(path)] = token
    assert len(set(tokens.values())) == len(tokens)
    return tokens


def _grid_worker_has_tasks(folder: DataDir, seconds: float = 120) -> str:
    """The first province's demo grid worker sees tasks of the seeded outbreak (made as the
    province reads the hub's feed, so a little after seeding); a task's person."""
    province = folder.provinces[0]
    token = staff_token_path(folder, province, "grid-worker").read_text(encoding="ascii").strip()
    deadline = time.monotonic() + seconds
    while True:
        answer = httpx.get(folder.url(province) + "/v1/grid/tasks",
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        if answer.json()["tasks"]:
            assert {t["grid_id"] for t in answer.json()["tasks"]} == {DEMO_GRID}
            return str(answer.json()["tasks"][0]["pseudonym"])
        assert time.monotonic() < deadline, "the demo grid worker has no task"
        time.sleep(0.5)


def _operator_proposes_approver_approves(folder: DataDir, pseudonym: str) -> None:
    """A manual decision the demo operator records, the demo approver (another person)
    approves."""
    url = folder.url(folder.provinces[0])

    def auth(role: str) -> dict[str, str]:
        path = staff_token_path(folder, folder.provinces[0], role)
        return {"Authorization": f"Bearer {path.read_text(encoding='ascii').strip()}"}

    until = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0).isoformat()
    body = {"subjects": [pseudonym], "colour": "red", "legal_basis": "IDL-39-1-3",
            "evidence": [{"kind": "contact_tracing", "ref": "CT-2022-0042"}],
            "expires_at": until}  # fmt: skip
    made = httpx.post(url + "/v1/decisions", json=body, headers=auth("operator"))
    assert made.status_code == 201, made.text
    approved = httpx.post(
        f"{url}/v1/decisions/{made.json()['id']}/approve", headers=auth("approver")
    )
    assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text


@pytest.mark.slow
def test_serve_runs_the_network_and_seeds_it_once(tmp_path: Path) -> None:
    root = tmp_path / "net"
    base = str(free_base_port())
    served = Served(str(root), "--base-port", base, "--people", "300")
    try:
        served.wait_for("serving; Ctrl-C stops")
        addresses = served.addresses()
        expected = {"hub", "checkpoint", "440000", "110000"}
        assert expected <= set(addresses), served.lines
        assert httpx.get(addresses["hub"] + "/v1/health").status_code == 200
        for province in expected - {"hub", "checkpoint"}:
            health = httpx.get(addresses[province] + "/v1/health").json()
            assert health["province"] == province
        assert any(line.startswith("  healthcode code show") for line in served.lines)
        trust = httpx.get(addresses["checkpoint"] + "/v1/trust").json()
        assert trust["trust_list"]["sequence"] >= 1
        folder = DataDir.open(root)
        headers = {"Authorization": f"Bearer {folder.token('checkpoint')}"}
        areas = httpx.get(addresses["hub"] + "/v1/risk-areas", headers=headers).json()["areas"]
        assert [a["level"] for a in areas] == ["medium"]
        assert any(line.startswith("  curl") for line in served.lines)
        assert any("records" in line and "population" in line for line in served.lines)
        tokens = _demo_staff_sign_in(folder, served.lines)
        _operator_proposes_approver_approves(folder, _grid_worker_has_tasks(folder))
    finally:
        assert served.stop() == 0, served.lines
    again = Served(str(root), "--base-port", base)
    try:
        again.wait_for("serving; Ctrl-C stops")
        assert not any(line.startswith("seeding") for line in again.lines), again.lines
        assert not any(line.startswith("made") for line in again.lines), again.lines
        assert _demo_staff_sign_in(folder, again.lines) == tokens  # kept, and still good
    finally:
        assert again.stop() == 0, again.lines
