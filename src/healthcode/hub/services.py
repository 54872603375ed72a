"""The hub's services, wired once from settings (routes ask for them; they never query the DB)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from healthcode.config import Settings
from healthcode.core.clock import Clock, SystemClock
from healthcode.hub.alerts import AlertService
from healthcode.hub.corrections import CorrectionService
from healthcode.hub.feed_signal import FeedListener
from healthcode.hub.feeds import Feeds
from healthcode.hub.fhir import FhirService
from healthcode.hub.grid import GridHandovers
from healthcode.hub.ingest import IngestService
from healthcode.hub.orgs import OrgService
from healthcode.hub.publishing import PublishingService
from healthcode.hub.records import RecordParser
from healthcode.hub.records_fast import NatFastPath
from healthcode.hub.risk_areas import RiskAreaService
from healthcode.hub.status import StatusService
from healthcode.hub.status_lists import StatusListService
from healthcode.hub.witness import WitnessService, witness_signer
from healthcode.store.async_reader import AsyncReader
from healthcode.store.crypto import FieldCipher
from healthcode.store.db import Database

__all__ = ["Hub", "feed_listener", "status_reader"]


@dataclass(frozen=True, kw_only=True)
class Hub:
    settings: Settings
    db: Database
    clock: Clock
    orgs: OrgService
    feeds: Feeds
    ingest: IngestService
    status: StatusService
    risk_areas: RiskAreaService
    fhir: FhirService
    corrections: CorrectionService
    publishing: PublishingService
    alerts: AlertService
    status_lists: StatusListService
    witness: WitnessService
    grid: GridHandovers

    @classmethod
    def build(cls, *, settings: Settings, db: Database, clock: Clock | None = None) -> Hub:
        clock = clock or SystemClock()
        parser = RecordParser(pseudonym_key=settings.pseudonym_key, clock=clock)
        feeds = Feeds(db=db, page_max=settings.feed_page_max)
        ingest = IngestService(
            db=db,
            clock=clock,
            parser=parser,
            cipher=FieldCipher(key=settings.field_key),
            feeds=feeds,
            batch_max=settings.batch_max,
            fast_nat=NatFastPath(pseudonym_key=settings.pseudonym_key),
        )
        risk_areas = RiskAreaService(db=db, clock=clock, feeds=feeds)
        publishing = PublishingService(
            db=db,
            clock=clock,
            risk_areas=risk_areas,
            network_home=settings.network_home,
            passphrase=settings.key_passphrase.encode() if settings.key_passphrase else None,
            validity=timedelta(hours=settings.publish_hours),
        )
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            orgs=OrgService(
                db=db,
                clock=clock,
                token_days=settings.token_days,
                cache_seconds=settings.token_cache_seconds,
            ),
            feeds=feeds,
            ingest=ingest,
            status=StatusService(
                db=db,
                clock=clock,
                feeds=feeds,
                pseudonym_key=settings.pseudonym_key,
                reader=status_reader(db, settings),
            ),
            risk_areas=risk_areas,
            fhir=FhirService(ingest=ingest, clock=clock, max_depth=settings.json_depth_max),
            corrections=CorrectionService(db=db, clock=clock, feeds=feeds, parser=parser),
            grid=GridHandovers(db=db, clock=clock, feeds=feeds),
            publishing=publishing,
            status_lists=StatusListService(db=db, clock=clock, publishing=publishing),
            alerts=AlertService(db=db, clock=clock),
            witness=WitnessService(db=db, clock=clock, signer=witness_signer(settings)),
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> Hub:
        db = Database.from_url(
            settings.database_url,
            busy_seconds=settings.database_busy_seconds,
            threads=settings.worker_threads,
        )
        return cls.build(settings=settings, db=db, clock=clock)


def _conninfo(db: Database) -> str | None:
    """The libpq URL of ``db``'s engine on PostgreSQL; None on SQLite or a test's connection."""
    if db.engine is None or db.dialect != "postgresql":
        return None
    url = db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def feed_listener(hub: Hub) -> FeedListener | None:
    """The listener of the other processes' feed commits, on PostgreSQL (a connection of its
    own); None on SQLite or on a test's connection."""
    conninfo = _conninfo(hub.db)
    if conninfo is None:
        return None
    return FeedListener(conninfo=conninfo, signal=hub.feeds.signal)


def status_reader(db: Database, settings: Settings) -> AsyncReader | None:
    """The event loop's connections for status queries (``HEALTHCODE_READ_CONNECTIONS``), on
    PostgreSQL; None on SQLite or on a test's connection (queries run inline there)."""
    conninfo = _conninfo(db)
    if conninfo is None:
        return None
    return AsyncReader(
        conninfo=conninfo, size=settings.read_connections, busy_seconds=db.busy_seconds
    )
