"""The verifier: native codes, EU DCC and SMART Health Cards, each a format of small stages.

>>> from datetime import datetime, timezone
>>> from healthcode.core.clock import FixedClock
>>> verifier = Verifier.default(clock=FixedClock(datetime(2021, 6, 1, tzinfo=timezone.utc)))
>>> result = verifier.verify("HC1:NCF")
>>> (result.valid, result.format, result.stage, str(result.error_code))
(False, 'dcc', 'decompress', 'DECOMPRESS_FAILED')

Modules: :mod:`.verifier` (:class:`Verifier`, the default formats, :func:`verify`),
:mod:`.result`, :mod:`.stages` (stages shared by the COSE formats), :mod:`.native`,
:mod:`.dcc`, :mod:`.shc`, :mod:`.qrimage` (QR codes from pictures).
"""

from __future__ import annotations

from healthcode.core.verify.dcc import (
    DccFormat,
    DccRevocationList,
    DccSchema,
    DccSettings,
    DscTrustList,
)
from healthcode.core.verify.native import DEFAULT_RULES, NativeFormat, NativeSettings, NativeTrust
from healthcode.core.verify.result import VerificationResult
from healthcode.core.verify.shc import ShcFormat, ShcSettings, ShcTrust
from healthcode.core.verify.stages import DEFAULT_SKEW, CoseParts
from healthcode.core.verify.verifier import Format, Verifier, verify

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_SKEW",
    "CoseParts",
    "DccFormat",
    "DccRevocationList",
    "DccSchema",
    "DccSettings",
    "DscTrustList",
    "Format",
    "NativeFormat",
    "NativeSettings",
    "NativeTrust",
    "ShcFormat",
    "ShcSettings",
    "ShcTrust",
    "VerificationResult",
    "Verifier",
    "verify",
]
