"""The OpenAPI document against the running hub: schemathesis finds no server error (5xx)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from live import LiveHub, add_org


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lab", "province"])
def test_schemathesis_finds_no_server_error(tmp_path: Path, kind: str) -> None:
    db_url = f"sqlite:///{tmp_path / 'hub.db'}"
    hub = LiveHub(db_url, tmp_path / "hub.log")
    hub.start()
    try:
        token = add_org(db_url, kind, "440000", f"{kind} for fuzzing")
        assert httpx.get(hub.url + "/openapi.json").status_code == 200
        st = Path(sys.executable).parent / "st"
        done = subprocess.run(
            [
                str(st),
                "run",
                hub.url + "/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "25",
                "--seed",
                "1",
                "-H",
                f"Authorization: Bearer {token}",
                "--phases",
                "examples,coverage,fuzzing",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    finally:
        hub.stop()
