"""EU Digital COVID Certificates (``HC1:``): DSC trust lists and the verification stages.

The package: ``trust`` (DSC lists, EKU usages), ``payload`` (the DCC inside the CWT),
``schema`` (the payload JSON Schema), ``valuesets`` (the value set stage), ``revocation``
(EU revocation batches of hashes), ``rules`` (EU business rules), ``stages`` (the format and its
settings). Every public name is importable from here.

The plan of :meth:`DccFormat.verify` (HCERT 1.3 and the dgc-testdata steps, in that order):

1. prefix ``HC1:``                                  → ``PREFIX_INVALID``        (prefix)
2. Base45                                           → ``BASE45_INVALID``        (base45)
3. zlib                                             → ``DECOMPRESS_FAILED``     (decompress)
4. COSE_Sign1 (tag 18, none, 61+18)                 → ``COSE_MALFORMED``        (cose)
5. signature: every DSC with the kid is tried       → ``KEY_NOT_IN_TRUST_LIST``,
                                                      ``SIGNATURE_INVALID``      (signature)
6. CWT claims, ``iat``/``exp`` on the clock, and    → ``CWT_MALFORMED``, ``CWT_EXPIRED``,
   within the DSC's validity; ``iss`` (when given)    ``CWT_NOT_YET_VALID``,
   is the DSC's country                               ``CWT_OUTSIDE_SIGNER_VALIDITY``,
                                                      ``ISSUER_COUNTRY_MISMATCH`` (claims)
7. EKU of the DSC allows this kind of certificate   → ``KEY_USAGE_MISMATCH``    (key_usage)
8. payload schema (the shipped EU DCC 1.3.3, or     → ``SCHEMA_INVALID``         (schema)
   the one given; the result names its release)
9. value sets: each coded field in its EU value     → ``VALUE_SET_*_UNKNOWN``   (value_sets)
   set (the shipped ones, or newer files given)
10. revocation: the UCI, country+UCI and signature  → ``DCC_REVOKED``           (revocation)
    hashes against the revocation batches held
11. acceptance rules (EU business rules, CertLogic) → ``RULES_FAILED``          (rules)

``iss``: HCERT 1.3 (section 3.3.2) makes it optional and lets it hold the issuing country, and
the DSC lists are kept per country (a country's CSCA names the country it issues for). The
signature proves only which DSC signed; a code whose ``iss`` names another country than its
signer's subject ``C`` claims an authority its signer does not hold, and ``iss`` is what the
business rules read as ``issuerCountryCode``: such a code fails (``ISSUER_COUNTRY_MISMATCH``),
and its result names the signer's country as issuer. A DSC that names no country cannot be
checked: the code passes with the warning ``ISSUER_UNCHECKED`` (the EU test vectors' DSCs).

Any other exception inside a stage fails the code with ``STAGE_FAULT`` at that stage.

>>> from datetime import datetime, timezone
>>> dcc = DccFormat(DccSettings(trust=DscTrustList()))
>>> dcc.verify("HC1:6BF", datetime(2021, 6, 1, tzinfo=timezone.utc))
Traceback (most recent call last):
...
healthcode.core.errors.VerificationFailed: DECOMPRESS_FAILED: zlib stream is truncated
"""

from __future__ import annotations

from healthcode.core.verify.dcc.payload import dcc_kind, decode_dcc_claims
from healthcode.core.verify.dcc.revocation import (
    HASH_TYPES,
    DccRevocationList,
    check_revocation,
    hashes_of,
)
from healthcode.core.verify.dcc.rules import RuleOutcome, check_rules, shipped_value_sets
from healthcode.core.verify.dcc.schema import (
    SCHEMA_HELP,
    DccSchema,
    shipped_schema,
    validate_schema,
)
from healthcode.core.verify.dcc.stages import (
    FORMAT,
    PREFIX,
    DccFormat,
    DccSettings,
    check_key_usage,
    check_signer_validity,
)
from healthcode.core.verify.dcc.trust import EKU_USAGES, DscTrustList, kid_of_der
from healthcode.core.verify.dcc.valuesets import check_value_sets, load_value_sets

__all__ = [
    "EKU_USAGES",
    "FORMAT",
    "HASH_TYPES",
    "PREFIX",
    "SCHEMA_HELP",
    "DccFormat",
    "DccRevocationList",
    "DccSchema",
    "DccSettings",
    "DscTrustList",
    "RuleOutcome",
    "check_key_usage",
    "check_revocation",
    "check_rules",
    "check_signer_validity",
    "check_value_sets",
    "dcc_kind",
    "decode_dcc_claims",
    "hashes_of",
    "kid_of_der",
    "load_value_sets",
    "shipped_schema",
    "shipped_value_sets",
    "validate_schema",
]
