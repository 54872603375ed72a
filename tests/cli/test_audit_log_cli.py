"""``healthcode audit log DIR``: a saved copy of a whole colour log is checked offline, and a
copy with a leaf changed, removed or reordered (in the entries alone, or with the tiles made to
match) or a tile changed fails; ``verified_leaves`` yields every leaf of a checked log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_audit_cli import HUB, LOG, ORIGIN, _checkpoint, _leaves, _publish, _run

from healthcode.core.audit.auditor import directory_source, open_published, verified_leaves
from healthcode.core.audit.leaf import decode_leaf
from healthcode.core.audit.tiles import decode_bundle, encode_bundle


def _saved(directory: Path, leaves: list[bytes], size: int | None = None) -> Path:
    tree = _publish(directory, leaves)
    _checkpoint(directory / "checkpoint", tree, size or len(leaves))
    return directory


def _audit(directory: Path, *extra: str) -> tuple[int, str, str]:
    return _run("audit", "log", directory, "--key", LOG.verifier.vkey,
                "--witness", HUB.verifier.vkey, "--origin", ORIGIN, *extra)  # fmt: skip


def test_a_saved_copy_is_audited_and_its_leaves_listed(tmp_path: Path) -> None:
    leaves = _leaves(600)
    copy = _saved(tmp_path / "log", leaves)
    code, out, err = _audit(copy, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["checkpoint"]["size"] == 600
    assert shown["colours"] == {"green": 300, "red": 300} and shown["bases"] == {"rule": 600}
    fetch = directory_source(copy)
    checkpoint = open_published(fetch("checkpoint"), log_keys=[LOG.verifier])
    listed = list(verified_leaves(fetch, checkpoint))
    assert [i for i, _ in listed] == list(range(600))
    assert [leaf for _, leaf in listed] == [decode_leaf(raw) for raw in leaves]


def _rewrite_bundle(copy: Path, change: str) -> None:
    path = copy / "tile" / "entries" / "000.p/40"
    entries = decode_bundle(path.read_bytes())
    if change == "changed":
        entries[7] = entries[7].replace(b'"red"', b'"green"')
    elif change == "removed":
        del entries[7]
    else:
        entries[7], entries[8] = entries[8], entries[7]
    path.write_bytes(encode_bundle(entries))


@pytest.mark.parametrize("tamper", ["changed", "removed", "reordered"])
def test_leaves_tampered_in_the_entries_fail(tmp_path: Path, tamper: str) -> None:
    copy = _saved(tmp_path / "log", _leaves(40))
    _rewrite_bundle(copy, tamper)
    code, _, err = _audit(copy)
    assert code == 1
    expected = "TILE_INVALID" if tamper == "removed" else "MERKLE_ROOT_MISMATCH"
    assert err.startswith(f"error {expected}"), err


@pytest.mark.parametrize("tamper", ["changed", "removed", "reordered"])
def test_leaves_tampered_with_tiles_to_match_fail(tmp_path: Path, tamper: str) -> None:
    """A copy made consistent with itself (tiles rebuilt from the tampered leaves) does not give
    the signed root."""
    leaves = _leaves(40)
    copy = _saved(tmp_path / "log", leaves)
    forged = list(leaves)
    if tamper == "changed":
        forged[7] = forged[7].replace(b'"red"', b'"green"')
    elif tamper == "removed":
        del forged[7]
        forged.append(leaves[7])  # same size: the leaf moved to the end
    else:
        forged[7], forged[8] = forged[8], forged[7]
    shutil.rmtree(copy / "tile")
    _publish(copy, forged)
    code, _, err = _audit(copy)
    assert code == 1 and err.startswith("error MERKLE_ROOT_MISMATCH"), err


def test_a_changed_upper_tile_fails(tmp_path: Path) -> None:
    copy = _saved(tmp_path / "log", _leaves(600))
    tile = copy / "tile" / "1" / "000.p/2"
    data = bytearray(tile.read_bytes())
    data[0] ^= 1
    tile.write_bytes(bytes(data))
    code, _, err = _audit(copy)
    assert code == 1 and err.startswith("error MERKLE_ROOT_MISMATCH"), err


def test_a_missing_witness_or_a_missing_bundle_fails(tmp_path: Path) -> None:
    leaves = _leaves(10)
    copy = _saved(tmp_path / "log", leaves)
    tree = _publish(tmp_path / "other", leaves)
    _checkpoint(copy / "checkpoint", tree, 10, witnessed=False)
    code, _, err = _audit(copy)
    assert code == 1 and err.startswith("error NOTE_UNSIGNED"), err
    _checkpoint(copy / "checkpoint", tree, 10)
    (copy / "tile" / "entries" / "000.p" / "10").unlink()
    code, _, err = _audit(copy)
    assert code == 1 and err.startswith("error TILE_MISSING"), err
    code, _, err = _run("audit", "log", tmp_path / "nowhere", "--key", LOG.verifier.vkey)
    assert code == 2 and "FILE_ERROR" in err
