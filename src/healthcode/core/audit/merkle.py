"""RFC 9162 (Certificate Transparency 2.0, section 2.1) Merkle trees over SHA-256.

A leaf hashes as ``SHA-256(0x00 || data)``, an interior node as ``SHA-256(0x01 || left ||
right)``; the tree of ``n`` leaves splits at the largest power of two below ``n``. The empty
tree's hash is ``SHA-256("")``.

Proofs are generated from a :data:`NodeReader`: a function giving the hash of a *full* subtree,
``(level, index) -> hash`` of leaves ``[index * 2**level, (index + 1) * 2**level)``. Every hash
a proof needs is such a subtree or a right edge built from them, so an in-memory tree
(:class:`MemoryTree`), tiles (``tiles.py``) or a database can all answer. Verification follows
RFC 9162 sections 2.1.3.2 and 2.1.4.2 and raises :class:`AuditError` with a stable code.

:class:`Frontier` is the compact state of an append-only tree (the hashes of its largest full
subtrees, left to right): appending a leaf and computing the new root cost ``O(log n)``.

>>> tree = MemoryTree()
>>> for data in (b"a", b"b", b"c"):
...     _ = tree.append(leaf_hash(data))
>>> proof = tree.inclusion_proof(2, 3)
>>> verify_inclusion(leaf_hash(b"c"), 2, 3, proof, tree.root())
>>> verify_consistency(2, 3, tree.consistency_proof(2, 3), tree.root(2), tree.root())
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "MemoryTree",
    "NodeReader",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
#: The hash of the empty tree.
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: ``(level, i) -> hash`` of the full subtree of leaves ``[i << level, (i + 1) << level)``
NodeReader = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of these leaf hashes, by the definition (the reference)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_hash(leaf_hashes[:k]), root_hash(leaf_hashes[k:]))


def range_hash(node: NodeReader, start: int, end: int) -> bytes:
    """The hash of leaves ``[start, end)`` where ``start`` is aligned to the range's largest
    power of two (every range a proof or a root needs); full subtrees come from ``node``."""
    size = end - start
    if size & (size - 1) == 0 and start % size == 0:
        return node(size.bit_length() - 1, start // size)
    k = _split(size)
    return node_hash(range_hash(node, start, start + k), range_hash(node, start + k, end))


def _check_index(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise AuditError(
            ErrorCode.MERKLE_INDEX_OUT_OF_RANGE,
            f"leaf index {index} is not below the tree size {size}",
        )


def _check_sizes(size1: int, size2: int) -> None:
    if not 0 <= size1 <= size2:
        raise AuditError(
            ErrorCode.MERKLE_TREE_SIZE, f"tree size {size1} is not between 0 and {size2}"
        )


def inclusion_proof(node: NodeReader, index: int, size: int) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 2.1.3.1)."""
    _check_index(index, size)
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            proof.append(range_hash(node, start + k, end))
            end = start + k
        else:
            proof.append(range_hash(node, start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(node: NodeReader, size1: int, size2: int) -> list[bytes]:
    """The proof that the tree of ``size1`` leaves is a prefix of that of ``size2``
    (RFC 9162 2.1.4.1); empty when ``size1`` is 0 or equal to ``size2``."""
    _check_sizes(size1, size2)
    if size1 == 0 or size1 == size2:
        return []
    proof: list[bytes] = []
    start, end, whole = 0, size2, True
    while size1 - start != end - start:
        k = _split(end - start)
        if size1 - start <= k:
            proof.append(range_hash(node, start + k, end))
            end = start + k
        else:
            proof.append(range_hash(node, start, start + k))
            start, whole = start + k, False
    if not whole:
        proof.append(range_hash(node, start, end))
    proof.reverse()
    return proof


def _check_hashes(*hashes: bytes) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise AuditError(ErrorCode.MERKLE_HASH_SIZE, f"a hash is not {HASH_SIZE} bytes")


def _mismatch(what: str) -> AuditError:
    return AuditError(ErrorCode.MERKLE_ROOT_MISMATCH, f"the {what} does not match the proof")


def _length(proof: Sequence[bytes], what: str) -> AuditError:
    return AuditError(
        ErrorCode.MERKLE_PROOF_LENGTH, f"the {what} proof has a wrong number of hashes"
    )


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) is leaf ``index`` of the tree of ``size`` leaves with
    this ``root`` (RFC 9162 2.1.3.2); raises AuditError otherwise."""
    _check_index(index, size)
    _check_hashes(leaf, *proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise _length(proof, "inclusion")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise _length(proof, "inclusion")
    if r != root:
        raise _mismatch("root hash")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` leaves and ``root1`` is a prefix of the tree of
    ``size2`` leaves and ``root2`` (RFC 9162 2.1.4.2); raises AuditError otherwise. A first
    size of 0 is refused (MERKLE_TREE_SIZE), as the transparency-dev vectors want: the empty
    tree is a prefix of every tree, so such a proof would show nothing."""
    _check_sizes(size1, size2)
    if size1 == 0:
        raise AuditError(
            ErrorCode.MERKLE_TREE_SIZE,
            "every tree extends the empty tree: there is nothing to prove",
        )
    if size1 == size2:
        if proof:
            raise _length(proof, "consistency")
        if root1 != root2:
            raise _mismatch("second root hash")
        return
    if not proof:
        raise _length(proof, "consistency")
    _check_hashes(*proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise _length(proof, "consistency")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise _length(proof, "consistency")
    if fr != root1:
        raise _mismatch("first root hash")
    if sr != root2:
        raise _mismatch("second root hash")


@dataclass(frozen=True, slots=True)
class Frontier:
    """An append-only tree's compact state: its size and the hashes of its largest full
    subtrees, left to right (one per set bit of ``size``, largest first).

    >>> f = Frontier.EMPTY.append(leaf_hash(b"a")).append(leaf_hash(b"b"))
    >>> f.size, f.root() == node_hash(leaf_hash(b"a"), leaf_hash(b"b"))
    (2, True)
    """

    size: int
    hashes: tuple[bytes, ...]

    EMPTY: ClassVar[Frontier]  # set below the class

    def append(self, leaf: bytes) -> Frontier:
        """The frontier after appending one leaf hash."""
        hashes = list(self.hashes)
        carry, size = leaf, self.size
        while size & 1:
            carry = node_hash(hashes.pop(), carry)
            size >>= 1
        hashes.append(carry)
        return Frontier(self.size + 1, tuple(hashes))

    def root(self) -> bytes:
        """The tree's root hash."""
        if not self.hashes:
            return EMPTY_ROOT
        out = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            out = node_hash(h, out)
        return out

    def to_bytes(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, raw: bytes) -> Frontier:
        """A frontier stored as its concatenated hashes; ValueError if they do not fit ``size``."""
        if len(raw) != HASH_SIZE * bin(size).count("1"):
            raise ValueError("a frontier needs one hash per set bit of its size")
        return cls(size, tuple(raw[i : i + HASH_SIZE] for i in range(0, len(raw), HASH_SIZE)))


Frontier.EMPTY = Frontier(0, ())


class MemoryTree:
    """A tree in memory: every full subtree's hash, level by level (append-only)."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> int:
        """Append a leaf hash; its index."""
        index = self.size
        self.levels[0].append(leaf)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            pair = self.levels[level][-2:]
            if len(self.levels) == level + 1:
                self.levels.append([])
            self.levels[level + 1].append(node_hash(pair[0], pair[1]))
            level += 1
        return index

    def node(self, level: int, index: int) -> bytes:
        """The hash of a full subtree (a :data:`NodeReader`)."""
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first ``size`` leaves (all by default)."""
        size = self.size if size is None else size
        _check_sizes(size, self.size)
        return EMPTY_ROOT if size == 0 else range_hash(self.node, 0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        _check_sizes(size, self.size)
        return inclusion_proof(self.node, index, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        size2 = self.size if size2 is None else size2
        _check_sizes(size2, self.size)
        return consistency_proof(self.node, size1, size2)
