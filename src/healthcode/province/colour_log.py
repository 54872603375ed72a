"""The province's colour log (docs/audit.md): every colour change a leaf, checkpoints signed
and cosigned by the hub's witness, what the public and a person may read.

- :meth:`ProvinceLog.record` is a ``ChangeListener`` (``changes.py``): called with the colour
  changes of one re-evaluation (scalar or columnar) or one decision, inside their transaction,
  it reads each person's ``colours`` row just written (the rules that gave the colour and the
  rule-set digest: the columnar path carries neither) and appends one leaf per change with one
  ``ColourLog.append``. A rollback of the change takes its leaves with it.
- :meth:`ProvinceLog.checkpoint_once` (the checkpoint loop, every ``checkpoint_seconds``) signs
  a checkpoint when the log grew, and submits each new one to the witness (C2SP tlog-witness
  ``add-checkpoint``, :class:`WitnessClient`) with a consistency proof from the size the
  witness last cosigned; the cosigned note is stored and served.
- :meth:`ProvinceLog.served` is the checkpoint the public sees: the newest cosigned one when a
  witness is configured (so every proof handed out is against a witnessed tree), else the
  newest signed one.

A person's *subject* is ``log_subject(subject key, pseudonym)``; the subject key is derived
from the province's field key with a label of its own (:func:`subject_key`), never the field
key itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.config import ProvinceSettings
from healthcode.core.audit.checkpoint import Checkpoint, parse_checkpoint
from healthcode.core.audit.keys import (
    log_key_path,
    log_origin,
    read_signer,
    read_verifier,
    witness_key_path,
)
from healthcode.core.audit.leaf import ColourLeaf, decode_leaf, log_subject
from healthcode.core.audit.note import NoteVerifier, parse_note
from healthcode.core.audit.witness import add_cosignatures, encode_submission
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError, ConfigError
from healthcode.province.changes import ColourChange
from healthcode.province.models import COLOUR_LOG, Colour
from healthcode.store.audit_log import ColourLog
from healthcode.store.db import Database
from healthcode.store.retry import run_write

__all__ = ["ProvinceLog", "WitnessClient", "leaf_reasons", "subject_key"]

log = logging.getLogger("healthcode.province")

_SUBJECT_KEY_LABEL = b"healthcode/log-subject-key/v1"
_CHUNK = 500
#: A witness's refusal by HTTP status (C2SP tlog-witness), as our codes.
_REFUSALS = {
    400: ErrorCode.WITNESS_MALFORMED,
    403: ErrorCode.WITNESS_FORBIDDEN,
    404: ErrorCode.WITNESS_UNKNOWN_LOG,
    409: ErrorCode.WITNESS_OLD_SIZE,
    422: ErrorCode.WITNESS_INCONSISTENT,
}


def subject_key(field_key: bytes) -> bytes:
    """The key of the log's subjects, derived from the province's field key (HMAC-SHA256 with
    a label of its own: knowing it reveals nothing of the field key)."""
    return hmac.new(field_key, _SUBJECT_KEY_LABEL, hashlib.sha256).digest()


def leaf_reasons(reasons: Sequence[dict[str, Any]], colour: str) -> tuple[str, ...]:
    """The ids of the rules that gave ``colour``, from a ``colours`` row's reasons
    (``[{"rule", "effect"}]``): those whose effect is the colour (a green colour has none)."""
    return tuple(r["rule"] for r in reasons if r.get("effect") == colour)


class WitnessClient:
    """A C2SP tlog-witness as a log sees it: ``add-checkpoint`` under ``url``; ``transport``
    reaches an in-process hub in tests."""

    def __init__(
        self,
        *,
        url: str,
        verifier: NoteVerifier,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url, self.verifier = url.rstrip("/"), verifier
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def add_checkpoint(self, old: int, proof: Sequence[bytes], note: bytes) -> bytes:
        """The witness's cosignature lines for ``note``. Raises AuditError WITNESS_UNAVAILABLE
        (unreachable, 5xx), or the code of its refusal (``WITNESS_OLD_SIZE`` with
        ``details["size"]``: the size it last cosigned)."""
        try:
            r = self._client.post(
                f"{self.url}/add-checkpoint",
                content=encode_submission(old, proof, note),
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            raise AuditError(
                ErrorCode.WITNESS_UNAVAILABLE,
                f"the witness cannot be reached: {type(exc).__name__}",
            ) from exc
        if r.status_code == 200:
            return r.content
        code = _REFUSALS.get(r.status_code, ErrorCode.WITNESS_UNAVAILABLE)
        details: dict[str, Any] = {}
        if code is ErrorCode.WITNESS_OLD_SIZE and r.text.strip().isdigit():
            details["size"] = int(r.text.strip())
        raise AuditError(code, f"the witness answered {r.status_code}", **details)


@dataclass(kw_only=True, eq=False)
class ProvinceLog:
    """The colour log of one province over its database."""

    db: Database
    clock: Clock
    log: ColourLog
    subject_key: bytes
    witness: WitnessClient | None = None

    @classmethod
    def from_settings(
        cls,
        settings: ProvinceSettings,
        *,
        db: Database,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
    ) -> ProvinceLog:
        """The log of ``settings``' province: its signer key (``log_key``, else the key home's
        ``signers/<region>/log.skey`` when there is one), the witness (the hub's, when its
        verifier key is known). Raises ConfigError for a named key file that cannot be read."""
        signer = _named_or_home(
            settings.log_key,
            "HEALTHCODE_PROVINCE_LOG_KEY",
            log_key_path(settings.network_home, settings.region) if settings.network_home else None,
            read_signer,
        )
        log = ColourLog(COLOUR_LOG, signer.name if signer else log_origin(settings.region), signer)
        vkey = settings.witness_key
        home_vkey = (
            witness_key_path(settings.network_home).with_suffix(".vkey")
            if settings.network_home
            else None
        )
        verifier = (
            _parsed(vkey, "HEALTHCODE_PROVINCE_WITNESS_KEY", NoteVerifier.from_vkey)
            if vkey
            else _named_or_home("", "", home_vkey, read_verifier)
        )
        witness = None
        if signer is not None and verifier is not None:
            url = settings.witness_url or settings.hub_url.rstrip("/") + "/v1/witness"
            witness = WitnessClient(
                url=url,
                verifier=verifier,
                timeout=settings.hub_timeout_seconds,
                transport=transport,
            )
        key = subject_key(settings.field_key)
        return cls(db=db, clock=clock, log=log, subject_key=key, witness=witness)

    def close(self) -> None:
        if self.witness is not None:
            self.witness.close()

    def subject(self, pseudonym: str) -> str:
        return log_subject(self.subject_key, pseudonym)

    # -- writing (in the colour change's transaction) -------------------------------------------
    def record(self, session: Session, changes: Sequence[ColourChange], now: datetime) -> None:
        """Append a leaf for each change, in order (a ``ChangeListener``). Raises AuditError
        LEAF_INVALID when a change has no ``colours`` row (nothing is then committed)."""
        rows: dict[str, tuple[list[dict[str, Any]], str]] = {}
        wanted = sorted({c.pseudonym for c in changes})
        for i in range(0, len(wanted), _CHUNK):
            query = select(Colour.pseudonym, Colour.reasons, Colour.ruleset_digest).where(
                Colour.pseudonym.in_(wanted[i : i + _CHUNK])
            )
            for pseudonym, reasons, digest in session.execute(query):
                rows[pseudonym] = (reasons, digest)
        leaves = []
        for change in changes:
            if change.pseudonym not in rows:
                raise AuditError(ErrorCode.LEAF_INVALID, "a colour change without its colour row")
            reasons, digest = rows[change.pseudonym]
            leaves.append(
                ColourLeaf(
                    subject=self.subject(change.pseudonym),
                    colour=change.colour,
                    basis=change.basis,
                    reasons=leaf_reasons(reasons, change.colour),
                    decision=change.decision,
                    ruleset=digest,
                    at=now,
                )
            )
        self.log.append(session, leaves, now)

    # -- checkpoints ----------------------------------------------------------------------------
    def checkpoint_once(self) -> int:
        """Sign a checkpoint if the log grew, and have the newest cosigned if it is not yet;
        its size. Raises AuditError (NOTE_KEY_INVALID without a signer; the witness's codes),
        DatabaseBusy."""
        now = self.clock.now()
        note = run_write(self.db, lambda s: self.log.sign(s, now))
        checkpoint = parse_checkpoint(parse_note(note).text)
        if self.witness is not None:
            self._witness(self.witness, note, checkpoint)
        return checkpoint.size

    def _witness(self, witness: WitnessClient, note: bytes, checkpoint: Checkpoint) -> None:
        with self.db.read() as s:
            if self.log.checkpoint(s, checkpoint.size, cosigned=True) is not None:
                return
            last = self.log.checkpoint(s, cosigned=True)
        old = 0 if last is None else parse_checkpoint(parse_note(last).text).size
        try:
            lines = witness.add_checkpoint(old, self._proof(old, checkpoint.size), note)
        except AuditError as exc:  # it cosigned another size: prove from there, once
            if exc.code is not ErrorCode.WITNESS_OLD_SIZE or "size" not in exc.details:
                raise
            old = exc.details["size"]
            lines = witness.add_checkpoint(old, self._proof(old, checkpoint.size), note)
        cosigned = add_cosignatures(note, lines, [witness.verifier])
        now = self.clock.now()
        run_write(self.db, lambda s: self.log.cosigned(s, checkpoint.size, cosigned, now))

    def _proof(self, old: int, size: int) -> list[bytes]:
        if old == 0 or old == size:
            return []
        if old > size:
            raise AuditError(
                ErrorCode.WITNESS_OLD_SIZE, f"the witness holds size {old}, above the log's {size}"
            )
        with self.db.read() as s:
            return self.log.consistency_proof(s, old, size)

    # -- reading --------------------------------------------------------------------------------
    def served(self, session: Session) -> bytes | None:
        """The checkpoint the log publishes (see the module); None before the first."""
        return self.log.checkpoint(session, cosigned=self.witness is not None)

    def served_checkpoint(self) -> bytes:
        """Raises AuditError TILE_MISSING when there is none yet."""
        with self.db.read() as s:
            note = self.served(s)
        if note is None:
            raise AuditError(ErrorCode.TILE_MISSING, "the log has no published checkpoint yet")
        return note

    def tile(self, path: str) -> bytes:
        """A tile or entry bundle. Raises AuditError TILE_PATH_INVALID, TILE_MISSING."""
        with self.db.read() as s:
            return self.log.tile(s, path)

    def consistency(self, size1: int, size2: int | None) -> tuple[int, list[bytes]]:
        """A consistency proof from ``size1`` to ``size2`` (default: the published size).
        Raises AuditError MERKLE_TREE_SIZE, TILE_MISSING."""
        with self.db.read() as s:
            if size2 is None:
                note = self.served(s)
                size2 = 0 if note is None else parse_checkpoint(parse_note(note).text).size
            return size2, self.log.consistency_proof(s, size1, size2)

    def person(self, pseudonym: str) -> dict[str, Any]:
        """A person's subject, the published checkpoint, and each of their leaves with its
        inclusion proof against it (``proof`` None for a leaf not yet in it)."""
        subject = self.subject(pseudonym)
        with self.db.read() as s:
            note = self.served(s)
            size = 0 if note is None else parse_checkpoint(parse_note(note).text).size
            leaves = []
            for index, data in self.log.leaves_of(s, subject):
                proof = self.log.inclusion_proof(s, index, size) if index < size else None
                leaves.append(
                    {
                        "index": index,
                        "leaf": decode_leaf(data).to_dict(),
                        "data": base64.b64encode(data).decode(),
                        "proof": None if proof is None else [_b64(h) for h in proof],
                    }
                )
        return {
            "subject": subject,
            "checkpoint": None if note is None else note.decode(),
            "leaves": leaves,
        }


def _parsed(value: str, variable: str, parse: Any) -> Any:
    try:
        return parse(value)
    except AuditError as exc:
        raise ConfigError(variable, f"is invalid: {exc.message}") from exc


def _named_or_home(named: str, variable: str, home_file: Path | None, read: Any) -> Any:
    """The key of the file a setting names (which must be readable), else of the key home's
    file when it exists, else None."""
    if named:
        return _parsed(named, variable, read)
    if home_file is not None and home_file.exists():
        return read(home_file)
    return None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
