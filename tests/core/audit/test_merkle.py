"""RFC 9162 hashing and proofs: the transparency-dev vectors in tests/data/merkle, proofs made
here equal to theirs, and properties over every small tree."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datadir import TESTDATA
from healthcode.core.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from healthcode.core.errors import AuditError

MERKLE = TESTDATA / "merkle"
#: The leaves of the RFC 6962 reference tree (the vectors' happy paths are over them).
RFC_LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f")
]  # fmt: skip


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _cases(kind: str) -> list[Path]:
    return sorted((MERKLE / kind).rglob("*.json"))


def _name(path: Path) -> str:
    return path.relative_to(MERKLE).as_posix()


def _reference_tree() -> MemoryTree:
    tree = MemoryTree()
    for data in RFC_LEAVES:
        tree.append(leaf_hash(data))
    return tree


def test_there_are_vectors() -> None:
    assert len(_cases("inclusion")) > 80 and len(_cases("consistency")) > 80


@pytest.mark.parametrize("path", _cases("inclusion"), ids=_name)
def test_inclusion_vector(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    proof = [_b64(p) for p in case["proof"] or []]
    args = (_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(AuditError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _cases("consistency"), ids=_name)
def test_consistency_vector(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    proof = [_b64(p) for p in case["proof"] or []]
    args = (case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"]))
    if case["wantErr"]:
        with pytest.raises(AuditError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def _happy(kind: str) -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in _cases(kind)
        if p.name == "happy-path.json" and p.parent.parent.name == kind
    ]


def test_proofs_made_here_equal_the_vectors() -> None:
    tree = _reference_tree()
    inclusion, consistency = _happy("inclusion"), _happy("consistency")
    assert inclusion and consistency
    for case in inclusion:
        n = case["treeSize"]
        assert tree.root(n) == _b64(case["root"])
        got = tree.inclusion_proof(case["leafIdx"], n)
        assert got == [_b64(p) for p in case["proof"] or []]
    for case in consistency:
        got = tree.consistency_proof(case["size1"], case["size2"])
        assert got == [_b64(p) for p in case["proof"] or []]
        assert tree.root(case["size2"]) == _b64(case["root2"])


def test_the_reference_root() -> None:
    assert root_hash([]) == EMPTY_ROOT
    assert _reference_tree().root().hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


def _tree(n: int) -> MemoryTree:
    tree = MemoryTree()
    for i in range(n):
        tree.append(leaf_hash(i.to_bytes(4, "big")))
    return tree


TREE = _tree(70)


def test_every_inclusion_proof_of_every_small_tree_verifies() -> None:
    leaves = TREE.levels[0]
    for n in range(1, 70):
        root = TREE.root(n)
        assert root == root_hash(leaves[:n])
        for i in range(n):
            verify_inclusion(leaves[i], i, n, TREE.inclusion_proof(i, n), root)


def test_every_consistency_proof_of_every_small_pair_verifies() -> None:
    for n in range(1, 70):
        for m in range(1, n + 1):
            verify_consistency(m, n, TREE.consistency_proof(m, n), TREE.root(m), TREE.root(n))


def _flip(proof: list[bytes], which: int, bit: int) -> list[bytes]:
    out = list(proof)
    h = bytearray(out[which])
    h[bit // 8] ^= 1 << (bit % 8)
    out[which] = bytes(h)
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_corrupted_inclusion_proof_fails(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 69))
    i = data.draw(st.integers(0, n - 1))
    leaves, root = TREE.levels[0], TREE.root(n)
    proof = TREE.inclusion_proof(i, n)
    # (A wrong tree size alone is not always caught: the signed checkpoint binds the size.)
    how = data.draw(st.sampled_from(["flip", "drop", "add", "index", "leaf", "root"]))
    leaf, index, size = leaves[i], i, n
    if how == "flip":
        proof = _flip(
            proof, data.draw(st.integers(0, len(proof) - 1)), data.draw(st.integers(0, 255))
        )
    elif how == "drop":
        proof = proof[:-1]
    elif how == "add":
        proof = [*proof, leaves[0]]
    elif how == "index":
        index = data.draw(st.integers(0, n - 1).filter(lambda x: x != i))
    elif how == "leaf":
        leaf = leaf_hash(b"not a leaf")
    else:
        root = TREE.root(n - 1)
    with pytest.raises(AuditError):
        verify_inclusion(leaf, index, size, proof, root)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_corrupted_consistency_proof_fails(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 69))
    m = data.draw(st.integers(1, n - 1))
    proof, root1, root2 = TREE.consistency_proof(m, n), TREE.root(m), TREE.root(n)
    how = data.draw(st.sampled_from(["flip", "drop", "add", "root1", "root2", "m"]))
    size1, size2 = m, n
    if how == "flip":
        proof = _flip(
            proof, data.draw(st.integers(0, len(proof) - 1)), data.draw(st.integers(0, 255))
        )
    elif how == "drop":
        proof = proof[:-1]
    elif how == "add":
        proof = [*proof, root1]
    elif how == "root1":
        root1 = leaf_hash(b"forged")
    elif how == "root2":
        root2 = TREE.root(n - 1) if n - 1 != m else leaf_hash(b"forged")
    else:
        size1 = data.draw(st.integers(1, n - 1).filter(lambda x: x != m))
    with pytest.raises(AuditError):
        verify_consistency(size1, size2, proof, root1, root2)


@given(st.lists(st.binary(max_size=8), max_size=80))
def test_the_frontier_and_the_tree_agree(items: list[bytes]) -> None:
    frontier, tree = Frontier.EMPTY, MemoryTree()
    for item in items:
        frontier = frontier.append(leaf_hash(item))
        tree.append(leaf_hash(item))
        assert frontier.root() == tree.root() == root_hash(tree.levels[0])
    again = Frontier.from_bytes(frontier.size, frontier.to_bytes())
    assert again == frontier


def test_errors_have_stable_codes() -> None:
    tree = _tree(5)
    with pytest.raises(AuditError) as e:
        verify_inclusion(tree.levels[0][0], 5, 5, [], tree.root())
    assert e.value.code == "MERKLE_INDEX_OUT_OF_RANGE"
    with pytest.raises(AuditError) as e:
        verify_inclusion(tree.levels[0][0], 0, 5, tree.inclusion_proof(0)[:-1], tree.root())
    assert e.value.code == "MERKLE_PROOF_LENGTH"
    with pytest.raises(AuditError) as e:
        verify_inclusion(tree.levels[0][1], 0, 5, tree.inclusion_proof(0), tree.root())
    assert e.value.code == "MERKLE_ROOT_MISMATCH"
    with pytest.raises(AuditError) as e:
        verify_consistency(4, 3, [], tree.root(4), tree.root(3))
    assert e.value.code == "MERKLE_TREE_SIZE"
    with pytest.raises(AuditError) as e:
        verify_consistency(0, 3, [], EMPTY_ROOT, tree.root(3))
    assert e.value.code == "MERKLE_TREE_SIZE"
    with pytest.raises(AuditError) as e:
        verify_inclusion(b"short", 0, 5, tree.inclusion_proof(0), tree.root())
    assert e.value.code == "MERKLE_HASH_SIZE"
