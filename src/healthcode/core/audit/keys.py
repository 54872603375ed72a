"""The colour logs' keys in a network's key home, beside its signers (core/trust/network.py)::

    DIR/signers/<province>/log.skey    the province's log key (Ed25519 note signer, 0600)
    DIR/signers/<province>/log.vkey    its verifier key (public)
    DIR/witness/witness.skey           the hub's witness key (Ed25519 cosigner, type 0x04, 0600)
    DIR/witness/witness.vkey           its verifier key (public)

A log's key is named by its origin (``healthcode/province/<code>/colours``), the witness's by
:data:`WITNESS_NAME`. :func:`ensure_log_keys` makes the keys that are missing and keeps the
others (``healthcode keys init`` and ``healthcode init`` call it), so a home made before the
log existed is completed by running it again.

>>> import tempfile
>>> made = ensure_log_keys(tempfile.mkdtemp(), ["440000"])
>>> sorted(made)
['440000', 'witness']
>>> made["440000"].name
'healthcode/province/440000/colours'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from healthcode.core.audit.checkpoint import COSIGNATURE
from healthcode.core.audit.note import ED25519, NoteSigner, NoteVerifier
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError

__all__ = [
    "WITNESS_NAME",
    "ensure_log_keys",
    "log_key_path",
    "log_origin",
    "read_signer",
    "read_verifier",
    "witness_key_path",
]

#: The name of the hub's witness key (and of its cosignature lines).
WITNESS_NAME = "healthcode/witness"


def log_origin(province: str) -> str:
    """The origin of a province's colour log (and the name of its key)."""
    return f"healthcode/province/{province}/colours"


def log_key_path(home: Path | str, province: str) -> Path:
    return Path(home) / "signers" / province / "log.skey"


def witness_key_path(home: Path | str) -> Path:
    return Path(home) / "witness" / "witness.skey"


def read_signer(path: Path | str) -> NoteSigner:
    """A signer key from its file. Raises AuditError NOTE_KEY_INVALID (missing or malformed)."""
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(ErrorCode.NOTE_KEY_INVALID, f"no signer key in {path}") from exc
    return NoteSigner.from_skey(text)


def read_verifier(path: Path | str) -> NoteVerifier:
    """A verifier key (vkey) from its file. Raises AuditError NOTE_KEY_INVALID."""
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(ErrorCode.NOTE_KEY_INVALID, f"no verifier key in {path}") from exc
    return NoteVerifier.from_vkey(text)


def _write(path: Path, text: str, *, private: bool) -> None:
    """Write a new file whole (a temporary file renamed), private ones 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _ensure(path: Path, name: str, sig_type: int, made: dict[str, NoteVerifier], tag: str) -> None:
    if path.exists():
        return
    signer = NoteSigner.generate(name, sig_type)
    _write(path, signer.skey(), private=True)
    _write(path.with_suffix(".vkey"), signer.verifier.vkey, private=False)
    made[tag] = signer.verifier


def ensure_log_keys(home: Path | str, provinces: Iterable[str]) -> dict[str, NoteVerifier]:
    """Make the witness key and each province's log key that the home lacks; the verifier key
    of each one made, by province code (``witness`` for the witness)."""
    made: dict[str, NoteVerifier] = {}
    _ensure(witness_key_path(home), WITNESS_NAME, COSIGNATURE, made, "witness")
    for province in provinces:
        _ensure(log_key_path(home, province), log_origin(province), ED25519, made, province)
    return made
