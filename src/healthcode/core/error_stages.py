"""The verifier's stages, by stable name: the ``stage`` of an ``ErrorCode`` (``error_codes.py``
re-exports ``Stage``). This module imports nothing of the package.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Stage"]


class Stage(StrEnum):
    """Stable names of the verifier stages, in pipeline order."""

    QR = "qr"  # a picture given instead of text
    PREFIX = "prefix"
    NUMERIC = "numeric"  # SMART Health Cards: shc:/ digits to JWS text
    BASE45 = "base45"
    DECOMPRESS = "decompress"
    COSE = "cose"
    JWS = "jws"  # SMART Health Cards: the compact JWS
    SIGNATURE = "signature"
    CLAIMS = "claims"
    KEY_USAGE = "key_usage"  # EU DCC: the signer's EKU does not cover this kind of certificate
    SCHEMA = "schema"
    VALUE_SETS = "value_sets"  # EU DCC: coded fields against the EU value sets
    REVOCATION = "revocation"
    STATUS_LIST = "status_list"  # native: the code's entry in a Token Status List
    RULES = "rules"
    RESULT = "result"  # the result is built from what every stage checked
