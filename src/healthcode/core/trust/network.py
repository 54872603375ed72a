"""A network's keys on disk: the national root, the provinces' signers, revocations, publishing.

Layout of a network directory (``healthcode keys init --home DIR``)::

    DIR/root.key.pem  DIR/root.cert.pem             the national root
    DIR/signers/<province>/<kid>.key.pem|.cert.pem  each signer of each province
    DIR/network.json                                provinces, signer states, revocations,
                                                    the last published trust-list sequence
    DIR/published/trust-list.cose                   the last signed trust list

Private keys are PKCS#8 PEM, encrypted when a passphrase is given (the CLI reads it from
``HEALTHCODE_KEY_PASSPHRASE``), unencrypted otherwise — for demos only: a production root belongs
in an HSM, and province keys at least in encrypted files.

Rotation: ``rotate`` makes a new signer for a province and marks the previous ones *retired*.
A retired signer signs no new codes, but stays in the published trust list for
:data:`healthcode.core.codes.native.MAX_CODE_LIFETIME` after retirement, so the codes it signed
stay valid until they expire. Signers whose certificate has expired are dropped from the list.

>>> import tempfile
>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> clock = FixedClock(datetime(2022, 11, 1, tzinfo=timezone.utc))
>>> net = Network.init(tempfile.mkdtemp(), provinces=["440000"], clock=clock)
>>> net.active_signer("440000", at=clock.now()).certificate.subject.rfc4514_string()
'CN=Healthcode Signer 440000,O=Healthcode Network,ST=440000,C=CN'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from healthcode.core.clock import Clock, parse_instant
from healthcode.core.codes.native import MAX_CODE_LIFETIME
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError
from healthcode.core.trust.certs import (
    KeyPair,
    dump_certificate,
    dump_private_key,
    load_certificate,
    load_private_key,
    make_root,
    make_signer,
    province_of_certificate,
)
from healthcode.core.trust.envelope import seal
from healthcode.core.trust.trustlist import SignerEntry, TrustList

__all__ = ["DEFAULT_SIGNER_VALIDITY", "Network"]

DEFAULT_ROOT_VALIDITY = timedelta(days=3650)
DEFAULT_SIGNER_VALIDITY = timedelta(days=365)
DEFAULT_TRUST_LIST_VALIDITY = timedelta(days=1)
_STATE = "network.json"


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class Network:
    """The keys and trust state of one network, in a directory."""

    def __init__(self, home: Path, state: dict[str, Any], passphrase: bytes | None) -> None:
        self.home = home
        self._state = state
        self._passphrase = passphrase
        self._root: KeyPair | None = None

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        home: Path | str,
        *,
        provinces: Iterable[str],
        clock: Clock,
        passphrase: bytes | None = None,
        root_validity: timedelta = DEFAULT_ROOT_VALIDITY,
        signer_validity: timedelta = DEFAULT_SIGNER_VALIDITY,
    ) -> Network:
        """Create a root and one signer per province in a new directory.

        Raises TrustError ``NETWORK_EXISTS`` when ``home`` already holds a network, and
        ``PROVINCE_INVALID`` for a bad province code.
        """
        path = Path(home)
        if (path / _STATE).exists():
            raise TrustError(ErrorCode.NETWORK_EXISTS, f"{path} already holds a network")
        wanted = sorted(set(provinces))
        if not wanted:
            raise TrustError(ErrorCode.PROVINCE_INVALID, "a network needs at least one province")
        now = clock.now()
        root = make_root(now=now, validity=root_validity)
        state: dict[str, Any] = {
            "provinces": wanted,
            "signers": {},
            "revoked_signers": {},
            "revoked_serials": {},
            "trust_list_sequence": 0,
            "rule_sets": {},
            "value_sets": {},
        }
        net = cls(path, state, passphrase)
        net._root = root
        _write(path / "root.key.pem", dump_private_key(root.private_key, passphrase), private=True)
        _write(path / "root.cert.pem", dump_certificate(root.certificate))
        for province in wanted:
            net._new_signer(province, now, signer_validity)
        net._save()
        return net

    @classmethod
    def open(cls, home: Path | str, *, passphrase: bytes | None = None) -> Network:
        """Open an existing network directory. Raises TrustError ``NETWORK_MISSING``."""
        path = Path(home)
        try:
            state = json.loads((path / _STATE).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise TrustError(
                ErrorCode.NETWORK_MISSING, f"no network in {path} (run keys init)"
            ) from exc
        return cls(path, state, passphrase)

    def _save(self) -> None:
        _write(self.home / _STATE, json.dumps(self._state, indent=2, sort_keys=True).encode())

    # -- keys -----------------------------------------------------------------------------------
    @property
    def root(self) -> KeyPair:
        if self._root is None:
            key = load_private_key((self.home / "root.key.pem").read_bytes(), self._passphrase)
            cert = load_certificate((self.home / "root.cert.pem").read_bytes())
            self._root = KeyPair(key, cert)
        return self._root

    @property
    def root_certificate_path(self) -> Path:
        return self.home / "root.cert.pem"

    @property
    def provinces(self) -> list[str]:
        return list(self._state["provinces"])

    def _signer_path(self, province: str, kid: bytes, suffix: str) -> Path:
        return self.home / "signers" / province / f"{kid.hex()}.{suffix}.pem"

    def _new_signer(self, province: str, now: datetime, validity: timedelta) -> KeyPair:
        root = self.root
        end = min(now + validity, root.certificate.not_valid_after_utc)
        pair = make_signer(root=root, province=province, not_before=now, not_after=end)
        kid = pair.kid
        _write(
            self._signer_path(province, kid, "key"),
            dump_private_key(pair.private_key, self._passphrase),
            private=True,
        )
        _write(self._signer_path(province, kid, "cert"), dump_certificate(pair.certificate))
        self._state["signers"][kid.hex()] = {
            "province": province,
            "created_at": now.isoformat(),
            "retired_at": None,
        }
        return pair

    def signer(self, kid: bytes) -> KeyPair:
        """The signer with this kid. Raises TrustError ``SIGNER_UNKNOWN``."""
        info = self._state["signers"].get(kid.hex())
        if info is None:
            raise TrustError(ErrorCode.SIGNER_UNKNOWN, f"no signer with kid {kid.hex()}")
        province = info["province"]
        key = load_private_key(
            self._signer_path(province, kid, "key").read_bytes(), self._passphrase
        )
        cert = load_certificate(self._signer_path(province, kid, "cert").read_bytes())
        return KeyPair(key, cert)

    def signers(self) -> list[dict[str, Any]]:
        """Every signer with its state: kid, province, created, retired, revoked, validity."""
        out = []
        for kid_hex, info in sorted(self._state["signers"].items()):
            cert = self._certificate(info["province"], bytes.fromhex(kid_hex))
            out.append(
                {
                    "kid": kid_hex,
                    **info,
                    "revoked": kid_hex in self._state["revoked_signers"],
                    "not_before": cert.not_valid_before_utc.isoformat(),
                    "not_after": cert.not_valid_after_utc.isoformat(),
                }
            )
        return out

    def _certificate(self, province: str, kid: bytes) -> x509.Certificate:
        return load_certificate(self._signer_path(province, kid, "cert").read_bytes())

    def active_signer(self, province: str, *, at: datetime) -> KeyPair:
        """The newest signer of ``province`` that is neither retired nor revoked and is valid
        at ``at``. Raises TrustError ``SIGNER_UNKNOWN`` when there is none."""
        candidates = []
        for kid_hex, info in self._state["signers"].items():
            if info["province"] != province or info["retired_at"] is not None:
                continue
            if kid_hex in self._state["revoked_signers"]:
                continue
            cert = self._certificate(province, bytes.fromhex(kid_hex))
            if cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
                candidates.append((cert.not_valid_before_utc, kid_hex))
        if not candidates:
            raise TrustError(ErrorCode.SIGNER_UNKNOWN, f"province {province} has no active signer")
        return self.signer(bytes.fromhex(max(candidates)[1]))

    # -- changes --------------------------------------------------------------------------------
    def add_province(
        self, province: str, *, clock: Clock, validity: timedelta = DEFAULT_SIGNER_VALIDITY
    ) -> KeyPair:
        """Add a province with its first signer. Raises TrustError ``PROVINCE_EXISTS``."""
        if province in self._state["provinces"]:
            raise TrustError(
                ErrorCode.PROVINCE_EXISTS, f"province {province} is already in the network"
            )
        pair = self._new_signer(province, clock.now(), validity)
        self._state["provinces"] = sorted([*self._state["provinces"], province])
        self._save()
        return pair

    def rotate(
        self, province: str, *, clock: Clock, validity: timedelta = DEFAULT_SIGNER_VALIDITY
    ) -> KeyPair:
        """A new signer for ``province``; its previous signers retire (they stay trusted for
        the codes they already signed). Raises TrustError ``PROVINCE_UNKNOWN``."""
        if province not in self._state["provinces"]:
            raise TrustError(
                ErrorCode.PROVINCE_UNKNOWN, f"province {province} is not in the network"
            )
        now = clock.now()
        for info in self._state["signers"].values():
            if info["province"] == province and info["retired_at"] is None:
                info["retired_at"] = now.isoformat()
        pair = self._new_signer(province, now, validity)
        self._save()
        return pair

    def revoke_signer(self, kid: bytes, *, clock: Clock) -> None:
        """Revoke a signer: every code it signed fails. Raises TrustError ``SIGNER_UNKNOWN``."""
        if kid.hex() not in self._state["signers"]:
            raise TrustError(ErrorCode.SIGNER_UNKNOWN, f"no signer with kid {kid.hex()}")
        self._state["revoked_signers"][kid.hex()] = clock.now().isoformat()
        self._save()

    def revoke_serial(self, serial: bytes, *, until: datetime) -> None:
        """Revoke one code by serial; the entry is kept in trust lists until ``until`` (the
        code's expiry; at most :data:`MAX_CODE_LIFETIME` from now is enough)."""
        if not serial:
            raise TrustError(ErrorCode.SERIAL_INVALID, "serial must not be empty")
        previous = self._state["revoked_serials"].get(serial.hex())
        if previous is None or parse_instant(previous) < until:
            self._state["revoked_serials"][serial.hex()] = until.isoformat()
        self._save()

    def set_document_digest(self, kind: str, name: str, digest_hex: str) -> None:
        """Record the digest of a published rule set or value set in the trust list."""
        table = {"rule-set": "rule_sets", "value-set": "value_sets"}.get(kind)
        if table is None:
            raise TrustError(
                ErrorCode.DOCUMENT_KIND, f"kind must be rule-set or value-set, not {kind!r}"
            )
        self._state[table][name] = digest_hex
        self._save()

    # -- publishing -----------------------------------------------------------------------------
    def trust_list(self, *, at: datetime) -> TrustList:
        """The trust list as of ``at``: signers still useful, revocations still needed."""
        entries = []
        for kid_hex, info in sorted(self._state["signers"].items()):
            cert = self._certificate(info["province"], bytes.fromhex(kid_hex))
            if cert.not_valid_after_utc < at:
                continue  # expired: every code it signed has expired too
            retired = None if info["retired_at"] is None else parse_instant(info["retired_at"])
            if retired is not None and retired + MAX_CODE_LIFETIME < at:
                continue  # retired long enough that no code of it is still valid
            assert province_of_certificate(cert) == info["province"]
            entries.append(SignerEntry(info["province"], cert, retired))
        serials = {
            bytes.fromhex(k): parse_instant(v)
            for k, v in self._state["revoked_serials"].items()
            if parse_instant(v) >= at
        }
        listed = {e.kid for e in entries}
        revoked = frozenset(
            bytes.fromhex(k) for k in self._state["revoked_signers"] if bytes.fromhex(k) in listed
        )
        return TrustList(
            signers=entries,
            revoked_signers=revoked,
            revoked_serials=serials,
            rule_sets=dict(self._state["rule_sets"]),
            value_sets=dict(self._state["value_sets"]),
        )

    def publish(self, *, clock: Clock, validity: timedelta = DEFAULT_TRUST_LIST_VALIDITY) -> bytes:
        """Sign and write the next trust list (``published/trust-list.cose``); return its bytes."""
        now = clock.now()
        sequence = int(self._state["trust_list_sequence"]) + 1
        raw = seal(
            self.trust_list(at=now).to_content(),
            kind="trust-list",
            sequence=sequence,
            not_before=now,
            expires=now + validity,
            root=self.root,
        )
        _write(self.home / "published" / "trust-list.cose", raw)
        self._state["trust_list_sequence"] = sequence
        self._save()
        return raw
