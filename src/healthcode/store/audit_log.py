"""The colour log in a database: append leaves in the caller's transaction, keep the tree as
tiles, sign checkpoints, answer proofs, tiles and entry bundles (``docs/audit.md``).

The tables are defined on the caller's metadata (:func:`log_tables`; the province puts them
on its own), and created by a migration with :func:`create_log_tables`. Four tables, named
``<prefix>_heads``, ``_leaves``, ``_tiles``, ``_checkpoints``:

- a *head* per log (origin): its size, the frontier of the tree (the hashes of its largest
  full subtrees: the new root costs ``O(log n)``), the root;
- a *leaf* per index: the leaf's bytes and its subject (a person finds their own leaves);
- a *tile* per ``(level, index)`` of C2SP tlog-tiles: 256 hashes when full; the rightmost
  tile of each level grows in place until full (a partial tile served is a prefix of it);
- each signed *checkpoint*, by size.

:meth:`ColourLog.append` locks the log's head row (``SELECT ... FOR UPDATE`` on PostgreSQL;
SQLite's writer is alone anyway), so appends in concurrent transactions queue and the log
stays a sequence; what a transaction appended disappears with it when it rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from healthcode.core.audit.checkpoint import Checkpoint, sign_checkpoint
from healthcode.core.audit.leaf import ColourLeaf, encode_leaf
from healthcode.core.audit.merkle import (
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
)
from healthcode.core.audit.note import NoteSigner
from healthcode.core.audit.tiles import (
    HEIGHT,
    WIDTH,
    TileReader,
    append_hashes,
    encode_bundle,
    parse_tile_path,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError
from healthcode.store.base import UTCDateTime

__all__ = ["Appended", "ColourLog", "LogTables", "create_log_tables", "log_tables"]

_ORIGIN = 200


class LogTables(NamedTuple):
    heads: Table
    leaves: Table
    tiles: Table
    checkpoints: Table


def _columns(prefix: str) -> dict[str, list[Any]]:
    """Each table's columns and constraints (fresh objects on every call)."""
    return {
        "heads": [
            Column("origin", String(_ORIGIN), nullable=False),
            Column("size", BigInteger, nullable=False),
            Column("frontier", LargeBinary, nullable=False),
            Column("root", LargeBinary, nullable=False),
            Column("updated_at", UTCDateTime, nullable=False),
            PrimaryKeyConstraint("origin", name=f"pk_{prefix}_heads"),
        ],
        "leaves": [
            Column("origin", String(_ORIGIN), nullable=False),
            Column("idx", BigInteger, nullable=False, autoincrement=False),
            Column("subject", String(64), nullable=False),
            Column("data", LargeBinary, nullable=False),
            PrimaryKeyConstraint("origin", "idx", name=f"pk_{prefix}_leaves"),
            Index(f"ix_{prefix}_leaves_subject", "subject"),
        ],
        "tiles": [
            Column("origin", String(_ORIGIN), nullable=False),
            Column("level", SmallInteger, nullable=False, autoincrement=False),
            Column("idx", BigInteger, nullable=False, autoincrement=False),
            Column("data", LargeBinary, nullable=False),
            PrimaryKeyConstraint("origin", "level", "idx", name=f"pk_{prefix}_tiles"),
        ],
        "checkpoints": [
            Column("origin", String(_ORIGIN), nullable=False),
            Column("size", BigInteger, nullable=False, autoincrement=False),
            Column("note", LargeBinary, nullable=False),
            Column("signed_at", UTCDateTime, nullable=False),
            Column("cosigned_at", UTCDateTime, nullable=True),
            PrimaryKeyConstraint("origin", "size", name=f"pk_{prefix}_checkpoints"),
        ],
    }


def log_tables(metadata: MetaData, prefix: str = "colour_log") -> LogTables:
    """The log's four tables on ``metadata`` (each named ``<prefix>_<table>``)."""
    cols = _columns(prefix)
    return LogTables(
        *(Table(f"{prefix}_{name}", metadata, *cols[name]) for name in LogTables._fields)
    )


def create_log_tables(op: Any, prefix: str = "colour_log") -> None:
    """Create the tables in an Alembic migration (``op`` is ``alembic.op``)."""
    for name, cols in _columns(prefix).items():
        indexes = [c for c in cols if isinstance(c, Index)]
        op.create_table(f"{prefix}_{name}", *(c for c in cols if not isinstance(c, Index)))
        for index in indexes:
            op.create_index(index.name, f"{prefix}_{name}", [str(e) for e in index.expressions])


@dataclass(frozen=True, slots=True)
class Appended:
    """What an append did: the index of its first leaf, the new size and root."""

    first: int
    size: int
    root: bytes


class ColourLog:
    """One log (``origin``) in ``tables``, signing its checkpoints with ``signer``."""

    def __init__(self, tables: LogTables, origin: str, signer: NoteSigner | None = None) -> None:
        self.t, self.origin, self.signer = tables, origin, signer

    # -- writing ----------------------------------------------------------------------------

    def create(self, session: Session, now: datetime) -> None:
        """Create the log's empty head if it has none (at start-up: two first appends racing
        would otherwise both insert it, and one would fail and have to be retried)."""
        h = self.t.heads
        exists = session.execute(select(h.c.size).where(h.c.origin == self.origin)).first()
        if exists is None:
            empty = Frontier.EMPTY
            session.execute(
                insert(h).values(
                    origin=self.origin, size=0, frontier=b"", root=empty.root(), updated_at=now
                )
            )

    def _head(self, session: Session, *, lock: bool) -> Frontier | None:
        """The log's frontier (None before its first append), its row locked when ``lock``."""
        heads = self.t.heads
        query = select(heads.c.size, heads.c.frontier).where(heads.c.origin == self.origin)
        row = session.execute(query.with_for_update() if lock else query).first()
        return None if row is None else Frontier.from_bytes(row.size, row.frontier)

    def _edge_tiles(self, session: Session, size: int) -> dict[tuple[int, int], bytearray]:
        """The rightmost tile of each level of a tree of ``size`` leaves (what an append grows)."""
        wanted = []
        level = 0
        while size >> (HEIGHT * level) > 0:
            wanted.append((level, (size >> (HEIGHT * level)) >> HEIGHT))
            level += 1
        if not wanted:
            return {}
        tiles = self.t.tiles
        rows = session.execute(
            select(tiles.c.level, tiles.c.idx, tiles.c.data).where(
                tiles.c.origin == self.origin, tuple_(tiles.c.level, tiles.c.idx).in_(wanted)
            )
        )
        return {(r.level, r.idx): bytearray(r.data) for r in rows}

    def append(self, session: Session, leaves: Sequence[ColourLeaf], now: datetime) -> Appended:
        """Append leaves in ``session``'s transaction: their rows, the tiles they change and
        the new head. The caller commits (with the colour change they record)."""
        frontier = self._head(session, lock=True)
        if frontier is None:
            self.create(session, now)
            frontier = Frontier.EMPTY
        first = frontier.size
        if not leaves:
            return Appended(first, first, frontier.root())
        encoded = [encode_leaf(leaf) for leaf in leaves]
        hashes = [leaf_hash(raw) for raw in encoded]
        tiles = self._edge_tiles(session, first)
        before = set(tiles)
        _, touched = append_hashes(tiles, first, hashes)
        for h in hashes:
            frontier = frontier.append(h)
        session.execute(
            insert(self.t.leaves),
            [
                {"origin": self.origin, "idx": first + i, "subject": leaf.subject, "data": raw}
                for i, (leaf, raw) in enumerate(zip(leaves, encoded, strict=True))
            ],
        )
        self._write_tiles(session, tiles, touched, before)
        self._write_head(session, frontier, now)
        return Appended(first, frontier.size, frontier.root())

    def _write_tiles(
        self,
        session: Session,
        tiles: dict[tuple[int, int], bytearray],
        touched: set[tuple[int, int]],
        before: set[tuple[int, int]],
    ) -> None:
        t = self.t.tiles
        new = [
            {"origin": self.origin, "level": k[0], "idx": k[1], "data": bytes(tiles[k])}
            for k in sorted(touched - before)
        ]
        if new:
            session.execute(insert(t), new)
        for level, idx in sorted(touched & before):
            session.execute(
                update(t)
                .where(t.c.origin == self.origin, t.c.level == level, t.c.idx == idx)
                .values(data=bytes(tiles[(level, idx)]))
            )

    def _write_head(self, session: Session, frontier: Frontier, now: datetime) -> None:
        h = self.t.heads
        session.execute(
            update(h)
            .where(h.c.origin == self.origin)
            .values(
                size=frontier.size,
                frontier=frontier.to_bytes(),
                root=frontier.root(),
                updated_at=now,
            )
        )

    def sign(self, session: Session, now: datetime) -> bytes:
        """A signed checkpoint of the log as it stands in ``session``: the one stored for
        this size, or a new one signed and stored."""
        if self.signer is None:
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, "this log was given no signer key")
        frontier = self._head(session, lock=True) or Frontier.EMPTY
        c = self.t.checkpoints
        stored = session.execute(
            select(c.c.note).where(c.c.origin == self.origin, c.c.size == frontier.size)
        ).scalar_one_or_none()
        if stored is not None:
            return bytes(stored)
        note = sign_checkpoint(Checkpoint(self.origin, frontier.size, frontier.root()), self.signer)
        session.execute(
            insert(c).values(origin=self.origin, size=frontier.size, note=note, signed_at=now)
        )
        return note

    # -- reading ----------------------------------------------------------------------------

    def size(self, session: Session) -> int:
        return (self._head(session, lock=False) or Frontier.EMPTY).size

    def cosigned(self, session: Session, size: int, note: bytes, now: datetime) -> None:
        """Store the checkpoint of ``size`` with its witnesses' cosignatures (``note``: the
        same text, more signatures), marked cosigned."""
        c = self.t.checkpoints
        session.execute(
            update(c)
            .where(c.c.origin == self.origin, c.c.size == size)
            .values(note=note, cosigned_at=now)
        )

    def checkpoint(
        self, session: Session, size: int | None = None, *, cosigned: bool = False
    ) -> bytes | None:
        """The newest signed checkpoint (or the one of ``size``; with ``cosigned``, the newest
        a witness cosigned), None if there is none."""
        c = self.t.checkpoints
        query = select(c.c.note).where(c.c.origin == self.origin)
        query = query.where(c.c.size == size) if size is not None else query
        query = query.where(c.c.cosigned_at.is_not(None)) if cosigned else query
        note = session.execute(query.order_by(c.c.size.desc()).limit(1)).scalar_one_or_none()
        return None if note is None else bytes(note)

    def _reader(self, session: Session, size: int) -> TileReader:
        if size > self.size(session):
            raise AuditError(ErrorCode.MERKLE_TREE_SIZE, f"the log has fewer than {size} leaves")
        return TileReader(lambda path: self.tile(session, path), size)

    def inclusion_proof(self, session: Session, index: int, size: int) -> list[bytes]:
        return inclusion_proof(self._reader(session, size).node, index, size)

    def consistency_proof(self, session: Session, size1: int, size2: int) -> list[bytes]:
        return consistency_proof(self._reader(session, size2).node, size1, size2)

    def tile(self, session: Session, path: str) -> bytes:
        """A tile or entry bundle by its tlog-tiles path; TILE_MISSING if the log has none."""
        ref = parse_tile_path(path)
        if ref.level < 0:
            return self._bundle(session, ref.index, ref.width)
        t = self.t.tiles
        data = session.execute(
            select(t.c.data).where(
                t.c.origin == self.origin, t.c.level == ref.level, t.c.idx == ref.index
            )
        ).scalar_one_or_none()
        if data is None or len(data) < ref.width * 32:
            raise AuditError(ErrorCode.TILE_MISSING, f"the log has no {path}")
        return bytes(data[: ref.width * 32])

    def _bundle(self, session: Session, index: int, width: int) -> bytes:
        lv = self.t.leaves
        start = index * WIDTH
        rows = session.execute(
            select(lv.c.data)
            .where(lv.c.origin == self.origin, lv.c.idx >= start, lv.c.idx < start + width)
            .order_by(lv.c.idx)
        ).scalars()
        entries = [bytes(r) for r in rows]
        if len(entries) != width:
            raise AuditError(ErrorCode.TILE_MISSING, f"the log has no entry bundle {index}")
        return encode_bundle(entries)

    def leaves_of(self, session: Session, subject: str) -> list[tuple[int, bytes]]:
        """A subject's leaves: (index, bytes), oldest first."""
        lv = self.t.leaves
        rows = session.execute(
            select(lv.c.idx, lv.c.data)
            .where(lv.c.origin == self.origin, lv.c.subject == subject)
            .order_by(lv.c.idx)
        )
        return [(r.idx, bytes(r.data)) for r in rows]
