"""A network's keys on disk and its trust state in the one store: init, rotation with overlap,
revocations, publishing.

The private keys live in a directory, the *key home* (``healthcode keys init --home DIR``)::

    DIR/root/<kid>.key.pem|.cert.pem                the national root
    DIR/signers/<province>/<kid>.key.pem|.cert.pem  each signer of each province
    DIR/publishers/<kid>.key.pem|.cert.pem          the publishing keys (all a hub needs)
    DIR/root.cert.pem                               a copy of the root certificate of the state
    DIR/published/trust-list.cose                   a copy of the last list this home published

The trust state (provinces, every signer's certificate, retirement and revocation, the revoked
serials, the sequence counters) lives in one :class:`~healthcode.core.trust.state.StateStore`
(the hub's database, ``store/trust_state.py``), never in a file beside the keys: every command
and every hub process reads it at the moment it acts, so a revocation made anywhere is in every
list published after it, and sequences are drawn from one counter.

A command that writes both writes the key files first (new files named by kid: harmless if the
store never names them) and commits the state last; the copies (``root.cert.pem``,
``published/``) are written after the commit, and ``open`` writes ``root.cert.pem`` again when
it is missing. A crash at any write leaves a consistent state that the next command
continues from.

Private keys are PKCS#8 PEM, encrypted when a passphrase is given (the CLI reads it from
``HEALTHCODE_KEY_PASSPHRASE``), unencrypted otherwise — for demos only.

The root certifies keys and signs nothing else: documents are sealed by the active *publisher*
(a key the root certified for publishing, valid :data:`DEFAULT_PUBLISHER_VALIDITY`), so a hub
needs only ``publishers/`` and the database, never the root's key (docs/security.md).
``rotate_publisher`` (with the root, offline) certifies a new one; ``revoke_publisher`` (no root
needed) names one revoked in every document sealed after it.

Rotation: ``rotate`` makes a new signer for a province and marks the previous ones *retired*.
A retired signer signs no new codes, but stays in the published trust list for
:data:`healthcode.core.codes.native.MAX_CODE_LIFETIME` after retirement, so the codes it signed
stay valid until they expire. Signers whose certificate has expired are dropped from the list.

>>> import tempfile
>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.store.db import Database
>>> from healthcode.store.migrate import upgrade
>>> from healthcode.store.trust_state import SqlStateStore
>>> clock = FixedClock(datetime(2022, 11, 1, tzinfo=timezone.utc))
>>> db = Database.from_url("sqlite://"); upgrade(db)
>>> net = Network.init(tempfile.mkdtemp(), store=SqlStateStore(db, clock=clock),
...                    provinces=["440000"], clock=clock)
>>> net.active_signer("440000", at=clock.now()).certificate.subject.rfc4514_string()
'CN=Healthcode Signer 440000,O=Healthcode Network,ST=440000,C=CN'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from healthcode.core.clock import Clock, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError
from healthcode.core.trust.certs import (
    KeyPair,
    dump_certificate,
    dump_private_key,
    kid_of,
    load_certificate,
    load_private_key,
    make_publisher,
    make_root,
    make_signer,
)
from healthcode.core.trust.state import (
    Draft,
    Published,
    StateStore,
    TrustStateDoc,
    active_kid,
    certificate_of,
    draft_of,
    trust_list_of,
)
from healthcode.core.trust.trustlist import TrustList

__all__ = ["DEFAULT_PUBLISHER_VALIDITY", "DEFAULT_SIGNER_VALIDITY", "Network", "load_publisher"]

DEFAULT_ROOT_VALIDITY = timedelta(days=3650)
DEFAULT_SIGNER_VALIDITY = timedelta(days=365)
DEFAULT_TRUST_LIST_VALIDITY = timedelta(days=1)
#: A publisher certificate is short-lived: a stolen publishing key is useful for weeks at most.
DEFAULT_PUBLISHER_VALIDITY = timedelta(days=30)
_EXPORT = Path("published") / "trust-list.cose"


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write a whole file or nothing (a temporary file, fsync, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _need_province(state: TrustStateDoc, province: str) -> None:
    if province not in state["provinces"]:
        raise TrustError(ErrorCode.PROVINCE_UNKNOWN, f"province {province} is not in the network")


class Network:
    """The keys of one network in a directory, and its trust state in ``store``."""

    def __init__(self, home: Path, *, store: StateStore, passphrase: bytes | None) -> None:
        self.home = home
        self.store = store
        self._passphrase = passphrase
        self._root: KeyPair | None = None

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        home: Path | str,
        *,
        store: StateStore,
        provinces: Iterable[str],
        clock: Clock,
        passphrase: bytes | None = None,
        root_validity: timedelta = DEFAULT_ROOT_VALIDITY,
        signer_validity: timedelta = DEFAULT_SIGNER_VALIDITY,
        publisher_validity: timedelta = DEFAULT_PUBLISHER_VALIDITY,
    ) -> Network:
        """Create a root and one signer per province: key files first, then the state.

        Raises TrustError ``NETWORK_EXISTS`` when the store already holds a network, and
        ``PROVINCE_INVALID`` for a bad province code.
        """
        if store.load() is not None:
            raise TrustError(ErrorCode.NETWORK_EXISTS, "the trust state already holds a network")
        wanted = sorted(set(provinces))
        if not wanted:
            raise TrustError(ErrorCode.PROVINCE_INVALID, "a network needs at least one province")
        now = clock.now()
        net = cls(Path(home), store=store, passphrase=passphrase)
        root = make_root(now=now, validity=root_validity)
        state: TrustStateDoc = {
            "provinces": wanted,
            "root_certificate": dump_certificate(root.certificate).decode("ascii"),
            "signers": {},
            "revoked_signers": {},
            "publishers": {},
            "revoked_publishers": {},
            "revoked_serials": {},
            "rule_sets": {},
            "value_sets": {},
            "sequences": {},
        }
        signers = [net._new_signer(p, now, signer_validity, root=root) for p in wanted]
        publisher = net._new_publisher(now, publisher_validity, root=root)
        _write(
            net._root_path(root.kid), dump_private_key(root.private_key, passphrase), private=True
        )
        for province, pair in zip(wanted, signers, strict=True):
            _add_signer(state, province, pair, now)
        _add_publisher(state, publisher, now)
        store.create(state)
        net._root = root
        net._export_root()
        return net

    @classmethod
    def open(
        cls, home: Path | str, *, store: StateStore, passphrase: bytes | None = None
    ) -> Network:
        """The network whose state is in ``store``. Raises TrustError ``NETWORK_MISSING``."""
        if store.load() is None:
            raise TrustError(
                ErrorCode.NETWORK_MISSING, "no trust network in this state store (run keys init)"
            )
        net = cls(Path(home), store=store, passphrase=passphrase)
        net._export_root()
        return net

    def _export_root(self) -> None:
        """Copy the state's root certificate to ``root.cert.pem`` (for checkpoints) if needed."""
        pem = str(self.state()["root_certificate"]).encode("ascii")
        path = self.root_certificate_path
        if self.home.is_dir() and (not path.exists() or path.read_bytes() != pem):
            _write(path, pem)

    def state(self) -> TrustStateDoc:
        """The trust state as it is now. Raises TrustError ``NETWORK_MISSING``."""
        state = self.store.load()
        if state is None:
            raise TrustError(ErrorCode.NETWORK_MISSING, "no trust network in this state store")
        return state

    # -- keys -----------------------------------------------------------------------------------
    @property
    def root(self) -> KeyPair:
        """The national root's key (from the key home). Raises TrustError ``KEY_*``."""
        if self._root is None:
            cert = self.root_certificate
            path = self._root_path(kid_of(cert))
            self._root = KeyPair(load_private_key(path.read_bytes(), self._passphrase), cert)
        return self._root

    def _root_path(self, kid: bytes) -> Path:
        return self.home / "root" / f"{kid.hex()}.key.pem"

    @property
    def root_certificate(self) -> x509.Certificate:
        """The root certificate of the trust state (public: no key home needed)."""
        return load_certificate(str(self.state()["root_certificate"]).encode("ascii"))

    @property
    def root_certificate_path(self) -> Path:
        return self.home / "root.cert.pem"

    @property
    def provinces(self) -> list[str]:
        return list(self.state()["provinces"])

    def _signer_path(self, province: str, kid: bytes, suffix: str) -> Path:
        return self.home / "signers" / province / f"{kid.hex()}.{suffix}.pem"

    def _new_signer(
        self, province: str, now: datetime, validity: timedelta, *, root: KeyPair
    ) -> KeyPair:
        """A new signer's key and certificate, written to the key home (not yet in the state)."""
        end = min(now + validity, root.certificate.not_valid_after_utc)
        pair = make_signer(root=root, province=province, not_before=now, not_after=end)
        _write(
            self._signer_path(province, pair.kid, "key"),
            dump_private_key(pair.private_key, self._passphrase),
            private=True,
        )
        _write(self._signer_path(province, pair.kid, "cert"), dump_certificate(pair.certificate))
        return pair

    def signer(self, kid: bytes) -> KeyPair:
        """The signer with this kid. Raises TrustError ``SIGNER_UNKNOWN``."""
        info = self.state()["signers"].get(kid.hex())
        if info is None:
            raise TrustError(ErrorCode.SIGNER_UNKNOWN, f"no signer with kid {kid.hex()}")
        path = self._signer_path(info["province"], kid, "key")
        key = load_private_key(path.read_bytes(), self._passphrase)
        return KeyPair(key, certificate_of(info))

    def signers(self) -> list[dict[str, Any]]:
        """Every signer with its state: kid, province, created, retired, revoked, validity."""
        return _listing(self.state(), "signers", "revoked_signers")

    def active_signer(self, province: str, *, at: datetime) -> KeyPair:
        """The newest signer of ``province`` that is neither retired nor revoked and is valid
        at ``at``. Raises TrustError ``SIGNER_UNKNOWN`` when there is none."""
        kid_hex = active_kid(self.state(), "signers", at=at, province=province)
        return self.signer(bytes.fromhex(kid_hex))

    def _new_publisher(self, now: datetime, validity: timedelta, *, root: KeyPair) -> KeyPair:
        """A new publishing key and certificate, written to the key home (not yet in the state)."""
        end = min(now + validity, root.certificate.not_valid_after_utc)
        pair = make_publisher(root=root, not_before=now, not_after=end)
        folder = self.home / "publishers"
        key = dump_private_key(pair.private_key, self._passphrase)
        _write(folder / f"{pair.kid.hex()}.key.pem", key, private=True)
        _write(folder / f"{pair.kid.hex()}.cert.pem", dump_certificate(pair.certificate))
        return pair

    def active_publisher(self, *, at: datetime) -> KeyPair:
        """The publishing key in use at ``at``. Raises TrustError ``PUBLISHER_UNKNOWN``."""
        return load_publisher(self.home, self.state(), at=at, passphrase=self._passphrase)

    def publishers(self) -> list[dict[str, Any]]:
        """Every publisher with its state: kid, created, retired, revoked, validity."""
        return _listing(self.state(), "publishers", "revoked_publishers")

    # -- changes (each one transaction of the store) --------------------------------------------
    def add_province(
        self, province: str, *, clock: Clock, validity: timedelta = DEFAULT_SIGNER_VALIDITY
    ) -> KeyPair:
        """Add a province with its first signer. Raises TrustError ``PROVINCE_EXISTS``."""
        if province in self.provinces:
            raise TrustError(
                ErrorCode.PROVINCE_EXISTS, f"province {province} is already in the network"
            )
        now = clock.now()
        pair = self._new_signer(province, now, validity, root=self.root)

        def change(state: TrustStateDoc) -> None:
            if province in state["provinces"]:
                raise TrustError(ErrorCode.PROVINCE_EXISTS, f"province {province} was added")
            state["provinces"] = sorted([*state["provinces"], province])
            _add_signer(state, province, pair, now)

        self.store.update(change)
        return pair

    def rotate(
        self, province: str, *, clock: Clock, validity: timedelta = DEFAULT_SIGNER_VALIDITY
    ) -> KeyPair:
        """A new signer for ``province``; its previous signers retire (they stay trusted for
        the codes they already signed). Raises TrustError ``PROVINCE_UNKNOWN``."""
        _need_province(self.state(), province)
        now = clock.now()
        pair = self._new_signer(province, now, validity, root=self.root)

        def change(state: TrustStateDoc) -> None:
            _need_province(state, province)
            for info in state["signers"].values():
                if info["province"] == province and info["retired_at"] is None:
                    info["retired_at"] = now.isoformat()
            _add_signer(state, province, pair, now)

        self.store.update(change)
        return pair

    def revoke_signer(self, kid: bytes, *, clock: Clock) -> None:
        """Revoke a signer: every code it signed fails. Raises TrustError ``SIGNER_UNKNOWN``."""

        def change(state: TrustStateDoc) -> None:
            if kid.hex() not in state["signers"]:
                raise TrustError(ErrorCode.SIGNER_UNKNOWN, f"no signer with kid {kid.hex()}")
            state["revoked_signers"].setdefault(kid.hex(), clock.now().isoformat())

        self.store.update(change)

    def revoke_serial(self, serial: bytes, *, until: datetime) -> None:
        """Revoke one code by serial; the entry is kept in trust lists until ``until`` (the
        code's expiry; at most :data:`MAX_CODE_LIFETIME` from now is enough)."""
        if not serial:
            raise TrustError(ErrorCode.SERIAL_INVALID, "serial must not be empty")

        def change(state: TrustStateDoc) -> None:
            previous = state["revoked_serials"].get(serial.hex())
            if previous is None or parse_instant(previous) < until:
                state["revoked_serials"][serial.hex()] = until.isoformat()

        self.store.update(change)

    def set_document_digest(self, kind: str, name: str, digest_hex: str) -> None:
        """Record the digest of a published rule set or value set in the trust list."""
        table = {"rule-set": "rule_sets", "value-set": "value_sets"}.get(kind)
        if table is None:
            raise TrustError(
                ErrorCode.DOCUMENT_KIND, f"kind must be rule-set or value-set, not {kind!r}"
            )
        self.store.update(lambda state: state[table].__setitem__(name, digest_hex))

    # -- publishing -----------------------------------------------------------------------------
    def trust_list(self, *, at: datetime) -> TrustList:
        """The trust list as of ``at``, from the state as it is now."""
        return trust_list_of(self.state(), at=at)

    def rotate_publisher(
        self, *, clock: Clock, validity: timedelta = DEFAULT_PUBLISHER_VALIDITY
    ) -> KeyPair:
        """The root certifies a new publisher; the previous ones retire (what they sealed stays
        valid until it expires). Needs the root's key: an offline ceremony."""
        now = clock.now()
        pair = self._new_publisher(now, validity, root=self.root)

        def change(state: TrustStateDoc) -> None:
            for info in state["publishers"].values():
                if info["retired_at"] is None:
                    info["retired_at"] = now.isoformat()
            _add_publisher(state, pair, now)

        self.store.update(change)
        return pair

    def revoke_publisher(self, kid: bytes, *, clock: Clock) -> None:
        """Revoke a publisher: every document sealed after this names it revoked, and a
        checkpoint that took one refuses anything it seals. Raises ``PUBLISHER_UNKNOWN``."""

        def change(state: TrustStateDoc) -> None:
            if kid.hex() not in state["publishers"]:
                raise TrustError(ErrorCode.PUBLISHER_UNKNOWN, f"no publisher with kid {kid.hex()}")
            state["revoked_publishers"].setdefault(kid.hex(), clock.now().isoformat())

        self.store.update(change)

    def publish(self, *, clock: Clock, validity: timedelta = DEFAULT_TRUST_LIST_VALIDITY) -> bytes:
        """Seal the next trust list from the current state with the active publisher, store it
        (one transaction), then copy it to ``published/trust-list.cose``; return its bytes.

        Raises TrustError ``PUBLISHER_UNKNOWN`` when no publisher is active.
        """
        now = clock.now()

        def draft(state: TrustStateDoc, _last: Published | None) -> Draft:
            publisher = load_publisher(self.home, state, at=now, passphrase=self._passphrase)
            content = trust_list_of(state, at=now).to_content()
            return draft_of(
                state, publisher, kind="trust-list", content=content, now=now, validity=validity
            )

        published = self.store.publish("trust-list", draft)
        _write(self.home / _EXPORT, published.envelope)
        return published.envelope


def _publisher_key(
    home: Path, state: TrustStateDoc, kid_hex: str, passphrase: bytes | None
) -> KeyPair:
    path = home / "publishers" / f"{kid_hex}.key.pem"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrustError(
            ErrorCode.PUBLISHER_UNKNOWN, f"the key of publisher {kid_hex} is not in {home}"
        ) from exc
    cert = certificate_of(state["publishers"][kid_hex])
    return KeyPair(load_private_key(data, passphrase), cert)


def load_publisher(
    home: Path, state: TrustStateDoc, *, at: datetime, passphrase: bytes | None
) -> KeyPair:
    """The active publisher's key (from ``home/publishers/``) with its certificate (from the
    state). Raises TrustError ``PUBLISHER_UNKNOWN``, ``KEY_*``."""
    return _publisher_key(home, state, active_kid(state, "publishers", at=at), passphrase)


def _listing(state: TrustStateDoc, role: str, revoked: str) -> list[dict[str, Any]]:
    out = []
    for kid_hex, info in sorted(state[role].items()):
        cert = certificate_of(info)
        out.append(
            {
                "kid": kid_hex,
                **{k: v for k, v in info.items() if k != "certificate"},
                "revoked": kid_hex in state[revoked],
                "not_before": cert.not_valid_before_utc.isoformat(),
                "not_after": cert.not_valid_after_utc.isoformat(),
            }
        )
    return out


def _add_publisher(state: TrustStateDoc, pair: KeyPair, now: datetime) -> None:
    state["publishers"][pair.kid.hex()] = {
        "certificate": dump_certificate(pair.certificate).decode("ascii"),
        "created_at": now.isoformat(),
        "retired_at": None,
    }


def _add_signer(state: TrustStateDoc, province: str, pair: KeyPair, now: datetime) -> None:
    state["signers"][pair.kid.hex()] = {
        "province": province,
        "certificate": dump_certificate(pair.certificate).decode("ascii"),
        "created_at": now.isoformat(),
        "retired_at": None,
    }
