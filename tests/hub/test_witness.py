"""The hub as a C2SP tlog-witness, over its HTTP API: it cosigns a province's checkpoint only
when the province's key signed it and it extends what it cosigned before; a split view (two
trees of one size), a shrunk tree, a replayed older checkpoint, a proof of another tree, an
unknown log or key are refused with the specification's status codes (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hub_testdata import ENV, NOW, ASGISyncTransport

from healthcode.config import Settings
from healthcode.core.audit.checkpoint import COSIGNATURE, Checkpoint, sign_checkpoint
from healthcode.core.audit.merkle import EMPTY_ROOT, MemoryTree, leaf_hash
from healthcode.core.audit.note import Note, NoteSigner, Signature, open_note, parse_note
from healthcode.core.audit.witness import add_cosignatures, encode_submission
from healthcode.core.clock import FixedClock
from healthcode.hub.app import create_app
from healthcode.hub.services import Hub
from healthcode.store.db import Database

ORIGIN = "healthcode/province/440000/colours"
LOG = NoteSigner.generate(ORIGIN)
WITNESS = NoteSigner.generate("healthcode/witness", COSIGNATURE)


@pytest.fixture
def client(db: Database, tmp_path: Path) -> Iterator[httpx.Client]:
    key = tmp_path / "witness.skey"
    key.write_text(WITNESS.skey())
    settings = Settings.from_env({**ENV, "HEALTHCODE_WITNESS_KEY": str(key)})
    hub = Hub.build(settings=settings, db=db, clock=FixedClock(NOW))
    hub.witness.register(origin=ORIGIN, vkey=LOG.verifier.vkey, province="440000")
    transport = ASGISyncTransport(create_app(hub))
    with httpx.Client(transport=transport, base_url="http://hub.test") as c:
        yield c


def _tree(n: int, tag: bytes = b"a") -> MemoryTree:
    tree = MemoryTree()
    for i in range(n):
        tree.append(leaf_hash(tag + b"%d" % i))
    return tree


def _note(tree: MemoryTree, signer: NoteSigner = LOG, origin: str = ORIGIN) -> bytes:
    return sign_checkpoint(Checkpoint(origin, tree.size, tree.root()), signer)


def _add(client: httpx.Client, old: int, proof: list[bytes], note: bytes) -> httpx.Response:
    return client.post("/v1/witness/add-checkpoint", content=encode_submission(old, proof, note))


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def test_cosigns_a_growing_log_and_serves_it_to_monitors(client: httpx.Client) -> None:
    t5, t9 = _tree(5), _tree(9)
    r = _add(client, 0, [], _note(t5))
    assert r.status_code == 200 and r.text.startswith("— healthcode/witness ")
    cosigned = add_cosignatures(_note(t5), r.content, [WITNESS.verifier])
    open_note(cosigned, [WITNESS.verifier])
    r = _add(client, 5, t9.consistency_proof(5, 9), _note(t9))
    assert r.status_code == 200
    again = _add(client, 9, [], _note(t9))  # the same checkpoint again: cosigned again
    assert again.status_code == 200
    digest = hashlib.sha256(ORIGIN.encode()).hexdigest()
    served = client.get(f"/v1/witness/{digest}/checkpoint")
    assert served.status_code == 200 and served.content.startswith(_note(t9).split(b"\n\n")[0])
    open_note(served.content, [WITNESS.verifier])
    assert client.get("/v1/witness/" + "0" * 64 + "/checkpoint").status_code == 404


def test_a_split_view_is_refused(client: httpx.Client) -> None:
    assert _add(client, 0, [], _note(_tree(5))).status_code == 200
    other = _tree(5, b"b")  # another tree of the same size, signed by the same key
    r = _add(client, 5, [], _note(other))
    assert (r.status_code, _code(r)) == (422, "WITNESS_INCONSISTENT")
    bigger = _tree(8, b"b")  # a larger tree that does not extend the cosigned one
    r = _add(client, 5, bigger.consistency_proof(5, 8), _note(bigger))
    assert (r.status_code, _code(r)) == (422, "WITNESS_INCONSISTENT")


def test_a_shrunk_tree_and_a_replayed_checkpoint_are_refused(client: httpx.Client) -> None:
    t3, t7 = _tree(3), _tree(7)
    assert _add(client, 0, [], _note(t3)).status_code == 200
    assert _add(client, 3, t7.consistency_proof(3, 7), _note(t7)).status_code == 200
    r = _add(client, 7, [], _note(t3))  # shrunk: the old size is above the checkpoint's
    assert (r.status_code, _code(r)) == (400, "WITNESS_MALFORMED")
    r = _add(client, 0, [], _note(t3))  # replayed as it was first sent
    assert r.status_code == 409
    assert r.headers["content-type"] == "text/x.tlog.size" and r.text == "7\n"
    r = _add(client, 3, t7.consistency_proof(3, 7), _note(t7))  # an older request replayed
    assert (r.status_code, r.text) == (409, "7\n")


def test_only_the_logs_own_key_is_accepted(client: httpx.Client) -> None:
    t2 = _tree(2)
    r = _add(client, 0, [], _note(t2, NoteSigner.generate(ORIGIN)))  # same name, other key
    assert (r.status_code, _code(r)) == (403, "WITNESS_FORBIDDEN")
    note = parse_note(_note(t2))
    [sig] = note.signatures
    bad = Signature(sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
    r = _add(client, 0, [], Note(note.text, (bad,)).to_bytes())  # the log's key, a bad signature
    assert (r.status_code, _code(r)) == (403, "WITNESS_FORBIDDEN")
    r = _add(client, 0, [], _note(t2, NoteSigner.generate("elsewhere/log"), "elsewhere/log"))
    assert (r.status_code, _code(r)) == (404, "WITNESS_UNKNOWN_LOG")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"old 1\n", 400),
        (b"old 01\n\n" + _note(_tree(1)), 400),
        (b"old 0\nnot-base64\n\n" + _note(_tree(1)), 400),
        (b"old 0\n\nnot a checkpoint\n\n", 400),
        (b"old 0\n" + b"AAAA\n" * 64 + b"\n" + _note(_tree(1)), 400),
        (encode_submission(0, [b"\0" * 32], _note(_tree(4))), 422),  # a proof from 0
        (encode_submission(0, [], sign_checkpoint(Checkpoint(ORIGIN, 0, b"\1" * 32), LOG)), 422),
        (b"old 0\n\n" + b"x" * 70_000, 400),
    ],
)
def test_malformed_and_impossible_requests(client: httpx.Client, body: bytes, status: int) -> None:
    r = client.post("/v1/witness/add-checkpoint", content=body)
    assert r.status_code == status, r.text
    digest = hashlib.sha256(ORIGIN.encode()).hexdigest()
    assert client.get(f"/v1/witness/{digest}/checkpoint").status_code == 404  # nothing recorded


def test_the_empty_tree_is_cosigned(client: httpx.Client) -> None:
    empty = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), LOG)
    assert _add(client, 0, [], empty).status_code == 200


def test_a_hub_without_a_witness_key_witnesses_nothing(db: Database) -> None:
    hub = Hub.build(settings=Settings.from_env(ENV), db=db)
    hub.witness.register(origin=ORIGIN, vkey=LOG.verifier.vkey, province="440000")
    with httpx.Client(transport=ASGISyncTransport(create_app(hub)), base_url="http://h") as c:
        r = _add(c, 0, [], _note(_tree(1)))
    assert (r.status_code, _code(r)) == (404, "WITNESS_UNKNOWN_LOG")
