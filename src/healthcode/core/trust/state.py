"""The one source of truth of a network's trust state, as core sees it: a protocol.

The trust state is one JSON document: the provinces, every signer and publisher with its
certificate (PEM), creation, retirement and revocation, the revoked serials, and the rule-set
and value-set digests the trust list names. Every publisher (``healthcode trust publish``, any
number of hub processes) reads it at the moment it publishes, inside the transaction that draws
the next sequence number of the document's kind and stores the document:

- ``update(change)`` runs ``change`` on the current state under the store's lock and commits the
  changed state atomically (all of the change or none of it);
- ``publish(kind, draft)`` runs ``draft`` on the current state and the last published document
  of that kind under the same lock; the document it seals carries the next sequence number and
  is stored in the same transaction, so a sequence is never used twice and a change committed
  before the publication is always in it.

The store lives outside core (``store/trust_state.py``: a row of the hub's database); core
only holds the protocol and the values that cross it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

__all__ = ["Draft", "Published", "StateStore", "TrustStateDoc"]

#: The state document (JSON types only): see the module docstring.
TrustStateDoc = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Published:
    """A signed document as stored: its kind, sequence, content digest (hex) and envelope."""

    kind: str
    seq: int
    digest: str
    envelope: bytes
    not_before: datetime
    expires: datetime


@dataclass(frozen=True, slots=True)
class Draft:
    """A document ready to seal: ``seal(sequence)`` returns the envelope with that sequence."""

    digest: str
    not_before: datetime
    expires: datetime
    seal: Callable[[int], bytes]


class StateStore(Protocol):
    """Where the trust state and the published documents live (one transaction each call)."""

    def load(self) -> TrustStateDoc | None:
        """The current state, or None when no network was created in this store."""

    def create(self, state: TrustStateDoc) -> None:
        """Store the first state. Raises TrustError ``NETWORK_EXISTS`` when there is one."""

    def update(self, change: Callable[[TrustStateDoc], T]) -> T:
        """Apply ``change`` (it mutates the state it is given) and commit; return its result.

        Raises TrustError ``NETWORK_MISSING``; what ``change`` raises (nothing is committed).
        """

    def last(self, kind: str) -> Published | None:
        """The newest published document of ``kind``."""

    def publish(
        self, kind: str, draft: Callable[[TrustStateDoc, Published | None], Draft | None]
    ) -> Published:
        """Seal and store the next document of ``kind``, or keep the last one when ``draft``
        returns None. Raises TrustError ``NETWORK_MISSING``; what ``draft`` raises."""
