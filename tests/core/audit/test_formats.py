"""C2SP signed notes, checkpoints, cosignatures and tiles, against the specifications' examples
(tests/data/c2sp) and round trips; the colour log's leaf."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datadir import TESTDATA
from healthcode.core.audit.checkpoint import (
    COSIGNATURE,
    Checkpoint,
    cosign,
    cosignature_time,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
    witness_cosign,
)
from healthcode.core.audit.leaf import ColourLeaf, decode_leaf, encode_leaf, log_subject
from healthcode.core.audit.merkle import MemoryTree, leaf_hash, verify_inclusion
from healthcode.core.audit.note import NoteSigner, NoteVerifier, open_note, parse_note, sign_note
from healthcode.core.audit.tiles import (
    TileReader,
    TileRef,
    append_hashes,
    decode_bundle,
    encode_bundle,
    parse_tile_path,
    tile_path,
    tiles_for_size,
)
from healthcode.core.errors import AuditError

C2SP = TESTDATA / "c2sp"


def _code(exc: pytest.ExceptionInfo[AuditError]) -> str:
    return str(exc.value.code)


# --- signed notes ------------------------------------------------------------------------------


def test_the_specification_example_verifies() -> None:
    vkey = NoteVerifier.from_vkey((C2SP / "signed-note/example.vkey").read_text())
    raw = (C2SP / "signed-note/example.note").read_bytes()
    assert vkey.key_id.hex() == "530d903a"
    assert open_note(raw, [vkey]).text == b"This is an example message.\n"
    tampered = raw.replace(b"example message", b"example massage")
    with pytest.raises(AuditError) as e:
        open_note(tampered, [vkey])
    assert _code(e) == "NOTE_SIGNATURE_INVALID"


def test_unknown_keys_are_ignored_and_a_note_without_a_known_one_refused() -> None:
    raw = (C2SP / "signed-note/example.note").read_bytes()
    other = NoteSigner.generate("example.com/foo")  # same name, another key ID
    with pytest.raises(AuditError) as e:
        open_note(raw, [other.verifier])
    assert _code(e) == "NOTE_UNSIGNED"
    both = sign_note(b"text\n", [other, NoteSigner.generate("x.example/y")])
    assert [s.name for s in open_note(both, [other.verifier]).signatures] == ["example.com/foo"]


def test_keys_round_trip() -> None:
    signer = NoteSigner.generate("example.org/log")
    again = NoteSigner.from_skey(signer.skey())
    assert again.verifier == signer.verifier == NoteVerifier.from_vkey(signer.verifier.vkey)
    assert "PRIVATE" not in repr(signer)


@pytest.mark.parametrize(
    "vkey",
    [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong ID
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U",  # short key
        "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # space in name
        "example.com/foo+530d903a",
    ],
)
def test_malformed_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(AuditError) as e:
        NoteVerifier.from_vkey(vkey)
    assert _code(e) == "NOTE_KEY_INVALID"


@pytest.mark.parametrize(
    "raw",
    [
        b"no blank line\n\xe2\x80\x94 a AAAAAAA=\n",
        b"text\n\n",
        b"text\n\n- a AAAAAAA=\n",
        b"text\x01\n\n\xe2\x80\x94 a AAAAAAA=\n",
        b"text\n\n\xe2\x80\x94 a AAA=\n",
        b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n",
    ],
)
def test_malformed_notes_are_refused(raw: bytes) -> None:
    with pytest.raises(AuditError) as e:
        parse_note(raw)
    assert _code(e) == "NOTE_MALFORMED"


# --- checkpoints and cosignatures --------------------------------------------------------------


def test_the_specification_checkpoints_parse() -> None:
    note = parse_note((C2SP / "tlog-cosignature/example.note").read_bytes())
    checkpoint = parse_checkpoint(note.text)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert cosignature_time(note.signatures[1]) == 1679315147
    plain = parse_note((C2SP / "tlog-checkpoint/example.note").read_bytes())
    assert parse_checkpoint(plain.text) == checkpoint


@pytest.mark.parametrize(
    "text",
    [
        b"origin\n12\n",
        b"origin\n012\n" + b"A" * 43 + b"=\n",
        b"origin\n-1\n" + b"A" * 43 + b"=\n",
        b"origin\n12\nAAAA\n",
        b"origin\n12\n" + b"A" * 43 + b"=\n\n",
        b"origin\n12\n" + b"A" * 43 + b"=",
    ],
)
def test_malformed_checkpoints_are_refused(text: bytes) -> None:
    with pytest.raises(AuditError) as e:
        parse_checkpoint(text)
    assert _code(e) == "CHECKPOINT_MALFORMED"


def _log(n: int) -> MemoryTree:
    tree = MemoryTree()
    for i in range(n):
        tree.append(leaf_hash(b"%d" % i))
    return tree


def test_a_witness_cosigns_only_a_consistent_larger_checkpoint() -> None:
    log = NoteSigner.generate("example.org/log")
    witness = NoteSigner.generate("hub.example/witness", COSIGNATURE)
    tree = _log(10)
    first = Checkpoint("example.org/log", 6, tree.root(6))
    cp, cosigned = witness_cosign(
        sign_checkpoint(first, log), log_keys=[log.verifier], origin="example.org/log",
        last=None, proof=[], cosigner=witness, timestamp=1_700_000_000,
    )  # fmt: skip
    assert cp == first
    assert open_checkpoint(cosigned, [witness.verifier]) == first
    second = Checkpoint("example.org/log", 10, tree.root(10))
    kwargs: dict[str, Any] = {
        "log_keys": [log.verifier],
        "origin": "example.org/log",
        "last": first,
        "cosigner": witness,
        "timestamp": 1_700_000_060,
    }
    witness_cosign(sign_checkpoint(second, log), proof=tree.consistency_proof(6, 10), **kwargs)
    fork = Checkpoint("example.org/log", 10, _log(11).root(10)[::-1])
    with pytest.raises(AuditError) as e:
        witness_cosign(sign_checkpoint(fork, log), proof=tree.consistency_proof(6, 10), **kwargs)
    assert _code(e) == "MERKLE_ROOT_MISMATCH"
    older = Checkpoint("example.org/log", 5, tree.root(5))
    with pytest.raises(AuditError) as e:
        witness_cosign(sign_checkpoint(older, log), proof=[], **kwargs)
    assert _code(e) == "WITNESS_ROLLBACK"
    with pytest.raises(AuditError) as e:
        witness_cosign(
            sign_checkpoint(Checkpoint("other", 10, tree.root()), log), proof=[], **kwargs
        )
    assert _code(e) == "CHECKPOINT_ORIGIN"


def test_a_cosignature_does_not_verify_as_another_time() -> None:
    log = NoteSigner.generate("example.org/log")
    witness = NoteSigner.generate("hub.example/witness", COSIGNATURE)
    raw = cosign(sign_checkpoint(Checkpoint("example.org/log", 1, leaf_hash(b"")), log), witness, 7)
    line = raw.rsplit(b"\n", 2)[-2]
    import base64

    sig = bytearray(base64.b64decode(line.split(b" ")[-1]))
    sig[11] ^= 1  # the timestamp's last byte
    forged = raw.replace(line.split(b" ")[-1], base64.b64encode(bytes(sig)))
    with pytest.raises(AuditError) as e:
        open_note(forged, [witness.verifier])
    assert _code(e) == "NOTE_SIGNATURE_INVALID"


# --- tiles -------------------------------------------------------------------------------------


def test_tile_paths() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path("entries", 0, 7) == "tile/entries/000.p/7"
    assert parse_tile_path("tile/2/x001/002.p/9") == TileRef(2, 1002, 9)
    assert parse_tile_path("tile/entries/042") == TileRef(-1, 42)
    for bad in ("tile/0/1234", "tile/0/x1/234", "tile/64/000", "tile/0/000.p/256",
                "tile/0/000.p/0", "tile/00/000", "tile/0/x000/001"):  # fmt: skip
        with pytest.raises(AuditError) as e:
            parse_tile_path(bad)
        assert _code(e) == "TILE_PATH_INVALID"


def test_the_specification_tile_counts() -> None:
    tiles = tiles_for_size(70_000)
    assert sum(t.level == 0 and t.width == 256 for t in tiles) == 273
    assert TileRef(0, 273, 112) in tiles
    assert [t for t in tiles_for_size(256)] == [TileRef(0, 0), TileRef(1, 0, 1)]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 70_000), st.integers(0, 3), st.data())
def test_a_tree_read_back_from_its_tiles(size: int, batches: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    tiles: dict[tuple[int, int], bytearray] = {}
    done, cuts = 0, sorted(data.draw(st.lists(st.integers(0, size), max_size=batches)))
    for cut in [*cuts, size]:
        done, _ = append_hashes(tiles, done, leaves[done:cut])
    served = {
        t.path: bytes(tiles[(t.level, t.index)][: t.width * 32]) for t in tiles_for_size(size)
    }
    reader = TileReader(served.__getitem__, size)
    tree = MemoryTree()
    for leaf in leaves:
        tree.append(leaf)
    assert reader.root() == tree.root()
    i = data.draw(st.integers(0, size - 1))
    from healthcode.core.audit.merkle import inclusion_proof

    proof = inclusion_proof(reader.node, i, size)
    assert proof == tree.inclusion_proof(i)
    verify_inclusion(leaves[i], i, size, proof, tree.root())


def test_missing_or_short_tiles_are_refused() -> None:
    def missing(path: str) -> bytes:
        raise AuditError("TILE_MISSING", path)  # type: ignore[arg-type]

    with pytest.raises(AuditError) as e:
        TileReader(missing, 3).root()
    assert _code(e) == "TILE_MISSING"
    with pytest.raises(AuditError) as e:
        TileReader(lambda path: b"\0" * 64, 3).root()
    assert _code(e) == "TILE_INVALID"


def test_entry_bundles() -> None:
    entries = [b"", b"a", b"x" * 300]
    assert decode_bundle(encode_bundle(entries), 3) == entries
    for bad in (b"\x00", b"\x00\x05abc"):
        with pytest.raises(AuditError) as e:
            decode_bundle(bad)
        assert _code(e) == "TILE_INVALID"


# --- the colour log's leaf ---------------------------------------------------------------------

AT = datetime(2026, 12, 1, 14, 0, 5, 123456, tzinfo=UTC)


def _leaf(**kw: Any) -> ColourLeaf:
    fields: dict[str, Any] = {
        "subject": log_subject(b"k" * 32, "p" * 64),
        "colour": "red",
        "basis": "rule",
        "reasons": ("CLOSE_CONTACT",),
        "decision": None,
        "ruleset": "sha256:ab",
        "at": AT,
    }
    return ColourLeaf(**{**fields, **kw})


def test_a_leaf_is_canonical_and_round_trips() -> None:
    leaf = _leaf()
    raw = encode_leaf(leaf)
    assert raw.startswith(b'{"at":"2026-12-01T14:00:05Z","basis":"rule","colour":"red"')
    assert decode_leaf(raw) == leaf
    decided = _leaf(basis="decision", decision="D-2026-0001", reasons=())
    assert decode_leaf(encode_leaf(decided)) == decided


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "440106199003071234"},
        {"colour": "purple"},
        {"basis": "decision"},
        {"decision": "D-1"},
        {"reasons": ("张三",)},
        {"reasons": ("has space",)},
        {"at": datetime(2026, 12, 1)},
    ],
)
def test_a_leaf_refuses_what_it_may_not_hold(change: dict[str, Any]) -> None:
    with pytest.raises(AuditError) as e:
        _leaf(**change)
    assert _code(e) == "LEAF_INVALID"


@pytest.mark.parametrize(
    "edit",
    [
        lambda raw: raw.replace(b'"v":1', b'"v":2'),
        lambda raw: raw.replace(b",", b", ", 1),
        lambda raw: raw.replace(b'"v":1}', b'"v":1,"name":"x"}'),
        lambda raw: raw.replace(b'"v":1', b'"v":1.0'),
        lambda raw: b"[]",
        lambda raw: b"\xff",
    ],
)
def test_only_the_canonical_bytes_decode(edit) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuditError) as e:
        decode_leaf(edit(encode_leaf(_leaf())))
    assert _code(e) == "LEAF_INVALID"


def test_the_subject_is_keyed() -> None:
    assert log_subject(b"k" * 32, "p") != log_subject(b"j" * 32, "p")
    with pytest.raises(AuditError):
        log_subject(b"short", "p")
