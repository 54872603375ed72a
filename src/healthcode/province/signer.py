"""The province's current signer key, from the network's key home (``core/trust/network.py``).

With a trust state to read (``HEALTHCODE_PROVINCE_TRUST_DATABASE_URL``, the hub's database, or
the home's own ``network.db``), the signer is the network's active one for the province, as
``healthcode code issue`` picks it (neither retired nor revoked, valid now). Without one, it is
the newest certificate in ``signers/<province>/`` valid for the whole life of a paper code
whose key is beside it. The key is read once per kid and the choice is made again every
``RECHECK`` (a rotation or revocation takes effect within it).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

from healthcode.core.clock import Clock
from healthcode.core.codes.native import MAX_CODE_LIFETIME
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, TrustError
from healthcode.core.trust.certs import KeyPair, kid_of, load_certificate, load_private_key

__all__ = ["RECHECK", "SignerSource"]

#: How long a choice of signer stands before it is made again.
RECHECK = timedelta(minutes=1)


class SignerSource:
    def __init__(
        self,
        *,
        home: str,
        province: str,
        clock: Clock,
        passphrase: bytes | None = None,
        state_url: str = "",
    ) -> None:
        self.home = Path(home) if home else None
        self.province = province
        self.clock = clock
        self._passphrase = passphrase
        self._state_url = state_url
        #: when the signer was chosen, the signer, and until when it may sign a code
        self._chosen: tuple[datetime, KeyPair, datetime] | None = None
        self._lock = threading.Lock()

    def chosen(self, now: datetime) -> KeyPair | None:
        """The signer chosen within ``RECHECK`` and still able to sign at ``now``: what
        :meth:`current` answers without reading anything; None when it must choose again."""
        chosen = self._chosen
        if chosen is not None and abs(now - chosen[0]) < RECHECK and now < chosen[2]:
            return chosen[1]
        return None

    def current(self) -> KeyPair:
        """The signer to sign with now. Raises TrustError SIGNER_UNAVAILABLE."""
        now = self.clock.now()
        with self._lock:
            pair = self.chosen(now)
            if pair is not None:
                return pair
            try:
                pair = self._choose(now)
            except HealthcodeError as exc:
                raise TrustError(
                    ErrorCode.SIGNER_UNAVAILABLE, f"no signer for {self.province}: {exc.message}"
                ) from exc
            except OSError as exc:
                raise TrustError(
                    ErrorCode.SIGNER_UNAVAILABLE, f"no signer for {self.province}: {exc}"
                ) from exc
            last = pair.certificate.not_valid_after_utc - MAX_CODE_LIFETIME
            self._chosen = (now, pair, last)
            return pair

    def _choose(self, now: datetime) -> KeyPair:
        if self.home is None:
            raise TrustError(ErrorCode.SIGNER_UNAVAILABLE, "no key home (HEALTHCODE_HOME)")
        url = self._state_url
        if not url and (self.home / "network.db").is_file():
            url = f"sqlite:///{self.home / 'network.db'}"
        if url:
            return self._from_state(url, now)
        return self._newest_in_home(now)

    def _from_state(self, url: str, now: datetime) -> KeyPair:
        from healthcode.core.trust.network import Network
        from healthcode.store.db import Database
        from healthcode.store.trust_state import SqlStateStore

        assert self.home is not None
        db = Database.from_url(url)
        try:
            net = Network.open(
                self.home, store=SqlStateStore(db, clock=self.clock), passphrase=self._passphrase
            )
            return net.active_signer(self.province, at=now)
        finally:
            db.dispose()

    def _newest_in_home(self, now: datetime) -> KeyPair:
        assert self.home is not None
        folder = self.home / "signers" / self.province
        best = None
        for path in sorted(folder.glob("*.cert.pem")):
            cert = load_certificate(path.read_bytes())
            key_path = path.with_name(path.name.replace(".cert.pem", ".key.pem"))
            valid = cert.not_valid_before_utc <= now
            lasting = cert.not_valid_after_utc > now + MAX_CODE_LIFETIME
            newer = best is None or cert.not_valid_before_utc > best[0].not_valid_before_utc
            if valid and lasting and newer and key_path.is_file():
                best = (cert, key_path)
        if best is None:
            raise TrustError(ErrorCode.SIGNER_UNAVAILABLE, f"no valid signer in {folder}")
        cert, key_path = best
        assert kid_of(cert) is not None
        return KeyPair(load_private_key(key_path.read_bytes(), self._passphrase), cert)
