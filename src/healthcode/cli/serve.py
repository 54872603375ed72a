"""``healthcode serve [DATA_DIR]``: the whole network in one process (``network/serve.py``).

On first start it makes the data folder (``healthcode init``) and seeds the synthetic
population; every start prints what runs where and a few commands to try, then serves until
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from healthcode.cli import options
from healthcode.cli.init import (
    DEFAULT_DATA_DIR,
    PROVINCES_TEXT,
    BasePort,
    DataDirArgument,
    Provinces,
    province_codes,
)
from healthcode.network.datadir import DEFAULT_BASE_PORT, DataDir

__all__ = ["app", "try_these"]

app = options.command_group("Run a whole network in one process: hub, provinces, checkpoint.")

People = Annotated[
    int,
    typer.Option(
        "--people", min=0, max=1_000_000, metavar="N", help="people to seed on first start"
    ),
]
Seed = Annotated[int, typer.Option("--seed", metavar="N", help="the population's random seed")]


def _code_show(folder: DataDir, person: dict[str, str], extra: str) -> str:
    return (
        f"healthcode code show --province {folder.url(person['province'])} "
        f"--id {person['id_number']} --name {person['name']} --phone {person['phone']} "
        f"--residence {person['residence_region']} {extra}"
    )


def try_these(folder: DataDir, demo: list[dict[str, str]] | None = None) -> list[str]:
    """A handful of commands to try against the running network (``demo``: seeded people to
    look at, the first a case, when the provinces run)."""
    hub, checkpoint = folder.url("hub"), folder.url("checkpoint")
    root = folder.root
    hub_db = f"sqlite:///{(root / 'hub.db').resolve()}"
    shown = []
    if demo and all(p["province"] in folder.provinces for p in demo):
        shown = [_code_show(folder, demo[0], "--no-code   # a seeded case: red, and why")]
        shown += [_code_show(folder, p, f"--paper --png {root}/code.png") for p in demo[1:]]
        # a code whose colour the rules computed, as the person would show it
        shown.append(f"CODE=$({_code_show(folder, demo[-1], '--paper --text')})")
    else:
        shown.append(
            f"CODE=$(healthcode code issue --home {root}/keys --database {hub_db} "
            "--province 440000 --colour green --paper)   # a demo code signed by hand"
        )
    return [
        *shown,
        f"curl -s {hub}/v1/health",
        f'curl -s -H "Authorization: Bearer $(cat {root}/tokens/checkpoint.token)" '
        f"{hub}/v1/risk-areas",
        f"curl -s {checkpoint}/v1/trust",
        f"curl -s -X POST {checkpoint}/v1/check -H 'content-type: application/json' "
        '-d "{\\"code\\": \\"$CODE\\"}"',
        f'healthcode verify --trust-store {root}/checkpoint/trust "$CODE"',
        f"healthcode simulate {root}",
        *[
            f"# in a browser: {folder.url(p)}/sign-in (one-time codes show here)"
            for p in folder.provinces[:1]
        ],
        f"# in a browser: {checkpoint}/ (the checkpoint's scanner)",
        *_staff_pages(folder),
        *[f"# in a browser: {folder.url(p)}/rules (the rules)" for p in folder.provinces[:1]],
        f"# in a browser: {hub}/ops (the national dashboard; token: {root}/secrets/operator.token)",
    ]


def _staff_pages(folder: DataDir) -> list[str]:
    """Each province's ``/ops`` and ``/grid`` with the files holding its demo staff's tokens
    (``network/staff.py``; paste a file's contents at the page's sign-in)."""
    from healthcode.network.staff import staff_token_path

    out = []
    for p in folder.provinces:
        ops = ", ".join(
            str(staff_token_path(folder, p, role))
            for role in ("operator", "approver", "supervisor")
        )
        grid = staff_token_path(folder, p, "grid-worker")
        out.append(f"# in a browser: {folder.url(p)}/ops (the province's dashboard; tokens: {ops})")
        out.append(f"# in a browser: {folder.url(p)}/grid (the grid worker's tasks; token: {grid})")
    return out


@app.command("serve")
def serve(
    data_dir: DataDirArgument = DEFAULT_DATA_DIR,
    provinces: Provinces = PROVINCES_TEXT,
    base_port: BasePort = DEFAULT_BASE_PORT,
    people: People = 2000,
    seed: Seed = 2022,
) -> None:
    """Run a whole network in one process: hub, provinces, checkpoint.

    On SQLite; on first start it makes the data folder and seeds a synthetic population."""
    from healthcode.network.init import init_network
    from healthcode.network.seed import seed_network
    from healthcode.network.serve import start_network

    report = init_network(data_dir, provinces=province_codes(provinces), base_port=base_port)
    for line in report.made:
        typer.echo(f"made  {line}")
    folder = report.folder
    typer.echo(f"network data in {folder.root}")
    network = start_network(folder, say=typer.echo)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        done = seed_network(folder, size=people, seed=seed, apply=network.apply, say=typer.echo)
        typer.echo(
            f"population: {done['people']} people, {sum(done['records'].values())} records, "
            f"{len(done['cases'])} cases, risk areas {done['risk_areas']}"
        )
        typer.echo("try:")
        for line in try_these(folder, done.get("demo")):
            typer.echo(f"  {line}")
        typer.echo("serving; Ctrl-C stops", err=False)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        network.stop()
        typer.echo("stopped")
