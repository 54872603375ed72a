"""A SMART Health Card issuer of our own for the verifier tests, to sign what we please.

The specification's example issuer publishes only its public keys, so cards with a malformed
payload from a *trusted* issuer (the stages after the signature) need an issuer whose key we
hold: :class:`ShcIssuer` signs any payload as a compact JWS and gives its numeric ``shc:/`` form.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from healthcode.core.verify.shc import ShcTrust, encode_numeric, jwk_thumbprint

ISSUER = "https://issuer.example/shc"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class ShcIssuer:
    """An issuer with a P-256 key: its JWKS is trusted by ``trust``."""

    key: ec.EllipticCurvePrivateKey
    kid: str
    trust: ShcTrust
    example: dict[str, Any]  # example 00's payload, issued by this issuer

    def sign(self, payload: bytes, header: dict[str, Any] | None = None) -> str:
        """The compact JWS of ``payload`` (JSON bytes), raw-DEFLATEd and signed."""
        header = header or {"alg": "ES256", "zip": "DEF", "kid": self.kid}
        deflate = zlib.compressobj(wbits=-15)
        body = deflate.compress(payload) + deflate.flush()
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(body)}"
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def card(self, payload: Any) -> str:
        """The numeric ``shc:/`` text of a card carrying ``payload`` (JSON bytes or a value)."""
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        return encode_numeric(self.sign(raw))


def make_issuer(example_payload: dict[str, Any]) -> ShcIssuer:
    """A new issuer with a fresh P-256 key; ``example_payload`` re-issued under its name."""
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
        "use": "sig",
        "alg": "ES256",
    }
    jwk["kid"] = jwk_thumbprint(jwk)
    trust = ShcTrust()
    trust.add_jwks({"keys": [jwk]}, issuer=ISSUER)
    return ShcIssuer(
        key=key, kid=jwk["kid"], trust=trust, example={**example_payload, "iss": ISSUER}
    )
