"""Trusted SMART Health Card issuers: their JWKS (kid = RFC 7638 thumbprint) and revocation lists.

Issuers come from their JWKS (``add_jwks``, named by the checkpoint) or from a directory in the
VCI format (``add_directory``). A key may carry an X.509 chain (``x5c``): its first certificate
must hold the key (checked when the JWKS is read). A checkpoint that takes part in a PKI trust
framework gives its trust anchors (``add_anchor``); then, as the SMART Health Cards
specification describes for such verifiers (Certificates section), every card signed by a key
with an ``x5c`` needs that chain to be valid at the verification instant: the leaf names the
card's ``iss`` as a URI in its Subject Alternative Name, each certificate is signed by the next
(a CA), and the last is an anchor or signed by one (``check_x5c``, ``SHC_X5C_INVALID``). Without
anchors the chain is not judged (a leaf past its validity is only a warning), as before.

>>> ShcTrust().keys_for_kid(b"x")
()
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.keys import TrustedKey
from healthcode.core.verify.shc.jws import b64url_decode
from healthcode.core.verify.shc.x5c import check_chain, directory_entries

__all__ = ["ShcTrust", "jwk_thumbprint"]


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url) of an EC public JWK."""
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class _Crl:
    ctr: int
    rids: dict[str, float | None] = field(default_factory=dict)  # rid -> revoked before, or all


class ShcTrust:
    """Trusted SHC issuers: their keys by kid (implements KeyStore) and revocation lists.

    >>> ShcTrust().keys_for_kid(b"x")
    ()
    """

    def __init__(self) -> None:
        self._by_kid: dict[bytes, tuple[TrustedKey, ...]] = {}
        self._crls: dict[str, _Crl] = {}
        self._crl_versions: dict[str, int] = {}
        self._chains: dict[int, tuple[x509.Certificate, ...]] = {}  # id(TrustedKey): its x5c
        self._anchors: list[x509.Certificate] = []
        #: Issuer URL: its name, from a VCI directory.
        self.names: dict[str, str] = {}
        self.warnings: list[str] = []

    def keys_for_kid(self, kid: bytes) -> Sequence[TrustedKey]:
        return self._by_kid.get(kid, ())

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kid.values())

    def add_jwks(self, jwks: Mapping[str, Any] | str | bytes, *, issuer: str) -> None:
        """Add an issuer's JWKS (``{"keys": [...]}``). A key whose kid is not its RFC 7638
        thumbprint, or that is not an ES256 P-256 signing key, is skipped with a warning.
        Raises TrustError ``JWKS_INVALID`` when it is not a JWKS."""
        if isinstance(jwks, str | bytes):
            try:
                jwks = json.loads(jwks)
            except ValueError as exc:
                raise TrustError(ErrorCode.JWKS_INVALID, f"not JSON: {exc}") from exc
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list):
            raise TrustError(ErrorCode.JWKS_INVALID, "a JWKS is an object with a keys array")
        for jwk in keys:
            self._add_jwk(jwk, issuer.rstrip("/"))

    def _add_jwk(self, jwk: Any, issuer: str) -> None:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            self.warnings.append(f"{issuer}: skipped a key that is not EC P-256")
            return
        kid = str(jwk.get("kid", ""))
        try:
            thumb = jwk_thumbprint(jwk)
            x = int.from_bytes(b64url_decode(str(jwk["x"]), "x"), "big")
            y = int.from_bytes(b64url_decode(str(jwk["y"]), "y"), "big")
            public_key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except (KeyError, ValueError, VerificationFailed) as exc:
            self.warnings.append(f"{issuer}: skipped key {kid}: {exc}")
            return
        if kid != thumb:
            self.warnings.append(f"{issuer}: skipped key {kid}: kid is not its thumbprint {thumb}")
            return
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "ES256") != "ES256":
            self.warnings.append(f"{issuer}: skipped key {kid}: not an ES256 signing key")
            return
        chain: tuple[x509.Certificate, ...] = ()
        if isinstance(jwk.get("x5c"), list) and jwk["x5c"]:
            try:
                chain = tuple(
                    x509.load_der_x509_certificate(base64.b64decode(c, validate=True))
                    for c in jwk["x5c"]
                )
            except (ValueError, TypeError, binascii.Error) as exc:
                self.warnings.append(f"{issuer}: skipped key {kid}: unreadable x5c ({exc})")
                return
            if chain[0].public_key() != public_key:
                self.warnings.append(f"{issuer}: skipped key {kid}: x5c leaf is another key")
                return
        cert = chain[0] if chain else None
        not_before = cert.not_valid_before_utc if cert else None
        not_after = cert.not_valid_after_utc if cert else None
        if isinstance(jwk.get("crlVersion"), int):
            self._crl_versions[kid] = jwk["crlVersion"]
        key = TrustedKey(
            kid=kid.encode("ascii"),
            public_key=public_key,
            issuer=issuer,
            not_before=not_before,
            not_after=not_after,
            certificate=cert,
        )
        if chain:
            self._chains[id(key)] = chain
        self._by_kid[key.kid] = (*self._by_kid.get(key.kid, ()), key)

    def add_anchor(self, cert: x509.Certificate | bytes) -> None:
        """Trust an X.509 anchor (DER or PEM bytes, or a certificate) for ``x5c`` chains."""
        if not isinstance(cert, x509.Certificate):
            data = bytes(cert)
            try:
                cert = (
                    x509.load_pem_x509_certificate(data)
                    if b"-----BEGIN" in data
                    else x509.load_der_x509_certificate(data)
                )
            except ValueError as exc:
                raise TrustError(ErrorCode.CERT_MALFORMED, f"not an X.509 anchor: {exc}") from exc
        self._anchors.append(cert)

    @property
    def has_anchors(self) -> bool:
        return bool(self._anchors)

    def check_x5c(self, key: TrustedKey, iss: str, now: datetime) -> None:
        """With anchors held, a key's ``x5c`` chain must lead to one at ``now`` and its leaf name
        ``iss``; raises VerificationFailed ``SHC_X5C_INVALID``. Without anchors, or for a key
        without ``x5c``, nothing is checked."""
        chain = self._chains.get(id(key))
        if not self._anchors or not chain:
            return
        check_chain(chain, self._anchors, iss=iss, now=now)

    def add_directory(self, directory: Mapping[str, Any] | str | bytes) -> int:
        """Trust the issuers of a VCI directory snapshot: each ``issuer_info`` entry's
        ``issuer.iss`` with its ``keys`` (a JWKS's keys) and ``crls``. Returns how many issuers.

        Raises TrustError ``SHC_DIRECTORY_INVALID`` when it is not one, or lists issuers
        (``participating_issuers``) without their keys: offline, a checkpoint needs the keys.
        """
        entries = directory_entries(directory)
        for iss, name, keys, crls in entries:
            self.names[iss] = name
            self.add_jwks({"keys": keys}, issuer=iss)
            for crl in crls:
                self.add_crl(crl)
        return len(entries)

    def add_crl(self, crl: Mapping[str, Any] | str | bytes) -> None:
        """Add a revocation list (``.well-known/crl/<kid>.json``: kid, method rid, ctr, rids)."""
        if isinstance(crl, str | bytes):
            try:
                crl = json.loads(crl)
            except ValueError as exc:
                raise TrustError(ErrorCode.CRL_INVALID, f"not JSON: {exc}") from exc
        if not isinstance(crl, Mapping) or crl.get("method") != "rid":
            raise TrustError(ErrorCode.CRL_INVALID, "a SHC revocation list has method 'rid'")
        rids = crl.get("rids")
        if not isinstance(rids, list) or not isinstance(crl.get("kid"), str):
            raise TrustError(ErrorCode.CRL_INVALID, "a SHC revocation list has a kid and rids")
        entry = _Crl(ctr=int(crl.get("ctr", 0)))
        for item in rids:
            rid, _, stamp = str(item).partition(".")
            try:
                entry.rids[rid] = float(stamp) if stamp else None
            except ValueError as exc:
                raise TrustError(ErrorCode.CRL_INVALID, f"bad rid timestamp in {item!r}") from exc
        self._crls[crl["kid"]] = entry

    def revocation_of(self, kid: str, rid: str, nbf: float) -> str | None:
        """Why the card is revoked (None when it is not, or no list is held)."""
        crl = self._crls.get(kid)
        if crl is None or rid not in crl.rids:
            return None
        before = crl.rids[rid]
        if before is None:
            return f"rid {rid} is revoked"
        if nbf < before:  # the timestamp form revokes the cards issued before it
            return f"rid {rid} is revoked for cards issued before {before:.0f}"
        return None

    def has_crl_for(self, kid: str) -> bool:
        return kid in self._crls

    def crl_expected(self, kid: str) -> bool:
        return kid in self._crl_versions

    @classmethod
    def from_directory(cls, root: str | Path, *, issuer: str) -> ShcTrust:
        """An issuer's ``.well-known`` folder (jwks.json and crl/<kid>.json), read offline."""
        base = Path(root) / ".well-known"
        out = cls()
        out.add_jwks((base / "jwks.json").read_bytes(), issuer=issuer)
        crl_dir = base / "crl"
        if crl_dir.is_dir():
            for path in sorted(crl_dir.glob("*.json")):
                out.add_crl(path.read_bytes())
        return out
