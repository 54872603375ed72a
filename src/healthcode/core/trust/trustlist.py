"""The native trust list: province signer certificates, revocations, rule-set and value-set digests.

The hub publishes it as JSON inside the one signed envelope (:mod:`.envelope`, kind
``"trust-list"``)::

    {"format": "healthcode-trust-list/1",
     "signers": [{"province": "440000", "certificate": "<base64 DER>",
                  "retired_at": null | "<ISO 8601>"}],       # retired: signs no new codes
     "revoked_signers": ["<kid hex>"],                       # every code they signed fails
     "revoked_serials": [{"serial": "<hex>", "until": "<ISO 8601>"}],   # one code each
     "rule_sets": {"<name>": "<sha256 hex>"}, "value_sets": {"<name>": "<sha256 hex>"}}

Loading checks every signer certificate against the national root (:func:`.certs.check_signer`,
without a time: validity is checked per code, at its issue time and at verification time). The
list implements :class:`healthcode.core.keys.KeyStore`; public keys are parsed once, at load.

:class:`TrustStore` is a checkpoint's trust state on disk: it loads the held copy, accepts a newer
one, refuses an older one (rollback) in this process and every later one, and says how fresh the
copy it works on is.

>>> from datetime import datetime, timedelta, timezone
>>> from healthcode.core.trust.certs import make_root, make_signer
>>> t = datetime(2022, 11, 1, tzinfo=timezone.utc)
>>> root = make_root(now=t)
>>> s = make_signer(root=root, province="440000", not_before=t, not_after=t + timedelta(days=90))
>>> tl = TrustList(signers=[SignerEntry("440000", s.certificate)])
>>> again = TrustList.from_content(tl.to_content(), root_cert=root.certificate)
>>> [k.issuer for k in again.keys_for_kid(s.kid)]
['440000']
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from healthcode.core.clock import Clock, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError
from healthcode.core.keys import TrustedKey
from healthcode.core.trust.certs import check_signer, dump_certificate, kid_of, load_certificate
from healthcode.core.trust.envelope import Held, OpenedDocument, open_envelope

__all__ = [
    "FORMAT",
    "SignerEntry",
    "TrustList",
    "TrustStatus",
    "TrustStore",
]

FORMAT = "healthcode-trust-list/1"


@dataclass(frozen=True, slots=True)
class SignerEntry:
    """One province signer certificate in the trust list."""

    province: str
    certificate: x509.Certificate
    retired_at: datetime | None = None

    @property
    def kid(self) -> bytes:
        return kid_of(self.certificate)


def _malformed(message: str) -> TrustError:
    return TrustError(ErrorCode.TRUSTLIST_MALFORMED, message)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(slots=True)
class TrustList:
    """The decoded trust list; a :class:`KeyStore` for the native verifier."""

    signers: Sequence[SignerEntry] = ()
    revoked_signers: frozenset[bytes] = frozenset()
    revoked_serials: Mapping[bytes, datetime] = field(default_factory=dict)
    rule_sets: Mapping[str, str] = field(default_factory=dict)
    value_sets: Mapping[str, str] = field(default_factory=dict)
    _by_kid: dict[bytes, tuple[TrustedKey, ...]] = field(default_factory=dict, repr=False)
    _retired: dict[bytes, datetime] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.revoked_signers = frozenset(self.revoked_signers)
        by_kid: dict[bytes, tuple[TrustedKey, ...]] = {}
        for entry in self.signers:
            kid = entry.kid
            key = TrustedKey(
                kid=kid,
                public_key=entry.certificate.public_key(),
                issuer=entry.province,
                not_before=entry.certificate.not_valid_before_utc,
                not_after=entry.certificate.not_valid_after_utc,
                certificate=entry.certificate,
                revoked=kid in self.revoked_signers,
                usages=frozenset({"native"}),
            )
            by_kid[kid] = (*by_kid.get(kid, ()), key)
            if entry.retired_at is not None:
                self._retired[kid] = entry.retired_at
        self._by_kid = by_kid

    # -- KeyStore -----------------------------------------------------------------------------
    def keys_for_kid(self, kid: bytes) -> Sequence[TrustedKey]:
        """Every signer key with this kid, revoked ones included (``TrustedKey.revoked``)."""
        return self._by_kid.get(kid, ())

    def __len__(self) -> int:
        return len(self.signers)

    # -- revocation and rotation --------------------------------------------------------------
    def is_serial_revoked(self, serial: bytes) -> bool:
        """Whether the single code with this serial (CWT ``cti``) is revoked."""
        return serial in self.revoked_serials

    def retired_at(self, kid: bytes) -> datetime | None:
        """When the signer with this kid stopped signing (codes issued later are refused)."""
        return self._retired.get(kid)

    # -- serialisation ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The JSON document (certificates as base64 DER)."""
        return {
            "format": FORMAT,
            "signers": [
                {
                    "province": s.province,
                    "kid": s.kid.hex(),
                    "certificate": base64.b64encode(
                        s.certificate.public_bytes(serialization.Encoding.DER)
                    ).decode("ascii"),
                    "retired_at": _iso(s.retired_at),
                }
                for s in self.signers
            ],
            "revoked_signers": sorted(k.hex() for k in self.revoked_signers),
            "revoked_serials": [
                {"serial": serial.hex(), "until": until.isoformat()}
                for serial, until in sorted(self.revoked_serials.items())
            ],
            "rule_sets": dict(sorted(self.rule_sets.items())),
            "value_sets": dict(sorted(self.value_sets.items())),
        }

    def to_content(self) -> bytes:
        """Canonical JSON bytes (sorted keys, no spaces): the envelope's content."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_content(cls, content: bytes, *, root_cert: x509.Certificate) -> TrustList:
        """Parse and check a trust list. Every signer certificate must chain to ``root_cert``
        and name the province it is listed under.

        Raises TrustError ``TRUSTLIST_MALFORMED``, or the ``CERT_*`` code of a bad signer.
        """
        try:
            doc = json.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _malformed(f"not JSON: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise _malformed(f"format must be {FORMAT!r}")
        try:
            signers = [_signer(item, root_cert) for item in _list(doc, "signers")]
            revoked = frozenset(bytes.fromhex(_str(k)) for k in _list(doc, "revoked_signers"))
            serials = {
                bytes.fromhex(_str(item["serial"])): parse_instant(_str(item["until"]))
                for item in _list(doc, "revoked_serials")
            }
            rule_sets = {str(k): _str(v) for k, v in _dict(doc, "rule_sets").items()}
            value_sets = {str(k): _str(v) for k, v in _dict(doc, "value_sets").items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise _malformed(f"bad entry: {exc!r}") from exc
        return cls(
            signers=signers,
            revoked_signers=revoked,
            revoked_serials=serials,
            rule_sets=rule_sets,
            value_sets=value_sets,
        )


def _list(doc: Mapping[str, Any], name: str) -> list[Any]:
    value = doc.get(name, [])
    if not isinstance(value, list):
        raise TypeError(f"{name} must be a list")
    return value


def _dict(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be an object")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _signer(item: Any, root_cert: x509.Certificate) -> SignerEntry:
    if not isinstance(item, dict):
        raise TypeError("signer entry must be an object")
    try:
        der = base64.b64decode(_str(item["certificate"]), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"certificate is not base64: {exc}") from exc
    cert = load_certificate(der)
    province = check_signer(cert, root_cert=root_cert)
    if province != item.get("province"):
        raise TrustError(
            ErrorCode.CERT_PROVINCE,
            f"certificate of {province} listed under {item.get('province')!r}",
        )
    retired = item.get("retired_at")
    return SignerEntry(province, cert, None if retired is None else parse_instant(_str(retired)))


# -- the checkpoint's cache ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrustStatus:
    """How fresh the trust list a verifier works on is."""

    sequence: int
    expires: datetime
    stale_by: timedelta
    max_staleness: timedelta
    issued: datetime | None = None  # the list's not-before: when the hub published it
    age: timedelta | None = None  # how long ago that was

    @property
    def usable(self) -> bool:
        return self.stale_by <= self.max_staleness

    def describe(self) -> str:
        issued = ""
        if self.issued is not None and self.age is not None:
            issued = f", issued {self.issued.isoformat()} ({_duration(self.age)} ago)"
        if self.stale_by <= timedelta(0):
            return f"trust list #{self.sequence}{issued}, current until {self.expires.isoformat()}"
        return (
            f"trust list #{self.sequence}{issued}, expired {self.stale_by} ago "
            f"(tolerance {self.max_staleness})"
        )


def _duration(span: timedelta) -> str:
    """A span in days, hours and minutes (``3 d 2 h 5 min``; seconds are dropped)."""
    minutes = max(int(span.total_seconds()) // 60, 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    return " ".join(p for p in parts if p)


class TrustStore:
    """A checkpoint's trust state in ``directory``: the newest signed trust list it has taken
    (``trust-list.cose``) and the national root it takes lists from (``national-root.cert.pem``).

    ``accept`` takes a list that is not older than the held one and refuses an older one
    (``ENVELOPE_ROLLBACK``); ``current`` returns the held list while it is within
    ``max_staleness`` of its expiry; ``status`` says how fresh it is. The state survives the
    process: a checkpoint run again tomorrow still refuses last month's list. The first list
    taken records the root; a store then refuses to work under another root.

    Raises TrustError ``TRUST_STORE_ROOT_MISMATCH`` when ``root_cert`` is not the recorded root.
    """

    FILE = "trust-list.cose"
    ROOT_FILE = "national-root.cert.pem"
    LOCK_FILE = ".lock"

    def __init__(
        self,
        directory: Path | str,
        *,
        root_cert: x509.Certificate,
        clock: Clock,
        max_staleness: timedelta = timedelta(hours=24),
    ) -> None:
        self.directory = Path(directory)
        self.root_cert = root_cert
        self.clock = clock
        self.max_staleness = max_staleness
        self._doc: OpenedDocument | None = None
        self._list: TrustList | None = None
        recorded = self.recorded_root(self.directory)
        if recorded is not None and recorded != root_cert:
            raise TrustError(
                ErrorCode.TRUST_STORE_ROOT_MISMATCH,
                f"{self.directory} holds the trust state of another national root; give that "
                "root, or another trust store folder for another network",
            )

    @classmethod
    def recorded_root(cls, directory: Path | str) -> x509.Certificate | None:
        """The national root a store folder has recorded (None when it has none)."""
        path = Path(directory) / cls.ROOT_FILE
        return load_certificate(path.read_bytes()) if path.is_file() else None

    @property
    def path(self) -> Path:
        return self.directory / self.FILE

    def _load(self) -> tuple[OpenedDocument, TrustList] | None:
        if self._doc is not None and self._list is not None:
            return self._doc, self._list
        if not self.path.exists():
            return None
        # The cached copy is opened without a staleness limit: freshness is judged per call.
        doc = open_envelope(
            self.path.read_bytes(),
            root_cert=self.root_cert,
            kind="trust-list",
            clock=self.clock,
            max_staleness=timedelta.max,
        )
        self._doc, self._list = doc, TrustList.from_content(doc.content, root_cert=self.root_cert)
        return self._doc, self._list

    def held(self) -> Held | None:
        """The sequence and digest of the cached copy (None when there is none)."""
        loaded = self._load()
        return None if loaded is None else loaded[0].held

    def opened(self) -> OpenedDocument | None:
        """The held list's envelope (sequence, times), None when none is held."""
        loaded = self._load()
        return None if loaded is None else loaded[0]

    def accept(self, raw: bytes) -> OpenedDocument:
        """Verify ``raw`` and, when it is not older than the held copy, keep it.

        The check and the write hold the folder's lock, so two checkpoints sharing a folder
        cannot interleave an older list after a newer one; the file is replaced atomically.

        Raises TrustError: any ``ENVELOPE_*`` code (``ENVELOPE_ROLLBACK`` for an older list, or
        another list with the held sequence), or the list's own ``TRUSTLIST_MALFORMED`` /
        ``CERT_*``.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        with _locked(self.directory / self.LOCK_FILE):
            self._doc = self._list = None  # another process may have taken a newer one
            doc = open_envelope(
                raw,
                root_cert=self.root_cert,
                kind="trust-list",
                clock=self.clock,
                held=self.held(),
                max_staleness=self.max_staleness,
            )
            trust_list = TrustList.from_content(doc.content, root_cert=self.root_cert)
            if not (self.directory / self.ROOT_FILE).exists():
                _write_atomically(self.directory / self.ROOT_FILE, dump_certificate(self.root_cert))
            _write_atomically(self.path, raw)
        self._doc, self._list = doc, trust_list
        return doc

    def status(self) -> TrustStatus:
        """Freshness of the cached copy. Raises TrustError ``TRUST_LIST_MISSING``."""
        loaded = self._load()
        if loaded is None:
            raise TrustError(
                ErrorCode.TRUST_LIST_MISSING, f"no trust list cached in {self.directory}"
            )
        doc = loaded[0]
        now = self.clock.now()
        stale_by = max(now - doc.expires, timedelta(0))
        return TrustStatus(
            doc.sequence,
            doc.expires,
            stale_by,
            self.max_staleness,
            issued=doc.not_before,
            age=max(now - doc.not_before, timedelta(0)),
        )

    def current(self) -> TrustList:
        """The cached trust list, when it is within the staleness tolerance.

        Raises TrustError ``TRUST_LIST_MISSING`` or ``ENVELOPE_EXPIRED``.
        """
        status = self.status()
        if not status.usable:
            raise TrustError(
                ErrorCode.ENVELOPE_EXPIRED,
                status.describe(),
                stale_by_seconds=int(status.stale_by.total_seconds()),
            )
        loaded = self._load()
        assert loaded is not None  # status() found it
        return loaded[1]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (POSIX ``flock``; elsewhere no lock is taken)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a crash leaves the previous file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
