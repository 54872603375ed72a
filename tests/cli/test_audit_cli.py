"""``healthcode audit verify``: a checkpoint, its witnesses, inclusion and consistency, from
proof files or a directory of tiles; tampered logs (a leaf changed, removed, reordered; a split
view) fail with exit 1, a bad command line exits 2."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healthcode.cli.main import app
from healthcode.core.audit.checkpoint import COSIGNATURE, Checkpoint, cosign, sign_checkpoint
from healthcode.core.audit.leaf import ColourLeaf, encode_leaf, log_subject
from healthcode.core.audit.merkle import MemoryTree, leaf_hash
from healthcode.core.audit.note import NoteSigner
from healthcode.core.audit.tiles import append_hashes, encode_bundle, tiles_for_size

runner = CliRunner()
ORIGIN = "province.example/440000/colours"
LOG = NoteSigner.generate(ORIGIN)
HUB = NoteSigner.generate("hub.example/witness", COSIGNATURE)
T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)


def _leaves(n: int) -> list[bytes]:
    return [
        encode_leaf(
            ColourLeaf(
                subject=log_subject(b"k" * 32, f"p{i % 9}"),
                colour=("green", "red")[i % 2],
                basis="rule",
                reasons=("R1",),
                decision=None,
                ruleset="sha256:00",
                at=T0 + timedelta(minutes=i),
            )
        )
        for i in range(n)
    ]


def _publish(directory: Path, leaves: list[bytes]) -> MemoryTree:
    """Write a log's tiles and entry bundles as tlog-tiles serves them."""
    tree, tiles = MemoryTree(), {}  # type: ignore[var-annotated]
    for leaf in leaves:
        tree.append(leaf_hash(leaf))
    append_hashes(tiles, 0, tree.levels[0])
    for t in tiles_for_size(len(leaves)):
        (directory / t.path).parent.mkdir(parents=True, exist_ok=True)
        (directory / t.path).write_bytes(bytes(tiles[(t.level, t.index)][: t.width * 32]))
    for t in tiles_for_size(len(leaves), entries=True):
        (directory / t.path).parent.mkdir(parents=True, exist_ok=True)
        start = t.index * 256
        (directory / t.path).write_bytes(encode_bundle(leaves[start : start + t.width]))
    return tree


def _checkpoint(path: Path, tree: MemoryTree, size: int, *, witnessed: bool = True) -> Path:
    raw = sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), LOG)
    path.write_bytes(cosign(raw, HUB, 1_700_000_000) if witnessed else raw)
    return path


def _lines(path: Path, hashes: list[bytes]) -> Path:
    path.write_text("".join(base64.b64encode(h).decode() + "\n" for h in hashes))
    return path


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _base(cp: Path) -> list[str | Path]:
    return ["audit", "verify", "--checkpoint", cp, "--key", LOG.verifier.vkey,
            "--witness", HUB.verifier.vkey, "--origin", ORIGIN]  # fmt: skip


def test_an_auditor_checks_a_checkpoint_and_proofs_from_files(tmp_path: Path) -> None:
    leaves = _leaves(300)
    tree = _publish(tmp_path, leaves)
    cp, old = _checkpoint(tmp_path / "cp", tree, 300), _checkpoint(tmp_path / "old", tree, 120)
    (tmp_path / "leaf").write_bytes(leaves[257])
    proof = _lines(tmp_path / "proof", tree.inclusion_proof(257))
    cons = _lines(tmp_path / "cons", tree.consistency_proof(120, 300))
    code, out, err = _run(*_base(cp), "--index", "257", "--leaf", tmp_path / "leaf",
                          "--proof", proof, "--old-checkpoint", old, "--consistency", cons,
                          "--json")  # fmt: skip
    assert code == 0, err
    shown = json.loads(out)
    assert shown["checkpoint"]["size"] == 300 and shown["inclusion"]["leaf"]["colour"] == "red"
    assert shown["consistency"] == {"from": 120, "to": 300}
    code, out, _ = _run(*_base(cp))
    assert code == 0 and "cosigned by hub.example/witness" in out


def test_an_auditor_checks_from_the_tiles(tmp_path: Path) -> None:
    tree = _publish(tmp_path / "log", _leaves(600))
    cp, old = _checkpoint(tmp_path / "cp", tree, 600), _checkpoint(tmp_path / "old", tree, 257)
    code, out, err = _run(*_base(cp), "--tiles", tmp_path / "log", "--index", "513",
                          "--old-checkpoint", old)  # fmt: skip
    assert code == 0, err
    assert "tiles: match" in out and "leaf 513: included" in out and "257 -> 600: ok" in out


@pytest.mark.parametrize("tamper", ["changed", "removed", "reordered"])
def test_a_tampered_copy_fails(tmp_path: Path, tamper: str) -> None:
    leaves = _leaves(40)
    tree = _publish(tmp_path / "log", leaves)
    cp = _checkpoint(tmp_path / "cp", tree, 40)
    copy = list(leaves)
    if tamper == "changed":
        copy[7] = copy[7].replace(b'"red"', b'"green"')
    elif tamper == "removed":
        del copy[7]
        copy.append(leaves[7])  # the same size, the leaf moved to the end
    else:
        copy[7], copy[8] = copy[8], copy[7]
    _publish(tmp_path / "copy", copy)
    code, _, err = _run(*_base(cp), "--tiles", tmp_path / "copy")
    assert code == 1 and err.startswith("error MERKLE_ROOT_MISMATCH")
    (tmp_path / "leaf").write_bytes(copy[7])
    proof = _lines(tmp_path / "proof", tree.inclusion_proof(7))
    code, _, err = _run(*_base(cp), "--index", "7", "--leaf", tmp_path / "leaf", "--proof", proof)
    assert code == 1 and err.startswith("error MERKLE_ROOT_MISMATCH")


def test_a_split_view_fails(tmp_path: Path) -> None:
    """The log signs two histories: each verifies alone, not as one growing log."""
    honest, forked = _leaves(50), _leaves(50)
    forked[2] = forked[2].replace(b'"green"', b'"red"')
    assert forked != honest
    a = _publish(tmp_path / "a", honest)
    b = _publish(tmp_path / "b", [*forked, *_leaves(10)])
    old, new = _checkpoint(tmp_path / "old", a, 50), _checkpoint(tmp_path / "new", b, 60)
    cons = _lines(tmp_path / "cons", b.consistency_proof(50, 60))
    code, _, err = _run(*_base(new), "--old-checkpoint", old, "--consistency", cons)
    assert code == 1 and err.startswith("error MERKLE_ROOT_MISMATCH")


def test_refusals_and_usage(tmp_path: Path) -> None:
    tree = _publish(tmp_path, _leaves(5))
    bare = _checkpoint(tmp_path / "bare", tree, 5, witnessed=False)
    code, _, err = _run(*_base(bare))
    assert code == 1 and err.startswith("error NOTE_UNSIGNED")
    code, _, err = _run("audit", "verify", "--checkpoint", bare, "--key", "not+a+key")
    assert code == 2 and err.startswith("error NOTE_KEY_INVALID")
    other = NoteSigner.generate(ORIGIN)
    code, _, err = _run("audit", "verify", "--checkpoint", bare, "--key", other.verifier.vkey)
    assert code == 1 and err.startswith("error NOTE_UNSIGNED")
    code, _, err = _run(*_base(_checkpoint(tmp_path / "cp", tree, 5)), "--index", "1")
    assert code == 2 and err.startswith("error USAGE")
    code, _, err = _run(*_base(tmp_path / "cp"), "--origin", "elsewhere")
    assert code == 1 and err.startswith("error CHECKPOINT_ORIGIN")
