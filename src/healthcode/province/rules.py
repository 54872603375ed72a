"""The province's rule set: the national one the hub publishes (signed, verified against the
national root) or the built-in national baseline when the hub publishes none, with the
province's own overlay applied (stricter only: ``core.rules.apply_overlay``).

``RuleSource.current()`` is what every evaluation uses; ``refresh()`` fetches the hub's rule
set again (the service calls it on start and every ``HEALTHCODE_PROVINCE_RULES_SECONDS``). A
document the province cannot open (a bad signature, an older sequence than one it took) is
refused and logged: the rule set in use stays. Each colour stores the digest of the rule set
that gave it (``colours.ruleset_digest``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509

from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, OverlayRefused
from healthcode.core.rules import RuleSet, apply_overlay, baseline, load_document, parse_ruleset
from healthcode.core.trust.certs import load_certificate
from healthcode.core.trust.envelope import Held, open_envelope

__all__ = ["RuleSource", "root_certificate_of"]

log = logging.getLogger("healthcode.province")


def root_certificate_of(home: str) -> x509.Certificate | None:
    """The national root certificate of a key home (``root.cert.pem``); None without one."""
    if not home:
        return None
    path = Path(home) / "root.cert.pem"
    return load_certificate(path.read_bytes()) if path.is_file() else None


class RuleSource:
    """The national rule set (the hub's, else the baseline) with the province's overlay."""

    def __init__(
        self,
        *,
        clock: Clock,
        province: str,
        overlay_path: str = "",
        fetch: Callable[[], bytes | None] | None = None,
        root_cert: x509.Certificate | None = None,
    ) -> None:
        self.clock = clock
        self._overlay: dict[str, Any] | None = load_document(overlay_path) if overlay_path else None
        if self._overlay is not None and self._overlay.get("province") != province:
            raise OverlayRefused(
                ErrorCode.OVERLAY_OTHER_PROVINCE,
                f"the overlay is for {self._overlay.get('province')}, not {province}",
            )
        self._fetch = fetch
        self._root = root_cert
        self._held: Held | None = None
        self._lock = threading.Lock()
        self._national = baseline()
        self._current = self._combine(self._national)

    def _combine(self, national: RuleSet) -> RuleSet:
        """Raises OverlayRefused, RuleSetError when the overlay does not apply."""
        return national if self._overlay is None else apply_overlay(national, self._overlay)

    def current(self) -> RuleSet:
        return self._current

    def documents(self) -> tuple[RuleSet, RuleSet, dict[str, Any] | None]:
        """The rule set in use, the national one under it and the overlay (None: none)."""
        with self._lock:
            return self._current, self._national, self._overlay

    def refresh(self) -> bool:
        """Take the hub's national rule set when it is new and opens; whether it changed.

        Raises nothing for a document refused (logged); HubError when the hub cannot be asked.
        """
        if self._fetch is None or self._root is None:
            return False
        raw = self._fetch()
        if raw is None:
            return False
        try:
            doc = open_envelope(
                raw, root_cert=self._root, kind="rule-set", clock=self.clock, held=self._held
            )
            national = parse_ruleset(json.loads(doc.content))
            combined = self._combine(national)
        except (HealthcodeError, ValueError) as exc:
            code = getattr(exc, "code", ErrorCode.RULESET_UNAVAILABLE)
            log.warning("the hub's rule set was refused: %s", code)
            return False
        with self._lock:
            self._held = doc.held
            changed = combined.digest != self._current.digest
            self._national, self._current = national, combined
        return changed
