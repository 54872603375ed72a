"""core/trust/envelope.py: the one signed envelope and each refusal's stable code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cbor2
import pytest

from healthcode.core.clock import FixedClock
from healthcode.core.codes.cose import sign1_encode
from healthcode.core.errors import TrustError
from healthcode.core.trust.certs import KeyPair, kid_of, make_root
from healthcode.core.trust.envelope import Held, open_envelope, peek, seal

T = datetime(2022, 11, 20, tzinfo=UTC)
DAY = timedelta(days=1)


def _seal(root: KeyPair, content: bytes = b'{"a":1}', sequence: int = 5) -> bytes:
    return seal(
        content, kind="trust-list", sequence=sequence, not_before=T, expires=T + DAY, root=root
    )


def _open(
    raw: bytes,
    root: KeyPair,
    *,
    at: datetime = T,
    held: Held | None = None,
    staleness: timedelta = timedelta(0),
) -> object:
    return open_envelope(
        raw,
        root_cert=root.certificate,
        kind="trust-list",
        clock=FixedClock(at),
        held=held,
        max_staleness=staleness,
    )


def _code(raw: bytes, root: KeyPair, **kw: object) -> str:
    with pytest.raises(TrustError) as err:
        _open(raw, root, **kw)  # type: ignore[arg-type]
    return err.value.code


def test_round_trip(root: KeyPair) -> None:
    doc = open_envelope(
        _seal(root),
        root_cert=root.certificate,
        kind="trust-list",
        clock=FixedClock(T + timedelta(hours=1)),
    )
    assert (doc.content, doc.sequence, doc.stale_by, doc.is_stale) == (
        b'{"a":1}',
        5,
        timedelta(0),
        False,
    )
    assert doc.expires == T + DAY


def test_signed_by_another_root_is_refused(root: KeyPair) -> None:
    other = make_root(now=T - DAY)
    assert _code(_seal(other), root) == "ENVELOPE_SIGNATURE_INVALID"


def _resign(root: KeyPair, body: dict[str, object]) -> bytes:
    return sign1_encode(
        cbor2.dumps(body), private_key=root.private_key, kid=kid_of(root.certificate)
    )


def _body(root: KeyPair) -> dict[str, object]:
    return dict(peek(_seal(root)))


def test_digest_mismatch(root: KeyPair) -> None:
    body = _body(root)
    body.pop("kid")
    body["content"] = b'{"a":2}'
    assert _code(_resign(root, body), root) == "ENVELOPE_DIGEST_MISMATCH"


def test_unknown_version(root: KeyPair) -> None:
    body = _body(root)
    body.pop("kid")
    body["v"] = 2
    assert _code(_resign(root, body), root) == "ENVELOPE_VERSION_UNKNOWN"


def test_wrong_kind(root: KeyPair) -> None:
    raw = seal(b"x", kind="rule-set", sequence=1, not_before=T, expires=T + DAY, root=root)
    assert _code(raw, root) == "ENVELOPE_KIND"


def test_not_yet_valid_with_bounded_skew(root: KeyPair) -> None:
    assert _code(_seal(root), root, at=T - timedelta(minutes=6)) == "ENVELOPE_NOT_YET_VALID"
    _open(_seal(root), root, at=T - timedelta(minutes=4))


def test_rollback_is_refused(root: KeyPair) -> None:
    newer = _open(_seal(root, sequence=7), root)
    assert _code(_seal(root, sequence=6), root, held=newer.held) == "ENVELOPE_ROLLBACK"  # type: ignore[attr-defined]


def test_same_sequence_other_content_is_a_rollback(root: KeyPair) -> None:
    held = _open(_seal(root, b"one", 7), root).held  # type: ignore[attr-defined]
    assert _code(_seal(root, b"two", 7), root, held=held) == "ENVELOPE_ROLLBACK"
    _open(_seal(root, b"one", 7), root, held=held)  # the same document again is fine
    _open(_seal(root, b"three", 8), root, held=held)


def test_staleness_tolerance_and_report(root: KeyPair) -> None:
    late = T + DAY + timedelta(hours=3)
    assert _code(_seal(root), root, at=late) == "ENVELOPE_EXPIRED"
    doc = _open(_seal(root), root, at=late, staleness=timedelta(hours=4))
    assert doc.stale_by == timedelta(hours=3) and doc.is_stale  # type: ignore[attr-defined]


@pytest.mark.parametrize("raw", [b"", b"\x00", cbor2.dumps([1, 2, 3]), cbor2.dumps({"v": 1})])
def test_garbage_is_malformed(root: KeyPair, raw: bytes) -> None:
    assert _code(raw, root) == "ENVELOPE_MALFORMED"


def test_payload_not_a_map_is_malformed(root: KeyPair) -> None:
    raw = sign1_encode(cbor2.dumps([1]), private_key=root.private_key, kid=b"12345678")
    assert _code(raw, root) == "ENVELOPE_MALFORMED"


def test_missing_field_is_malformed(root: KeyPair) -> None:
    body = _body(root)
    body.pop("kid")
    body.pop("seq")
    assert _code(_resign(root, body), root) == "ENVELOPE_MALFORMED"


def test_seal_refuses_nonsense(root: KeyPair) -> None:
    with pytest.raises(ValueError):
        seal(b"x", kind="other", sequence=1, not_before=T, expires=T + DAY, root=root)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        seal(b"x", kind="rule-set", sequence=1, not_before=T, expires=T, root=root)
