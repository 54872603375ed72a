"""C2SP ``tlog-witness``: the ``add-checkpoint`` request, the checks a witness makes before it
cosigns (each failure with the HTTP status the specification gives it) and the answer.

A log asks a witness to cosign a checkpoint by posting::

    old <size the witness last cosigned, 0 the first time>
    <consistency proof from that size, one base64 hash a line, at most 63>
    <empty line>
    <the signed checkpoint>

The witness checks, in this order (:func:`check_submission`; the origin's key is looked up
first, ``WITNESS_UNKNOWN_LOG`` 404 when it has none):

1. a signature by the origin's key verifies (else ``WITNESS_FORBIDDEN``, 403);
2. the old size is not above the checkpoint's (else ``WITNESS_MALFORMED``, 400);
3. the old size is the size it last cosigned (else ``WITNESS_OLD_SIZE``, 409, and the answer
   is that size: the log asks again from there);
4. an empty tree has the empty root, a proof from 0 is empty, the proof leads from the last
   cosigned root to the new one, an equal size has an equal root (else
   ``WITNESS_INCONSISTENT``, 422).

It then records the checkpoint and answers its cosignature lines (:func:`cosignature_lines`),
which the log adds to its note (:func:`add_cosignatures`). Together a province cannot show two
trees of one size (a split view), a smaller tree (a rollback) or an older checkpoint again.

>>> from healthcode.core.audit.checkpoint import Checkpoint, sign_checkpoint
>>> from healthcode.core.audit.merkle import EMPTY_ROOT
>>> log = NoteSigner.generate("example.org/log")
>>> note = sign_checkpoint(Checkpoint("example.org/log", 0, EMPTY_ROOT), log)
>>> sub = parse_submission(encode_submission(0, [], note))
>>> check_submission(sub, log_keys=[log.verifier], last=None).size
0
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from healthcode.core.audit.checkpoint import (
    COSIGNATURE,
    Checkpoint,
    open_checkpoint,
    parse_checkpoint,
)
from healthcode.core.audit.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from healthcode.core.audit.note import Note, NoteSigner, NoteVerifier, open_note, parse_note
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError

__all__ = [
    "MAX_PROOF",
    "SIZE_CONTENT_TYPE",
    "Submission",
    "add_cosignatures",
    "check_submission",
    "cosignature_lines",
    "encode_submission",
    "parse_submission",
]

#: The most consistency proof lines a request may carry (the specification's limit).
MAX_PROOF = 63
#: The content type of a 409 answer: the size the witness last cosigned, then a newline.
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True, slots=True)
class Submission:
    """An add-checkpoint request: the old size, the consistency proof, the signed note."""

    old: int
    proof: tuple[bytes, ...]
    note: bytes

    @property
    def checkpoint(self) -> Checkpoint:
        """The checkpoint the note carries (its signatures not yet checked)."""
        return parse_checkpoint(parse_note(self.note).text)


def _malformed(why: str) -> AuditError:
    return AuditError(ErrorCode.WITNESS_MALFORMED, f"an add-checkpoint request {why}")


def encode_submission(old: int, proof: Sequence[bytes], note: bytes) -> bytes:
    """The body of an add-checkpoint request."""
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof), ""]
    return ("\n".join(lines) + "\n").encode() + note


def parse_submission(body: bytes) -> Submission:
    """An add-checkpoint body read; WITNESS_MALFORMED if it is not one (a note that does not
    parse as a checkpoint included)."""
    head, sep, note = body.partition(b"\n\n")
    if not sep:
        raise _malformed("has no empty line before the checkpoint")
    try:
        first, *hashes = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise _malformed("has a line that is not ASCII") from None
    match = _OLD.fullmatch(first)
    if match is None:
        raise _malformed("does not start with 'old <size>'")
    if len(hashes) > MAX_PROOF:
        raise _malformed(f"has over {MAX_PROOF} proof lines")
    try:
        proof = tuple(base64.b64decode(h.encode(), validate=True) for h in hashes)
    except binascii.Error:
        raise _malformed("has a proof line that is not base64") from None
    if any(len(h) != HASH_SIZE for h in proof):
        raise _malformed("has a proof hash that is not 32 bytes")
    sub = Submission(int(match.group(1)), proof, note)
    try:
        sub.checkpoint  # noqa: B018 -- parsed for its errors
    except AuditError as exc:
        raise _malformed(f"carries no checkpoint ({exc.code})") from exc
    return sub


def check_submission(
    sub: Submission, *, log_keys: Sequence[NoteVerifier], last: Checkpoint | None
) -> Checkpoint:
    """The submitted checkpoint, once every check of the module passes (``last``: what this
    witness cosigned for the origin, None if nothing). Raises AuditError WITNESS_FORBIDDEN,
    WITNESS_MALFORMED, WITNESS_OLD_SIZE (``details["size"]``), WITNESS_INCONSISTENT."""
    try:
        checkpoint = open_checkpoint(sub.note, log_keys)
    except AuditError as exc:
        raise AuditError(
            ErrorCode.WITNESS_FORBIDDEN, f"the checkpoint is not signed by its log ({exc.code})"
        ) from exc
    if sub.old > checkpoint.size:
        raise _malformed(f"has old size {sub.old} above the checkpoint's {checkpoint.size}")
    last_size = 0 if last is None else last.size
    if sub.old != last_size:
        raise AuditError(
            ErrorCode.WITNESS_OLD_SIZE,
            f"the witness last cosigned size {last_size}, not {sub.old}",
            size=last_size,
        )
    _check_consistent(sub, checkpoint, last)
    return checkpoint


def _inconsistent(why: str) -> AuditError:
    return AuditError(ErrorCode.WITNESS_INCONSISTENT, why)


def _check_consistent(sub: Submission, checkpoint: Checkpoint, last: Checkpoint | None) -> None:
    if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
        raise _inconsistent("a checkpoint of size 0 has another root than the empty tree's")
    if last is None or last.size == 0:
        if sub.proof:
            raise _inconsistent("a proof from size 0 must be empty")
        return
    if checkpoint.size == last.size:
        if checkpoint.root != last.root:
            raise _inconsistent(f"two different trees of size {last.size}: a split view")
        return
    try:
        verify_consistency(last.size, checkpoint.size, sub.proof, last.root, checkpoint.root)
    except AuditError as exc:
        raise _inconsistent(
            f"the tree of size {checkpoint.size} does not extend the cosigned one of size "
            f"{last.size} ({exc.code})"
        ) from exc


def cosignature_lines(cosigned: bytes, cosigner: NoteSigner) -> bytes:
    """The answer of a witness: the signature lines of ``cosigner`` in a note it cosigned."""
    if cosigner.sig_type != COSIGNATURE:
        raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a cosigner key has signature type 0x04")
    ours = (cosigner.name, cosigner.verifier.key_id)
    note = parse_note(cosigned)
    return "".join(s.line() for s in note.signatures if (s.name, s.key_id) == ours).encode()


def add_cosignatures(note: bytes, lines: bytes, witnesses: Sequence[NoteVerifier]) -> bytes:
    """``note`` with the witnesses' signatures among ``lines`` (an add-checkpoint answer) that
    verify on it; lines of unknown keys are left out. Raises AuditError (NOTE_UNSIGNED when no
    line is by a known witness, NOTE_SIGNATURE_INVALID when one does not verify)."""
    mine = parse_note(note)
    joined = mine.text + b"\n" + lines
    theirs = open_note(joined, witnesses).signatures
    kept = tuple(s for s in mine.signatures if s not in theirs)
    return Note(mine.text, (*kept, *theirs)).to_bytes()
