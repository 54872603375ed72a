"""A network data folder on free ports, its hub and checkpoint served in this process over real
HTTP (uvicorn in threads), and codes issued with its keys."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from healthcode.checkpoint.service import Checkpoint
from healthcode.core.clock import SystemClock
from healthcode.core.codes.native import SCREEN_LIFETIME
from healthcode.core.trust.issue import issue_code
from healthcode.core.trust.network import Network
from healthcode.network.datadir import DataDir
from healthcode.network.init import init_network
from healthcode.network.runner import NetworkRunner, Service
from healthcode.network.serve import checkpoint_service, hub_service
from healthcode.store.db import Database
from healthcode.store.trust_state import SqlStateStore


def free_base_port(count: int = 4) -> int:
    """A port from which ``count`` consecutive ports are free now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + count >= 65000:
            continue
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError("no free ports")


@dataclass
class LiveNetwork:
    folder: DataDir
    runner: NetworkRunner
    services: dict[str, Service]

    def token(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.folder.token(name)}"}

    def network(self) -> Network:
        db = Database.from_url(self.folder.database_url("hub.db"))
        return Network.open(self.folder.keys, store=SqlStateStore(db, clock=SystemClock()))

    def issue(
        self,
        province: str,
        colour: str,
        *,
        subject: str = "ab" * 32,
        serial: bytes | None = None,
        lifetime: timedelta = SCREEN_LIFETIME,
        badges: tuple[str, ...] = (),
    ) -> str:
        clock = SystemClock()
        return issue_code(
            signer=self.network().active_signer(province, at=clock.now()),
            subject=subject,
            colour=colour,
            badges=badges,
            rule_set="national-baseline",
            masked_name="张*丰",
            masked_id="4401**********1231",
            clock=clock,
            lifetime=lifetime,
            serial=serial,
        )

    def check(self, code: str, *, online: bool = False) -> dict[str, object]:
        url = self.services["checkpoint"].url + "/v1/check"
        response = httpx.post(url, json={"code": code, "online": online}, timeout=30)
        assert response.status_code == 200, response.text
        answer: dict[str, object] = response.json()
        return answer


def held_trust_list(checkpoint: Service, seconds: float = 60) -> None:
    """Wait until the checkpoint holds the hub's trust list: its first refresh at start may time
    out on a loaded machine (a 2 s limit), and the next comes only after its period."""
    deadline = time.monotonic() + seconds
    loops = checkpoint.loops
    assert isinstance(loops, Checkpoint)
    while loops.store.opened() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"the checkpoint took no trust list: {loops.last_refresh}")
        loops.refresh()
        time.sleep(0.2)


@contextmanager
def live_network(root: Path) -> Iterator[LiveNetwork]:
    report = init_network(root, base_port=free_base_port())
    folder = report.folder
    runner = NetworkRunner()
    services = {}
    try:
        for service in (hub_service(folder), checkpoint_service(folder)):
            runner.start(service)
            services[service.name] = service
        held_trust_list(services["checkpoint"])
        yield LiveNetwork(folder, runner, services)
    finally:
        runner.stop()
