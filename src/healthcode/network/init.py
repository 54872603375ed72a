"""``healthcode init``: make a network's data folder (``network/datadir.py``), or complete one.

In order: the description (addresses, ports, database files), the hub's field and pseudonym
keys, the hub's database migrated, the key home with its trust state in the hub's database (a
national root, the publisher, one signer per province: ``Network.init``, as ``keys init``
does; the colour logs' keys and the hub's witness key beside them, each province's log
registered with the witness), then the organisations the services need, each with a token in
a file, and each province's demo staff (``network/staff.py``), each with a token in a file.
Each step keeps
what is there already, so running it again changes nothing, and a run cut short is completed
by the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from healthcode.core.clock import Clock, SystemClock
from healthcode.core.trust.network import Network
from healthcode.hub.orgs import OrgService
from healthcode.hub.witness import witness_home
from healthcode.network.datadir import DEFAULT_BASE_PORT, DEFAULT_PROVINCES, DataDir, org_specs
from healthcode.network.staff import ensure_demo_staff
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade
from healthcode.store.trust_state import SqlStateStore

__all__ = ["InitReport", "init_network"]


@dataclass
class InitReport:
    """What ``init_network`` made and what it found already there (one line each)."""

    folder: DataDir
    made: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def note(self, made: bool, what: str) -> None:
        (self.made if made else self.kept).append(what)


def init_network(
    root: Path | str,
    *,
    provinces: tuple[str, ...] = DEFAULT_PROVINCES,
    base_port: int = DEFAULT_BASE_PORT,
    passphrase: bytes | None = None,
    clock: Clock | None = None,
) -> InitReport:
    """Make (or complete) the data folder at ``root``; what it made and kept.

    Raises TrustError (``PROVINCE_INVALID``...), InvalidInput as the steps do.
    """
    clock = clock or SystemClock()
    folder = DataDir(Path(root))
    report = InitReport(folder)
    made = folder.ensure_description(provinces, base_port)
    report.note(made, f"description {folder.description_path}")
    keys = folder.ensure_secret_keys()
    report.note(bool(keys), f"hub and province keys in {folder.secrets} (0600)")
    db = Database.from_url(folder.database_url(folder.service("hub")["database"]))
    try:
        upgrade(db)
        report.kept.append(f"hub database {folder.service('hub')['database']} migrated to head")
        _trust_network(folder, db, clock, passphrase, report)
        report.made.extend(witness_home(db, clock, folder.keys, folder.provinces))
        _organisations(folder, db, clock, report)
    finally:
        db.dispose()
    staff_made, staff_kept = ensure_demo_staff(folder, clock)
    report.made.extend(staff_made)
    report.kept.extend(staff_kept)
    folder.trust_store.mkdir(parents=True, exist_ok=True)
    return report


def _trust_network(
    folder: DataDir, db: Database, clock: Clock, passphrase: bytes | None, report: InitReport
) -> None:
    store = SqlStateStore(db, clock=clock)
    if store.load() is not None:
        net = Network.open(folder.keys, store=store, passphrase=passphrase)
        report.kept.append(f"key home {folder.keys}: root, publisher, signers of {net.provinces}")
        return
    net = Network.init(
        folder.keys,
        store=store,
        provinces=folder.provinces,
        clock=clock,
        passphrase=passphrase,
    )
    signers = ", ".join(f"{s['province']} {s['kid']}" for s in net.signers())
    report.made.append(f"key home {folder.keys}: national root, publisher, signers {signers}")


def _organisations(folder: DataDir, db: Database, clock: Clock, report: InitReport) -> None:
    """Each organisation of ``org_specs`` with a token file; one whose file is there is kept,
    one onboarded before whose file is lost gets a new token."""
    orgs = OrgService(db=db, clock=clock, token_days=3650)
    known = {(t.kind, t.region_code, t.org_name): t.org_id for t in orgs.tokens()}
    for spec in org_specs(tuple(folder.provinces)):
        path = folder.token_path(spec.name)
        if path.exists():
            report.kept.append(f"token {path.name} ({spec.kind} {spec.region})")
            continue
        org_id = known.get((spec.kind, spec.region, spec.title))
        if org_id is None:
            org_id, token = orgs.add(kind=spec.kind, region_code=spec.region, name=spec.title)
        else:
            token = orgs.issue_token(org_id)
        folder.write_token(spec.name, token)
        report.made.append(f"organisation {org_id} {spec.kind} {spec.region}: token {path} (0600)")
