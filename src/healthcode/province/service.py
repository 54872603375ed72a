"""The province's services wired together, and its background loops.

``ProvinceService`` holds one province: its database, clock, hub client, rule set, the
application and code services, and three loops, each a thread with a one-shot method that tests
call directly:

- feed: ``pull_once()`` applies one page of the hub's feed (``feed.py``); the loop pulls again
  at once, asking the hub to hold an empty answer up to ``feed_wait_seconds`` (a long poll:
  the hub answers as soon as entries are committed); without it (0), or when the hub answered
  an empty page at once, after ``pull_seconds``;
- sweep: ``sweep_once()`` re-evaluates everyone whose ``colours.until`` has passed (timely
  transcoding; the table is the schedule, so a time missed while the process was down fires on
  start-up, and a fired one is replaced by the new ``until``), every ``sweep_seconds``; the
  same loop escalates appeals past their deadline (``appeals.escalate_due()``);
- report: ``report_once()`` sends the status outbox to the hub (``outbox.py``);
- rules: ``refresh_rules()`` fetches the hub's national rule set;
- grid: ``grid.send_once()`` hands grid tasks of people living in another province to the
  hub (``grid/handover.py``); the tasks themselves are made by ``grid``, a listener of
  ``changes``, in the transaction of each colour change;
- jobs: ``job_once()`` re-evaluates the next chunk of everyone when the rule set in use (the
  national one with the overlay) is not the one the newest job applied (``jobs.py``): a new
  rule set or overlay version reaches everyone in the background, with progress
  (``jobs()``, ``GET /v1/jobs``, the log), resumed after a restart where it stopped;
- checkpoint: ``checkpoint_once()`` signs the colour log's checkpoint when it grew and has the
  hub's witness cosign it (``colour_log.py``), every ``checkpoint_seconds``.

``start()`` runs the loops, ``stop()`` ends them; several provinces may run in one process.
``reevaluator`` is the one seam of re-evaluation (``evaluation.reevaluate`` with the current
rule set): another evaluator of many people may replace it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.config import ProvinceSettings
from healthcode.core.clock import Clock, SystemClock
from healthcode.core.errors import HealthcodeError
from healthcode.province import jobs
from healthcode.province.appeals import AppealService
from healthcode.province.bulk import reevaluate_area
from healthcode.province.changes import ChangeListeners, ColourChange
from healthcode.province.codes import CodeService
from healthcode.province.colour_log import ProvinceLog
from healthcode.province.evaluation import explanation, queue_report, reevaluate
from healthcode.province.feed import AppliedPage, FeedApplier, affected_by_area, read_cursor
from healthcode.province.grid import GridService
from healthcode.province.hubclient import HubClient
from healthcode.province.models import Colour, ReevaluationJob, StatusOutbox
from healthcode.province.outbox import OutboxSender
from healthcode.province.people import ApplicationService, PersonTokens
from healthcode.province.rules import RuleSource, root_certificate_of
from healthcode.province.signer import SignerSource
from healthcode.province.staff import StaffService
from healthcode.store.crypto import FieldCipher
from healthcode.store.db import Database
from healthcode.store.errors import DRIVER_ERRORS
from healthcode.store.retry import run_write

__all__ = ["LOOP_THREADS", "ProvinceService", "Reevaluator"]

log = logging.getLogger("healthcode.province")

#: Re-evaluates people inside the session's transaction at ``now``.
Reevaluator = Callable[[Session, Collection[str], datetime], Any]
_SWEEP_BATCH = 1000
#: Loops that hold a database connection while they work (feed, sweep, report, jobs, grid):
#: a PostgreSQL pool is sized for them beside the worker threads.
LOOP_THREADS = 5
#: The longest pause of a loop that keeps failing (seconds).
_BACKOFF_MAX = 5.0
#: Failures a loop expects (the hub away, the database busy): logged, tried again later.
_EXPECTED: tuple[type[Exception], ...] = (HealthcodeError, *DRIVER_ERRORS)


@dataclass(kw_only=True, eq=False)
class ProvinceService:
    settings: ProvinceSettings
    db: Database
    clock: Clock
    hub: HubClient
    rules: RuleSource
    tokens: PersonTokens
    signers: SignerSource
    reevaluator: Reevaluator | None = None
    #: Called with every colour change, in its transaction (``changes.py``).
    changes: ChangeListeners = field(default_factory=ChangeListeners)
    #: The colour log (every colour change a leaf; built from the settings when not given).
    colour_log: ProvinceLog | None = None
    applications: ApplicationService = field(init=False)
    codes: CodeService = field(init=False)
    staff: StaffService = field(init=False)
    appeals: AppealService = field(init=False)
    feed: FeedApplier = field(init=False)
    outbox: OutboxSender = field(init=False)
    grid: GridService = field(init=False)
    _more: bool = field(default=False, init=False)
    _got: bool = field(default=False, init=False)  # the last page had entries
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    #: Set when reports were queued: wakes the report loop at once (it also polls).
    _report_due: threading.Event = field(default_factory=threading.Event, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.applications = ApplicationService(
            db=self.db,
            clock=self.clock,
            province=self.settings.region,
            cipher=FieldCipher(key=self.settings.field_key),
            tokens=self.tokens,
            register=self.hub.register,
            evaluate=self.reevaluate,
            report=self._report_current,
            committed=self._report_due.set,
        )
        self.codes = CodeService(
            db=self.db,
            clock=self.clock,
            signers=self.signers,
            evaluate=self.reevaluate,
            ruleset_label=self.ruleset_label,
            ruleset_digest=lambda: self.rules.current().digest,
            detail=self.explanation,
        )
        self.staff = StaffService(db=self.db, clock=self.clock, province=self.settings.region)
        self.appeals = AppealService(
            db=self.db,
            clock=self.clock,
            withdraw=self.hub.withdraw,
            detail=self.explanation,
            deadline=timedelta(hours=self.settings.appeal_hours),
            open_max=self.settings.appeals_open_max,
        )
        self.feed = FeedApplier(reevaluate=self.reevaluate, reevaluate_area=self.reevaluate_area)
        self.outbox = OutboxSender(db=self.db, send=self.hub.report, batch=500)
        if self.colour_log is None:
            self.colour_log = ProvinceLog.from_settings(self.settings, db=self.db, clock=self.clock)
        self.changes.add(self.colour_log.record)
        self.grid = GridService(
            db=self.db,
            clock=self.clock,
            province=self.settings.region,
            cipher=FieldCipher(key=self.settings.field_key),
            ruleset=self.rules.current,
            send=self.hub.hand_over,
        )
        self.changes.add(self.grid.on_changes)
        self.feed.handlers["grid_task"] = self.grid.receive

    @classmethod
    def build(
        cls,
        *,
        settings: ProvinceSettings,
        db: Database,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> ProvinceService:
        """The province over ``db`` (migrated by the caller); ``transport`` reaches an
        in-process hub in tests. Raises OverlayRefused, RuleSetError for a bad overlay."""
        clock = clock or SystemClock()
        hub = HubClient(
            base_url=settings.hub_url,
            token=settings.hub_token,
            province=settings.region,
            timeout=settings.hub_timeout_seconds,
            transport=transport,
        )
        passphrase = settings.key_passphrase.encode() if settings.key_passphrase else None
        rules = RuleSource(
            clock=clock,
            province=settings.region,
            overlay_path=settings.overlay,
            fetch=lambda: hub.published("rule-set"),
            root_cert=root_certificate_of(settings.network_home),
        )
        signers = SignerSource(
            home=settings.network_home,
            province=settings.region,
            clock=clock,
            passphrase=passphrase,
            state_url=settings.trust_database_url,
        )
        tokens = PersonTokens(field_key=settings.field_key)
        colour_log = ProvinceLog.from_settings(settings, db=db, clock=clock, transport=transport)
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            hub=hub,
            rules=rules,
            tokens=tokens,
            signers=signers,
            colour_log=colour_log,
        )

    @classmethod
    def from_settings(
        cls, settings: ProvinceSettings, *, clock: Clock | None = None
    ) -> ProvinceService:
        db = Database.from_url(
            settings.database_url,
            busy_seconds=settings.database_busy_seconds,
            threads=settings.worker_threads + LOOP_THREADS,
        )
        return cls.build(settings=settings, db=db, clock=clock)

    # -- re-evaluation (the seam) ---------------------------------------------------------------
    def reevaluate(self, session: Session, pseudonyms: Collection[str], now: datetime) -> Any:
        """Re-evaluate these people in ``session``'s transaction (``reevaluator`` if set)."""
        if self.reevaluator is not None:
            return self.reevaluator(session, pseudonyms, now)
        outcomes = reevaluate(session, pseudonyms, ruleset=self.rules.current(), now=now)
        moved = [
            ColourChange(o.pseudonym, o.before, o.colour, o.until)
            for o in outcomes
            if o.before != o.colour
        ]
        self.changes(session, moved, now)
        return outcomes

    def reevaluate_area(
        self, session: Session, windows: Sequence[tuple[str, datetime]], now: datetime
    ) -> Any:
        """Re-evaluate the people a risk-area change concerns (``bulk.reevaluate_area``)."""
        if self.reevaluator is not None:  # a replaced evaluator sees every trigger
            found = affected_by_area(session, windows)
            return self.reevaluator(session, found, now)
        return reevaluate_area(
            session,
            windows,
            ruleset=self.rules.current(),
            now=now,
            label=self.ruleset_label(),
            chunk_size=self.settings.reevaluate_chunk,
            on_changes=self.changes,
        )

    def explanation(self, session: Session, pseudonym: str, now: datetime) -> dict[str, Any]:
        """The full reasons and badges of the person's current colour (derived on request)."""
        return explanation(session, pseudonym, ruleset=self.rules.current(), now=now)

    def ruleset_label(self) -> str:
        rs = self.rules.current()
        return "+".join([f"{rs.id}@{rs.version}", *rs.overlays])

    def _report_current(self, session: Session, pseudonym: str, now: datetime) -> None:
        """Queue a report of the person's colour unless one is waiting already."""
        waiting = session.execute(
            select(StatusOutbox.id).where(StatusOutbox.pseudonym == pseudonym).limit(1)
        ).first()
        colour = session.get(Colour, pseudonym)
        if colour is not None and waiting is None:
            queue_report(
                session, pseudonym, colour.colour, colour.until, self.ruleset_label()[:64], now
            )

    # -- one-shot steps -------------------------------------------------------------------------
    def pull_once(self, wait: float = 0.0) -> AppliedPage:
        """Fetch and apply one page of the feed; with ``wait``, the hub may hold an empty page
        that long. Raises HubError, RuleSetError, DatabaseBusy."""
        with self.db.read() as s:
            cursor = read_cursor(s)
        page = self.hub.feed(after=cursor, limit=self.settings.feed_page, wait=wait)
        now = self.clock.now()
        applied = run_write(self.db, lambda s: self.feed.apply(s, page["entries"], now))
        self._wake_reports(bool(page["entries"]))
        self._more = bool(page.get("more"))
        self._got = bool(page["entries"])
        return applied

    def pull_all(self) -> int:
        """Pull until the feed is drained; how many entries took effect."""
        total = 0
        while True:
            total += self.pull_once().applied
            if not self._more:
                return total

    def sweep_once(self, limit: int = _SWEEP_BATCH) -> int:
        """Re-evaluate up to ``limit`` people whose ``until`` has passed; how many."""
        now = self.clock.now()

        def step(s: Session) -> int:
            due = (
                s.execute(
                    select(Colour.pseudonym)
                    .where(Colour.until <= now)
                    .order_by(Colour.until)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            self.reevaluate(s, due, now)
            return len(due)

        swept = run_write(self.db, step)
        self._wake_reports(swept > 0)
        return swept

    def job_once(self) -> ReevaluationJob:
        """Advance the re-evaluation of everyone under the rule set in use by one chunk (a new
        job when the rule set changed, ``jobs.py``); the job. Raises RuleSetError,
        DatabaseBusy."""
        ruleset, label, now = self.rules.current(), self.ruleset_label(), self.clock.now()

        def run(s: Session) -> ReevaluationJob:
            job = jobs.step(
                s,
                ruleset,
                label=label,
                now=now,
                chunk_size=self.settings.reevaluate_chunk,
                on_changes=self.changes,
            )
            s.expunge(job)
            return job

        job = run_write(self.db, run)
        self._wake_reports(True)
        return job

    def checkpoint_once(self) -> int:
        """Sign the colour log's checkpoint if it grew and have it cosigned; its size. Raises
        AuditError (no log key, the witness's refusals), DatabaseBusy."""
        assert self.colour_log is not None
        return self.colour_log.checkpoint_once()

    def _wake_reports(self, worked: bool) -> None:
        """After a commit that may have queued reports, wake the report loop (a wake before
        the commit found the outbox empty)."""
        if worked:
            self._report_due.set()

    def jobs(self) -> list[dict[str, Any]]:
        """The re-evaluation jobs, newest first (at most 20)."""
        with self.db.read() as s:
            rows = s.execute(
                select(ReevaluationJob).order_by(ReevaluationJob.id.desc()).limit(20)
            ).scalars()
            return [jobs.describe(j) for j in rows]

    def report_once(self) -> int:
        """Send one batch of the status outbox; how many reports the hub stored."""
        return self.outbox.send_once()

    def refresh_rules(self) -> bool:
        """Fetch the hub's national rule set; whether the rule set in use changed."""
        return self.rules.refresh()

    # -- loops ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Run the loops in background threads (feed, sweep, report, rules)."""
        self._stop.clear()
        s = self.settings
        loops: dict[str, tuple[Callable[[], Any], float, threading.Event]] = {
            "feed": (self._pull_step, s.pull_seconds, self._stop),
            "sweep": (self._sweep_step, s.sweep_seconds, self._stop),
            "report": (self._report_step, s.report_seconds, self._report_due),
            "rules": (self.refresh_rules, s.rules_seconds, self._stop),
            "jobs": (self._job_step, s.job_seconds, self._stop),
            "grid": (self._grid_step, s.report_seconds, self._stop),
        }
        if self.colour_log is not None and self.colour_log.log.signer is not None:
            loops["checkpoint"] = (self.checkpoint_once, s.checkpoint_seconds, self._stop)
        for name, (step, pause, wake) in loops.items():
            thread = threading.Thread(
                target=self._loop,
                args=(step, pause, wake),
                name=f"province-{s.region}-{name}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loops to end and wait for them."""
        self._stop.set()
        self._report_due.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _pull_step(self) -> bool:
        wait = self.settings.feed_wait_seconds
        started = time.monotonic()
        self.pull_once(wait)
        if self._more or (wait > 0 and self._got):
            return True
        # an empty page after a wait: ask again at once; at once (a hub that does not wait): pause
        return wait > 0 and time.monotonic() - started >= wait / 2

    def _sweep_step(self) -> bool:
        self.appeals.escalate_due()
        return self.sweep_once() >= _SWEEP_BATCH

    def _job_step(self) -> bool:
        return self.job_once().state == "running"

    def _grid_step(self) -> bool:
        return self.grid.send_once() > 0

    def _report_step(self) -> bool:
        return self.report_once() > 0

    def _loop(self, step: Callable[[], Any], pause: float, wake: threading.Event) -> None:
        """Run ``step`` until stopped: again at once when it says there is more work, else
        after ``pause`` or when ``wake`` is set (``_stop`` or an event stop also sets); after a
        failure (logged) the pause doubles, up to ``_BACKOFF_MAX``."""
        failures = 0
        while not self._stop.is_set():
            try:
                again = step() is True
                failures = 0
            except _EXPECTED as exc:
                failures += 1
                if failures == 1 or failures % 20 == 0:
                    name = threading.current_thread().name
                    log.warning("%s (%d): %s", name, failures, getattr(exc, "code", exc))
                again = False
            except Exception:  # a bug: logged, the loop lives on
                failures += 1
                log.exception("%s failed", threading.current_thread().name)
                again = False
            if not again:
                wait = (
                    pause
                    if not failures
                    else min(_BACKOFF_MAX, max(pause, 0.1) * 2 ** min(failures, 8))
                )
                wake.wait(wait)
                if wake is not self._stop:
                    wake.clear()

    def close(self) -> None:
        self.stop()
        self.hub.close()
        if self.colour_log is not None:
            self.colour_log.close()
        self.db.dispose()
