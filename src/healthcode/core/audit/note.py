"""C2SP signed notes (``c2sp.org/signed-note``): text signed by one or more Ed25519 keys.

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
``"— " name " " base64(key ID || signature)``. A key is known by its *name* and its 4-byte
*key ID*, ``SHA-256(name || "\\n" || type || public key)[:4]``; the type byte is ``0x01`` for
an Ed25519 note signature over the text, ``0x04`` for a tlog-cosignature (a timestamped
signature over a fixed header, the time and the text, ``cosign.py``).

A verifier key (*vkey*) is written ``name+hex(key ID)+base64(type || public key)``; a signer
key here is ``PRIVATE+KEY+name+hex(key ID)+base64(type || 32-byte seed)``.

Opening a note (:func:`open_note`) follows the specification: signatures by unknown keys are
ignored (also one that shares a name or a key ID, but not both, with a known key); a signature
by a known key that does not verify refuses the whole note (``NOTE_SIGNATURE_INVALID``); a note
with no verified signature by a known key is refused (``NOTE_UNSIGNED``).

>>> signer = NoteSigner.generate("example.org/log")
>>> note = sign_note(b"hello\\n", [signer])
>>> open_note(note, [signer.verifier]).text
b'hello\\n'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError

__all__ = [
    "ED25519",
    "MAX_SIGNATURES",
    "Note",
    "NoteSigner",
    "NoteVerifier",
    "Signature",
    "key_id",
    "open_note",
    "parse_note",
    "sign_note",
]

#: Signature type byte of an Ed25519 note signature.
ED25519 = 0x01
#: A verifier must accept at least 16 signatures; more are refused as malformed.
MAX_SIGNATURES = 64
_DASH = "\u2014 "
_PRIVATE = "PRIVATE+KEY+"


def key_id(name: str, sig_type: int, public: bytes) -> bytes:
    """A key's 4-byte ID: ``SHA-256(name || 0x0A || type || public key)[:4]``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a key name is empty or has a space or +")


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise AuditError(ErrorCode.NOTE_MALFORMED, f"{what} is not base64") from None


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A known public key: its name, signature type and Ed25519 key."""

    name: str
    sig_type: int
    public: bytes  # 32 bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public)

    @property
    def vkey(self) -> str:
        """The key as a C2SP verifier key string."""
        material = base64.b64encode(bytes([self.sig_type]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Read a verifier key; NOTE_KEY_INVALID if it is malformed or its ID does not match."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or len(parts[1]) != 8:
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a vkey is name+keyid+key")
        name, hex_id, material = parts
        _check_name(name)
        try:
            raw = base64.b64decode(material, validate=True)
            wanted = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError):
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a vkey is not hex and base64") from None
        if len(raw) != 33 or raw[0] not in (ED25519, 0x04):
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a vkey is not an Ed25519 key")
        verifier = cls(name, raw[0], raw[1:])
        if verifier.key_id != wanted:
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a vkey's key ID does not match its key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class NoteSigner:
    """An Ed25519 private key with its name and signature type; never shows the key."""

    __slots__ = ("_key", "name", "sig_type", "verifier")

    def __init__(self, name: str, key: Ed25519PrivateKey, sig_type: int = ED25519) -> None:
        _check_name(name)
        self.name, self._key, self.sig_type = name, key, sig_type
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = NoteVerifier(name, sig_type, public)

    def __repr__(self) -> str:
        return f"NoteSigner({self.verifier.vkey!r})"

    @classmethod
    def generate(cls, name: str, sig_type: int = ED25519) -> NoteSigner:
        return cls(name, Ed25519PrivateKey.generate(), sig_type)

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Read ``PRIVATE+KEY+name+keyid+base64(type || seed)``; NOTE_KEY_INVALID if wrong."""
        if not skey.startswith(_PRIVATE):
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a signer key starts PRIVATE+KEY+")
        public_part = skey.strip()[len(_PRIVATE) :]
        parts = public_part.split("+", 2)
        if len(parts) != 3:
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a signer key is name+keyid+key")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a signer key is not base64") from None
        if len(raw) != 33 or raw[0] not in (ED25519, 0x04):
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a signer key is not an Ed25519 seed")
        signer = cls(parts[0], Ed25519PrivateKey.from_private_bytes(raw[1:]), raw[0])
        if signer.verifier.key_id.hex() != parts[1]:
            raise AuditError(ErrorCode.NOTE_KEY_INVALID, "a signer key's ID does not match")
        return signer

    def skey(self) -> str:
        """The key in its text form (a secret: write it only where keys are kept)."""
        seed = self._key.private_bytes_raw()
        material = base64.b64encode(bytes([self.sig_type]) + seed).decode()
        return f"{_PRIVATE}{self.name}+{self.verifier.key_id.hex()}+{material}"

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line: the key's name, its key ID and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text (bytes, ending in a newline) and its signature lines."""

    text: bytes
    signatures: tuple[Signature, ...]

    def to_bytes(self) -> bytes:
        return self.text + b"\n" + "".join(s.line() for s in self.signatures).encode()


def _check_text(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a note is not UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a note holds a control character")
    return text


def _signature_line(line: str) -> Signature:
    if not line.startswith(_DASH):
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a signature line starts with an em dash")
    name, _, encoded = line[len(_DASH) :].partition(" ")
    if not name or any(c.isspace() or c == "+" for c in name) or " " in encoded:
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a signature line is: name, space, base64")
    raw = _b64(encoded, "a signature")
    if len(raw) < 5:
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a signature is shorter than its key ID")
    return Signature(name, raw[:4], raw[4:])


def parse_note(raw: bytes) -> Note:
    """A note's text and signatures, checked for form only (nothing verified)."""
    text = _check_text(raw)
    cut = text.rfind("\n\n")
    if cut < 0 or not text.endswith("\n"):
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a note has no blank line before signatures")
    lines = text[cut + 2 :].split("\n")[:-1]
    if not lines:
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a note has no signature line")
    if len(lines) > MAX_SIGNATURES:
        raise AuditError(ErrorCode.NOTE_MALFORMED, f"a note has over {MAX_SIGNATURES} signatures")
    return Note(text[: cut + 1].encode(), tuple(_signature_line(line) for line in lines))


def sign_note(text: bytes, signers: Iterable[NoteSigner]) -> bytes:
    """The text signed by each signer (Ed25519 note signatures)."""
    _check_text(text)
    if not text.endswith(b"\n"):
        raise AuditError(ErrorCode.NOTE_MALFORMED, "a note's text ends in a newline")
    sigs = tuple(Signature(s.name, s.verifier.key_id, s.sign(text)) for s in signers)
    return Note(text, sigs).to_bytes()


def _message_for(verifier: NoteVerifier, note: Note, signature: bytes) -> tuple[bytes, bytes]:
    """What ``verifier``'s signature covers and the bare signature (cosignatures carry a time)."""
    if verifier.sig_type == 0x04:
        if len(signature) != 72:
            return b"", b""
        (stamp,) = struct.unpack(">Q", signature[:8])
        return b"cosignature/v1\ntime %d\n" % stamp + note.text, signature[8:]
    return note.text, signature


def open_note(raw: bytes, verifiers: Sequence[NoteVerifier]) -> Note:
    """The note with only the signatures of known keys that verified; raises AuditError
    (NOTE_MALFORMED, NOTE_SIGNATURE_INVALID, NOTE_UNSIGNED) as the module says."""
    note = parse_note(raw)
    known = {(v.name, v.key_id): v for v in verifiers}
    good = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        message, bare = _message_for(verifier, note, sig.signature)
        if not bare or not verifier.verify(message, bare):
            raise AuditError(
                ErrorCode.NOTE_SIGNATURE_INVALID, f"the signature of {sig.name} does not verify"
            )
        good.append(sig)
    if not good:
        raise AuditError(ErrorCode.NOTE_UNSIGNED, "no known key signed the note")
    return Note(note.text, tuple(good))
