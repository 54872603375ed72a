"""SMART Health Cards (``shc:/``): numeric QR text, compact JWS (ES256), issuer JWKS, revocation.

The package: ``jws`` (numeric text and the compact JWS), ``trust`` (issuer JWKS with RFC
7638 kids, revocation lists, VCI directories, x5c anchors), ``x5c`` (chains, directories),
``fhir`` (the FHIR bundle as facts), ``stages`` (the format and its settings). Every public
name is importable from here.

The plan of :meth:`ShcFormat.verify`:

1. numeric ``shc:/`` text (two digits a character, +45), or every chunk of the deprecated
   chunked form ``shc:/i/n/...`` joined by line breaks
                                    → ``SHC_NUMERIC_INVALID``, ``SHC_CHUNK_MISSING`` (numeric)
2. compact JWS (canonical base64url); header a JSON object of valid Unicode, not nested past
   the decoder's limit: ``alg`` ES256, ``zip`` DEF, ``kid``
                                    → ``JWS_MALFORMED``, ``ALG_UNSUPPORTED``, ``KID_MISSING`` (jws)
3. signature with the issuer key of that kid (kid = RFC 7638 thumbprint, checked at load)
                                    → ``KEY_NOT_IN_TRUST_LIST``, ``SIGNATURE_INVALID`` (signature)
4. raw DEFLATE payload, JSON        → ``DECOMPRESS_FAILED`` (decompress), ``JWS_MALFORMED`` (jws)
5. claims: ``iss`` is the key's issuer, ``nbf``/``exp`` on the clock
                                    → ``SHC_ISSUER_MISMATCH``, ``CWT_EXPIRED``,
                                      ``CWT_NOT_YET_VALID``, ``CWT_MALFORMED`` (claims);
   then, when the checkpoint holds trust anchors, the key's ``x5c`` chain: leaf names ``iss``,
   valid now, leads to an anchor   → ``SHC_X5C_INVALID`` (signature)
6. the verifiable credential and its FHIR bundle, each field read with its FHIR type
                                    → ``SCHEMA_INVALID`` (schema)
7. revocation by ``rid`` (``rid`` or ``rid.timestamp``) → ``REVOKED`` (revocation)

Any other exception inside a stage fails the card with ``STAGE_FAULT`` at that stage: a trusted
issuer's malformed card is refused like any other.

>>> encode_numeric("eyJ")
'shc:/567629'
>>> decode_numeric("shc:/567629")
'eyJ'
"""

from __future__ import annotations

from healthcode.core.verify.shc.fhir import facts_of
from healthcode.core.verify.shc.jws import (
    MAX_CHUNKS,
    PREFIX,
    Jws,
    decode_jws,
    decode_numeric,
    encode_numeric,
    parse_json_object,
)
from healthcode.core.verify.shc.stages import (
    FORMAT,
    ShcFormat,
    ShcParts,
    ShcSettings,
    inflate_raw,
    verify_es256,
)
from healthcode.core.verify.shc.trust import ShcTrust, jwk_thumbprint

__all__ = [
    "FORMAT",
    "MAX_CHUNKS",
    "PREFIX",
    "Jws",
    "ShcFormat",
    "ShcParts",
    "ShcSettings",
    "ShcTrust",
    "decode_jws",
    "decode_numeric",
    "encode_numeric",
    "facts_of",
    "inflate_raw",
    "jwk_thumbprint",
    "parse_json_object",
    "verify_es256",
]
