"""Auditing a whole colour log from what it publishes (a live log or a saved copy alike).

A *source* is ``fetch(path) -> bytes`` over the log's tlog-tiles names (``checkpoint``,
``tile/<L>/<N>[.p/<W>]``, ``tile/entries/<N>[.p/<W>]``), raising AuditError TILE_MISSING for
what it lacks: :func:`directory_source` reads a saved copy (the same names as files under a
directory); ``healthcode audit log URL`` fetches them over HTTP.

1. :func:`open_published` checks the checkpoint: signed by the log's key (of the origin when
   given) and cosigned by every witness asked for;
2. :func:`check_tree` checks the whole tree against its root: every entry bundle's entries
   hash to the level-0 tile of the same index, all leaf hashes together give the checkpoint's
   root (a leaf changed, removed, added or reordered changes it), and the tiles give it too
   (so every proof made from them is true);
3. :func:`verified_leaves` yields every leaf, decoded (only canonical leaves decode), once the
   tree is checked: what a listing of the log's changes builds on.

>>> from healthcode.core.audit.note import NoteSigner
>>> from healthcode.core.audit.checkpoint import Checkpoint, sign_checkpoint
>>> from healthcode.core.audit.merkle import EMPTY_ROOT
>>> key = NoteSigner.generate("example/log")
>>> files = {"checkpoint": sign_checkpoint(Checkpoint("example/log", 0, EMPTY_ROOT), key)}
>>> cp = open_published(files["checkpoint"], log_keys=[key.verifier])
>>> list(verified_leaves(files.__getitem__, cp))
[]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from healthcode.core.audit.checkpoint import Checkpoint, open_checkpoint
from healthcode.core.audit.leaf import ColourLeaf, decode_leaf
from healthcode.core.audit.merkle import Frontier, leaf_hash
from healthcode.core.audit.note import NoteVerifier, open_note
from healthcode.core.audit.tiles import (
    WIDTH,
    TileReader,
    decode_bundle,
    parse_tile_path,
    tile_path,
    tiles_for_size,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError

__all__ = [
    "CHECKPOINT",
    "LogAudit",
    "Source",
    "audit_log",
    "check_tree",
    "directory_source",
    "open_published",
    "published_paths",
    "verified_leaves",
]

#: The name of the checkpoint among a log's files.
CHECKPOINT = "checkpoint"
#: Reads one of a log's files by its tlog-tiles name; raises AuditError TILE_MISSING.
Source = Callable[[str], bytes]


def directory_source(directory: Path | str) -> Source:
    """A saved copy of a log: its files under ``directory`` by their names."""
    root = Path(directory)

    def fetch(path: str) -> bytes:
        if path != CHECKPOINT:
            parse_tile_path(path)  # no other name is read (no "../")
        file = root / path
        if not file.is_file():
            raise AuditError(ErrorCode.TILE_MISSING, f"{path} is not in {root}")
        return file.read_bytes()

    return fetch


def published_paths(size: int) -> list[str]:
    """Every file of a log of ``size`` leaves but the checkpoint: entry bundles, then tiles."""
    refs = [*tiles_for_size(size, entries=True), *tiles_for_size(size)]
    return [ref.path for ref in refs]


def open_published(
    note: bytes,
    *,
    log_keys: Sequence[NoteVerifier],
    witnesses: Sequence[NoteVerifier] = (),
    origin: str | None = None,
) -> Checkpoint:
    """The checkpoint, signed by one of ``log_keys`` and cosigned by each of ``witnesses``.
    Raises AuditError (NOTE_*, CHECKPOINT_*)."""
    checkpoint = open_checkpoint(note, log_keys, origin=origin)
    for witness in witnesses:
        open_note(note, [witness])
    return checkpoint


def check_tree(fetch: Source, checkpoint: Checkpoint) -> None:
    """The whole tree of the log is the checkpoint's (see the module). Raises AuditError
    MERKLE_ROOT_MISMATCH, TILE_MISSING, TILE_INVALID."""
    frontier = Frontier.EMPTY
    for ref in tiles_for_size(checkpoint.size, entries=True):
        hashes = [leaf_hash(e) for e in decode_bundle(fetch(ref.path), ref.width)]
        if b"".join(hashes) != fetch(tile_path(0, ref.index, ref.width)):
            raise AuditError(
                ErrorCode.MERKLE_ROOT_MISMATCH,
                f"the entries of {ref.path} do not hash to its level-0 tile",
            )
        for h in hashes:
            frontier = frontier.append(h)
    if frontier.root() != checkpoint.root:
        raise AuditError(ErrorCode.MERKLE_ROOT_MISMATCH, "the log's leaves do not give its root")
    if TileReader(fetch, checkpoint.size).root() != checkpoint.root:
        raise AuditError(ErrorCode.MERKLE_ROOT_MISMATCH, "the log's tiles do not give its root")


def verified_leaves(fetch: Source, checkpoint: Checkpoint) -> Iterator[tuple[int, ColourLeaf]]:
    """Every leaf of the log of ``checkpoint`` (opened with the log's key first), in order,
    as ``(index, leaf)``, once :func:`check_tree` passed. Raises AuditError as it does, and
    LEAF_INVALID for a leaf that is not a canonical colour log leaf."""
    check_tree(fetch, checkpoint)
    for ref in tiles_for_size(checkpoint.size, entries=True):
        for offset, raw in enumerate(decode_bundle(fetch(ref.path), ref.width)):
            yield ref.index * WIDTH + offset, decode_leaf(raw)


@dataclass(frozen=True, slots=True)
class LogAudit:
    """What an audit found: the checkpoint, and the leaves by colour and by basis."""

    checkpoint: Checkpoint
    witnesses: tuple[str, ...]
    colours: dict[str, int] = field(default_factory=dict)
    bases: dict[str, int] = field(default_factory=dict)


def audit_log(
    fetch: Source,
    *,
    log_keys: Sequence[NoteVerifier],
    witnesses: Sequence[NoteVerifier] = (),
    origin: str | None = None,
) -> LogAudit:
    """Check a log's checkpoint, its whole tree and every leaf. Raises AuditError."""
    checkpoint = open_published(
        fetch(CHECKPOINT), log_keys=log_keys, witnesses=witnesses, origin=origin
    )
    colours: Counter[str] = Counter()
    bases: Counter[str] = Counter()
    for _, leaf in verified_leaves(fetch, checkpoint):
        colours[leaf.colour] += 1
        bases[leaf.basis] += 1
    return LogAudit(checkpoint, tuple(w.name for w in witnesses), dict(colours), dict(bases))
