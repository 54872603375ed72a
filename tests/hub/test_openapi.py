"""The OpenAPI document against the running hub: schemathesis, with all its checks, finds no
server error (5xx), no status the document does not name and no 405 without an exact ``Allow``.

One check is left out: ``positive_data_acceptance`` (a body the schema allows must be accepted).
The document's record schemas are open objects (each kind's fields and their rules are in
docs/hub.md), so an object the schema allows is rarely a valid record: the hub answers it 422
with the field and code, as it should.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from live import LiveHub, add_org


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lab", "province"])
def test_schemathesis_finds_nothing(tmp_path: Path, kind: str) -> None:
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
                "all",
                "--exclude-checks",
                "positive_data_acceptance",
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


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/v1/risk-areas", "GET, POST"),
        ("DELETE", "/v1/status", "GET, POST"),
        ("GET", "/v1/records/nat", "POST"),
        ("POST", "/v1/health", "GET"),
    ],
)
def test_a_405_names_every_method_of_its_path(
    client: httpx.Client, method: str, path: str, allow: str
) -> None:
    r = client.request(method, path)
    assert r.status_code == 405 and r.headers["Allow"] == allow
    assert r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_every_route_documents_the_errors_it_answers(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            if path == "/v1/health":
                continue
            if path.startswith("/v1/witness/"):  # public (C2SP tlog-witness): no token
                assert "404" in documented and "401" not in documented, (method, path)
                continue
            assert "401" in documented, (method, path, documented)
            if method in ("post", "patch"):
                assert {"400", "401", "403", "413", "422"} <= documented, (method, path)
