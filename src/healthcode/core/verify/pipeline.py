"""The verifier's front door: dispatch by prefix, run a format's stages, return a result.

A *format* is a callable ``verifier(text, context) -> VerificationResult`` that runs its stages
in order (see :mod:`healthcode.core.verify.stages`) and raises
:class:`healthcode.core.errors.VerificationFailed` at the first stage that fails;
:func:`verify` turns that error into a failed :class:`VerificationResult`.

Formats register themselves by prefix::

    register_format("CN1:", "native", verify_native)   # done by core/verify/native.py

The built-in formats, EU DCC (``HC1:``), SMART Health Cards (``shc:/``) and native (``CN1:``), are
imported on the first call to :func:`verify` (their modules import this one to register).

>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> ctx = VerifyContext(clock=FixedClock(datetime(2021, 6, 1, tzinfo=timezone.utc)))
>>> r = verify("XYZ:123", context=ctx)
>>> (r.valid, r.format, r.stage, r.error_code)
(False, 'unknown', 'prefix', 'PREFIX_UNKNOWN')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from healthcode.core.clock import Clock, SystemClock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed
from healthcode.core.verify.keys import KeyStore, StaticKeyStore
from healthcode.core.verify.result import Stage, VerificationResult

__all__ = [
    "DEFAULT_SKEW",
    "Verifier",
    "VerifyContext",
    "failed_result",
    "register_format",
    "registered_formats",
    "verify",
]

#: Clock skew tolerated between issuer and checkpoint (hcert-kotlin uses 0; phones drift).
DEFAULT_SKEW = timedelta(minutes=5)
#: Longest text accepted: a version 40 QR code holds 4,296 alphanumeric characters.
MAX_TEXT_LENGTH = 8192
_EMPTY_STORE = StaticKeyStore([])


@dataclass(frozen=True, slots=True)
class VerifyContext:
    """Everything a verification depends on besides the code itself.

    ``key_stores`` maps a format name (``"native"``, ``"dcc"``, ``"shc"``) to its trust
    material; ``acceptance_rules`` maps a format name to the rules a checkpoint applies
    (for ``"dcc"``: EU business rules as dicts); ``options`` holds format-specific settings
    (e.g. ``"shc_revocations"``).
    """

    clock: Clock = field(default_factory=SystemClock)
    key_stores: Mapping[str, KeyStore] = field(default_factory=dict)
    skew: timedelta = DEFAULT_SKEW
    acceptance_rules: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    value_sets: Mapping[str, Any] = field(default_factory=dict)
    country: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def keys(self, format_name: str) -> KeyStore:
        """The key store for a format (an empty one when none was given)."""
        return self.key_stores.get(format_name, _EMPTY_STORE)


Verifier = Callable[[str, VerifyContext], VerificationResult]

_FORMATS: dict[str, tuple[str, Verifier]] = {}
#: Dispatch table: the first :data:`_HEAD` characters of a prefix -> (prefix, name, verifier)
#: of every prefix starting so, longest first; prefixes shorter than that are in ``_SHORT``.
_HEAD = 4
_BY_HEAD: dict[str, tuple[tuple[str, str, Verifier], ...]] = {}
_SHORT: tuple[tuple[str, str, Verifier], ...] = ()
_loaded = False


def register_format(prefix: str, name: str, verifier: Verifier) -> None:
    """Route texts starting with ``prefix`` to ``verifier``; ``name`` goes into results.

    Registering the same prefix again replaces the earlier verifier.
    """
    if not prefix:
        raise ValueError("a format needs a non-empty prefix")
    _FORMATS[prefix] = (name, verifier)
    _rebuild_dispatch()


def _rebuild_dispatch() -> None:
    global _SHORT
    by_head: dict[str, list[tuple[str, str, Verifier]]] = {}
    short: list[tuple[str, str, Verifier]] = []
    for prefix, (name, verifier) in _FORMATS.items():
        entry = (prefix, name, verifier)
        if len(prefix) >= _HEAD:
            by_head.setdefault(prefix[:_HEAD], []).append(entry)
        else:
            short.append(entry)
    _BY_HEAD.clear()
    for head, entries in by_head.items():
        _BY_HEAD[head] = tuple(sorted(entries, key=lambda e: -len(e[0])))
    _SHORT = tuple(sorted(short, key=lambda e: -len(e[0])))


def _route(text: str) -> tuple[str, Verifier] | None:
    """The format of the longest registered prefix that ``text`` starts with, or None."""
    for prefix, name, verifier in _BY_HEAD.get(text[:_HEAD], ()):
        if text.startswith(prefix):
            return name, verifier
    for prefix, name, verifier in _SHORT:
        if text.startswith(prefix):
            return name, verifier
    return None


def registered_formats() -> dict[str, str]:
    """Prefix → format name of every format known so far (built-ins loaded)."""
    _load_builtin()
    return {prefix: name for prefix, (name, _) in _FORMATS.items()}


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    # Imported here, not at the top: each of these imports this module to register itself.
    import healthcode.core.verify.dcc
    import healthcode.core.verify.native
    import healthcode.core.verify.shc  # noqa: F401

    _loaded = True


def failed_result(format_name: str, error: VerificationFailed) -> VerificationResult:
    """The result for a code that failed ``error.stage``; keeps what was learnt before it."""
    details = error.details
    payload = details.get("payload")
    kid = details.get("kid")
    issuer = details.get("issuer")
    return VerificationResult(
        valid=False,
        format=format_name,
        stage=error.stage or None,
        error_code=error.code,
        reason=error.message,
        issuer=issuer if isinstance(issuer, str) else None,
        payload=payload if isinstance(payload, dict) else None,
        kid=kid if isinstance(kid, str) else None,
    )


def verify(text: str, *, context: VerifyContext) -> VerificationResult:
    """Verify one code of any registered format; never raises for a bad code.

    Surrounding line breaks are ignored (Base45 has a space in its alphabet, so spaces are not).
    """
    if not _loaded:
        _load_builtin()
    if not isinstance(text, str):
        return failed_result(
            "unknown", VerificationFailed(ErrorCode.PREFIX_UNKNOWN, "not text", stage=Stage.PREFIX)
        )
    text = text.strip("\r\n")
    if len(text) > MAX_TEXT_LENGTH:
        return failed_result(
            "unknown",
            VerificationFailed(
                ErrorCode.TEXT_TOO_LONG,
                f"more than {MAX_TEXT_LENGTH} characters",
                stage=Stage.PREFIX,
            ),
        )
    route = _route(text)
    if route is None:
        return failed_result(
            "unknown",
            VerificationFailed(
                ErrorCode.PREFIX_UNKNOWN,
                "no known format starts like this text",
                stage=Stage.PREFIX,
            ),
        )
    name, verifier = route
    try:
        return verifier(text, context)
    except VerificationFailed as exc:
        return failed_result(name, exc)
