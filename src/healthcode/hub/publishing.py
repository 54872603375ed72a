"""Signed publishing: the national rule set, the value sets, the risk areas and the trust list, each
in the one envelope of ``core/trust/envelope.py`` signed by the network's root.

Documents are sealed on demand: ``latest(kind)`` builds the document's current content; if it
differs from the last published one, or the last one has lived half its validity, a new envelope
is sealed with the next sequence number of that kind and stored in ``published_documents`` (the
primary key (kind, seq) makes two hub processes agree: one wins, the other serves the winner's).
So a new risk-area designation bumps the ``risk-areas`` sequence at the next request, and a
checkpoint holding sequence N refuses anything older (``ENVELOPE_ROLLBACK``).

Contents (canonical JSON, sorted keys): ``rule-set`` the national baseline document
(``core/rules``); ``value-set`` ``hub.fhir.value_sets()``; ``risk-areas`` the designations not
lifted and not ended (``{"format": "healthcode-risk-areas/1", "areas": [...]}``); ``trust-list``
the network's trust list (``core/trust/network.py``) naming the digests of the current rule set
and value sets. Trust-list sequences continue after the last one the CLI published
(``published/trust-list.cose`` in the network home): the hub then takes over publishing.

The root key comes from the network home (``HEALTHCODE_HOME``, passphrase
``HEALTHCODE_KEY_PASSPHRASE``); a hub without one publishes nothing (``NOT_PUBLISHED``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput, TrustError
from healthcode.core.rules.ruleset import baseline_path, canonical_json, load_document
from healthcode.core.trust.envelope import KINDS, DocumentKind, peek, seal
from healthcode.core.trust.network import Network
from healthcode.core.trust.trustlist import TrustList
from healthcode.hub import fhir
from healthcode.hub.access import require
from healthcode.hub.orgs import Principal
from healthcode.hub.risk_areas import RiskAreaService
from healthcode.store.db import Database
from healthcode.store.models import AuditEvent, PublishedDocument

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
    _network: Network | None = field(default=None, init=False)

    def network(self) -> Network:
        """Raises InvalidInput NOT_PUBLISHED when no network home is configured or found."""
        if self._network is None:
            if not self.network_home:
                raise InvalidInput(
                    ErrorCode.NOT_PUBLISHED,
                    "this hub publishes no documents (HEALTHCODE_HOME is unset)",
                )
            try:
                self._network = Network.open(self.network_home, passphrase=self.passphrase)
            except TrustError as exc:
                raise InvalidInput(ErrorCode.NOT_PUBLISHED, exc.message) from exc
        return self._network

    # -- contents -------------------------------------------------------------------------------
    def content(self, kind: str, *, at: datetime) -> bytes:
        builders: dict[str, Callable[[datetime], bytes]] = {
            "rule-set": lambda _: canonical_json(load_document(baseline_path())),
            "value-set": lambda _: canonical_json(fhir.value_sets()),
            "risk-areas": self._risk_areas,
            "trust-list": self._trust_list,
        }
        return builders[kind](at)

    def _risk_areas(self, at: datetime) -> bytes:
        areas = [
            {k: v for k, v in a.items() if k not in ("updated_at", "cancelled_at")}
            for a in self.risk_areas.current()
        ]
        return canonical_json({"format": "healthcode-risk-areas/1", "areas": areas})

    def _trust_list(self, at: datetime) -> bytes:
        listed = self.network().trust_list(at=at)
        digest = {
            k: hashlib.sha256(self.content(k, at=at)).hexdigest() for k in ("rule-set", "value-set")
        }
        return TrustList(
            signers=listed.signers,
            revoked_signers=listed.revoked_signers,
            revoked_serials=listed.revoked_serials,
            rule_sets={**listed.rule_sets, RULE_SET_NAME: digest["rule-set"]},
            value_sets={**listed.value_sets, VALUE_SET_NAME: digest["value-set"]},
        ).to_content()

    def _floor(self, kind: str) -> int:
        """Sequences already used outside the hub (the CLI's ``trust publish``)."""
        if kind != "trust-list":
            return 0
        path = Path(self.network().home) / "published" / "trust-list.cose"
        if not path.exists():
            return 0
        return int(peek(path.read_bytes())["seq"])

    # -- publishing -----------------------------------------------------------------------------
    def read(self, principal: Principal, kind: str) -> PublishedDocument:
        """:meth:`latest`, for a caller allowed to read published documents.

        Raises AccessDenied KIND_NOT_ALLOWED; what :meth:`latest` raises.
        """
        require(principal, "published:read")
        return self.latest(kind)

    def latest(self, kind: str) -> PublishedDocument:
        """The current signed document of ``kind``, sealing a new one when needed.

        Raises InvalidInput DOCUMENT_KIND_UNKNOWN, NOT_PUBLISHED.
        """
        if kind not in KINDS:
            raise InvalidInput(
                ErrorCode.DOCUMENT_KIND_UNKNOWN, f"no document kind {kind!r}", field="kind"
            )
        network = self.network()
        for _ in range(3):
            now = self.clock.now()
            content = self.content(kind, at=now)
            digest = hashlib.sha256(content).hexdigest()
            held = self._last(kind)
            if (
                held is not None
                and held.content_digest == digest
                and now < held.not_before + self.validity / 2
            ):
                return held
            seq = max(held.seq if held is not None else 0, self._floor(kind)) + 1
            envelope = seal(
                content,
                kind=_kind(kind),
                sequence=seq,
                not_before=now,
                expires=now + self.validity,
                root=network.root,
            )
            row = PublishedDocument(
                kind=kind,
                seq=seq,
                content_digest=digest,
                envelope=envelope,
                not_before=now,
                expires=now + self.validity,
                created_at=now,
            )
            try:
                with self.db.write() as s:
                    s.add(row)
                    s.add(
                        AuditEvent(
                            at=now,
                            org_id=None,
                            action="document.publish",
                            target=f"{kind}:{seq}",
                            details={"kind": kind, "seq": seq, "digest": digest},
                        )
                    )
                return row
            except IntegrityError:
                continue  # another process published this sequence first: look again
        raise InvalidInput(
            ErrorCode.PUBLISH_CONFLICT, f"could not publish {kind}: too many writers"
        )

    def _last(self, kind: str) -> PublishedDocument | None:
        with self.db.read() as s:
            row = s.execute(
                select(PublishedDocument)
                .where(PublishedDocument.kind == kind)
                .order_by(PublishedDocument.seq.desc())
                .limit(1)
            ).scalar_one_or_none()
            if row is not None:
                s.expunge(row)
            return row


def _kind(kind: str) -> DocumentKind:
    assert kind in KINDS
    return kind  # type: ignore[return-value]
