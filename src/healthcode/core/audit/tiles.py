"""C2SP tiled logs (``c2sp.org/tlog-tiles``): tile paths, tiles of a tree, reading a tree back.

A tile at level ``L`` holds up to 256 consecutive hashes, each the hash of a full subtree of
``256**L`` leaves; tile ``N`` of level ``L`` starts at hash ``N * 256``. Level-0 tiles hold leaf
hashes. The rightmost tile of a level is *partial* (1 to 255 hashes, path suffix ``.p/<W>``)
until it is full; only full tiles are hashed into the level above. Entry bundles
(``tile/entries/<N>``) hold the leaves themselves, each prefixed by its length (uint16).

Paths: ``tile/<L>/<N>[.p/<W>]`` with ``N`` in 3-digit groups, all but the last prefixed ``x``
(1234067 is ``x001/x234/067``).

:func:`append_hashes` grows tiles in place, one leaf at a time (what a log stores on append);
:class:`TileReader` answers the :data:`~.merkle.NodeReader` of a tree from its tiles, so proofs
are made or checked from what a tiled log serves.

>>> tile_path(0, 1234067, 5)
'tile/0/x001/x234/067.p/5'
>>> [(t.level, t.index, t.width) for t in tiles_for_size(70_000)][-3:]
[(1, 0, 256), (1, 1, 17), (2, 0, 1)]
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass

from healthcode.core.audit.merkle import EMPTY_ROOT, HASH_SIZE, range_hash, root_hash
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError

__all__ = [
    "HEIGHT",
    "WIDTH",
    "TileReader",
    "TileRef",
    "append_hashes",
    "decode_bundle",
    "encode_bundle",
    "parse_tile_path",
    "tile_path",
    "tiles_for_size",
]

#: Levels of the Merkle tree a tile spans, and the hashes of a full tile.
HEIGHT = 8
WIDTH = 1 << HEIGHT
_PATH = re.compile(r"tile/(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]*))?")
_MAX_ENTRY = 0xFFFF


def _index_path(index: int) -> str:
    digits = f"{index:d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int | str, index: int, width: int = WIDTH) -> str:
    """The path of a tile (``level`` 0 to 63) or entry bundle (``level`` "entries")."""
    suffix = "" if width == WIDTH else f".p/{width}"
    return f"tile/{level}/{_index_path(index)}{suffix}"


@dataclass(frozen=True, slots=True)
class TileRef:
    """A tile: its level (-1 for an entry bundle), index and width (256 when full)."""

    level: int
    index: int
    width: int = WIDTH

    @property
    def path(self) -> str:
        return tile_path("entries" if self.level < 0 else self.level, self.index, self.width)


def parse_tile_path(path: str) -> TileRef:
    """The tile a path names; TILE_PATH_INVALID if it is not a tile or entry bundle path."""
    m = _PATH.fullmatch(path)
    if m is None or int(m[1] if m[1] != "entries" else 0) > 63:
        raise AuditError(ErrorCode.TILE_PATH_INVALID, f"{path!r} is not a tile path")
    index = int(m[2].replace("x", "").replace("/", ""))
    width = int(m[3]) if m[3] else WIDTH
    if (m[3] and width >= WIDTH) or tile_path(m[1], index, width) != path:
        raise AuditError(ErrorCode.TILE_PATH_INVALID, f"{path!r} is not a tile path")
    return TileRef(-1 if m[1] == "entries" else int(m[1]), index, width)


def tiles_for_size(size: int, *, entries: bool = False) -> list[TileRef]:
    """Every tile (or entry bundle) a tree of ``size`` leaves has, full ones then the partial
    one, level by level."""
    out: list[TileRef] = []
    level = 0
    while size >> (HEIGHT * level) > 0:
        hashes = size >> (HEIGHT * level)
        out.extend(TileRef(level, n) for n in range(hashes // WIDTH))
        if hashes % WIDTH:
            out.append(TileRef(level, hashes // WIDTH, hashes % WIDTH))
        if entries:
            return [TileRef(-1, t.index, t.width) for t in out]
        level += 1
    return out


def append_hashes(
    tiles: MutableMapping[tuple[int, int], bytearray], size: int, leaves: Iterable[bytes]
) -> tuple[int, set[tuple[int, int]]]:
    """Append leaf hashes to a tree of ``size`` leaves kept as tiles ``{(level, index): data}``.

    ``tiles`` must hold the rightmost tile of each level the tree has (what grows); it may
    hold more. Returns the new size and the tiles written.
    """
    touched: set[tuple[int, int]] = set()
    for leaf in leaves:
        carry, position, level = leaf, size, 0
        while True:
            key = (level, position >> HEIGHT)
            tile = tiles.setdefault(key, bytearray())
            if len(tile) != (position % WIDTH) * HASH_SIZE:
                raise AuditError(ErrorCode.TILE_INVALID, f"tile {key} is not {position % WIDTH}")
            tile += carry
            touched.add(key)
            if position % WIDTH != WIDTH - 1:
                break
            carry = root_hash([bytes(tile[i : i + HASH_SIZE]) for i in range(0, len(tile), 32)])
            position, level = position >> HEIGHT, level + 1
        size += 1
    return size, touched


class TileReader:
    """The full-subtree hashes of a tree of ``size`` leaves, read from its tiles.

    ``fetch(path)`` returns a tile's bytes (of the partial tile's width when the path names
    one) or raises AuditError TILE_MISSING; tiles are read once each.
    """

    def __init__(self, fetch: Callable[[str], bytes], size: int) -> None:
        self.fetch, self.size = fetch, size
        self._cache: dict[tuple[int, int], bytes] = {}

    def tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._cache:
            hashes = self.size >> (HEIGHT * level)
            width = WIDTH if (index + 1) * WIDTH <= hashes else hashes - index * WIDTH
            if width <= 0:
                raise AuditError(ErrorCode.TILE_MISSING, f"tile {key} is beyond the tree")
            data = self.fetch(tile_path(level, index, width))
            if len(data) != width * HASH_SIZE:
                raise AuditError(ErrorCode.TILE_INVALID, f"tile {key} is not {width} hashes")
            self._cache[key] = data
        return self._cache[key]

    def node(self, level: int, index: int) -> bytes:
        """The hash of the full subtree ``(level, index)`` (a ``NodeReader``)."""
        tile_level, sub = divmod(level, HEIGHT)
        first = index << sub
        data = self.tile(tile_level, first >> HEIGHT)
        offset = (first % WIDTH) * HASH_SIZE
        hashes = [data[i : i + HASH_SIZE] for i in range(offset, offset + (HASH_SIZE << sub), 32)]
        if len(hashes) != 1 << sub or len(hashes[-1]) != HASH_SIZE:
            raise AuditError(ErrorCode.TILE_INVALID, f"tile {(tile_level, first >> 8)} is short")
        return root_hash(hashes)

    def root(self) -> bytes:
        return EMPTY_ROOT if self.size == 0 else range_hash(self.node, 0, self.size)


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry prefixed by its length (big-endian uint16)."""
    out = bytearray()
    for entry in entries:
        if len(entry) > _MAX_ENTRY:
            raise AuditError(ErrorCode.TILE_INVALID, "an entry is longer than 65535 bytes")
        out += struct.pack(">H", len(entry)) + entry
    return bytes(out)


def _entries(raw: bytes) -> Iterator[bytes]:
    pos = 0
    while pos < len(raw):
        if pos + 2 > len(raw):
            raise AuditError(ErrorCode.TILE_INVALID, "an entry bundle ends inside a length")
        (n,) = struct.unpack_from(">H", raw, pos)
        if pos + 2 + n > len(raw):
            raise AuditError(ErrorCode.TILE_INVALID, "an entry bundle ends inside an entry")
        yield raw[pos + 2 : pos + 2 + n]
        pos += 2 + n


def decode_bundle(raw: bytes, width: int | None = None) -> list[bytes]:
    """The entries of a bundle; TILE_INVALID if it is cut short or not ``width`` entries."""
    out = list(_entries(raw))
    if width is not None and len(out) != width:
        raise AuditError(ErrorCode.TILE_INVALID, f"an entry bundle has {len(out)}, not {width}")
    return out
