"""The colour log's leaf: one colour change, in a canonical, versioned encoding.

A leaf is compact JSON, keys sorted, no spaces, ASCII only, with exactly these keys::

    {"at":"2026-12-01T14:00:00Z",     when the colour changed (UTC, whole seconds)
     "basis":"rule",                  "rule": the rule set gave it; "decision": a recorded,
                                      authorised decision did
     "colour":"red",                  green | yellow | red
     "decision":null,                 the decision's id when the basis is a decision, else null
     "reasons":["RED_CLOSE_CONTACT"], the ids of the rules that gave the colour (may be empty)
     "ruleset":"sha256:...",          the digest of the rule set in force
     "subject":"<64 hex>",            the person's log subject (below)
     "v":1}                           the encoding's version

Nothing in it identifies a person: the *subject* is ``HMAC-SHA256(log key, "healthcode/log-
subject/v1" || pseudonym)``, a keyed pseudonym of the person's pseudonym that only the province
can compute (a person learns theirs from the province to find their own leaves), and every
other value is a code from a closed alphabet (no free text, so no name or ID number can be put
in). :func:`decode_leaf` accepts only the exact bytes :func:`encode_leaf` writes.

>>> leaf = ColourLeaf(subject="ab" * 32, colour="red", basis="rule", reasons=("CLOSE_CONTACT",),
...                   decision=None, ruleset="sha256:00", at=datetime(2026, 12, 1, tzinfo=UTC))
>>> decode_leaf(encode_leaf(leaf)) == leaf
True
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError

__all__ = ["COLOURS", "LEAF_VERSION", "ColourLeaf", "decode_leaf", "encode_leaf", "log_subject"]

LEAF_VERSION = 1
COLOURS = frozenset({"green", "yellow", "red"})
_SUBJECT_DOMAIN = b"healthcode/log-subject/v1\x00"
_SUBJECT = re.compile(r"[0-9a-f]{64}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,79}")
_KEYS = ("at", "basis", "colour", "decision", "reasons", "ruleset", "subject", "v")
_TIME = "%Y-%m-%dT%H:%M:%SZ"
_MAX_REASONS = 32


def log_subject(key: bytes, pseudonym: str) -> str:
    """The person's subject in the log: a keyed hash of their pseudonym (64 hex digits)."""
    if len(key) < 32:
        raise AuditError(ErrorCode.LEAF_INVALID, "a log subject key has at least 32 bytes")
    return hmac.new(key, _SUBJECT_DOMAIN + pseudonym.encode(), hashlib.sha256).hexdigest()


def _bad(why: str) -> AuditError:
    return AuditError(ErrorCode.LEAF_INVALID, f"a colour log leaf {why}")


@dataclass(frozen=True, slots=True)
class ColourLeaf:
    """One colour change as the log records it (checked when built)."""

    subject: str
    colour: str
    basis: str  # "rule" | "decision"
    reasons: tuple[str, ...]
    decision: str | None
    ruleset: str
    at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.subject, str) or not _SUBJECT.fullmatch(self.subject):
            raise _bad("subject is not 64 lower-case hex digits")
        if self.colour not in COLOURS:
            raise _bad(f"colour is not one of {sorted(COLOURS)}")
        if self.basis not in ("rule", "decision"):
            raise _bad("basis is neither rule nor decision")
        if (self.basis == "decision") != (self.decision is not None):
            raise _bad("names a decision exactly when its basis is a decision")
        codes = [*self.reasons, self.ruleset, *([self.decision] if self.decision else [])]
        if len(self.reasons) > _MAX_REASONS or not all(
            isinstance(c, str) and _CODE.fullmatch(c) for c in codes
        ):
            raise _bad("reason, decision or rule set is not a code (letters, digits, _.:@/-)")
        if not isinstance(self.at, datetime) or self.at.tzinfo is None:
            raise _bad("time is not an aware datetime")
        if self.at.microsecond or self.at.utcoffset():
            object.__setattr__(self, "at", self.at.astimezone(UTC).replace(microsecond=0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.strftime(_TIME),
            "basis": self.basis,
            "colour": self.colour,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "ruleset": self.ruleset,
            "subject": self.subject,
            "v": LEAF_VERSION,
        }


def encode_leaf(leaf: ColourLeaf) -> bytes:
    """The canonical bytes of a leaf (what the log hashes)."""
    return json.dumps(leaf.to_dict(), sort_keys=True, separators=(",", ":")).encode("ascii")


def decode_leaf(raw: bytes) -> ColourLeaf:
    """A leaf from its canonical bytes; LEAF_INVALID for anything else."""
    try:
        data = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise _bad("is not ASCII JSON") from None
    if not isinstance(data, dict) or tuple(sorted(data)) != _KEYS:
        raise _bad(f"does not have exactly the keys {list(_KEYS)}")
    if data["v"] != LEAF_VERSION or type(data["v"]) is not int:
        raise _bad(f"is of version {data['v']!r}, not {LEAF_VERSION}")
    if not isinstance(data["reasons"], list) or not isinstance(data["at"], str):
        raise _bad("has reasons that are not a list or a time that is not text")
    try:
        at = datetime.strptime(data["at"], _TIME).replace(tzinfo=UTC)
    except ValueError:
        raise _bad("time is not YYYY-MM-DDTHH:MM:SSZ") from None
    leaf = ColourLeaf(
        subject=data["subject"],
        colour=data["colour"],
        basis=data["basis"],
        reasons=tuple(data["reasons"]),
        decision=data["decision"],
        ruleset=data["ruleset"],
        at=at,
    )
    if encode_leaf(leaf) != raw:
        raise _bad("is not in its canonical encoding")
    return leaf
