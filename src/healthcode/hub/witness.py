"""The hub as a witness of the provinces' colour logs (C2SP tlog-witness, docs/audit.md).

The network's operator registers each province's log: its origin and note key
(:meth:`WitnessService.register`, done by ``healthcode keys init`` and ``healthcode init``, which
make the keys; a province's own token cannot, so a province cannot swap the key it is held to).
For each origin the hub keeps the last checkpoint it cosigned (``witness_logs``).

``add_checkpoint`` takes the body of an ``add-checkpoint`` request and, in one transaction with
the log's row locked (``FOR UPDATE`` on PostgreSQL: two requests of one log are checked and
recorded one after the other, so a smaller one can never overwrite a larger one), checks it as
``core/audit/witness.py`` says, records it and answers the hub's cosignature lines (Ed25519,
type 0x04, the hub's clock). A hub without a witness key witnesses no log (every origin is
unknown, 404).

>>> from datetime import datetime, timezone
>>> from healthcode.core.audit.checkpoint import sign_checkpoint
>>> from healthcode.core.audit.witness import encode_submission
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.store.migrate import upgrade
>>> db = Database.from_url("sqlite://"); upgrade(db)
>>> w = WitnessService(db=db, clock=FixedClock(datetime(2026, 12, 1, tzinfo=timezone.utc)),
...                    signer=NoteSigner.generate("hub/witness", COSIGNATURE))
>>> log = NoteSigner.generate("example/log")
>>> w.register(origin="example/log", vkey=log.verifier.vkey, province="440000")
True
>>> note = sign_checkpoint(Checkpoint("example/log", 0, EMPTY_ROOT), log)
>>> w.add_checkpoint(encode_submission(0, [], note)).startswith("— hub/witness ".encode())
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.config import Settings
from healthcode.core.audit.checkpoint import COSIGNATURE, Checkpoint, cosign
from healthcode.core.audit.keys import (
    ensure_log_keys,
    log_key_path,
    log_origin,
    read_signer,
    read_verifier,
    witness_key_path,
)
from healthcode.core.audit.merkle import EMPTY_ROOT
from healthcode.core.audit.note import NoteSigner, NoteVerifier
from healthcode.core.audit.witness import check_submission, cosignature_lines, parse_submission
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError, ConfigError
from healthcode.store.db import Database
from healthcode.store.models import WitnessLog
from healthcode.store.retry import run_write

__all__ = ["WitnessService", "witness_home", "witness_signer"]

#: The largest add-checkpoint body read (a checkpoint with 64 signatures and 63 proof lines
#: is some 8 KiB).
MAX_BODY = 64 * 1024
_VARIABLE = "HEALTHCODE_WITNESS_KEY"


def witness_signer(settings: Settings) -> NoteSigner | None:
    """The witness key of ``settings`` (``witness_key``, else the key home's
    ``witness/witness.skey`` when it exists), None without one. Raises ConfigError when a
    named or found file is not a cosigner key."""
    path = settings.witness_key or (
        str(witness_key_path(settings.network_home)) if settings.network_home else ""
    )
    if not path or (not settings.witness_key and not Path(path).exists()):
        return None
    try:
        signer = read_signer(path)
    except AuditError as exc:
        raise ConfigError(_VARIABLE, f"is invalid: {exc.message}") from exc
    if signer.sig_type != COSIGNATURE:
        raise ConfigError(_VARIABLE, "is not a cosigner key (type 0x04)")
    return signer


@dataclass(frozen=True, kw_only=True)
class WitnessService:
    db: Database
    clock: Clock
    signer: NoteSigner | None

    def register(self, *, origin: str, vkey: str, province: str) -> bool:
        """Hold ``origin``'s log to the key ``vkey`` (a new key replaces the old one; what was
        cosigned stays). Whether anything changed. Raises AuditError NOTE_KEY_INVALID."""
        verifier = NoteVerifier.from_vkey(vkey)
        if verifier.name != origin:
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, f"the key {verifier.name} is not {origin}")
        now = self.clock.now()

        def step(s: Session) -> bool:
            row = s.get(WitnessLog, origin, with_for_update=True)
            if row is None:
                s.add(
                    WitnessLog(
                        origin=origin,
                        province=province,
                        vkey=vkey,
                        size=0,
                        root=EMPTY_ROOT,
                        note=None,
                        registered_at=now,
                        updated_at=now,
                    )
                )
                return True
            if (row.vkey, row.province) == (vkey, province):
                return False
            row.vkey, row.province, row.registered_at = vkey, province, now
            return True

        return run_write(self.db, step)

    def logs(self) -> list[dict[str, Any]]:
        """The logs witnessed: origin, province, key, size last cosigned, when."""
        with self.db.read() as s:
            rows = s.execute(select(WitnessLog).order_by(WitnessLog.origin)).scalars()
            return [
                {
                    "origin": r.origin,
                    "province": r.province,
                    "vkey": r.vkey,
                    "size": r.size,
                    "updated_at": r.updated_at.isoformat(),
                }
                for r in rows
            ]

    def add_checkpoint(self, body: bytes) -> bytes:
        """Check, record and cosign a submitted checkpoint; the cosignature lines. Raises
        AuditError WITNESS_MALFORMED, WITNESS_UNKNOWN_LOG, WITNESS_FORBIDDEN, WITNESS_OLD_SIZE
        (``details["size"]``), WITNESS_INCONSISTENT."""
        if len(body) > MAX_BODY:
            raise AuditError(ErrorCode.WITNESS_MALFORMED, f"a body is at most {MAX_BODY} bytes")
        sub = parse_submission(body)
        origin = sub.checkpoint.origin
        signer = self.signer
        now = self.clock.now()

        def step(s: Session) -> bytes:
            row = None
            if signer is not None and len(origin) <= 200:
                row = s.get(WitnessLog, origin, with_for_update=True)
            if row is None or signer is None:
                raise AuditError(ErrorCode.WITNESS_UNKNOWN_LOG, f"no log {origin!r} is witnessed")
            last = Checkpoint(origin, row.size, row.root) if row.note is not None else None
            checkpoint = check_submission(
                sub, log_keys=[NoteVerifier.from_vkey(row.vkey)], last=last
            )
            cosigned = cosign(sub.note, signer, max(1, int(now.timestamp())))
            row.size, row.root, row.note, row.updated_at = (
                checkpoint.size,
                checkpoint.root,
                cosigned,
                now,
            )
            return cosignature_lines(cosigned, signer)

        return run_write(self.db, step)

    def latest(self, origin_hash: str) -> bytes:
        """The last checkpoint cosigned for the log whose origin hashes (SHA-256, lower-case
        hex) to ``origin_hash``. Raises AuditError WITNESS_UNKNOWN_LOG."""
        with self.db.read() as s:
            for origin, note in s.execute(select(WitnessLog.origin, WitnessLog.note)):
                if note is not None and hashlib.sha256(origin.encode()).hexdigest() == origin_hash:
                    return bytes(note)
        raise AuditError(ErrorCode.WITNESS_UNKNOWN_LOG, "no checkpoint cosigned for that log")


def witness_home(db: Database, clock: Clock, home: Path | str, provinces: list[str]) -> list[str]:
    """Make the witness key and the provinces' log keys the key home lacks
    (``core/audit/keys.py``) and register each province's log with the witness in ``db`` (the
    hub's); what it made or registered, one line each."""
    made = ensure_log_keys(home, provinces)
    lines = [f"{tag} key {v.vkey}" for tag, v in made.items()]
    service = WitnessService(db=db, clock=clock, signer=None)
    for province in provinces:
        vkey = read_verifier(log_key_path(home, province).with_suffix(".vkey")).vkey
        if service.register(origin=log_origin(province), vkey=vkey, province=province):
            lines.append(f"witness: log {log_origin(province)} registered")
    return lines
