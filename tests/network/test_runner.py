"""Several services in one process: each listens before the next starts; a taken port says so."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from healthcode.core.errors import HealthcodeError
from healthcode.network.runner import NetworkRunner, Service
from live_network import free_base_port


class Loops:
    def __init__(self) -> None:
        self.events: list[str] = []

    def start(self) -> None:
        self.events.append("start")

    def stop(self) -> None:
        self.events.append("stop")


def _app(name: str) -> FastAPI:
    app = FastAPI()

    @app.get("/name")
    def who() -> dict[str, str]:
        return {"name": name}

    return app


def test_services_answer_and_stop_with_their_loops() -> None:
    base = free_base_port(2)
    runner, loops, stopped = NetworkRunner(), Loops(), []
    try:
        runner.start(Service("a", _app("a"), "127.0.0.1", base, loops=loops))
        runner.start(
            Service("b", _app("b"), "127.0.0.1", base + 1, on_stop=lambda: stopped.append(1))
        )
        assert httpx.get(f"http://127.0.0.1:{base}/name").json() == {"name": "a"}
        assert httpx.get(f"http://127.0.0.1:{base + 1}/name").json() == {"name": "b"}
        assert loops.events == ["start"]
    finally:
        runner.stop()
    assert loops.events == ["start", "stop"] and stopped == [1]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{base}/name", timeout=1)


def test_a_taken_port_is_service_not_started() -> None:
    port = free_base_port(1)
    runner = NetworkRunner()
    try:
        runner.start(Service("first", _app("first"), "127.0.0.1", port))
        with pytest.raises(HealthcodeError) as caught:
            runner.start(Service("second", _app("second"), "127.0.0.1", port))
        assert caught.value.code == "SERVICE_NOT_STARTED"
        assert "second did not start" in caught.value.message
    finally:
        runner.stop()
