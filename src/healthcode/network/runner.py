"""Several ASGI services in one process: each its own uvicorn server in its own thread.

uvicorn installs signal handlers only in the main thread, so the servers in threads leave
signals to the caller (``healthcode serve`` waits for Ctrl-C or SIGTERM, then stops them all).
A service may carry background loops (an object with ``start()`` and ``stop()``): started once
its server listens, stopped before its server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import uvicorn

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError

__all__ = ["Loops", "NetworkRunner", "Service"]

#: How long a server may take to listen.
START_SECONDS = 30.0


class Loops(Protocol):
    """Background work of a service."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Service:
    """One service: a name, its ASGI app, where it listens, its loops."""

    name: str
    app: Any
    host: str
    port: int
    loops: Loops | None = None
    on_stop: Callable[[], None] | None = None  # e.g. dispose of a database

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass
class _Running:
    service: Service
    server: uvicorn.Server
    thread: threading.Thread


def _serve(server: uvicorn.Server, failures: list[BaseException]) -> None:
    """Run ``server`` until it exits; what stopped it at start-up goes to ``failures``
    (uvicorn exits on a port it cannot bind)."""
    try:
        server.run()
    except BaseException as exc:
        failures.append(exc)


@dataclass
class NetworkRunner:
    """Starts services one after another (each listening before the next starts), stops them
    in the reverse order."""

    running: list[_Running] = field(default_factory=list)

    def start(self, service: Service) -> None:
        """Serve ``service`` in a thread; return once it listens and its loops run.

        Raises HealthcodeError ``SERVICE_NOT_STARTED`` when it does not listen in time (its
        port taken, an error at start-up).
        """
        config = uvicorn.Config(
            service.app,
            host=service.host,
            port=service.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        failures: list[BaseException] = []
        thread = threading.Thread(
            target=_serve, args=(server, failures), name=f"serve-{service.name}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                why = f": {failures[0]}" if failures else " (is the port taken?)"
                raise HealthcodeError(
                    ErrorCode.SERVICE_NOT_STARTED,
                    f"{service.name} did not start on {service.url}{why}",
                    service=service.name,
                )
            time.sleep(0.02)
        self.running.append(_Running(service, server, thread))
        if service.loops is not None:
            service.loops.start()

    def stop(self) -> None:
        """Stop every service, the last started first: its loops, then its server."""
        while self.running:
            run = self.running.pop()
            if run.service.loops is not None:
                run.service.loops.stop()
            run.server.should_exit = True
            run.thread.join(timeout=10)
            if run.service.on_stop is not None:
                run.service.on_stop()
