"""SMART Health Cards PKI: an issuer key's ``x5c`` chain to a trust anchor, and VCI directories.

``check_chain`` follows the Certificates section of the SMART Health Cards specification for a
verifier that takes part in a PKI trust framework: the leaf is bound to the card's issuer by a
``uniformResourceIdentifier`` Subject Alternative Name equal to ``iss``, and a path of valid
certificates leads from it to a trusted anchor (RFC 5280, section 6, in the part that applies:
signatures, validity at the instant, CA certificates above the leaf). Revocation of the
certificates (X.509 CRLs) and name or policy constraints are not checked.

``directory_entries`` reads a VCI directory snapshot (the format of
github.com/the-commons-project/vci-directory: ``issuer_info`` entries, each with ``issuer``
``{"iss", "name"}``, ``keys`` and ``crls``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError, VerificationFailed

__all__ = ["DirectoryEntry", "check_chain", "directory_entries"]

#: (iss, name, keys, crls) of one issuer of a directory.
DirectoryEntry = tuple[str, str, list[Any], list[Any]]


def _refuse(why: str) -> VerificationFailed:
    return VerificationFailed(ErrorCode.SHC_X5C_INVALID, f"x5c: {why}")


def _uris(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(u) for u in san.get_values_for_type(x509.UniformResourceIdentifier)]


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _valid_at(cert: x509.Certificate, now: datetime, what: str) -> None:
    if now < cert.not_valid_before_utc:
        raise _refuse(f"{what} is valid from {cert.not_valid_before_utc.isoformat()}")
    if now > cert.not_valid_after_utc:
        raise _refuse(f"{what} expired at {cert.not_valid_after_utc.isoformat()}")


def check_chain(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    iss: str,
    now: datetime,
) -> None:
    """Raises ``SHC_X5C_INVALID`` unless ``chain`` (leaf first) binds ``iss`` and leads to one
    of ``anchors`` at ``now``."""
    leaf = chain[0]
    if iss.rstrip("/") not in {u.rstrip("/") for u in _uris(leaf)}:
        raise _refuse(f"the leaf certificate does not name {iss!r} as a URI")
    for i, cert in enumerate(chain):
        _valid_at(cert, now, "the leaf certificate" if i == 0 else f"certificate {i}")
        if i and not _is_ca(cert):
            raise _refuse(f"certificate {i} is not a CA")
        if i and not _issued_by(chain[i - 1], cert):
            raise _refuse(f"certificate {i - 1} is not signed by certificate {i}")
        if any(anchor == cert for anchor in anchors):
            return  # the path ends at an anchor the chain carries
        for anchor in anchors:
            if _issued_by(cert, anchor):
                _valid_at(anchor, now, "the trust anchor")
                return
    raise _refuse("the chain leads to no trusted anchor")


def _bad(why: str) -> TrustError:
    return TrustError(ErrorCode.SHC_DIRECTORY_INVALID, why)


def directory_entries(directory: Mapping[str, Any] | str | bytes) -> list[DirectoryEntry]:
    """The issuers of a VCI directory snapshot with their keys and revocation lists.

    Raises TrustError ``SHC_DIRECTORY_INVALID`` when it is not one, or lists issuers
    (``participating_issuers``) without their keys: offline, a checkpoint needs the keys.
    """
    if isinstance(directory, str | bytes):
        try:
            directory = json.loads(directory)
        except ValueError as exc:
            raise _bad(f"not JSON: {exc}") from exc
    if not isinstance(directory, Mapping):
        raise _bad("a VCI directory is a JSON object")
    info = directory.get("issuer_info")
    if info is None and "participating_issuers" in directory:
        raise _bad(
            "this directory lists issuers without their keys (vci-issuers.json); give the "
            "directory snapshot with issuer_info (keys and crls), or each issuer's JWKS"
        )
    if not isinstance(info, list):
        raise _bad("a VCI directory snapshot has an issuer_info array")
    out: list[DirectoryEntry] = []
    for i, item in enumerate(info):
        issuer = item.get("issuer") if isinstance(item, Mapping) else None
        iss = issuer.get("iss") if isinstance(issuer, Mapping) else None
        if not isinstance(iss, str) or not iss.startswith("https://"):
            raise _bad(f"issuer_info[{i}] has no https issuer.iss")
        assert isinstance(issuer, Mapping) and isinstance(item, Mapping)
        keys, crls = item.get("keys", []), item.get("crls", [])
        if not isinstance(keys, list) or not isinstance(crls, list):
            raise _bad(f"issuer_info[{i}]: keys and crls are arrays")
        out.append((iss.rstrip("/"), str(issuer.get("name", "")), keys, crls))
    return out
