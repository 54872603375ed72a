"""IETF Token Status List (draft-ietf-oauth-status-list), the CBOR and CWT forms.

A *status list* holds one status of ``bits`` bits (1, 2, 4 or 8) for every index from 0 to its
size less one, packed from the least significant bit of each byte (section "Compressed Byte
Array"); its CBOR form is the map ``{"bits": uint, "lst": bstr}`` where ``lst`` is the byte array
compressed with DEFLATE in the ZLIB format, at the highest level ("Status List in CBOR Format").

A *Status List Token* in CWT form ("Status List Token in CWT Format") is a COSE_Sign1, tagged 18
and never 61, whose protected header carries ``16`` (typ) ``application/statuslist+cwt``, and
whose claims are ``2`` sub (the list's URI), ``6`` iat, ``4`` exp, ``65534`` ttl (seconds) and
``65533`` status_list. This module is the format; the hub's publisher signs it and a verifier
opens it with the national root (:mod:`healthcode.core.trust.status_lists`).

A *Referenced Token* (a native code) carries the claim ``65535`` status:
``{"status_list": {"idx": uint, "uri": tstr}}`` ("Referenced Token in COSE").

The statuses this project writes (section "Status Types"): ``0`` VALID, ``1`` INVALID (revoked),
``3`` SUPERSEDED, in the application-specific value 0x03: the colour state the code was issued
for was replaced by a newer one of the same person. ``2`` SUSPENDED is registered but unused.
Two bits a status.

>>> lst = StatusList.empty(16, bits=1)
>>> for i in (0, 3, 4, 5, 7, 8, 9, 13, 15):
...     lst.set(i, 1)
>>> bytes(lst.data).hex(), lst.encode()["lst"].hex()
('b9a3', '78dadbb918000217015d')
>>> StatusList.decode(lst.encode()).get(13)
1
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError, VerificationFailed

__all__ = [
    "ALLOWED_BITS",
    "BITS",
    "CHUNK_INDEXES",
    "CLAIM_STATUS",
    "CLAIM_STATUS_LIST",
    "CLAIM_TTL",
    "HEADER_TYP",
    "MAX_LIST_BYTES",
    "STATUS_INVALID",
    "STATUS_SUPERSEDED",
    "STATUS_SUSPENDED",
    "STATUS_VALID",
    "TYP",
    "StatusList",
    "StatusReference",
    "list_uri",
    "parse_status_claim",
    "province_of_uri",
    "reference_of",
    "status_claim",
]

#: The CWT claim keys the draft asks IANA for (status, ttl, status_list).
CLAIM_STATUS = 65535
CLAIM_TTL = 65534
CLAIM_STATUS_LIST = 65533
#: COSE header ``typ`` (RFC 9596) and the media type a Status List Token in CWT form carries.
HEADER_TYP = 16
TYP = "application/statuslist+cwt"
ALLOWED_BITS = (1, 2, 4, 8)
STATUS_VALID = 0
STATUS_INVALID = 1
STATUS_SUSPENDED = 2
STATUS_SUPERSEDED = 3  # application specific (0x03)
#: Bits per status in the lists the hub publishes.
BITS = 2
#: The largest byte array inflated from a list (hostile input; 2^27 two-bit statuses = 32 MiB).
MAX_LIST_BYTES = 32 * 1024 * 1024
_MAX_URI = 200
#: Indexes per list: a province's counter is cut into lists of this many (2^24 two-bit statuses
#: are 4 MiB before compression), index ``i`` in list ``i // CHUNK_INDEXES``.
CHUNK_INDEXES = 1 << 24
#: The URI of a province's list: an RFC 3986 URI of the project's own scheme that names the
#: list; the hub serves it at ``GET /v1/status-lists/{province}/{chunk}``.
_URI_PREFIX = "hc://status-list/"


def _invalid(message: str) -> TrustError:
    return TrustError(ErrorCode.STATUS_LIST_INVALID, message)


@dataclass(slots=True)
class StatusList:
    """A byte array of statuses, ``bits`` each, the first index in the lowest bits."""

    bits: int
    data: bytearray

    @classmethod
    def empty(cls, size: int, *, bits: int = BITS) -> StatusList:
        """A list of ``size`` statuses, all VALID (the size rounded up to whole bytes)."""
        if bits not in ALLOWED_BITS or size < 0:
            raise ValueError(f"bits is one of {ALLOWED_BITS} and size >= 0")
        return cls(bits, bytearray(-(-size * bits // 8)))

    @classmethod
    def of(cls, size: int, statuses: Iterable[tuple[int, int]], *, bits: int = BITS) -> StatusList:
        """A list of ``size`` with the ``(index, status)`` pairs set, the rest VALID."""
        lst = cls.empty(size, bits=bits)
        for index, status in statuses:
            lst.set(index, status)
        return lst

    @property
    def size(self) -> int:
        """How many statuses the list holds."""
        return len(self.data) * 8 // self.bits

    def _place(self, index: int) -> tuple[int, int]:
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} is outside a list of {self.size}")
        per_byte = 8 // self.bits
        return index // per_byte, (index % per_byte) * self.bits

    def get(self, index: int) -> int:
        """The status at ``index``; IndexError outside the list."""
        byte, shift = self._place(index)
        return (self.data[byte] >> shift) & ((1 << self.bits) - 1)

    def set(self, index: int, status: int) -> None:
        """Set the status at ``index``; IndexError outside, ValueError for a status too wide."""
        if not 0 <= status < 1 << self.bits:
            raise ValueError(f"status {status} does not fit in {self.bits} bits")
        byte, shift = self._place(index)
        mask = ((1 << self.bits) - 1) << shift
        self.data[byte] = (self.data[byte] & ~mask) | (status << shift)

    def encode(self) -> dict[str, Any]:
        """The CBOR form's map: ``bits`` and the ZLIB-compressed ``lst`` (level 9)."""
        return {"bits": self.bits, "lst": zlib.compress(bytes(self.data), 9)}

    @classmethod
    def decode(cls, value: Any) -> StatusList:
        """A status list out of its CBOR map; TrustError ``STATUS_LIST_INVALID`` if malformed
        (unknown bits, lst not a byte string, not ZLIB, inflating past :data:`MAX_LIST_BYTES`)."""
        if not isinstance(value, Mapping):
            raise _invalid("status_list must be a map")
        bits, lst = value.get("bits"), value.get("lst")
        if type(bits) is not int or bits not in ALLOWED_BITS:
            raise _invalid(f"bits must be one of {ALLOWED_BITS}")
        if type(lst) is not bytes:
            raise _invalid("lst must be a byte string")
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(lst, MAX_LIST_BYTES)
            if inflater.unconsumed_tail:
                raise _invalid(f"lst inflates past {MAX_LIST_BYTES} bytes")
            data += inflater.flush()
        except zlib.error as exc:
            raise _invalid(f"lst is not ZLIB data: {exc}") from exc
        if not inflater.eof or inflater.unused_data:
            raise _invalid("lst is not one complete ZLIB stream")
        return cls(bits, bytearray(data))


@dataclass(frozen=True, slots=True)
class StatusReference:
    """A referenced token's place in a status list: the list's URI and the index in it."""

    idx: int
    uri: str

    def to_json(self) -> dict[str, Any]:
        return {"idx": self.idx, "uri": self.uri}


def list_uri(province: str, chunk: int) -> str:
    """The URI of ``province``'s list number ``chunk``."""
    return f"{_URI_PREFIX}{province}/{chunk}"


def reference_of(province: str, index: int) -> StatusReference:
    """Where the colour state numbered ``index`` by ``province`` is: list and index in it."""
    if index < 0:
        raise ValueError("a status index is >= 0")
    return StatusReference(
        idx=index % CHUNK_INDEXES, uri=list_uri(province, index // CHUNK_INDEXES)
    )


def province_of_uri(uri: str) -> tuple[str, int] | None:
    """``(province, chunk)`` of one of the hub's list URIs, None for any other URI."""
    if not uri.startswith(_URI_PREFIX):
        return None
    parts = uri[len(_URI_PREFIX) :].split("/")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    if len(parts[0]) != 6 or len(parts[1]) > 6:
        return None
    return parts[0], int(parts[1])


def status_claim(reference: StatusReference) -> dict[str, Any]:
    """The ``status`` claim (65535) of a referenced token."""
    return {"status_list": {"idx": reference.idx, "uri": reference.uri}}


def parse_status_claim(value: Any) -> StatusReference:
    """The reference in a ``status`` claim; VerificationFailed ``PAYLOAD_INVALID`` (field
    ``status``) unless it is ``{"status_list": {"idx": uint, "uri": tstr}}`` with a URI."""

    def bad(message: str) -> VerificationFailed:
        return VerificationFailed(ErrorCode.PAYLOAD_INVALID, message, field="status")

    if not isinstance(value, Mapping) or not value or not all(isinstance(k, str) for k in value):
        raise bad("status must be a non-empty map with text keys")
    info = value.get("status_list")
    if not isinstance(info, Mapping) or set(info) != {"idx", "uri"}:
        raise bad("status.status_list must be a map of idx and uri")
    idx, uri = info["idx"], info["uri"]
    if type(idx) is not int or idx < 0:
        raise bad("status_list.idx must be an unsigned integer")
    if not isinstance(uri, str) or not 0 < len(uri) <= _MAX_URI or ":" not in uri:
        raise bad(f"status_list.uri must be a URI of at most {_MAX_URI} characters")
    if not uri.isascii() or not uri.isprintable() or " " in uri:
        raise bad("status_list.uri must be a URI (printable ASCII, no spaces)")
    return StatusReference(idx=idx, uri=uri)
