"""EU DCC trust material: Document Signer Certificates (DSCs) by kid, and their key usages.

A :class:`DscTrustList` is built from PEM/DER certificates or the EU gateway's JSON list; the
EKU OIDs of HCERT 1.3 (section 3.3.1) restrict a DSC to kinds of certificate (``v``, ``t``,
``r``), read leniently from DSCs whose other extensions are not strict DER.

>>> DscTrustList().keys_for_kid(b"12345678")
()
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError
from healthcode.core.keys import TrustedKey

__all__ = ["EKU_USAGES", "DscTrustList", "kid_of_der"]

#: HCERT 1.3, section 3.3.1 (key usage): the EKU OIDs that restrict a DSC to certificate kinds.
EKU_USAGES: Mapping[str, str] = {
    "1.3.6.1.4.1.1847.2021.1.1": "t",
    "1.3.6.1.4.1.1847.2021.1.2": "v",
    "1.3.6.1.4.1.1847.2021.1.3": "r",
    "1.3.6.1.4.1.0.1847.2021.1.1": "t",
    "1.3.6.1.4.1.0.1847.2021.1.2": "v",
    "1.3.6.1.4.1.0.1847.2021.1.3": "r",
}


def kid_of_der(der: bytes) -> bytes:
    """HCERT appendix A: the kid is the first 8 bytes of SHA-256 over the DER certificate."""
    return hashlib.sha256(der).digest()[:8]


def _country_of(cert: x509.Certificate) -> str:
    try:
        attrs = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    except ValueError:
        return ""
    value = attrs[0].value if attrs else ""
    return value if isinstance(value, str) else value.decode("ascii", "replace")


def _usages_of(cert: x509.Certificate) -> tuple[frozenset[str], str | None]:
    """The certificate kinds a DSC may sign ({} = any), and a warning when parsing was lenient."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset(), None
    except ValueError as exc:
        # Some DSCs (the Finnish ones) are not strict DER (a DEFAULT value encoded in
        # BasicConstraints); the certificate is still usable: read its EKU by hand.
        oids = _eku_oids_lenient(cert.tbs_certificate_bytes)
        usages = frozenset(EKU_USAGES[o] for o in oids if o in EKU_USAGES)
        return usages, f"signer certificate extensions are not strict DER ({exc}); read leniently"
    oids = {oid.dotted_string for oid in eku}
    return frozenset(EKU_USAGES[o] for o in oids if o in EKU_USAGES), None


def _der_items(data: bytes, start: int, end: int) -> Iterable[tuple[int, int, int]]:
    """(tag, content start, content end) of each DER item in data[start:end]."""
    pos = start
    while pos < end:
        tag = data[pos]
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[pos : pos + n], "big")
            pos += n
        yield tag, pos, pos + length
        pos += length


def _oid_text(raw: bytes) -> str:
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _eku_oids_lenient(tbs: bytes) -> set[str]:
    """The EKU OIDs of a TBSCertificate, read without checking the other extensions."""
    try:
        (_, s, e), *_ = _der_items(tbs, 0, len(tbs))
        for tag, cs, ce in _der_items(tbs, s, e):
            if tag != 0xA3:  # [3] extensions
                continue
            for _, es, ee in _der_items(tbs, cs, ce):  # SEQUENCE OF Extension
                for _, xs, xe in _der_items(tbs, es, ee):
                    fields = list(_der_items(tbs, xs, xe))
                    if _oid_text(tbs[fields[0][1] : fields[0][2]]) != "2.5.29.37":
                        continue
                    _, vs, ve = fields[-1]  # extnValue OCTET STRING
                    (_, ss, se), *_ = _der_items(tbs, vs, ve)
                    return {_oid_text(tbs[a:b]) for _, a, b in _der_items(tbs, ss, se)}
    except (IndexError, ValueError):
        return set()
    return set()


class DscTrustList:
    """EU Document Signer Certificates by kid; implements :class:`KeyStore`.

    Build it from certificates (PEM or DER, :meth:`from_certificates`) or from the EU gateway's
    ``/trustList/DSC`` JSON (:meth:`from_gateway_json`). ``warnings`` says what was read
    leniently or skipped.

    >>> DscTrustList().keys_for_kid(b"12345678")
    ()
    """

    def __init__(self) -> None:
        self._by_kid: dict[bytes, tuple[TrustedKey, ...]] = {}
        self.warnings: list[str] = []

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kid.values())

    def keys_for_kid(self, kid: bytes) -> Sequence[TrustedKey]:
        return self._by_kid.get(kid, ())

    def add_der(self, der: bytes, *, country: str | None = None) -> TrustedKey:
        """Add one DER certificate; raises TrustError ``DSC_INVALID`` when it cannot be read."""
        try:
            cert = x509.load_der_x509_certificate(der)
            public_key = cert.public_key()
            not_before = cert.not_valid_before_utc
            not_after = cert.not_valid_after_utc
        except ValueError as exc:
            raise TrustError(
                ErrorCode.DSC_INVALID, f"not a readable X.509 certificate: {exc}"
            ) from exc
        usages, warning = _usages_of(cert)
        kid = kid_of_der(der)
        if warning:
            self.warnings.append(f"{kid.hex()}: {warning}")
        key = TrustedKey(
            kid=kid,
            public_key=public_key,
            issuer=country or _country_of(cert),
            not_before=not_before,
            not_after=not_after,
            certificate=cert,
            usages=usages,
        )
        self._by_kid[kid] = (*self._by_kid.get(kid, ()), key)
        return key

    def add_pem_or_der(self, data: bytes) -> list[TrustedKey]:
        """Add every certificate of a PEM file, or the one certificate of a DER file."""
        if b"-----BEGIN CERTIFICATE-----" not in data:
            return [self.add_der(data)]
        added = []
        for block in data.split(b"-----BEGIN CERTIFICATE-----")[1:]:
            body = block.split(b"-----END CERTIFICATE-----")[0]
            try:
                der = base64.b64decode(b"".join(body.split()), validate=True)
            except binascii.Error as exc:
                raise TrustError(ErrorCode.DSC_INVALID, "a PEM block is not base64") from exc
            added.append(self.add_der(der))
        return added

    @classmethod
    def from_certificates(cls, items: Iterable[bytes | x509.Certificate]) -> DscTrustList:
        """A list of DER/PEM bytes or ``x509.Certificate`` objects."""
        out = cls()
        for item in items:
            if isinstance(item, x509.Certificate):
                from cryptography.hazmat.primitives.serialization import Encoding

                out.add_der(item.public_bytes(Encoding.DER))
            else:
                out.add_pem_or_der(item)
        return out

    @classmethod
    def from_gateway_json(cls, text: str | bytes) -> DscTrustList:
        """The DGCG ``/trustList/DSC`` JSON array.

        Each entry: ``kid`` (base64), ``country``, ``certificateType`` (``"DSC"``), ``rawData``
        (base64 DER), ``thumbprint`` (SHA-256 hex), ``signature``, ``timestamp``. An entry whose
        kid or thumbprint does not match its certificate is skipped with a warning (the kid must
        match the certificate). Raises TrustError ``TRUST_LIST_INVALID`` when it is not such a
        list.
        """
        try:
            entries = json.loads(text)
        except ValueError as exc:
            raise TrustError(ErrorCode.TRUST_LIST_INVALID, f"not JSON: {exc}") from exc
        if not isinstance(entries, list):
            raise TrustError(ErrorCode.TRUST_LIST_INVALID, "the gateway trust list is a JSON array")
        out = cls()
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or "rawData" not in entry:
                raise TrustError(ErrorCode.TRUST_LIST_INVALID, f"entry {i} has no rawData")
            if entry.get("certificateType", "DSC") != "DSC":
                continue
            try:
                der = base64.b64decode(entry["rawData"], validate=True)
            except (binascii.Error, TypeError, ValueError) as exc:
                raise TrustError(
                    ErrorCode.TRUST_LIST_INVALID, f"entry {i}: rawData not base64"
                ) from exc
            kid = kid_of_der(der)
            listed = entry.get("kid")
            if listed is not None and listed != base64.b64encode(kid).decode():
                out.warnings.append(f"entry {i}: kid {listed} does not match its certificate")
                continue
            thumb = entry.get("thumbprint")
            if thumb is not None and str(thumb).lower() != hashlib.sha256(der).hexdigest():
                out.warnings.append(f"entry {i}: thumbprint does not match its certificate")
                continue
            try:
                out.add_der(der, country=entry.get("country") or None)
            except TrustError as exc:
                out.warnings.append(f"entry {i}: {exc.message}")
        return out

    @classmethod
    def load(cls, path: str | Path) -> DscTrustList:
        """A file: gateway JSON, PEM or DER (detected by content)."""
        data = Path(path).read_bytes()
        if data.lstrip()[:1] == b"[":
            return cls.from_gateway_json(data)
        return cls.from_pem_or_der_bytes(data)

    @classmethod
    def from_pem_or_der_bytes(cls, data: bytes) -> DscTrustList:
        out = cls()
        out.add_pem_or_der(data)
        return out

    def merge(self, other: DscTrustList) -> None:
        """Add every key of ``other``."""
        for kid, keys in other._by_kid.items():
            self._by_kid[kid] = (*self._by_kid.get(kid, ()), *keys)
        self.warnings.extend(other.warnings)
