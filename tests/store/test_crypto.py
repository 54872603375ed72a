from __future__ import annotations

import pytest

from healthcode.core.errors import TrustError
from healthcode.store.crypto import FieldCipher


def test_round_trip_and_fresh_nonce() -> None:
    c = FieldCipher(key=b"\x07" * 32)
    a = c.encrypt("110105194912310029", context="identities.id_number_enc|p")
    b = c.encrypt("110105194912310029", context="identities.id_number_enc|p")
    assert a != b
    assert b"110105" not in a
    assert c.decrypt(a, context="identities.id_number_enc|p") == "110105194912310029"


def test_wrong_context_or_key_fails_with_stable_code() -> None:
    c = FieldCipher(key=b"\x07" * 32)
    blob = c.encrypt("张三", context="identities.name_enc|p1")
    with pytest.raises(TrustError) as e:
        c.decrypt(blob, context="identities.name_enc|p2")
    assert e.value.code == "FIELD_DECRYPT_FAILED"
    with pytest.raises(TrustError):
        FieldCipher(key=b"\x08" * 32).decrypt(blob, context="identities.name_enc|p1")
    with pytest.raises(TrustError):
        c.decrypt(b"\x02" + blob[1:], context="identities.name_enc|p1")


def test_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        FieldCipher(key=b"short")


def test_encrypt_many_is_encrypt_of_each_with_fresh_nonces() -> None:
    c = FieldCipher(key=bytes(range(32)))
    fields = [("张三", "identities.name|p1"), ("13812345678", "identities.phone|p1"), ("", "x")]
    blobs = c.encrypt_many(fields)
    assert [c.decrypt(b, context=ctx) for b, (_, ctx) in zip(blobs, fields, strict=True)] == [
        text for text, _ in fields
    ]
    assert len({b[1:13] for b in blobs}) == len(blobs)  # a nonce each
    assert c.encrypt_many([]) == []
