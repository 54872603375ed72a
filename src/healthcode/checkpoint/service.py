"""The checkpoint: offline verification against a cached signed trust list, and an optional
online check at the hub.

Offline first: a code is verified by ``core.verify`` against the trust list the checkpoint
holds in its :class:`~healthcode.core.trust.trustlist.TrustStore` folder (native codes of every
province), and against the EU DCC signer certificates and SMART Health Cards issuer keys it was
given. :meth:`Checkpoint.refresh` fetches the hub's published trust list and takes it unless it
is older than the held one (``ENVELOPE_ROLLBACK``: the held list stays). The decision is
``pass`` or ``stop`` with a reason code:

- a code that fails verification stops with the failing stage's code (``CWT_EXPIRED``...);
- a valid native code passes when green; yellow and red stop (``CODE_YELLOW``, ``CODE_RED``);
- a valid EU DCC or SMART Health Card passes;
- with ``online``, a valid native code is also asked about at the hub (``/v1/status`` by the
  code's pseudonymous subject, else ``/v1/status/{serial}``): a stricter colour reported since
  for the same person (an older, still unexpired green code of a person now red) stops with
  ``CODE_SUPERSEDED`` ("superseded: now red"). A hub that does not answer leaves the offline
  decision standing, and the answer says so (``HUB_UNREACHABLE``).

Native codes are also checked against the hub's Token Status Lists (``hub/status_lists.py``)
the checkpoint holds in ``<trust store>/status-lists/``: :meth:`Checkpoint.refresh` fetches
each list whose ``ttl`` has run out since it was fetched and takes it unless its ``iat`` is older
than the held one (``ENVELOPE_ROLLBACK``: the held list stays). A code whose colour state was
superseded or revoked stops offline (``CODE_SUPERSEDED``, ``CODE_REVOKED``); a held list older
than ``status_max_age`` stops every code that points into it (``STATUS_LIST_STALE``); a code
pointing into a list the checkpoint does not hold stops (``STATUS_LIST_MISSING``), as does an
index past the held list's end (``STATUS_INDEX_OUT_OF_RANGE``); a checkpoint that can reach the
hub first fetches its lists again, once, and verifies the code again (a state newer than the
held lists, e.g. a person who applied a minute ago).

A code that passes is then held to the venue's acceptance rules (``venue.py``: chosen from the
published list, kept on the device): one it does not meet stops with ``RULE_FAILED``, the rule's
id (``venue_rule``) and its own words.

Every answer carries the masked identity the code shows and the freshness of the trust list.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from healthcode.checkpoint.venue import VenueRules
from healthcode.config import CheckpointSettings
from healthcode.core.clock import Clock, SystemClock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, TrustError
from healthcode.core.keys import NO_KEYS, KeyStore
from healthcode.core.trust.certs import load_certificate
from healthcode.core.trust.status_lists import StatusListStore, StatusListToken
from healthcode.core.trust.trustlist import TrustStore
from healthcode.core.verify import (
    DccSchema,
    DccSettings,
    DscTrustList,
    NativeSettings,
    ShcSettings,
    ShcTrust,
    VerificationResult,
    Verifier,
)
from healthcode.core.verify.display import worker_view
from healthcode.core.verify.words import check_lang, words

__all__ = ["COLOURS", "Checkpoint", "foreign_trust"]

#: From the least to the most strict (as the hub's status service orders them).
COLOURS = ("green", "yellow", "red")
_STOP_FOR = {"yellow": ErrorCode.CODE_YELLOW, "red": ErrorCode.CODE_RED}
_TRUST_LIST_PATH = "/v1/published/trust-list"
_STATUS_LISTS_PATH = "/v1/status-lists"
#: The folder of the held status lists, inside the trust store folder.
STATUS_LIST_FOLDER = "status-lists"
#: The venue's chosen acceptance rules (``venue.py``), inside the trust store folder.
VENUE_FILE = "venue.json"


def foreign_trust(settings: CheckpointSettings) -> dict[str, KeyStore]:
    """The EU DCC and SMART Health Cards keys named by the settings (none when unset)."""
    stores: dict[str, KeyStore] = {}
    if settings.dcc_trust:
        data = Path(settings.dcc_trust).read_bytes()
        dsc = DscTrustList()
        if data.lstrip()[:1] == b"[":
            dsc.merge(DscTrustList.from_gateway_json(data))
        else:
            dsc.add_pem_or_der(data)
        stores["dcc"] = dsc
    if settings.shc_jwks:
        import json

        shc = ShcTrust()
        shc.add_jwks(json.loads(Path(settings.shc_jwks).read_bytes()), issuer=settings.shc_issuer)
        stores["shc"] = shc
    return stores


@dataclass(eq=False)
class Checkpoint:
    """A checkpoint's state: its trust store, its foreign keys, the hub it may ask."""

    store: TrustStore
    clock: Clock = field(default_factory=SystemClock)
    foreign: dict[str, KeyStore] = field(default_factory=dict)
    hub_url: str = ""
    hub_token: str = ""
    online_timeout: float = 2.0
    refresh_seconds: float = 300.0
    skew: timedelta = timedelta(minutes=5)
    dcc_schema: DccSchema | None = None  # a newer EU DCC schema release than the shipped one
    status_lists: StatusListStore | None = None  # None: native codes' status is not checked
    status_max_age: timedelta = timedelta(hours=12)
    last_refresh: dict[str, Any] = field(default_factory=dict)
    venue: VenueRules = field(default_factory=VenueRules)  # the venue's acceptance rules
    _fetched: dict[str, datetime] = field(default_factory=dict, init=False)
    _verifier: tuple[int | None, Verifier] | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    @classmethod
    def from_settings(
        cls, settings: CheckpointSettings, *, clock: Clock | None = None
    ) -> Checkpoint:
        """Raises TrustError when the trust store has no root and none is given."""
        folder = Path(settings.trust_store)
        root = (
            load_certificate(Path(settings.national_root).read_bytes())
            if settings.national_root
            else TrustStore.recorded_root(folder)
        )
        if root is None:
            raise TrustError(
                ErrorCode.TRUST_LIST_MISSING,
                f"the trust store {folder} has recorded no national root: "
                "set HEALTHCODE_CHECKPOINT_NATIONAL_ROOT",
            )
        clock = clock or SystemClock()
        store = TrustStore(
            folder,
            root_cert=root,
            clock=clock,
            max_staleness=timedelta(hours=settings.max_stale_hours),
        )
        held = store.opened()
        lists = StatusListStore(
            folder / STATUS_LIST_FOLDER,
            root_cert=root,
            revoked_publishers=held.revoked_publishers if held is not None else (),
        )
        return cls(
            store=store,
            clock=clock,
            foreign=foreign_trust(settings),
            hub_url=settings.hub_url.rstrip("/"),
            hub_token=settings.hub_token,
            online_timeout=settings.online_timeout_seconds,
            refresh_seconds=settings.refresh_seconds,
            status_lists=lists,
            status_max_age=timedelta(hours=settings.status_max_age_hours),
            venue=VenueRules(folder / VENUE_FILE),
        )

    # -- the trust list -------------------------------------------------------------------------
    def _hub(self, path: str, **params: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.hub_token}"}
        return httpx.get(
            self.hub_url + path, params=params, headers=headers, timeout=self.online_timeout
        )

    def refresh(self) -> dict[str, Any]:
        """Fetch the hub's trust list and take it unless it is older than the held one.

        Answers ``{"taken": bool, "sequence", "held", "error"}``; never raises for a hub that
        does not answer or a list refused (the held list stays in use).
        """
        held = self.store.held()
        out: dict[str, Any] = {"taken": False, "held": held.sequence if held else None}
        if not self.hub_url:
            out["error"] = ErrorCode.HUB_UNREACHABLE
            out["message"] = "no hub configured"
        else:
            try:
                response = self._hub(_TRUST_LIST_PATH)
                response.raise_for_status()
                opened = self.store.accept(response.content)
                out.update(taken=True, sequence=opened.sequence, held=opened.sequence)
            except httpx.HTTPError as exc:
                out.update(error=ErrorCode.HUB_UNREACHABLE, message=str(exc))
            except HealthcodeError as exc:
                out.update(error=exc.code, message=exc.message)
            out["status_lists"] = self._refresh_status_lists()
        out["at"] = self.clock.now().isoformat()
        self.last_refresh = out
        return out

    def load(self, raw: bytes) -> dict[str, Any]:
        """Take a trust list brought by hand (a file, for a device without a network) unless
        it is older than the held one; answers like ``refresh``.

        Raises TrustError: any ``ENVELOPE_*`` code (``ENVELOPE_ROLLBACK``: the held list stays),
        ``TRUSTLIST_MALFORMED``, ``CERT_*``.
        """
        opened = self.store.accept(raw)
        return {"taken": True, "sequence": opened.sequence, "held": opened.sequence}

    def accept_status_list(self, raw: bytes) -> StatusListToken:
        """Take a Status List Token unless it is older than the held one of its URI.

        Raises TrustError ``STATUS_LIST_*`` (``ENVELOPE_ROLLBACK`` for an older one), or
        ``TRUST_LIST_MISSING`` when the checkpoint holds no status lists.
        """
        if self.status_lists is None:
            raise TrustError(ErrorCode.TRUST_LIST_MISSING, "this checkpoint holds no status lists")
        held = self.store.opened()
        if held is not None:  # the publishers revoked by the newest trust list taken
            self.status_lists.revoked = self.status_lists.revoked | held.revoked_publishers
        return self.status_lists.accept(raw)

    def _refresh_status_lists(self, *, force: bool = False) -> dict[str, Any]:
        """Fetch each list the hub names whose ttl has run out since it was fetched (the
        draft's "Status List Update Interval and Caching"), or every list with ``force``;
        what was taken and refused."""
        out: dict[str, Any] = {"taken": [], "refused": []}
        if self.status_lists is None:
            return out
        try:
            response = self._hub(_STATUS_LISTS_PATH)
            response.raise_for_status()
            named = [(str(i["uri"]), str(i["path"])) for i in response.json()["lists"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            return {**out, "error": ErrorCode.HUB_UNREACHABLE, "message": str(exc)}
        now = self.clock.now()
        for uri, path in named:
            held = self.status_lists.token_for(uri)
            fetched = self._fetched.get(uri)
            ttl = timedelta(seconds=held.ttl or 0) if held is not None else None
            if not force and ttl is not None and fetched is not None and now < fetched + ttl:
                continue  # fetched less than its ttl ago
            try:
                answer = self._hub(path)
                answer.raise_for_status()
                token = self.accept_status_list(answer.content)
                self._fetched[uri] = now
                out["taken"].append({"uri": uri, "issued_at": token.issued_at.isoformat()})
            except httpx.HTTPError as exc:
                out["refused"].append(
                    {"uri": uri, "error": ErrorCode.HUB_UNREACHABLE, "message": str(exc)}
                )
            except HealthcodeError as exc:
                out["refused"].append({"uri": uri, "error": exc.code, "message": exc.message})
        return out

    def status_list_status(self) -> list[dict[str, Any]]:
        """The held status lists' freshness."""
        now = self.clock.now()
        lists = self.status_lists
        return [t.describe(now) for t in lists] if lists is not None else []

    def trust_status(self) -> dict[str, Any] | None:
        """How fresh the held trust list is; None when none is held."""
        doc = self.store.opened()
        if doc is None:
            return None
        status = self.store.status()
        return {
            "sequence": status.sequence,
            "issued": status.issued.isoformat() if status.issued else None,
            "expires": status.expires.isoformat(),
            "age_seconds": int(status.age.total_seconds()) if status.age else None,
            "stale_by_seconds": int(status.stale_by.total_seconds()),
            "usable": status.usable,
            "describe": status.describe(),
        }

    def _native_trust(self) -> tuple[int | None, KeyStore]:
        doc = self.store.opened()
        if doc is None:
            return None, NO_KEYS
        try:
            return doc.sequence, self.store.current()
        except TrustError:  # stale beyond the tolerance: no native code verifies
            return -doc.sequence, NO_KEYS

    def verifier(self) -> Verifier:
        """The verifier over the held trust list, rebuilt when another list is taken."""
        sequence, native = self._native_trust()
        with self._lock:
            if self._verifier is None or self._verifier[0] != sequence:
                verifier = Verifier.default(
                    # no acceptance rule: the colour decides here, so a red code shows red
                    native=NativeSettings(
                        trust=native,
                        rules=(),
                        skew=self.skew,
                        status_lists=self.status_lists,
                        status_max_age=self.status_max_age,
                    ),
                    dcc=DccSettings(
                        trust=self.foreign.get("dcc", NO_KEYS),
                        schema=self.dcc_schema,
                        skew=self.skew,
                    ),
                    shc=ShcSettings(trust=self.foreign.get("shc", NO_KEYS), skew=self.skew),
                    clock=self.clock,
                )
                self._verifier = (sequence, verifier)
            return self._verifier[1]

    # -- checking -------------------------------------------------------------------------------
    def check(self, text: str, *, online: bool = False, lang: str = "zh") -> dict[str, Any]:
        """Verify ``text`` (offline), then with ``online`` ask the hub; the decision, and what
        the worker compares with the person's document in ``lang`` (``shown``).

        Raises InvalidInput ``LANG_UNKNOWN``.
        """
        check_lang(lang)
        result = self.verifier().verify(text)
        if result.error_code in _UNLISTED and self.hub_url:
            # a colour state newer than the held list: fetch the lists now, once (a device
            # without a network keeps its answer: it cannot tell this code is current)
            self._refresh_status_lists(force=True)
            result = self.verifier().verify(text)
        answer = _offline_answer(result)
        answer["trust_list"] = self.trust_status()
        if online and result.valid and result.format == "native":
            answer["online"] = self._online(result, answer)
        unmet = self.venue.check(result, self.clock.now()) if answer["decision"] == "pass" else None
        answer["venue_rule"] = None if unmet is None else unmet["id"]
        if unmet is not None:  # valid, but not what this venue asks
            answer.update(decision="stop", reason=unmet["code"], message=unmet["en"])
        reason = unmet[lang] if unmet is not None else words(answer["reason"], lang)
        answer["shown"] = {**worker_view(result, lang), "reason": reason}
        return answer

    def _online(self, result: VerificationResult, answer: dict[str, Any]) -> dict[str, Any]:
        """Ask the hub about the person (else the serial); a stricter, current colour of the
        same person reported since stops the code as superseded."""
        if not self.hub_url:
            return {"error": ErrorCode.HUB_UNREACHABLE, "message": "no hub configured"}
        payload = result.payload or {}
        serial, colour = str(payload.get("serial", "")), result.colour or "green"
        try:
            response = self._hub("/v1/status", pseudonym=str(result.subject.get("pseudonym", "")))
            if response.status_code == 404:
                response = self._hub(f"/v1/status/{serial}")
        except httpx.HTTPError as exc:
            return {"error": ErrorCode.HUB_UNREACHABLE, "message": str(exc)}
        if response.status_code == 404:
            return {"error": ErrorCode.STATUS_UNKNOWN, "message": "the hub knows no status"}
        if response.status_code != 200:
            return {
                "error": ErrorCode.HUB_UNREACHABLE,
                "message": f"hub answered {response.status_code}",
            }
        status = response.json()
        now_colour = status.get("colour")
        online = {
            "colour": now_colour,
            "province": status.get("province"),
            "since": status.get("since"),
            "current": status.get("current"),
            "same_code": status.get("serial") == serial,
            "superseded": False,
        }
        stricter = now_colour in COLOURS and COLOURS.index(now_colour) > COLOURS.index(colour)
        if status.get("current") and stricter and status.get("serial") != serial:
            online["superseded"] = True
            answer.update(
                decision="stop",
                reason=ErrorCode.CODE_SUPERSEDED,
                message=f"superseded: now {now_colour}",
            )
        return online

    # -- the refresh loop -----------------------------------------------------------------------
    def start(self) -> None:
        """Refresh now, then every ``refresh_seconds`` in a background thread (0: only now)."""
        self.refresh()
        if self.refresh_seconds <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="checkpoint-refresh", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


#: Refusals a newer status list may answer: the code's state is newer than the held lists.
_UNLISTED = frozenset({ErrorCode.STATUS_LIST_MISSING, ErrorCode.STATUS_INDEX_OUT_OF_RANGE})


def _offline_answer(result: VerificationResult) -> dict[str, Any]:
    """The decision on the verification result alone."""
    identity = {k: v for k, v in result.subject.items() if k != "pseudonym"}
    answer: dict[str, Any] = {
        "decision": "pass",
        "reason": None,
        "message": "valid",
        "format": result.format,
        "issuer": result.issuer,
        "colour": result.colour,
        "badges": list(result.badges),
        "identity": identity,
        "profile": result.profile,
        "serial": (result.payload or {}).get("serial") if result.format == "native" else None,
        "issued_at": result.issued_at.isoformat() if result.issued_at else None,
        "expires_at": result.expires_at.isoformat() if result.expires_at else None,
        "warnings": list(result.warnings),
        "online": None,
    }
    if not result.valid:
        answer.update(decision="stop", reason=result.error_code, message=result.reason)
    elif result.colour in _STOP_FOR:
        code = _STOP_FOR[result.colour]
        answer.update(decision="stop", reason=code, message=code.meaning)
    return answer
