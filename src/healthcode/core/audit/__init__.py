"""The colour log anyone can audit: an append-only Merkle log and the formats it publishes in.

- ``merkle.py``: RFC 9162 hashing, tree hashes, inclusion and consistency proofs (made from any
  store of full-subtree hashes, checked as the RFC says), the compact frontier of a growing tree;
- ``note.py``: C2SP signed notes with Ed25519 keys (key names, key IDs, vkeys);
- ``checkpoint.py``: C2SP tlog-checkpoint bodies, their signing, tlog-cosignature and the check a
  witness makes before it cosigns;
- ``tiles.py``: C2SP tlog-tiles paths, full and partial tiles, entry bundles, a tree read back;
- ``leaf.py``: the colour log's leaf (one colour change, nothing that identifies the person).

The store keeps a log in a database (``store/audit_log.py``); ``healthcode audit verify`` checks
what a log publishes, offline (``docs/audit.md``).
"""

from healthcode.core.audit.checkpoint import (
    COSIGNATURE,
    Checkpoint,
    cosign,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
    witness_cosign,
)
from healthcode.core.audit.leaf import ColourLeaf, decode_leaf, encode_leaf, log_subject
from healthcode.core.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from healthcode.core.audit.note import NoteSigner, NoteVerifier, open_note, sign_note
from healthcode.core.audit.tiles import TileReader, append_hashes, tile_path, tiles_for_size

__all__ = [
    "COSIGNATURE",
    "EMPTY_ROOT",
    "Checkpoint",
    "ColourLeaf",
    "Frontier",
    "MemoryTree",
    "NoteSigner",
    "NoteVerifier",
    "TileReader",
    "append_hashes",
    "consistency_proof",
    "cosign",
    "decode_leaf",
    "encode_leaf",
    "inclusion_proof",
    "leaf_hash",
    "log_subject",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "root_hash",
    "sign_checkpoint",
    "sign_note",
    "tile_path",
    "tiles_for_size",
    "verify_consistency",
    "verify_inclusion",
    "witness_cosign",
]
