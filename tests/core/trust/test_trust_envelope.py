"""core/trust/envelope.py: the one signed envelope and each refusal's stable code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization

from healthcode.core.clock import FixedClock
from healthcode.core.codes.cose import sign1_encode
from healthcode.core.errors import TrustError
from healthcode.core.trust.certs import KeyPair, kid_of, make_publisher, make_root
from healthcode.core.trust.envelope import Held, open_envelope, peek, seal

T = datetime(2022, 11, 20, tzinfo=UTC)
DAY = timedelta(days=1)


def _seal(
    publisher: KeyPair,
    content: bytes = b'{"a":1}',
    sequence: int = 5,
    revoked: frozenset[bytes] = frozenset(),
) -> bytes:
    return seal(
        content,
        kind="trust-list",
        sequence=sequence,
        not_before=T,
        expires=T + DAY,
        publisher=publisher,
        revoked_publishers=revoked,
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


def test_round_trip(root: KeyPair, publisher: KeyPair) -> None:
    doc = open_envelope(
        _seal(publisher),
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


def test_certified_by_another_root_is_refused(root: KeyPair) -> None:
    other = make_root(now=T - DAY)
    assert (
        _code(_seal(make_publisher(root=other, not_before=T - DAY, not_after=T + 2 * DAY)), root)
        == "ENVELOPE_PUBLISHER_INVALID"
    )


def _resign(signer: KeyPair, body: dict[str, object]) -> bytes:
    return sign1_encode(
        cbor2.dumps(body), private_key=signer.private_key, kid=kid_of(signer.certificate)
    )


def _body(publisher: KeyPair) -> dict[str, object]:
    return dict(peek(_seal(publisher)))


def test_digest_mismatch(root: KeyPair, publisher: KeyPair) -> None:
    body = _body(publisher)
    body.pop("kid")
    body["content"] = b'{"a":2}'
    assert _code(_resign(publisher, body), root) == "ENVELOPE_DIGEST_MISMATCH"


@pytest.mark.parametrize("version", [1, 3])
def test_unknown_version(root: KeyPair, publisher: KeyPair, version: int) -> None:
    body = _body(publisher)
    body.pop("kid")
    body["v"] = version  # 1: signed by the root itself, which no longer signs documents
    assert _code(_resign(publisher, body), root) == "ENVELOPE_VERSION_UNKNOWN"


def test_wrong_kind(root: KeyPair, publisher: KeyPair) -> None:
    raw = seal(
        b"x", kind="rule-set", sequence=1, not_before=T, expires=T + DAY, publisher=publisher
    )
    assert _code(raw, root) == "ENVELOPE_KIND"


def test_not_yet_valid_with_bounded_skew(root: KeyPair, publisher: KeyPair) -> None:
    assert _code(_seal(publisher), root, at=T - timedelta(minutes=6)) == "ENVELOPE_NOT_YET_VALID"
    _open(_seal(publisher), root, at=T - timedelta(minutes=4))


def test_rollback_is_refused(root: KeyPair, publisher: KeyPair) -> None:
    newer = _open(_seal(publisher, sequence=7), root)
    assert _code(_seal(publisher, sequence=6), root, held=newer.held) == "ENVELOPE_ROLLBACK"  # type: ignore[attr-defined]


def test_same_sequence_other_content_is_a_rollback(root: KeyPair, publisher: KeyPair) -> None:
    held = _open(_seal(publisher, b"one", 7), root).held  # type: ignore[attr-defined]
    assert _code(_seal(publisher, b"two", 7), root, held=held) == "ENVELOPE_ROLLBACK"
    _open(_seal(publisher, b"one", 7), root, held=held)  # the same document again is fine
    _open(_seal(publisher, b"three", 8), root, held=held)


def test_staleness_tolerance_and_report(root: KeyPair, publisher: KeyPair) -> None:
    late = T + DAY + timedelta(hours=3)
    assert _code(_seal(publisher), root, at=late) == "ENVELOPE_EXPIRED"
    doc = _open(_seal(publisher), root, at=late, staleness=timedelta(hours=4))
    assert doc.stale_by == timedelta(hours=3) and doc.is_stale  # type: ignore[attr-defined]


@pytest.mark.parametrize("raw", [b"", b"\x00", cbor2.dumps([1, 2, 3]), cbor2.dumps({"v": 1})])
def test_garbage_is_malformed(root: KeyPair, raw: bytes) -> None:
    assert _code(raw, root) == "ENVELOPE_MALFORMED"


def test_payload_not_a_map_is_malformed(root: KeyPair) -> None:
    raw = sign1_encode(cbor2.dumps([1]), private_key=root.private_key, kid=b"12345678")
    assert _code(raw, root) == "ENVELOPE_MALFORMED"


def test_missing_field_is_malformed(root: KeyPair, publisher: KeyPair) -> None:
    body = _body(publisher)
    body.pop("kid")
    body.pop("seq")
    assert _code(_resign(publisher, body), root) == "ENVELOPE_MALFORMED"


def test_seal_refuses_nonsense(publisher: KeyPair) -> None:
    with pytest.raises(ValueError):
        seal(b"x", kind="other", sequence=1, not_before=T, expires=T + DAY, publisher=publisher)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        seal(b"x", kind="rule-set", sequence=1, not_before=T, expires=T, publisher=publisher)
    with pytest.raises(ValueError):  # a document never outlives its publisher
        late = publisher.certificate.not_valid_after_utc
        seal(
            b"x", kind="rule-set", sequence=1, not_before=T, expires=late + DAY, publisher=publisher
        )


# -- the publisher: certified by the root for publishing, not revoked (issue 9, class 2) ------


def _forged(root: KeyPair, key_holder: KeyPair, cert_of: KeyPair) -> bytes:
    """A well-formed envelope signed by ``key_holder`` naming ``cert_of``'s certificate."""
    body = dict(peek(_seal(cert_of)))
    body.pop("kid")
    return _resign(key_holder, body)


def test_the_root_signing_a_document_is_refused(root: KeyPair) -> None:
    # the root as its own publisher: it has no publisher EKU (and signs nothing in daily work)
    assert _code(_forged(root, root, root), root) == "ENVELOPE_PUBLISHER_INVALID"


def test_a_province_signer_cannot_publish(root: KeyPair, gd: KeyPair) -> None:
    assert _code(_forged(root, gd, gd), root) == "ENVELOPE_PUBLISHER_INVALID"


def test_another_key_under_the_publisher_certificate_is_refused(
    root: KeyPair, publisher: KeyPair, gd: KeyPair
) -> None:
    body = dict(peek(_seal(publisher)))
    body.pop("kid")
    raw = sign1_encode(cbor2.dumps(body), private_key=gd.private_key, kid=publisher.kid)
    assert _code(raw, root) == "ENVELOPE_SIGNATURE_INVALID"


def test_a_document_outliving_its_publisher_is_refused(root: KeyPair, publisher: KeyPair) -> None:
    body = dict(peek(_seal(publisher)))
    body.pop("kid")
    body["exp"] = int((publisher.certificate.not_valid_after_utc + DAY).timestamp())
    assert _code(_resign(publisher, body), root) == "ENVELOPE_PUBLISHER_INVALID"
    short = make_publisher(root=root, not_before=T - 2 * DAY, not_after=T - DAY)
    body = dict(peek(_seal(publisher)))  # and one signed after its publisher expired
    body.pop("kid")
    body["publisher"] = short.certificate.public_bytes(serialization.Encoding.DER)
    assert _code(_resign(short, body), root) == "ENVELOPE_PUBLISHER_INVALID"


def test_a_stolen_revoked_publisher_cannot_move_a_checkpoint_forward(
    root: KeyPair, publisher: KeyPair
) -> None:
    successor = make_publisher(root=root, not_before=T - DAY, not_after=T + 30 * DAY)
    first = _open(_seal(publisher, b"one", 7), root)
    # the network revokes the stolen key; the next document, by the successor, names it
    revoking = _seal(successor, b"two", 8, revoked=frozenset({publisher.kid}))
    held = _open(revoking, root, held=first.held).held  # type: ignore[attr-defined]
    assert publisher.kid in held.revoked_publishers
    for sequence in (9, 10_000):  # the thief signs "newer" documents without its revocation
        stolen = _seal(publisher, b"forged", sequence)
        assert _code(stolen, root, held=held) == "ENVELOPE_PUBLISHER_REVOKED"
    after = _open(_seal(successor, b"three", 9, frozenset()), root, held=held)
    assert publisher.kid in after.held.revoked_publishers  # type: ignore[attr-defined]
    assert _code(_seal(publisher, b"x", 11), root, held=after.held) == (  # type: ignore[attr-defined]
        "ENVELOPE_PUBLISHER_REVOKED"
    )


def test_a_document_naming_its_own_publisher_revoked_is_refused(
    root: KeyPair, publisher: KeyPair
) -> None:
    raw = _seal(publisher, revoked=frozenset({publisher.kid}))
    assert _code(raw, root) == "ENVELOPE_PUBLISHER_REVOKED"


def test_a_document_larger_than_a_code_opens() -> None:
    # regression: envelopes were decoded with a code's 64 KiB COSE bound, so a trust list of a
    # large network (many signers, many revoked serials) would not open anywhere
    from datetime import UTC, datetime, timedelta

    from healthcode.core.clock import FixedClock
    from healthcode.core.trust.certs import make_publisher, make_root
    from healthcode.core.trust.envelope import open_envelope, seal

    t = datetime(2022, 11, 20, tzinfo=UTC)
    root = make_root(now=t)
    publisher = make_publisher(root=root, not_before=t, not_after=t + timedelta(days=30))
    content = b"[" + b'"x",' * 50_000 + b'"x"]'
    raw = seal(
        content,
        kind="trust-list",
        sequence=1,
        not_before=t,
        expires=t + timedelta(days=1),
        publisher=publisher,
    )
    assert len(raw) > 64 * 1024
    doc = open_envelope(raw, root_cert=root.certificate, kind="trust-list", clock=FixedClock(t))
    assert doc.content == content
