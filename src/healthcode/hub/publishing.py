"""Signed publishing: the national rule set, the value sets, the risk areas and the trust list, each
in the one envelope of ``core/trust/envelope.py``.

Documents are sealed on demand: ``latest(kind)`` builds the document's current content; if it
differs from the last published one, or the last one has lived half its validity, a new envelope
is sealed with the next sequence number of that kind. Sealing happens inside one transaction of
the trust state (``store/trust_state.py``): the state row is locked, the trust list is built from
the state as it is at that moment, the sequence is drawn and the document stored before the
commit. So every hub process and the CLI (``healthcode trust publish``, with the hub's
``HEALTHCODE_DATABASE_URL``) share one counter per kind, no sequence carries two documents, and a
revocation committed anywhere is in every trust list published after it, without a restart.
A checkpoint holding sequence N refuses anything older (``ENVELOPE_ROLLBACK``).

Contents (canonical JSON, sorted keys): ``rule-set`` the national baseline document
(``core/rules``); ``value-set`` ``hub.fhir.value_sets()``; ``risk-areas`` the designations not
lifted and not ended (``{"format": "healthcode-risk-areas/1", "areas": [...]}``); ``trust-list``
the network's trust list (``core/trust/network.py``) naming the digests of the current rule set
and value sets.

Documents are sealed by the active publisher of the trust state, whose private key is read from
``HEALTHCODE_HOME/publishers/`` (passphrase ``HEALTHCODE_KEY_PASSPHRASE``): the hub holds no
root key. A hub without one, or whose database holds no trust state, publishes nothing
(``NOT_PUBLISHED``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput, TrustError
from healthcode.core.rules.ruleset import baseline_path, canonical_json, load_document
from healthcode.core.trust.certs import KeyPair
from healthcode.core.trust.envelope import KINDS, DocumentKind, peek
from healthcode.core.trust.network import load_publisher
from healthcode.core.trust.state import (
    Draft,
    Published,
    TrustStateDoc,
    active_kid,
    draft_of,
    revoked_publishers_of,
    trust_list_of,
)
from healthcode.core.trust.trustlist import TrustList
from healthcode.hub import fhir
from healthcode.hub.access import require
from healthcode.hub.orgs import Principal
from healthcode.hub.risk_areas import RiskAreaService
from healthcode.store.db import Database
from healthcode.store.trust_state import SqlStateStore

__all__ = ["DEFAULT_VALIDITY", "MEDIA_TYPE", "PublishingService"]

#: How long a published document is valid; it is re-sealed after half of it.
DEFAULT_VALIDITY = timedelta(days=1)
#: RFC 9052 media type of a COSE_Sign1 message.
MEDIA_TYPE = 'application/cose; cose-type="cose-sign1"'
RULE_SET_NAME = "national-baseline"
VALUE_SET_NAME = "hub"


@dataclass(kw_only=True, eq=False)
class PublishingService:
    db: Database
    clock: Clock
    risk_areas: RiskAreaService
    network_home: str
    passphrase: bytes | None
    validity: timedelta = DEFAULT_VALIDITY
    _keys: dict[str, KeyPair] = field(default_factory=dict, init=False)

    def _store(self) -> SqlStateStore:
        return SqlStateStore(self.db, clock=self.clock)

    def _publisher(self, state: TrustStateDoc, at: datetime) -> KeyPair:
        """The active publisher's key, read from the key home once per publisher: the hub
        holds publishing keys only, never the root's.

        Raises InvalidInput NOT_PUBLISHED when there is no key home or no usable key in it.
        """
        if not self.network_home:
            raise InvalidInput(
                ErrorCode.NOT_PUBLISHED,
                "this hub publishes no documents (HEALTHCODE_HOME is unset)",
            )
        try:
            kid_hex = active_kid(state, "publishers", at=at)
            if kid_hex not in self._keys:
                home = Path(self.network_home)
                self._keys[kid_hex] = load_publisher(home, state, at=at, passphrase=self.passphrase)
        except TrustError as exc:
            raise InvalidInput(ErrorCode.NOT_PUBLISHED, f"no publishing key: {exc}") from exc
        return self._keys[kid_hex]

    def publisher_now(self, now: datetime) -> tuple[KeyPair, frozenset[str]]:
        """The active publisher's key and the serials (hex) the trust state revokes now: what
        a Status List Token is signed with and marks INVALID (``hub/status_lists.py``).

        Raises InvalidInput NOT_PUBLISHED.
        """
        state = self._store().load()
        if state is None:
            raise InvalidInput(
                ErrorCode.NOT_PUBLISHED, "this hub's database holds no trust network (keys init)"
            )
        revoked = frozenset(s.hex() for s in trust_list_of(state, at=now).revoked_serials)
        return self._publisher(state, now), revoked

    # -- contents -------------------------------------------------------------------------------
    def content(self, kind: str, *, state: TrustStateDoc, at: datetime) -> bytes:
        """The current content of ``kind``; the trust list is built from ``state``."""
        if kind == "rule-set":
            return canonical_json(load_document(baseline_path()))
        if kind == "value-set":
            return canonical_json(fhir.value_sets())
        if kind == "risk-areas":
            return self._risk_areas()
        return self._trust_list(state, at)

    def _risk_areas(self) -> bytes:
        areas = [
            {k: v for k, v in a.items() if k not in ("updated_at", "cancelled_at")}
            for a in self.risk_areas.current()
        ]
        return canonical_json({"format": "healthcode-risk-areas/1", "areas": areas})

    def _trust_list(self, state: TrustStateDoc, at: datetime) -> bytes:
        listed = trust_list_of(state, at=at)
        digest = {
            k: hashlib.sha256(self.content(k, state=state, at=at)).hexdigest()
            for k in ("rule-set", "value-set")
        }
        return TrustList(
            signers=listed.signers,
            revoked_signers=listed.revoked_signers,
            revoked_serials=listed.revoked_serials,
            rule_sets={**listed.rule_sets, RULE_SET_NAME: digest["rule-set"]},
            value_sets={**listed.value_sets, VALUE_SET_NAME: digest["value-set"]},
        ).to_content()

    # -- publishing -----------------------------------------------------------------------------
    def read(self, principal: Principal, kind: str) -> Published:
        """:meth:`latest`, for a caller allowed to read published documents.

        Raises AccessDenied KIND_NOT_ALLOWED; what :meth:`latest` raises.
        """
        require(principal, "published:read")
        return self.latest(kind)

    def _fresh(
        self, held: Published | None, digest: str, state: TrustStateDoc, now: datetime
    ) -> bool:
        """Whether ``held`` can be served again: the same content, less than half its validity
        old, sealed by the active publisher naming the publishers revoked now."""
        if held is None or held.digest != digest or now >= held.not_before + self.validity / 2:
            return False
        sealed = peek(held.envelope)
        try:
            active = active_kid(state, "publishers", at=now)
        except TrustError:
            return True  # nobody can seal a new one: serve the last while it lasts
        revoked = revoked_publishers_of(state, at=now)
        return bool(sealed["kid"] == bytes.fromhex(active) and set(sealed["revoked"]) == revoked)

    def latest(self, kind: str) -> Published:
        """The current signed document of ``kind``, sealing a new one when needed.

        Raises InvalidInput DOCUMENT_KIND_UNKNOWN, NOT_PUBLISHED.
        """
        if kind not in KINDS:
            raise InvalidInput(
                ErrorCode.DOCUMENT_KIND_UNKNOWN, f"no document kind {kind!r}", field="kind"
            )
        store = self._store()
        state = store.load()
        if state is None:
            raise InvalidInput(
                ErrorCode.NOT_PUBLISHED, "this hub's database holds no trust network (keys init)"
            )
        now = self.clock.now()
        content = self.content(kind, state=state, at=now)
        held = store.last(kind)
        if self._fresh(held, hashlib.sha256(content).hexdigest(), state, now):
            assert held is not None
            return held  # served without a lock: nothing changed since it was sealed

        def draft(locked: TrustStateDoc, last: Published | None) -> Draft | None:
            # the trust list comes from the state as it is under the lock, never from a copy
            body = self.content(kind, state=locked, at=now) if kind == "trust-list" else content
            digest = hashlib.sha256(body).hexdigest()
            if self._fresh(last, digest, locked, now):
                return None  # another process sealed the same content meanwhile
            publisher = self._publisher(locked, now)
            return draft_of(
                locked, publisher, kind=_kind(kind), content=body, now=now, validity=self.validity
            )

        try:
            return store.publish(kind, draft)
        except TrustError as exc:  # the state went away between the two reads
            raise InvalidInput(ErrorCode.NOT_PUBLISHED, exc.message) from exc


def _kind(kind: str) -> DocumentKind:
    assert kind in KINDS
    return kind  # type: ignore[return-value]
