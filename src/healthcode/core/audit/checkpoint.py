"""C2SP checkpoints (``c2sp.org/tlog-checkpoint``) and Ed25519 cosignatures
(``c2sp.org/tlog-cosignature``), and the check a witness makes before it cosigns.

A checkpoint is a signed note whose text is the log's *origin*, its *tree size* (decimal, no
leading zero) and its *root hash* (base64), one per line, then optional extension lines. The
log signs it with an Ed25519 note signature (type ``0x01``). A cosigner (a witness: the hub for
each province's log) adds a signature of type ``0x04``: 8 bytes of big-endian POSIX time and an
Ed25519 signature over ``"cosignature/v1\\ntime <t>\\n"`` followed by the checkpoint text.

:func:`witness_cosign` cosigns only a checkpoint signed by the log, of the expected origin, no
smaller than the last one the witness cosigned and proved consistent with it, so a log cannot
show two histories to two parties once both are witnessed.

>>> from healthcode.core.audit.merkle import EMPTY_ROOT
>>> log = NoteSigner.generate("example.org/log")
>>> raw = sign_checkpoint(Checkpoint("example.org/log", 0, EMPTY_ROOT), log)
>>> open_checkpoint(raw, [log.verifier], origin="example.org/log").size
0
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from healthcode.core.audit.merkle import HASH_SIZE, verify_consistency
from healthcode.core.audit.note import (
    Note,
    NoteSigner,
    NoteVerifier,
    Signature,
    open_note,
    parse_note,
    sign_note,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError

__all__ = [
    "COSIGNATURE",
    "Checkpoint",
    "cosign",
    "cosignature_time",
    "open_checkpoint",
    "parse_checkpoint",
    "sign_checkpoint",
    "witness_cosign",
]

#: Signature type byte of a timestamped Ed25519 cosignature.
COSIGNATURE = 0x04
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_MAX_TIME = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash (and opaque extension lines)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> bytes:
        """The checkpoint's note text."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return ("\n".join([*lines, *self.extensions]) + "\n").encode()


def _malformed(why: str) -> AuditError:
    return AuditError(ErrorCode.CHECKPOINT_MALFORMED, f"a checkpoint {why}")


def parse_checkpoint(text: bytes) -> Checkpoint:
    """A checkpoint from its note text; CHECKPOINT_MALFORMED if the text is not one."""
    try:
        lines = text.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise _malformed("is not UTF-8") from None
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise _malformed("has fewer than three lines, or an empty line")
    origin, size, root, *extensions = lines[:-1]
    if not _SIZE.fullmatch(size) or int(size) >= 2**63:
        raise _malformed("tree size is not a decimal number without leading zeroes")
    try:
        digest = base64.b64decode(root.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _malformed("root hash is not base64") from None
    if len(digest) != HASH_SIZE or base64.b64encode(digest).decode() != root:
        raise _malformed("root hash is not 32 bytes in standard base64")
    return Checkpoint(origin, int(size), digest, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> bytes:
    """The checkpoint as a signed note by the log's key."""
    return sign_note(checkpoint.body(), [signer])


def open_checkpoint(
    raw: bytes, verifiers: Sequence[NoteVerifier], *, origin: str | None = None
) -> Checkpoint:
    """A checkpoint signed by one of ``verifiers`` (the log's keys), of ``origin`` when given."""
    note = open_note(raw, verifiers)
    checkpoint = parse_checkpoint(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise AuditError(
            ErrorCode.CHECKPOINT_ORIGIN, f"the checkpoint is of {checkpoint.origin}, not {origin}"
        )
    return checkpoint


def cosign(raw: bytes, cosigner: NoteSigner, timestamp: int) -> bytes:
    """The note ``raw`` with the cosigner's timestamped signature added (checks nothing: see
    :func:`witness_cosign`)."""
    if cosigner.sig_type != COSIGNATURE:
        raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a cosigner key has signature type 0x04")
    if not 0 <= timestamp <= _MAX_TIME:
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a cosignature time is out of range")
    note = parse_note(raw)
    message = b"cosignature/v1\ntime %d\n" % timestamp + note.text
    stamp = struct.pack(">Q", timestamp)
    line = Signature(cosigner.name, cosigner.verifier.key_id, stamp + cosigner.sign(message))
    kept = tuple(s for s in note.signatures if (s.name, s.key_id) != (line.name, line.key_id))
    return Note(note.text, (*kept, line)).to_bytes()


def cosignature_time(signature: Signature) -> int:
    """The POSIX time a cosignature carries; NOTE_MALFORMED if it is not a cosignature."""
    if len(signature.signature) != 72:
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a cosignature is 8 + 64 bytes")
    (stamp,) = struct.unpack(">Q", signature.signature[:8])
    if stamp > _MAX_TIME:
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a cosignature time is out of range")
    return int(stamp)


def witness_cosign(
    raw: bytes,
    *,
    log_keys: Sequence[NoteVerifier],
    origin: str,
    last: Checkpoint | None,
    proof: Sequence[bytes],
    cosigner: NoteSigner,
    timestamp: int,
) -> tuple[Checkpoint, bytes]:
    """Check a log's checkpoint as a witness and cosign it: signed by the log, of ``origin``,
    not smaller than ``last`` (what this witness cosigned before, None at first) and
    consistent with it by ``proof``. Returns the checkpoint and the cosigned note; raises
    AuditError (WITNESS_ROLLBACK, a MERKLE_* code, a NOTE_* or CHECKPOINT_* code)."""
    checkpoint = open_checkpoint(raw, log_keys, origin=origin)
    if last is not None:
        if checkpoint.size < last.size:
            raise AuditError(
                ErrorCode.WITNESS_ROLLBACK,
                f"size {checkpoint.size} is below the cosigned size {last.size}",
            )
        verify_consistency(last.size, checkpoint.size, proof, last.root, checkpoint.root)
    return checkpoint, cosign(raw, cosigner, timestamp)
