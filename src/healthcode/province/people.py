"""Applications: a person applies for the province's code, and is registered with the hub.

An application names the ID (type, number, nationality for a foreign passport), the name, the
phone and the region of residence, which must lie inside the province unless the ``reason`` is
``stay`` or ``work`` (someone living elsewhere, staying or working here). The ID is checked by
``core.identity`` as the hub checks it. The province asks the hub to register the person
(``POST /v1/registrations``, with that reason: ``residence`` by default) and gets their
pseudonym back; only then does
it store the person, in one transaction with their first evaluation and status report. If the
hub cannot be reached the application is refused (``HUB_UNREACHABLE``) and nothing is stored:
the applicant tries again (the hub's registration is idempotent, so a registration the province
never stored is harmless).

Identity is kept encrypted (``store/crypto.py`` ``FieldCipher``, bound to the column and the
pseudonym), with a masked name and ID for display, and a keyed digest of the ID that finds an
application again: applying twice answers the first application.

A person reaches their own code with a **person token** (``hcp1.<pseudonym>.<mac>``), an HMAC
of their pseudonym under a key derived from the province's field key: the application answers
it (again on every application: it is a function of the pseudonym), and nothing stores it (a
process remembers, in memory, the tokens it has checked: their HMAC is checked once).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthcode.core import identity, regions
from healthcode.core.clock import CHINA_TZ, Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied, InvalidInput
from healthcode.hub.fields import optional_text, required_text
from healthcode.province.models import Person
from healthcode.store.crypto import FieldCipher
from healthcode.store.db import Database
from healthcode.store.models import REGISTRATION_REASONS
from healthcode.store.retry import run_write

__all__ = ["Applicant", "ApplicationService", "PersonTokens"]

_NAME_MAX = 100
_PHONE_MAX = 32
_TOKEN_PREFIX = "hcp1"
#: Person tokens a process remembers as checked (``PersonTokens.pseudonym_of``).
TOKENS_KEPT = 65_536


@dataclass(frozen=True, slots=True)
class Applicant:
    """A checked application."""

    id_type: str
    id_number: str
    nationality: str | None
    name: str
    phone: str
    residence: str
    #: why the province holds them (the hub's registration reason): ``residence`` (the
    #: residence inside the province), or ``stay`` / ``work`` (living elsewhere)
    reason: str = "residence"

    @classmethod
    def parse(cls, raw: Any, *, province: str, today: Any) -> Applicant:
        """Raises InvalidInput RECORD_NOT_OBJECT, FIELD_*, ID_*, REGION_*,
        REGISTRATION_REASON, RESIDENCE_OUTSIDE_PROVINCE."""
        if not isinstance(raw, Mapping):
            raise InvalidInput(ErrorCode.RECORD_NOT_OBJECT, "an application is a JSON object")
        id_type = optional_text(raw, "id_type") or identity.IdType.RESIDENT_ID.value
        nationality = optional_text(raw, "nationality")
        number = required_text(raw, "id_number", 32, what="the ID number")
        valid = identity.check_id(id_type, number, nationality=nationality, today=today)
        name = required_text(raw, "name", _NAME_MAX, what="the full name")
        phone = required_text(raw, "phone", _PHONE_MAX, what="a phone number")
        residence = required_text(raw, "residence_region", 6, what="region code of residence")
        reason = optional_text(raw, "reason") or "residence"
        if reason not in REGISTRATION_REASONS:
            raise InvalidInput(
                ErrorCode.REGISTRATION_REASON,
                f"the reason is one of {', '.join(REGISTRATION_REASONS)}",
                field="reason",
            )
        try:
            inside = regions.is_within(residence, province)
        except InvalidInput as exc:
            raise InvalidInput(exc.code, exc.message, field="residence_region") from exc
        if not inside and reason == "residence":
            raise InvalidInput(
                ErrorCode.RESIDENCE_OUTSIDE_PROVINCE,
                f"the residence {residence} is not inside the province {province}",
                field="residence_region",
            )
        return cls(
            id_type=valid.id_type.value,
            id_number=valid.number,
            nationality=valid.state or None,
            name=name,
            phone=phone,
            residence=residence,
            reason=reason,
        )


class PersonTokens:
    """Person tokens (see the module): made and checked with a key derived from ``field_key``."""

    def __init__(self, *, field_key: bytes, kept: int = TOKENS_KEPT) -> None:
        self._key = hashlib.sha256(b"healthcode/person-token/v1" + field_key).digest()
        self._digest_key = hashlib.sha256(b"healthcode/person-id/v1" + field_key).digest()
        #: tokens checked, and the pseudonym each names (at most ``kept``; all dropped when full)
        self._checked: dict[str, str] = {}
        self._kept = kept

    def _mac(self, pseudonym: str) -> str:
        return hmac.digest(self._key, pseudonym.encode("ascii"), "sha256").hex()[:32]

    def token(self, pseudonym: str) -> str:
        return f"{_TOKEN_PREFIX}.{pseudonym}.{self._mac(pseudonym)}"

    def pseudonym_of(self, token: str | None) -> str:
        """The pseudonym a token names. Raises AccessDenied PERSON_TOKEN_INVALID.

        A token whose HMAC was checked is remembered (a token never changes meaning: it is
        the pseudonym and its HMAC under the province's key), so a person's later requests
        skip the HMAC; only checked tokens are remembered, and the whole text must match."""
        text = token or ""
        pseudonym = self._checked.get(text)
        if pseudonym is not None:
            return pseudonym
        parts = text.split(".")
        well_formed = len(parts) == 3 and parts[0] == _TOKEN_PREFIX and parts[1].isascii()
        if well_formed and hmac.compare_digest(parts[2], self._mac(parts[1])):
            if len(self._checked) >= self._kept:
                self._checked.clear()  # one step, safe between threads
            self._checked[text] = parts[1]
            return parts[1]
        raise AccessDenied(ErrorCode.PERSON_TOKEN_INVALID, "a valid person token is required")

    def id_digest(self, id_type: str, number: str) -> str:
        message = f"{id_type}|{number}".encode()
        return hmac.new(self._digest_key, message, hashlib.sha256).hexdigest()


#: Registers people with the hub; their pseudonyms (``HubClient.register``).
Register = Callable[[list[dict[str, Any]]], list[str]]
#: Re-evaluates people inside a transaction (``evaluation.reevaluate`` bound).
Evaluate = Callable[[Session, list[str], datetime], Any]
#: Queues a status report of a person's current colour inside a transaction.
Report = Callable[[Session, str, datetime], None]


@dataclass(kw_only=True, eq=False)
class ApplicationService:
    db: Database
    clock: Clock
    province: str
    cipher: FieldCipher
    tokens: PersonTokens
    register: Register
    evaluate: Evaluate
    report: Report
    #: Called after the commit that queued the first report (wakes the report loop).
    committed: Callable[[], None] = lambda: None

    def apply(self, raw: Any) -> dict[str, Any]:
        """Apply for a code; answers the person (pseudonym, masked name and ID, residence,
        token). Applying again with the same name and phone answers the first application; an
        ID number alone never gives out a person's token.

        Raises InvalidInput (see ``Applicant.parse``); AccessDenied APPLICATION_MISMATCH (the ID
        is held here under another name or phone); HubError HUB_UNREACHABLE, HUB_REFUSED
        (nothing stored); DatabaseBusy.
        """
        now = self.clock.now()
        applicant = Applicant.parse(
            raw, province=self.province, today=now.astimezone(CHINA_TZ).date()
        )
        digest = self.tokens.id_digest(applicant.id_type, applicant.id_number)
        with self.db.read() as s:
            known = s.execute(select(Person).where(Person.id_digest == digest)).scalar_one_or_none()
        if known is not None:
            return self.answer(self._same_applicant(known, applicant))
        person = {"id_type": applicant.id_type, "id_number": applicant.id_number}
        if applicant.nationality:
            person["nationality"] = applicant.nationality
        pseudonym = self.register([{**person, "reason": applicant.reason}])[0]

        def step(s: Session) -> Person:
            again = s.execute(select(Person).where(Person.id_digest == digest)).scalar_one_or_none()
            if again is not None:
                return self._same_applicant(again, applicant)  # applied meanwhile
            row = self._row(applicant, pseudonym, digest, now)
            s.add(row)
            s.flush()
            self.evaluate(s, [pseudonym], now)
            self.report(s, pseudonym, now)
            return row

        stored = run_write(self.db, step)
        self.committed()
        return self.answer(stored)

    def _same_applicant(self, person: Person, a: Applicant) -> Person:
        """``person`` when ``a`` gives their name and phone; raises AccessDenied
        APPLICATION_MISMATCH otherwise (which of the two differs is not said)."""
        p = person.pseudonym
        name = self.cipher.decrypt(person.name_enc, context=f"people.name_enc|{p}")
        phone = self.cipher.decrypt(person.phone_enc, context=f"people.phone_enc|{p}")
        same_name = hmac.compare_digest(name.encode(), a.name.encode())
        same_phone = hmac.compare_digest(phone.encode(), a.phone.encode())
        if not (same_name and same_phone):
            raise AccessDenied(
                ErrorCode.APPLICATION_MISMATCH,
                "this ID number applied here under another name or phone",
            )
        return person

    def _row(self, a: Applicant, pseudonym: str, digest: str, now: datetime) -> Person:
        def enc(column: str, text: str) -> bytes:
            return self.cipher.encrypt(text, context=f"people.{column}|{pseudonym}")

        return Person(
            pseudonym=pseudonym,
            id_digest=digest,
            id_type=a.id_type,
            id_enc=enc("id_enc", a.id_number),
            name_enc=enc("name_enc", a.name),
            phone_enc=enc("phone_enc", a.phone),
            masked_id=identity.mask_id(a.id_number),
            masked_name=identity.mask_name(a.name),
            residence_region=a.residence,
            applied_at=now,
        )

    def answer(self, person: Person) -> dict[str, Any]:
        return {
            "pseudonym": person.pseudonym,
            "masked_name": person.masked_name,
            "masked_id": person.masked_id,
            "residence_region": person.residence_region,
            "applied_at": person.applied_at.isoformat(),
            "token": self.tokens.token(person.pseudonym),
        }

    def person(self, pseudonym: str) -> Person:
        """Raises InvalidInput PERSON_UNKNOWN."""
        with self.db.read() as s:
            row = s.get(Person, pseudonym)
        if row is None:
            raise InvalidInput(ErrorCode.PERSON_UNKNOWN, "this province holds no such person")
        return row
