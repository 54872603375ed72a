"""The verifier: a code goes to the format its prefix names, whose stages run in order.

A :class:`Verifier` is built in one visible place from format objects and a clock::

    Verifier(formats=(NativeFormat(native), DccFormat(dcc), ShcFormat(shc)), clock=clock)

which is what :meth:`Verifier.default` does. Each format lists its stages in order (its
``verify`` method is the numbered plan) and takes its settings as a typed object
(:class:`NativeSettings`, :class:`DccSettings`, :class:`ShcSettings`). A format raises
:class:`healthcode.core.errors.VerificationFailed` at the first stage that fails; the verifier
turns that into a failed :class:`VerificationResult` and never raises for a bad code.

>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> verifier = Verifier.default(clock=FixedClock(datetime(2021, 6, 1, tzinfo=timezone.utc)))
>>> [f.prefix for f in verifier.formats]
['CN1:', 'HC1:', 'shc:/']
>>> r = verifier.verify("XYZ:123")
>>> (r.valid, r.format, r.stage, str(r.error_code))
(False, 'unknown', 'prefix', 'PREFIX_UNKNOWN')
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from healthcode.core.clock import Clock, SystemClock
from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import VerificationFailed
from healthcode.core.verify.dcc.stages import DccFormat, DccSettings
from healthcode.core.verify.native import NativeFormat, NativeSettings
from healthcode.core.verify.result import VerificationResult, failed_result
from healthcode.core.verify.shc.stages import ShcFormat, ShcSettings
from healthcode.core.verify.stages import fault

__all__ = ["MAX_TEXT_LENGTH", "Format", "Verifier", "verify"]

#: Longest text accepted: a version 40 QR code holds 4,296 alphanumeric characters.
MAX_TEXT_LENGTH = 8192


class Format(Protocol):
    """One kind of code: its name (in results), its prefix, and its stages."""

    @property
    def name(self) -> str: ...

    @property
    def prefix(self) -> str: ...

    def verify(self, text: str, now: datetime) -> VerificationResult:
        """Run the stages on ``text`` at ``now``; raises VerificationFailed at the first failure."""
        ...


class Verifier:
    """Verifies codes of the given formats on ``clock``; keyword-only, formats listed in full.

    Raises ValueError when no format is given or two share a prefix.
    """

    def __init__(self, *, formats: Sequence[Format], clock: Clock | None = None) -> None:
        if not formats:
            raise ValueError("a verifier needs at least one format")
        prefixes = [f.prefix for f in formats]
        if len(set(prefixes)) != len(prefixes) or not all(prefixes):
            raise ValueError(f"every format needs its own non-empty prefix: {prefixes}")
        self.formats: tuple[Format, ...] = tuple(formats)
        self.clock: Clock = clock if clock is not None else SystemClock()
        # The longest prefix wins when one prefix starts another.
        self._routes = sorted(self.formats, key=lambda f: -len(f.prefix))

    @classmethod
    def default(
        cls,
        *,
        native: NativeSettings | None = None,
        dcc: DccSettings | None = None,
        shc: ShcSettings | None = None,
        clock: Clock | None = None,
    ) -> Verifier:
        """Native (``CN1:``), EU DCC (``HC1:``) and SMART Health Cards (``shc:/``).

        A format given no settings trusts no key, so its codes fail at the signature stage.
        """
        return cls(
            formats=(
                NativeFormat(native or NativeSettings()),
                DccFormat(dcc or DccSettings()),
                ShcFormat(shc or ShcSettings()),
            ),
            clock=clock,
        )

    def route(self, text: str) -> Format | None:
        """The format whose prefix ``text`` starts with (the longest), or None."""
        for fmt in self._routes:
            if text.startswith(fmt.prefix):
                return fmt
        return None

    def verify(self, text: str) -> VerificationResult:
        """Verify one code of any of the formats; never raises for a bad code.

        Surrounding line breaks are ignored (Base45 has a space in its alphabet, so spaces are
        not). Every check of one code uses the one instant the clock gives here. A stage that
        breaks on a hostile input in a way no check foresaw fails the code with ``STAGE_FAULT``
        (at that stage when it is marked, else at ``result``): one input never stops the next.
        """
        refusal = _refuse_text(text)
        if refusal is not None:
            return failed_result("unknown", refusal)
        text = text.strip("\r\n")
        fmt = self.route(text)
        if fmt is None:
            return failed_result(
                "unknown",
                VerificationFailed(
                    ErrorCode.PREFIX_UNKNOWN, "no known format starts like this text"
                ),
            )
        try:
            return fmt.verify(text, self.clock.now())
        except VerificationFailed as exc:
            return failed_result(fmt.name, exc)
        except Exception as exc:  # a defect outside any marked stage: fail closed all the same
            return failed_result(fmt.name, fault(Stage.RESULT, exc))


def _refuse_text(text: object) -> VerificationFailed | None:
    """Why ``text`` is no code of any format before its prefix is read, or None."""
    if not isinstance(text, str):
        return VerificationFailed(ErrorCode.PREFIX_UNKNOWN, "not text")
    if len(text) > MAX_TEXT_LENGTH:
        return VerificationFailed(
            ErrorCode.TEXT_TOO_LONG, f"more than {MAX_TEXT_LENGTH} characters"
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: bytes read that were not UTF-8
            return VerificationFailed(
                ErrorCode.TEXT_NOT_UNICODE, "the text holds a lone surrogate (not UTF-8 bytes)"
            )
    return None


def verify(
    text: str,
    *,
    native: NativeSettings | None = None,
    dcc: DccSettings | None = None,
    shc: ShcSettings | None = None,
    clock: Clock | None = None,
) -> VerificationResult:
    """One code with the default formats: ``Verifier.default(...).verify(text)``.

    Build the :class:`Verifier` once instead when verifying many codes (the native acceptance
    rules are compiled when it is built).
    """
    return Verifier.default(native=native, dcc=dcc, shc=shc, clock=clock).verify(text)
