"""`healthcode province ...`: run one province's service, migrate its database.

Configured like the hub, by the ``HEALTHCODE_PROVINCE_*`` variables of ``config.py``
(``--region``, ``--host``, ``--port`` override theirs). The web framework and the database layer
are imported inside the commands.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from healthcode.cli import grid
from healthcode.cli.options import command_group
from healthcode.cli.province_db import migrated as _migrated
from healthcode.cli.province_db import settings as _settings

__all__ = ["app"]

app = command_group("A province's service: applications, codes, timely transcoding.")

Region = Annotated[
    str | None,
    typer.Option(
        "--region", metavar="CODE", help="the province's code, 440000 (HEALTHCODE_PROVINCE_REGION)"
    ),
]


@app.command()
def migrate(region: Region = None) -> None:
    """Upgrade the province's database to the newest schema."""
    _migrated(_settings(region=region)).dispose()
    typer.echo("province database at head")


@app.command()
def serve(
    region: Region = None,
    host: Annotated[
        str | None, typer.Option("--host", metavar="HOST", help="HEALTHCODE_PROVINCE_HOST")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", metavar="PORT", help="HEALTHCODE_PROVINCE_PORT")
    ] = None,
) -> None:
    """Migrate the province's database, start its loops (feed, sweep, status reports) and
    serve its HTTP API."""
    import uvicorn

    from healthcode.province.app import create_app
    from healthcode.province.service import ProvinceService

    config = _settings(region=region, host=host, port=port)
    db = _migrated(config)
    province = ProvinceService.build(settings=config, db=db)
    province.start()
    typer.echo(
        f"province {config.region} serving on http://{config.host}:{config.port} "
        f"(database {_shown(config.database_url)}, hub {config.hub_url})"
    )
    try:
        uvicorn.run(
            create_app(province),
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
        )
    finally:
        province.close()


def _shown(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


staff_app = command_group("The province's staff: add a member (token shown once), list, disable.")
app.add_typer(staff_app, name="staff")
app.add_typer(grid.app, name="grid")


def _staff_service(region: str | None) -> Any:
    from healthcode.core.clock import SystemClock
    from healthcode.province.staff import StaffService

    config = _settings(region=region)
    return StaffService(db=_migrated(config), clock=SystemClock(), province=config.region)


@staff_app.command("add")
def staff_add(
    name: Annotated[str, typer.Option("--name", metavar="TEXT", help="the member's name")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            metavar="ROLE",
            help="operator | approver | supervisor | grid-worker (repeat for several)",
        ),
    ],
    staff_region: Annotated[
        str,
        typer.Option("--serves", metavar="CODE", help="the region they serve, in the province"),
    ],
    grid: Annotated[
        str | None, typer.Option("--grid", metavar="ID", help="their grid (grid roles only)")
    ] = None,
    region: Region = None,
) -> None:
    """Add a member of staff; prints their id and token (shown once)."""
    service = _staff_service(region)
    try:
        member, token = service.add(name=name, roles=role, region_code=staff_region, grid_id=grid)
    finally:
        service.db.dispose()
    typer.echo(f"staff {member.id} ({', '.join(member.roles)}) token: {token}")


@staff_app.command("list")
def staff_list(region: Region = None) -> None:
    """Every member: id, roles, region, grid, whether disabled."""
    service = _staff_service(region)
    try:
        for m in service.members():
            state = "disabled" if m["disabled"] else "active"
            grid = f" grid {m['grid_id']}" if m["grid_id"] else ""
            roles = ",".join(str(r) for r in m["roles"])
            typer.echo(f"{m['id']}  {state:8}  {roles:24} {m['region_code']}{grid}  {m['name']}")
    finally:
        service.db.dispose()


@staff_app.command("disable")
def staff_disable(
    staff_id: Annotated[str, typer.Argument(metavar="ID", help="the member's id")],
    region: Region = None,
) -> None:
    """Disable a member: their token stops working at once."""
    service = _staff_service(region)
    try:
        service.disable(staff_id)
    finally:
        service.db.dispose()
    typer.echo(f"staff {staff_id} disabled")
