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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthcode.config import ProvinceSettings
from healthcode.core.audit.leaf import log_subject
from healthcode.core.clock import Clock, SystemClock
from healthcode.province import jobs
from healthcode.province.appeals import AppealService
from healthcode.province.bulk import count_area, reevaluate_area
from healthcode.province.changes import ChangeListeners, ColourChange
from healthcode.province.codes import CodeService
from healthcode.province.colour_log import ProvinceLog, subject_key
from healthcode.province.decisions import DecisionService, with_told
from healthcode.province.evaluation import explain_doc, explanation, queue_report, reevaluate
from healthcode.province.feed import AppliedPage, FeedApplier, affected_by_area, read_cursor
from healthcode.province.grid import GridService
from healthcode.province.hubclient import HubClient
from healthcode.province.kept import forget_after_commit
from healthcode.province.loops import Loop, start_loops
from healthcode.province.models import Colour, FeedDeadLetter, ReevaluationJob, StatusOutbox
from healthcode.province.ops import RuleBook, Tallies
from healthcode.province.outbox import OutboxSender
from healthcode.province.people import ApplicationService, PersonTokens
from healthcode.province.rules import RuleSource, root_certificate_of
from healthcode.province.signer import SignerSource
from healthcode.province.staff import StaffService
from healthcode.province.states import ColourState, StateSerials
from healthcode.store.crypto import FieldCipher
from healthcode.store.db import Database
from healthcode.store.retry import run_write

__all__ = ["LOOP_THREADS", "WAIT_SLICE_SECONDS", "ProvinceService", "Reevaluator"]

log = logging.getLogger("healthcode.province")

#: Re-evaluates people inside the session's transaction at ``now``.
Reevaluator = Callable[[Session, Collection[str], datetime], Any]
_SWEEP_BATCH = 1000
#: Loops that hold a database connection while they work (feed, sweep, report, jobs, grid,
#: checkpoint): a PostgreSQL pool is sized for them beside the worker threads.
LOOP_THREADS = 6
#: The longest the feed loop lets the hub hold one read (``feed_wait_seconds`` at most): what
#: ``stop()`` may wait for the read in flight.
WAIT_SLICE_SECONDS = 1.0


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
    #: the serial of each colour state (``states.py``): codes and status reports
    serials: StateSerials = field(init=False)
    applications: ApplicationService = field(init=False)
    codes: CodeService = field(init=False)
    staff: StaffService = field(init=False)
    decisions: DecisionService = field(init=False)
    appeals: AppealService = field(init=False)
    feed: FeedApplier = field(init=False)
    outbox: OutboxSender = field(init=False)
    grid: GridService = field(init=False)
    tallies: Tallies = field(init=False)  # colour counts per region (ops/tallies.py)
    rulebook: RuleBook = field(init=False)  # the rule sets used (ops/rulebook.py)
    _more: bool = field(default=False, init=False)
    _got: bool = field(default=False, init=False)  # the last page had entries
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    #: Set when reports were queued: wakes the report loop at once (it also polls).
    _report_due: threading.Event = field(default_factory=threading.Event, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.serials = StateSerials(
            field_key=self.settings.field_key, province=self.settings.region
        )
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
            serials=self.serials,
            evaluate=self.reevaluate,
            ruleset_label=self.ruleset_label,
            ruleset_digest=lambda: self.rules.current().digest,
            detail=self._code_detail,
            states_kept=self.settings.states_kept,
        )
        self.staff = StaffService(db=self.db, clock=self.clock, province=self.settings.region)
        self.decisions = DecisionService(
            db=self.db,
            clock=self.clock,
            reevaluate=self.reevaluate,
            log_subject=self.log_subject,
            alerted=self._report_due.set,
            send=self.hub.alert,
        )
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
        self.tallies = Tallies.listening(self.changes, db=self.db, clock=self.clock)
        self.rulebook = RuleBook(db=self.db, clock=self.clock, rules=self.rules)

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
        forget_after_commit(session, self.codes.kept, pseudonyms)
        if self.reevaluator is not None:
            return self.reevaluator(session, pseudonyms, now)
        outcomes = reevaluate(
            session, pseudonyms, ruleset=self.rules.current(), now=now, serials=self.serials
        )
        moved = [
            ColourChange(
                o.pseudonym,
                o.before,
                o.colour,
                o.until,
                "rule" if o.decision is None else "decision",
                o.decision,
            )
            for o in outcomes
            if o.before != o.colour
        ]
        self.changes(session, moved, now)
        return outcomes

    def reevaluate_area(
        self, session: Session, windows: Sequence[tuple[str, datetime]], now: datetime
    ) -> Any:
        """Re-evaluate the people a risk-area change concerns (``bulk.reevaluate_area``), or,
        when they are more than ``area_job_people``, start an area job (``jobs.py``) in the
        session's transaction."""
        if self.reevaluator is not None:  # a replaced evaluator sees every trigger
            found = affected_by_area(session, windows)
            return self.reevaluate(session, found, now)
        ruleset, most = self.rules.current(), self.settings.area_job_people
        if count_area(session, windows, ruleset=ruleset, now=now, limit=most + 1) > most:
            total = count_area(session, windows, ruleset=ruleset, now=now)
            label = self.ruleset_label()
            return jobs.start_area(
                session, list(windows), ruleset, label=label, now=now, total=total
            )
        forget_after_commit(session, self.codes.kept, None)
        return reevaluate_area(
            session,
            windows,
            ruleset=ruleset,
            now=now,
            label=self.ruleset_label(),
            serials=self.serials,
            chunk_size=self.settings.reevaluate_chunk,
            on_changes=self.changes,
        )

    def explanation(self, session: Session, pseudonym: str, now: datetime) -> dict[str, Any]:
        """The full reasons and badges of the person's current colour (derived on request):
        the rules' and the decisions acting on them (``decisions.told``: legal basis in
        words, expiry, how to appeal), colour reasons by severity then id as stored."""
        out = explanation(session, pseudonym, ruleset=self.rules.current(), now=now)
        return with_told(out, self.decisions.told(session, pseudonym, now))

    def _code_detail(
        self, pseudonym: str, doc: Mapping[str, Any] | None, now: datetime
    ) -> dict[str, Any]:
        """What a code's answer explains: the rules on the person's facts document and the
        decisions acting on the person (read once per colour state: codes keep it)."""
        out = explain_doc(doc, ruleset=self.rules.current(), now=now)
        with self.db.read() as s:
            return with_told(out, self.decisions.told(s, pseudonym, now))

    def log_subject(self, pseudonym: str) -> str:
        """The person's subject in the colour log (``colour_log.subject_key``)."""
        return log_subject(subject_key(self.settings.field_key), pseudonym)

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
            state = ColourState(pseudonym, colour.colour, colour.until, colour.since)
            queue_report(session, state, self.ruleset_label()[:64], now, serials=self.serials)

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
        """Advance the oldest running area job by one chunk, else the re-evaluation of everyone
        under the rule set in use (a new job when the rule set changed, ``jobs.py``); the job.
        Raises RuleSetError, DatabaseBusy."""
        ruleset, label, now = self.rules.current(), self.ruleset_label(), self.clock.now()

        def run(s: Session) -> ReevaluationJob:
            area = jobs.area_step(
                s,
                ruleset,
                label=label,
                now=now,
                chunk_size=self.settings.reevaluate_chunk,
                serials=self.serials,
                on_changes=self.changes,
            )
            if area is not None:
                forget_after_commit(s, self.codes.kept, None)
                s.expunge(area)
                return area
            job = jobs.step(
                s,
                ruleset,
                label=label,
                now=now,
                chunk_size=self.settings.reevaluate_chunk,
                serials=self.serials,
                on_changes=self.changes,
            )
            if job.updated_at == now:  # a chunk (or the end) under way: colours written
                forget_after_commit(s, self.codes.kept, None)
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

    def dead_letters(self) -> int:
        """How many feed entries were set aside (``feed.py``: they can never take effect)."""
        with self.db.read() as s:
            return int(s.execute(select(func.count()).select_from(FeedDeadLetter)).scalar_one())

    def report_once(self) -> int:
        """Send one batch of the status outbox and the waiting alerts; how many the hub
        stored."""
        return self.outbox.send_once() + self.decisions.send_alerts()

    def refresh_rules(self) -> bool:
        """Fetch the hub's national rule set, noted in the rule book; whether the one in use
        changed."""
        changed = self.rules.refresh()
        self.rulebook.note()
        return changed

    # -- loops ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Run the loops in background threads (feed, sweep, report, rules)."""
        self._stop.clear()
        s = self.settings
        loops: dict[str, Loop] = {
            "feed": (self._pull_step, s.pull_seconds, self._stop),
            "sweep": (self._sweep_step, s.sweep_seconds, self._stop),
            "report": (self._report_step, s.report_seconds, self._report_due),
            "rules": (self.refresh_rules, s.rules_seconds, self._stop),
            "jobs": (self._job_step, s.job_seconds, self._stop),
            "grid": (self._grid_step, s.report_seconds, self._stop),
        }
        if self.colour_log is not None and self.colour_log.log.signer is not None:
            loops["checkpoint"] = (self.checkpoint_once, s.checkpoint_seconds, self._stop)
        self._threads.extend(start_loops(loops, self._stop, f"province-{s.region}"))

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loops to end and wait for them."""
        self._stop.set()
        self._report_due.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _pull_step(self) -> bool:
        # in slices: nothing interrupts a read in flight, so stop() waits for at most one
        wait = min(self.settings.feed_wait_seconds, WAIT_SLICE_SECONDS)
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
        return self.grid.send_once() + self.tallies.fold() > 0

    def _report_step(self) -> bool:
        return self.report_once() > 0

    def close(self) -> None:
        self.stop()
        self.hub.close()
        if self.colour_log is not None:
            self.colour_log.close()
        self.db.dispose()
