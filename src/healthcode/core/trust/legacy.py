"""Adopting a key home of the earlier layout, whose trust state was ``network.json`` beside the
keys, into the one state store.

The earlier layout: ``root.key.pem``, ``root.cert.pem``, ``signers/<province>/<kid>.*.pem``
and ``network.json`` (provinces, signers with their retirement, revocations, the last trust-list
sequence). Adopting reads it once, links the root key as ``root/<kid>.key.pem``, creates the
state with the trust-list counter where the home left it, renames ``network.json`` to
``network.json.adopted`` so that it is never read again, and certifies a first publisher (the
root key is needed, so the passphrase too). A crash before the state is committed leaves the
home as it was; after it, the state is there and ``keys publisher rotate`` certifies the
publisher if the crash came before that.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from healthcode.core.clock import Clock
from healthcode.core.trust.certs import kid_of, load_certificate
from healthcode.core.trust.certs import load_private_key as _load_key
from healthcode.core.trust.network import Network
from healthcode.core.trust.state import StateStore, TrustStateDoc

__all__ = ["LEGACY_STATE", "adopt"]

#: The state file of the earlier layout.
LEGACY_STATE = "network.json"


def adopt(
    home: Path, *, store: StateStore, clock: Clock, passphrase: bytes | None
) -> Network | None:
    """The network of a legacy ``home`` moved into ``store``; None when ``home`` holds none or
    ``store`` already holds a network. Raises TrustError ``KEY_*`` (the root key is needed)."""
    legacy = home / LEGACY_STATE
    if not legacy.is_file() or store.load() is not None:
        return None
    old = json.loads(legacy.read_text(encoding="utf-8"))
    root_pem = (home / "root.cert.pem").read_bytes()
    _load_key((home / "root.key.pem").read_bytes(), passphrase)  # fail before changing anything
    root_key = home / "root" / f"{kid_of(load_certificate(root_pem)).hex()}.key.pem"
    if not root_key.exists():
        root_key.parent.mkdir(exist_ok=True)
        os.link(home / "root.key.pem", root_key)  # the same key under the new name, at once
    state: TrustStateDoc = {
        "provinces": list(old["provinces"]),
        "root_certificate": root_pem.decode("ascii"),
        "signers": {
            kid_hex: {**info, "certificate": _signer_pem(home, info["province"], kid_hex)}
            for kid_hex, info in old["signers"].items()
        },
        "revoked_signers": dict(old["revoked_signers"]),
        "publishers": {},
        "revoked_publishers": {},
        "revoked_serials": dict(old["revoked_serials"]),
        "rule_sets": dict(old.get("rule_sets", {})),
        "value_sets": dict(old.get("value_sets", {})),
        "sequences": {"trust-list": int(old.get("trust_list_sequence", 0))},
    }
    store.create(state)
    os.replace(legacy, legacy.with_name(LEGACY_STATE + ".adopted"))
    net = Network.open(home, store=store, passphrase=passphrase)
    net.rotate_publisher(clock=clock)  # a crash before this: `keys publisher rotate` does it
    return net


def _signer_pem(home: Path, province: str, kid_hex: str) -> str:
    return (home / "signers" / province / f"{kid_hex}.cert.pem").read_text(encoding="ascii")
