"""Credential codecs: Base45 (RFC 9285), COSE_Sign1 (RFC 9052) and CWT claims (RFC 8392)."""
