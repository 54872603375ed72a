"""The whole network in one process (``healthcode serve``): the hub, the provinces and a
checkpoint, each its own HTTP server on its own port (``network/runner.py``), configured from
one data folder (``network/datadir.py``).

The provinces are ``healthcode.province`` services (:func:`province_services`), their settings
from the folder (``DataDir.province_environment``); while seeding, people apply at them over
HTTP (:func:`apply_over_http`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import httpx

from healthcode.config import CheckpointSettings, Settings
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError
from healthcode.network.datadir import DataDir
from healthcode.network.population import Person
from healthcode.network.runner import NetworkRunner, Service
from healthcode.network.seed import Applier

__all__ = [
    "APPLY_THREADS",
    "RunningNetwork",
    "apply_over_http",
    "checkpoint_service",
    "hub_service",
    "province_service",
    "province_services",
    "start_network",
]


#: Applications sent at once while seeding.
APPLY_THREADS = 4


def hub_service(folder: DataDir) -> Service:
    """The hub on the folder's database and keys, migrated."""
    from healthcode.hub.app import create_app
    from healthcode.hub.services import Hub
    from healthcode.store.migrate import upgrade

    settings = Settings.from_env(folder.hub_environment())
    hub = Hub.from_settings(settings)
    upgrade(hub.db)
    return Service(
        "hub", create_app(hub), settings.hub_host, settings.hub_port, on_stop=hub.db.dispose
    )


def checkpoint_service(folder: DataDir) -> Service:
    """The checkpoint with the folder's trust store, refreshing from the hub."""
    from healthcode.checkpoint.app import create_app
    from healthcode.checkpoint.service import Checkpoint

    settings = CheckpointSettings.from_env(folder.checkpoint_environment())
    checkpoint = Checkpoint.from_settings(settings)
    app = create_app(checkpoint)
    return Service("checkpoint", app, settings.host, settings.port, loops=checkpoint)


def province_service(folder: DataDir, province: str) -> Service:
    """One province of the folder on its own database, migrated; its loops (feed, until sweep,
    status reports) start once it listens."""
    from healthcode.config import ProvinceSettings
    from healthcode.province.app import create_app
    from healthcode.province.schema import upgrade
    from healthcode.province.service import ProvinceService

    settings = ProvinceSettings.from_env(folder.province_environment(province))
    service = ProvinceService.from_settings(settings)
    upgrade(service.db)
    return Service(
        province,
        create_app(service),
        settings.host,
        settings.port,
        loops=service,
        on_stop=service.close,
    )


def province_services(folder: DataDir) -> tuple[list[Service], Applier | None]:
    """The provinces of the folder, and how people apply at them (over HTTP, as a person's
    phone would)."""
    services = [province_service(folder, p) for p in folder.provinces]
    return services, partial(apply_over_http, folder)


def apply_over_http(folder: DataDir, province: str, people: Sequence[Person]) -> int:
    """Each person applies at ``province`` (``POST /v1/applications``), a few at a time; how
    many were taken. Applying again answers the first application."""
    url = folder.url(province) + "/v1/applications"

    def one(client: httpx.Client, person: Person) -> bool:
        response = client.post(url, json=person.application())
        if response.status_code != 200:
            raise HealthcodeError(
                ErrorCode.SEED_REFUSED,
                f"{province} refused an application: {response.status_code} {response.text[:200]}",
            )
        return True

    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(APPLY_THREADS) as pool:
        return sum(pool.map(lambda p: one(client, p), people))


@dataclass
class RunningNetwork:
    """The services that run, and how people apply at the provinces."""

    folder: DataDir
    runner: NetworkRunner = field(default_factory=NetworkRunner)
    services: list[Service] = field(default_factory=list)
    apply: Applier | None = None

    def stop(self) -> None:
        self.runner.stop()

    def applies(self, province: str, people: Sequence[Person]) -> int:
        return self.apply(province, people) if self.apply is not None else 0


def _start(network: RunningNetwork, service: Service, say: Callable[[str], None]) -> None:
    network.runner.start(service)
    network.services.append(service)
    say(f"{service.name:10} on {service.url}")


def start_network(folder: DataDir, *, say: Callable[[str], None] = print) -> RunningNetwork:
    """Start the hub, then the provinces, then the checkpoint (which takes the hub's trust
    list as it starts); each prints its address once it listens."""
    network = RunningNetwork(folder)
    provinces, network.apply = province_services(folder)
    try:
        for service in [hub_service(folder), *provinces]:
            _start(network, service, say)
        _start(network, checkpoint_service(folder), say)
    except BaseException:
        network.stop()
        raise
    return network
