"""Every stable error code of the project, declared once: its meaning, HTTP status and stage.

A code never changes meaning once published; tests and other systems match on it. Code raises
``ErrorCode.X``, never a string: ``tests/test_error_catalogue.py`` fails on a code raised but not
declared here, and on one declared here but never used. ``docs/errors.md`` is generated from
this table (``python -m healthcode.core.error_codes > docs/errors.md``, by ``error_doc.py``).
It imports nothing of the package but ``error_stages.py`` (``Stage``, re-exported).

>>> ErrorCode.ID_CHECK_DIGIT.http_status, ErrorCode.BASE45_INVALID.stage
(422, <Stage.BASE45: 'base45'>)
>>> ErrorCode("ID_CHECK_DIGIT") == "ID_CHECK_DIGIT"
True
"""

from __future__ import annotations

from enum import StrEnum

from healthcode.core.error_stages import Stage

__all__ = ["ErrorCode", "Stage", "catalogue_markdown"]


class ErrorCode(StrEnum):
    """One stable code: ``ErrorCode.X == "X"``, with ``.http_status``, ``.meaning``, ``.stage``.

    ``http_status`` is what a service answers when this error ends a request; ``stage`` is the
    verifier stage that raises it (None outside the verifier).
    """

    http_status: int
    meaning: str
    stage: Stage | None

    def __new__(
        cls, value: str, http_status: int, meaning: str, stage: Stage | None = None
    ) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.http_status = http_status
        member.meaning = meaning
        member.stage = stage
        return member

    # -- command line ----------------------------------------------------------------------------
    FACTS_UNREADABLE = "FACTS_UNREADABLE", 422, "the facts file cannot be read as a JSON object"
    LANG_UNKNOWN = "LANG_UNKNOWN", 422, "the output language is neither zh nor en"
    USAGE = "USAGE", 400, "the command line is not valid (an option, an argument or a value)"
    FILE_ERROR = "FILE_ERROR", 400, "a file or directory named on the command line cannot be used"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE", 503, "the configured database cannot be opened"
    # -- identity --------------------------------------------------------------------------------
    ID_BIRTH_DATE = "ID_BIRTH_DATE", 422, "the birth date is invalid, before 1900 or in the future"
    ID_CHECK_DIGIT = "ID_CHECK_DIGIT", 422, "the MOD 11-2 check digit does not match the 17 digits"
    ID_FORMAT = "ID_FORMAT", 422, "an ID number is not text, or not in the pattern of its ID type"
    ID_LENGTH = "ID_LENGTH", 422, "a resident ID number is not 18 characters (first generation: 15)"
    ID_NATIONALITY = "ID_NATIONALITY", 422, "a foreign passport's issuer is not an ICAO 9303 code"
    ID_REGION_UNKNOWN = "ID_REGION_UNKNOWN", 422, "the address code is unknown or of another type"
    ID_TYPE_UNKNOWN = "ID_TYPE_UNKNOWN", 422, "the ID type is not one the platform knows"
    NAME_EMPTY = "NAME_EMPTY", 422, "a name to mask is empty"
    PHONE_FORMAT = "PHONE_FORMAT", 422, "a phone number is not 7 to 15 digits after an optional +"
    PSEUDONYM_KEY_TOO_SHORT = "PSEUDONYM_KEY_TOO_SHORT", 422, "the pseudonym key has too few bytes"
    # -- regions ---------------------------------------------------------------------------------
    REGION_FORMAT = "REGION_FORMAT", 422, "a region code is not 6 digits"
    REGION_UNKNOWN = "REGION_UNKNOWN", 422, "a region code is not in the GB/T 2260 table"
    # -- facts -----------------------------------------------------------------------------------
    FIELD_MISSING = "FIELD_MISSING", 422, "a required field is absent or empty"
    FIELD_TYPE = "FIELD_TYPE", 422, "a field has the wrong type, or is an empty text or list"
    IDENTIFIED_BEFORE_EXPOSURE = "IDENTIFIED_BEFORE_EXPOSURE", 422, "identified before the exposure"
    LIFTED_BEFORE_EFFECTIVE = "LIFTED_BEFORE_EFFECTIVE", 422, "an area is lifted before it starts"
    MANDATE_ENDS_ORDER = "MANDATE_ENDS_ORDER", 422, "a mandate ends no later than it is issued"
    MANUAL_SELF_APPROVED = "MANUAL_SELF_APPROVED", 422, "an official approves their own assignment"
    MANUAL_TOO_LONG = "MANUAL_TOO_LONG", 422, "a manual assignment lasts more days than allowed"
    MANUAL_UNTIL_ORDER = "MANUAL_UNTIL_ORDER", 422, "a manual assignment ends before it starts"
    MANUAL_VENUE_SCAN_ONLY = "MANUAL_VENUE_SCAN_ONLY", 422, "grounded on a venue scan alone"
    ONSET_AFTER_REPORT = "ONSET_AFTER_REPORT", 422, "an infection's onset is dated after its report"
    RELEASE_BEFORE_REPORT = "RELEASE_BEFORE_REPORT", 422, "a case's release is before its report"
    RESULT_BEFORE_SAMPLE = "RESULT_BEFORE_SAMPLE", 422, "a test result is dated before its sample"
    TIME_FORMAT = "TIME_FORMAT", 422, "a time is not an ISO 8601 date-time"
    TIME_IN_FUTURE = "TIME_IN_FUTURE", 422, "a time is later than now plus the allowed clock skew"
    UNKNOWN_FIELD = "UNKNOWN_FIELD", 422, "the facts hold a field this version does not know"
    VALUE_NOT_IN_SET = "VALUE_NOT_IN_SET", 422, "a field's value is not one of those allowed"
    VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE", 422, "an integer field is outside its allowed range"
    # -- CertLogic -------------------------------------------------------------------------------
    CERTLOGIC_ARITY = "CERTLOGIC_ARITY", 400, "an operation has the wrong number of operands"
    CERTLOGIC_EVALUATION_FAILED = "CERTLOGIC_EVALUATION_FAILED", 400, "evaluating raised an error"
    CERTLOGIC_INVALID_ARGUMENT = "CERTLOGIC_INVALID_ARGUMENT", 400, "plusTime: an unknown time unit"
    CERTLOGIC_INVALID_DATE = "CERTLOGIC_INVALID_DATE", 400, "not a valid date or date-time string"
    CERTLOGIC_INVALID_EXPRESSION = "CERTLOGIC_INVALID_EXPRESSION", 400, "not a CertLogic expression"
    CERTLOGIC_NON_INTEGER = "CERTLOGIC_NON_INTEGER", 400, "an expression is a non-integer number"
    CERTLOGIC_NOT_AN_ARRAY = "CERTLOGIC_NOT_AN_ARRAY", 400, "an operand is not the array it must be"
    CERTLOGIC_NOT_DATETIME = "CERTLOGIC_NOT_DATETIME", 400, "an operand is not an aware date-time"
    CERTLOGIC_NOT_INTEGER = "CERTLOGIC_NOT_INTEGER", 400, "an operand is not the integer it must be"
    CERTLOGIC_NOT_STRING = "CERTLOGIC_NOT_STRING", 400, "an operand is not the string it must be"
    CERTLOGIC_NOT_TRUTHY_OR_FALSY = "CERTLOGIC_NOT_TRUTHY_OR_FALSY", 400, "neither truthy nor falsy"
    CERTLOGIC_OBJECT_KEYS = "CERTLOGIC_OBJECT_KEYS", 400, "an object has more or fewer than one key"
    CERTLOGIC_OPERATION_FORM = "CERTLOGIC_OPERATION_FORM", 400, "operands are not given as an array"
    CERTLOGIC_PLUSTIME_AMOUNT = "CERTLOGIC_PLUSTIME_AMOUNT", 400, "plusTime's amount is no integer"
    CERTLOGIC_PLUSTIME_UNIT = "CERTLOGIC_PLUSTIME_UNIT", 400, "plusTime's unit is not a time unit"
    CERTLOGIC_TOO_DEEP = "CERTLOGIC_TOO_DEEP", 400, "an expression nests deeper than allowed"
    CERTLOGIC_UNKNOWN_OPERATOR = "CERTLOGIC_UNKNOWN_OPERATOR", 400, "not an operator of CertLogic"
    CERTLOGIC_UVCI_INDEX = "CERTLOGIC_UVCI_INDEX", 400, "extractFromUVCI's index is not an integer"
    CERTLOGIC_VAR_FORM = "CERTLOGIC_VAR_FORM", 400, "a var operation does not hold a path string"
    CERTLOGIC_VAR_PATH = "CERTLOGIC_VAR_PATH", 400, "a data access path has an empty segment"
    # -- colour rules ----------------------------------------------------------------------------
    OVERLAY_BASE_MISMATCH = "OVERLAY_BASE_MISMATCH", 400, "an overlay is for another base rule set"
    OVERLAY_COLOUR_LOWERED = "OVERLAY_COLOUR_LOWERED", 400, "an overlay lowers a national colour"
    OVERLAY_GREEN_RULE = "OVERLAY_GREEN_RULE", 400, "an overlay adds a rule whose effect is green"
    OVERLAY_PARAMETER_LOWERED = "OVERLAY_PARAMETER_LOWERED", 400, "an overlay loosens a parameter"
    OVERLAY_PARAMETER_REDEFINED = "OVERLAY_PARAMETER_REDEFINED", 400, "alters a parameter's meaning"
    OVERLAY_PROVINCE_UNKNOWN = "OVERLAY_PROVINCE_UNKNOWN", 400, "the overlay's province is unknown"
    OVERLAY_REASON_CODE_TAKEN = "OVERLAY_REASON_CODE_TAKEN", 400, "reuses a national reason code"
    OVERLAY_RULE_REDEFINED = "OVERLAY_RULE_REDEFINED", 400, "an overlay redefines a national rule"
    OVERLAY_RULE_REMOVED = "OVERLAY_RULE_REMOVED", 400, "an overlay removes or disables rules"
    OVERLAY_VALIDITY = "OVERLAY_VALIDITY", 400, "the overlay's validity does not overlap the base's"
    PARAMETER_UNKNOWN = "PARAMETER_UNKNOWN", 400, "a rule uses an undeclared parameter"
    REASON_DUPLICATE = "REASON_DUPLICATE", 400, "two rules of a rule set share a reason code"
    RULESET_DIGEST_MISMATCH = "RULESET_DIGEST_MISMATCH", 400, "a rule set's digest is not its hash"
    RULESET_KIND = "RULESET_KIND", 400, "an overlay given for a national rule set, or the reverse"
    RULESET_NOT_VALID = "RULESET_NOT_VALID", 400, "the rule set is not valid at the evaluation time"
    RULESET_SCHEMA = "RULESET_SCHEMA", 400, "a rule set document does not meet its JSON Schema"
    RULESET_UNREADABLE = "RULESET_UNREADABLE", 400, "a rule set file is unreadable or not a mapping"
    RULESET_VALIDITY = "RULESET_VALIDITY", 400, "a rule set's validity ends no later than it starts"
    RULE_CERTLOGIC = "RULE_CERTLOGIC", 400, "a rule's CertLogic expression is invalid"
    RULE_DUPLICATE = "RULE_DUPLICATE", 400, "two rules share one rule id"
    RULE_EVALUATION_FAILED = "RULE_EVALUATION_FAILED", 400, "evaluating a rule's expression failed"
    RULE_TIME_EXPRESSION = "RULE_TIME_EXPRESSION", 400, "a rule's time expression gave no date-time"
    RULE_UNKNOWN = "RULE_UNKNOWN", 400, "the rule set has no rule with this id"
    # -- batch evaluation ------------------------------------------------------------------------
    BATCH_INPUT = "BATCH_INPUT", 400, "an input column is missing, of the wrong type or unparsable"
    BATCH_UNSUPPORTED = "BATCH_UNSUPPORTED", 400, "the batch evaluator cannot run this rule set"
    # -- QR pictures -----------------------------------------------------------------------------
    QR_MEDIUM = "QR_MEDIUM", 422, "the QR medium is neither screen nor paper"
    QR_TEXT = "QR_TEXT", 422, "text not encodable as a QR code (not alphanumeric, or too long)"
    # -- codecs ----------------------------------------------------------------------------------
    ALG_UNSUPPORTED = "ALG_UNSUPPORTED", 400, "the signature algorithm is not supported", Stage.COSE
    BASE45_INVALID = "BASE45_INVALID", 400, "the text is not valid base45", Stage.BASE45
    COSE_MALFORMED = "COSE_MALFORMED", 400, "not a well-formed COSE_Sign1 message", Stage.COSE
    CWT_EXPIRED = "CWT_EXPIRED", 400, "the code's expiry time has passed", Stage.CLAIMS
    CWT_MALFORMED = "CWT_MALFORMED", 400, "the claims are malformed or incomplete", Stage.CLAIMS
    CWT_NOT_YET_VALID = "CWT_NOT_YET_VALID", 400, "issued or valid only in the future", Stage.CLAIMS
    DECOMPRESS_FAILED = "DECOMPRESS_FAILED", 400, "the payload does not inflate", Stage.DECOMPRESS
    PAYLOAD_INVALID = "PAYLOAD_INVALID", 422, "a field of the native payload is bad", Stage.SCHEMA
    PAYLOAD_VERSION_UNKNOWN = "PAYLOAD_VERSION_UNKNOWN", 400, "unknown native version", Stage.SCHEMA
    PREFIX_INVALID = "PREFIX_INVALID", 400, "the text lacks its format's prefix", Stage.PREFIX
    SIGNATURE_INVALID = "SIGNATURE_INVALID", 400, "the signature does not verify", Stage.SIGNATURE
    # -- EU DCC ----------------------------------------------------------------------------------
    CWT_OUTSIDE_SIGNER_VALIDITY = (
        "CWT_OUTSIDE_SIGNER_VALIDITY",
        400,
        "the DCC was issued outside its signer certificate's validity",
        Stage.CLAIMS,
    )
    ISSUER_COUNTRY_MISMATCH = "ISSUER_COUNTRY_MISMATCH", 400, "iss not DSC's country", Stage.CLAIMS
    KEY_USAGE_MISMATCH = "KEY_USAGE_MISMATCH", 400, "DSC's EKU excludes this type", Stage.KEY_USAGE
    RULES_FAILED = "RULES_FAILED", 400, "one or more business rules are not met", Stage.RULES
    SCHEMA_UNAVAILABLE = "SCHEMA_UNAVAILABLE", 400, "given DCC schema unreadable", Stage.SCHEMA
    VALUE_SET_DISEASE_UNKNOWN = (
        "VALUE_SET_DISEASE_UNKNOWN",
        400,
        "tg: the disease or agent targeted is not in its EU value set",
        Stage.VALUE_SETS,
    )
    VALUE_SET_VACCINE_UNKNOWN = (
        "VALUE_SET_VACCINE_UNKNOWN",
        400,
        "vp: the vaccine or prophylaxis is not in its EU value set",
        Stage.VALUE_SETS,
    )
    VALUE_SET_PRODUCT_UNKNOWN = (
        "VALUE_SET_PRODUCT_UNKNOWN",
        400,
        "mp: the vaccine medicinal product is not in its EU value set",
        Stage.VALUE_SETS,
    )
    VALUE_SET_MANUFACTURER_UNKNOWN = (
        "VALUE_SET_MANUFACTURER_UNKNOWN",
        400,
        "ma: the vaccine marketing authorisation holder is not in its EU value set",
        Stage.VALUE_SETS,
    )
    VALUE_SET_TEST_TYPE_UNKNOWN = (
        "VALUE_SET_TEST_TYPE_UNKNOWN",
        400,
        "tt: the type of test is not in its EU value set",
        Stage.VALUE_SETS,
    )
    VALUE_SET_TEST_DEVICE_UNKNOWN = (
        "VALUE_SET_TEST_DEVICE_UNKNOWN",
        400,
        "ma: the rapid antigen test device is not in its EU value set",
        Stage.VALUE_SETS,
    )
    VALUE_SET_TEST_RESULT_UNKNOWN = (
        "VALUE_SET_TEST_RESULT_UNKNOWN",
        400,
        "tr: the test result is not in its EU value set",
        Stage.VALUE_SETS,
    )
    VALUE_SET_COUNTRY_UNKNOWN = (
        "VALUE_SET_COUNTRY_UNKNOWN",
        400,
        "co: the country of the event is not in the EU country value set",
        Stage.VALUE_SETS,
    )
    VALUE_SETS_UNAVAILABLE = (
        "VALUE_SETS_UNAVAILABLE",
        400,
        "a given EU DCC value set file or folder cannot be read as EU value sets",
        Stage.VALUE_SETS,
    )
    DCC_REVOKED = (
        "DCC_REVOKED",
        400,
        "a hash of the DCC (UCI, country and UCI, or signature) is on a revocation list",
        Stage.REVOCATION,
    )
    DCC_REVOCATION_LIST_INVALID = (
        "DCC_REVOCATION_LIST_INVALID",
        400,
        "an EU DCC revocation list (batch of hashes) is malformed",
    )
    # -- SMART Health Cards ----------------------------------------------------------------------
    JWS_MALFORMED = "JWS_MALFORMED", 400, "the JWS, its header or payload is malformed", Stage.JWS
    REVOKED = "REVOKED", 400, "the card's rid is on its issuer's revocation list", Stage.REVOCATION
    SHC_CHUNK_MISSING = "SHC_CHUNK_MISSING", 400, "a chunk of the card is missing", Stage.NUMERIC
    SHC_ISSUER_MISMATCH = "SHC_ISSUER_MISMATCH", 400, "iss is not the key's issuer", Stage.CLAIMS
    SHC_NUMERIC_INVALID = "SHC_NUMERIC_INVALID", 400, "malformed shc:/ numeric text", Stage.NUMERIC
    SHC_X5C_INVALID = (
        "SHC_X5C_INVALID",
        400,
        "the key's x5c chain does not lead to a trusted anchor, is expired or names another iss",
        Stage.SIGNATURE,
    )
    SHC_DIRECTORY_INVALID = (
        "SHC_DIRECTORY_INVALID",
        400,
        "a SMART Health Cards issuer directory is not in the VCI directory format",
    )
    # -- verifier --------------------------------------------------------------------------------
    CODE_REVOKED = "CODE_REVOKED", 400, "the code's serial or status is revoked", Stage.REVOCATION
    STATUS_INDEX_OUT_OF_RANGE = (
        "STATUS_INDEX_OUT_OF_RANGE",
        400,
        "the code's index is outside its status list",
        Stage.STATUS_LIST,
    )
    STATUS_LIST_MISSING = "STATUS_LIST_MISSING", 400, "no list held for uri", Stage.STATUS_LIST
    STATUS_LIST_STALE = "STATUS_LIST_STALE", 400, "list past exp or max age", Stage.STATUS_LIST
    ISSUER_MISMATCH = "ISSUER_MISMATCH", 400, "the claimed issuer is not the signer's", Stage.CLAIMS
    KEY_EXPIRED = "KEY_EXPIRED", 400, "the signer's validity has ended", Stage.SIGNATURE
    KEY_NOT_IN_TRUST_LIST = "KEY_NOT_IN_TRUST_LIST", 400, "the kid is not trusted", Stage.SIGNATURE
    KEY_NOT_YET_VALID = "KEY_NOT_YET_VALID", 400, "the signer is not valid yet", Stage.SIGNATURE
    KEY_REVOKED = "KEY_REVOKED", 400, "the signing key is revoked", Stage.SIGNATURE
    KID_MISSING = "KID_MISSING", 400, "the COSE message or JWS header has no kid", Stage.COSE
    PREFIX_UNKNOWN = "PREFIX_UNKNOWN", 400, "not text, or of no known code format", Stage.PREFIX
    QR_UNREADABLE = "QR_UNREADABLE", 400, "no QR code can be read from the picture", Stage.QR
    REVOCATION_UNAVAILABLE = "REVOCATION_UNAVAILABLE", 400, "no revocation data", Stage.REVOCATION
    RULE_ERROR = "RULE_ERROR", 400, "a native rule could not be evaluated", Stage.RULES
    RULE_FAILED = "RULE_FAILED", 400, "the code does not meet a verification rule", Stage.RULES
    SCHEMA_INVALID = "SCHEMA_INVALID", 400, "the payload does not meet its schema", Stage.SCHEMA
    SIGNER_RETIRED = "SIGNER_RETIRED", 400, "issued after its signer was retired", Stage.CLAIMS
    STAGE_FAULT = "STAGE_FAULT", 400, "a verifier stage broke on this input; the code is refused"
    TEXT_NOT_UNICODE = "TEXT_NOT_UNICODE", 400, "the text is not valid Unicode", Stage.PREFIX
    TEXT_TOO_LONG = "TEXT_TOO_LONG", 400, "the text is longer than a code can be", Stage.PREFIX
    # -- trust -----------------------------------------------------------------------------------
    CERT_ALGORITHM = "CERT_ALGORITHM", 400, "a certificate key is not EC (P-256 for a signer)"
    CERT_EKU = "CERT_EKU", 400, "a certificate's extended key usage does not allow this use"
    CERT_EXPIRED = "CERT_EXPIRED", 400, "a certificate is expired, or ends before the code it signs"
    CERT_KEY_USAGE = "CERT_KEY_USAGE", 400, "a signer certificate is a CA or lacks digitalSignature"
    CERT_MALFORMED = "CERT_MALFORMED", 400, "a certificate cannot be parsed"
    CERT_NOT_SIGNED_BY_ROOT = "CERT_NOT_SIGNED_BY_ROOT", 400, "a signer is not issued by this root"
    CERT_NOT_YET_VALID = "CERT_NOT_YET_VALID", 400, "a certificate is not valid yet"
    CERT_PROVINCE = "CERT_PROVINCE", 400, "a signer's province (ST) is absent, bad or mislisted"
    CERT_VALIDITY = "CERT_VALIDITY", 400, "a signer's validity is empty or outside the root's"
    CRL_INVALID = "CRL_INVALID", 400, "a SMART Health Cards revocation list is malformed"
    DOCUMENT_KIND = "DOCUMENT_KIND", 400, "a digest is kept only for rule sets and value sets"
    DSC_INVALID = "DSC_INVALID", 400, "an EU DCC signer certificate (DSC) is not readable X.509"
    ENVELOPE_DIGEST_MISMATCH = "ENVELOPE_DIGEST_MISMATCH", 400, "content does not match its digest"
    ENVELOPE_EXPIRED = "ENVELOPE_EXPIRED", 400, "a signed document is stale beyond the tolerance"
    ENVELOPE_KIND = "ENVELOPE_KIND", 400, "a signed document is of another kind than expected"
    ENVELOPE_MALFORMED = "ENVELOPE_MALFORMED", 400, "a signed document envelope is malformed"
    ENVELOPE_NOT_YET_VALID = "ENVELOPE_NOT_YET_VALID", 400, "a signed document is not valid yet"
    ENVELOPE_PUBLISHER_INVALID = "ENVELOPE_PUBLISHER_INVALID", 400, "publisher not certified then"
    ENVELOPE_PUBLISHER_REVOKED = "ENVELOPE_PUBLISHER_REVOKED", 400, "the publisher is revoked"
    ENVELOPE_ROLLBACK = "ENVELOPE_ROLLBACK", 400, "older than or in conflict with the held version"
    ENVELOPE_SIGNATURE_INVALID = "ENVELOPE_SIGNATURE_INVALID", 400, "the signature is invalid"
    ENVELOPE_VERSION_UNKNOWN = "ENVELOPE_VERSION_UNKNOWN", 400, "the envelope version is unknown"
    JWKS_INVALID = "JWKS_INVALID", 400, "a SMART Health Cards issuer's JWKS has no keys array"
    KEY_MALFORMED = "KEY_MALFORMED", 400, "a private key cannot be loaded or is not an EC key"
    KEY_PASSPHRASE = "KEY_PASSPHRASE", 400, "the passphrase is missing, or given for a plain key"
    NETWORK_EXISTS = "NETWORK_EXISTS", 400, "the trust state already holds a network"
    NETWORK_MISSING = "NETWORK_MISSING", 400, "no trust network in the folder or the database"
    PROVINCE_EXISTS = "PROVINCE_EXISTS", 400, "the province is already in the network"
    PROVINCE_INVALID = "PROVINCE_INVALID", 400, "a province code is malformed, or none is given"
    PROVINCE_UNKNOWN = "PROVINCE_UNKNOWN", 400, "the province is not in the network"
    ROOT_INVALID = "ROOT_INVALID", 400, "the root is not an EC P-256 CA with keyCertSign"
    PUBLISHER_UNKNOWN = "PUBLISHER_UNKNOWN", 400, "no such publisher, or none active now"
    SERIAL_INVALID = "SERIAL_INVALID", 400, "the serial to revoke is empty"
    STATUS_LIST_INVALID = "STATUS_LIST_INVALID", 400, "a status list token is malformed"
    STATUS_LIST_SIGNER_INVALID = "STATUS_LIST_SIGNER_INVALID", 400, "not signed by a publisher"
    SIGNER_UNKNOWN = "SIGNER_UNKNOWN", 400, "no such signer, or none active for the province"
    TRUSTLIST_MALFORMED = "TRUSTLIST_MALFORMED", 400, "a national trust list is malformed"
    TRUSTLIST_UNSIGNED = "TRUSTLIST_UNSIGNED", 400, "a bare trust list, not its signed envelope"
    TRUST_LIST_INVALID = "TRUST_LIST_INVALID", 400, "a DCC gateway trust list is malformed"
    TRUST_LIST_MISSING = "TRUST_LIST_MISSING", 400, "no trust list is cached in the folder"
    TRUST_STORE_ROOT_MISMATCH = (
        "TRUST_STORE_ROOT_MISMATCH",
        409,
        "the national root given is not the one the checkpoint's trust store holds",
    )
    CODE_LIFETIME_INVALID = (
        "CODE_LIFETIME_INVALID",
        400,
        "a code's validity is not a positive whole duration such as 90s, 30m, 2h or 1d",
    )
    CODE_LIFETIME_TOO_LONG = (
        "CODE_LIFETIME_TOO_LONG",
        400,
        "a code's validity is longer than a native code may live (MAX_CODE_LIFETIME, a day)",
    )
    # -- store -----------------------------------------------------------------------------------
    DATABASE_BUSY = "DATABASE_BUSY", 503, "other writers held the database; nothing stored, retry"
    DATABASE_ERROR = "DATABASE_ERROR", 500, "the database refused a statement; nothing was stored"
    OVERLOADED = "OVERLOADED", 503, "the server has its limit of requests in flight; retry later"
    CLIENT_OVER_SHARE = "CLIENT_OVER_SHARE", 429, "the caller has its share of a server in flight"
    FIELD_DECRYPT_FAILED = "FIELD_DECRYPT_FAILED", 400, "an encrypted field cannot be decrypted"
    # -- configuration ---------------------------------------------------------------------------
    CONFIG_INVALID = "CONFIG_INVALID", 500, "a configuration variable does not parse"
    CONFIG_MISSING = "CONFIG_MISSING", 500, "a required configuration variable is not set"
    # -- hub -------------------------------------------------------------------------------------
    BATCH_EMPTY = "BATCH_EMPTY", 422, "the request holds no records"
    BATCH_INVALID = "BATCH_INVALID", 422, "some records are invalid, so nothing was stored"
    BATCH_NOT_ARRAY = "BATCH_NOT_ARRAY", 400, "a JSON batch is not an array of records"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE", 413, "the number of records or items is over the limit"
    BODY_TOO_LARGE = "BODY_TOO_LARGE", 413, "the request body is larger than the limit"
    CODE_NOT_OWN = "CODE_NOT_OWN", 403, "the code's person or serial belongs to another province"
    CONTENT_TYPE = "CONTENT_TYPE", 400, "the content type or multipart form does not fit the route"
    CORRECTION_IDENTITY_CHANGED = "CORRECTION_IDENTITY_CHANGED", 422, "a correction changes the ID"
    CORRECTION_NO_CHANGE = "CORRECTION_NO_CHANGE", 422, "a correction leaves the record unchanged"
    CSV_HEADER = "CSV_HEADER", 400, "the CSV header is missing or has unknown or repeated columns"
    CSV_ROW_WIDTH = "CSV_ROW_WIDTH", 422, "a CSV row has more or fewer cells than the header"
    CURSOR_EXPIRED = "CURSOR_EXPIRED", 409, "entries after the cursor were purged; it cannot resume"
    CURSOR_INVALID = "CURSOR_INVALID", 422, "the cursor is not a number from 0 to the feed's end"
    DOCUMENT_KIND_UNKNOWN = "DOCUMENT_KIND_UNKNOWN", 422, "no published document has this kind"
    DUPLICATE_IN_BATCH = "DUPLICATE_IN_BATCH", 422, "a record_id recurs in a batch with new content"
    ENCODING_UNSUPPORTED = "ENCODING_UNSUPPORTED", 400, "the file is neither UTF-8 nor GBK"
    FEED_NOT_OWN = "FEED_NOT_OWN", 403, "a province asks for the feed of another province"
    FHIR_BUNDLE_EMPTY = "FHIR_BUNDLE_EMPTY", 422, "the Bundle has no Observation or Immunization"
    FHIR_BUNDLE_TYPE = "FHIR_BUNDLE_TYPE", 422, "Bundle.type is not one the hub accepts"
    FHIR_CODE_SYSTEM = "FHIR_CODE_SYSTEM", 422, "a CodeableConcept has no coding of a known system"
    FHIR_CODE_UNKNOWN = "FHIR_CODE_UNKNOWN", 422, "a coded value is not in the hub's value set"
    FHIR_IDENTIFIER_MISSING = "FHIR_IDENTIFIER_MISSING", 422, "a resource has no identifier or id"
    FHIR_IDENTIFIER_SYSTEM = "FHIR_IDENTIFIER_SYSTEM", 422, "a Patient has no ID-type identifier"
    FHIR_NOT_BUNDLE = "FHIR_NOT_BUNDLE", 400, "the body is not a FHIR Bundle"
    FHIR_REFERENCE_UNRESOLVED = "FHIR_REFERENCE_UNRESOLVED", 422, "no Patient of the Bundle matches"
    FHIR_RESOURCE_UNSUPPORTED = "FHIR_RESOURCE_UNSUPPORTED", 422, "an entry of an unsupported type"
    FHIR_STATUS = "FHIR_STATUS", 422, "an Observation or Immunization status is not one accepted"
    FHIR_VALUE_UNKNOWN = "FHIR_VALUE_UNKNOWN", 422, "a result codes neither positive nor negative"
    FIELD_TOO_LONG = "FIELD_TOO_LONG", 422, "a text field is longer than its limit"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED", 409, "this key was used for another request"
    JSON_INVALID = "JSON_INVALID", 400, "the body or a line of it is not JSON"
    JSON_TOO_DEEP = "JSON_TOO_DEEP", 400, "the JSON nests arrays and objects deeper than the limit"
    KIND_NOT_ALLOWED = "KIND_NOT_ALLOWED", 403, "the caller's kind of organisation may not do this"
    NATURAL_KEY_CONFLICT = "NATURAL_KEY_CONFLICT", 409, "a record_id is stored with other content"
    NOT_PUBLISHED = "NOT_PUBLISHED", 404, "this hub has no trust network to publish documents with"
    ORG_KIND_UNKNOWN = "ORG_KIND_UNKNOWN", 422, "the organisation kind is not one the hub knows"
    ORG_NAME_MISSING = "ORG_NAME_MISSING", 422, "an organisation needs a name"
    ORG_REGION_NOT_PROVINCE = "ORG_REGION_NOT_PROVINCE", 422, "a province needs its province code"
    ORG_UNKNOWN = "ORG_UNKNOWN", 422, "no organisation has this id"
    QUERY_INVALID = "QUERY_INVALID", 422, "a query gives neither or both of serial and pseudonym"
    RECORD_KIND_UNKNOWN = "RECORD_KIND_UNKNOWN", 422, "the record kind is not one the hub knows"
    RECORD_NOT_OBJECT = "RECORD_NOT_OBJECT", 422, "an item of the body is not a JSON object"
    RECORD_NOT_OWN = "RECORD_NOT_OWN", 403, "the record was submitted by another organisation"
    RECORD_UNKNOWN = "RECORD_UNKNOWN", 404, "the caller has no record of this kind and record_id"
    RECORD_WITHDRAWN = "RECORD_WITHDRAWN", 409, "the record was withdrawn and can no longer change"
    RECORD_NOT_HELD = "RECORD_NOT_HELD", 403, "the province does not hold the record's person"
    REGION_NOT_OWN = "REGION_NOT_OWN", 403, "the region is outside the authority's own region"
    REGISTRATION_NOT_HELD = "REGISTRATION_NOT_HELD", 404, "the province does not hold the person"
    REGISTRATION_REASON = "REGISTRATION_REASON", 422, "the reason is not residence, stay or work"
    RISK_AREA_CANCELLED = "RISK_AREA_CANCELLED", 409, "the designation was cancelled"
    RISK_AREA_LIFTED = "RISK_AREA_LIFTED", 409, "the risk area was lifted; designate it anew"
    RISK_AREA_UNKNOWN = "RISK_AREA_UNKNOWN", 404, "no risk area has this id"
    STATUS_INDEX_TAKEN = "STATUS_INDEX_TAKEN", 409, "another colour state holds the index"
    STATUS_UNKNOWN = "STATUS_UNKNOWN", 404, "no status was reported for this code"
    TEXT_INVALID = "TEXT_INVALID", 422, "a text holds a lone surrogate or a NUL character"
    TEXT_CONTROL = "TEXT_CONTROL", 422, "a text holds a control or formatting character"
    TIME_OUT_OF_RANGE = "TIME_OUT_OF_RANGE", 422, "a date or time lies outside the years accepted"
    TOKEN_EXPIRED = "TOKEN_EXPIRED", 401, "the token has expired"
    TOKEN_INVALID = "TOKEN_INVALID", 401, "the token is not known"
    TOKEN_MISSING = "TOKEN_MISSING", 401, "the request carries no bearer token"
    TOKEN_REVOKED = "TOKEN_REVOKED", 401, "the token was revoked"
    TOKEN_UNKNOWN = "TOKEN_UNKNOWN", 422, "no token has this id"
    UNTIL_BEFORE_FROM = "UNTIL_BEFORE_FROM", 422, "until is not after effective_from"
    UNTIL_BEFORE_SINCE = "UNTIL_BEFORE_SINCE", 422, "a status report's until is not after its since"
    # -- checkpoint decisions --------------------------------------------------------------------
    CODE_RED = "CODE_RED", 403, "a valid code that is red: stop"
    CODE_SUPERSEDED = "CODE_SUPERSEDED", 403, "a newer colour state of the person replaced it"
    CODE_YELLOW = "CODE_YELLOW", 403, "a valid code that is yellow: stop"
    VENUE_RULE_UNKNOWN = "VENUE_RULE_UNKNOWN", 422, "a venue rule id is not of the published list"
    SEED_REFUSED = "SEED_REFUSED", 502, "a service refused a request seeding the network"
    SERVICE_NOT_STARTED = "SERVICE_NOT_STARTED", 500, "a service of the network did not start"
    # -- province --------------------------------------------------------------------------------
    HUB_UNREACHABLE = "HUB_UNREACHABLE", 503, "the hub could not be reached; nothing was stored"
    HUB_REFUSED = "HUB_REFUSED", 502, "the hub refused the province's request; nothing was stored"
    RESIDENCE_OUTSIDE_PROVINCE = "RESIDENCE_OUTSIDE_PROVINCE", 422, "the residence is elsewhere"
    PERSON_UNKNOWN = "PERSON_UNKNOWN", 404, "the province holds no application of this person"
    PERSON_TOKEN_INVALID = "PERSON_TOKEN_INVALID", 401, "the person's token is missing or wrong"
    APPLICATION_MISMATCH = (
        "APPLICATION_MISMATCH",
        409,
        "the ID number applied before under another name or phone; no token is given",
    )
    OPERATOR_TOKEN_INVALID = (
        "OPERATOR_TOKEN_INVALID",
        401,
        "the operator token is missing or wrong, or the service (province, hub) has none",
    )
    STAFF_TOKEN_INVALID = "STAFF_TOKEN_INVALID", 401, "no valid token of an active staff member"
    STAFF_ROLE_REQUIRED = "STAFF_ROLE_REQUIRED", 403, "the staff member lacks the role this needs"
    STAFF_ROLE_UNKNOWN = "STAFF_ROLE_UNKNOWN", 422, "a staff role is not one of the known roles"
    STAFF_NAME_INVALID = "STAFF_NAME_INVALID", 422, "a staff name is missing, too long or not text"
    STAFF_GRID_INVALID = "STAFF_GRID_INVALID", 422, "grid id missing, malformed or for another role"
    STAFF_REGION_OUTSIDE = "STAFF_REGION_OUTSIDE", 422, "the staff region is not in the province"
    STAFF_UNKNOWN = "STAFF_UNKNOWN", 404, "no staff member has this id"
    STAFF_OUT_OF_REGION = "STAFF_OUT_OF_REGION", 403, "a person lives outside the staff region"
    DECISION_PROPOSER_ROLE = "DECISION_PROPOSER_ROLE", 403, "only an operator proposes a decision"
    DECISION_BULK_ROLE = "DECISION_BULK_ROLE", 403, "a decision on many people needs a supervisor"
    DECISION_APPROVER_ROLE = "DECISION_APPROVER_ROLE", 403, "the approver lacks the approver role"
    DECISION_BASIS_UNKNOWN = "DECISION_BASIS_UNKNOWN", 422, "a legal basis not of the fixed list"
    DECISION_BASIS_COLOUR = "DECISION_BASIS_COLOUR", 422, "the legal basis forbids this colour"
    DECISION_EVIDENCE_MISSING = "DECISION_EVIDENCE_MISSING", 422, "no or malformed evidence"
    DECISION_EXPIRY_PASSED = "DECISION_EXPIRY_PASSED", 422, "a decision acts outside its time"
    DECISION_UNKNOWN = "DECISION_UNKNOWN", 404, "no decision has this id"
    DECISION_STATE = "DECISION_STATE", 409, "the decision's state does not allow this"
    DECISION_NOT_APPROVED = "DECISION_NOT_APPROVED", 422, "a change on no approved, acting decision"
    CHANGE_WITHOUT_RULE = "CHANGE_WITHOUT_RULE", 422, "a change by the rules names no rule"
    GRID_CSV_INVALID = "GRID_CSV_INVALID", 422, "grid units have bad rows (listed); none stored"
    GRID_UNIT_INVALID = "GRID_UNIT_INVALID", 422, "a grid unit's county, id or name is malformed"
    GRID_UNKNOWN = "GRID_UNKNOWN", 422, "no grid unit with this id in the task's county"
    GRID_TASK_UNKNOWN = "GRID_TASK_UNKNOWN", 404, "no grid task has this id"
    GRID_STATE_UNKNOWN = "GRID_STATE_UNKNOWN", 422, "a grid task state is missing or unknown"
    GRID_NOT_OWN = "GRID_NOT_OWN", 403, "the task belongs to another grid or region"
    GRID_TRANSITION_INVALID = (
        "GRID_TRANSITION_INVALID",
        409,
        "the task cannot move to that state from its own",
    )
    GRID_NOTE_INVALID = "GRID_NOTE_INVALID", 422, "a task note is not plain text of at most 500"
    GRID_ACTION_ID_INVALID = "GRID_ACTION_ID_INVALID", 422, "not 8-64 letters, digits, _ or -"
    GRID_ACTION_REUSED = "GRID_ACTION_REUSED", 409, "an action id already names another action"
    GRID_HANDOVER_INVALID = "GRID_HANDOVER_INVALID", 422, "a grid task hand-over is malformed"
    GRID_HANDOVER_NOT_HELD = "GRID_HANDOVER_NOT_HELD", 403, "the sender does not hold the person"
    APPEAL_UNKNOWN = "APPEAL_UNKNOWN", 404, "no appeal has this id (or it is another person's)"
    APPEAL_LIMIT = "APPEAL_LIMIT", 429, "the person has as many open appeals as allowed"
    APPEAL_ANSWERED = "APPEAL_ANSWERED", 409, "the appeal has another answer, or one under way"
    APPEAL_RECORD_INVALID = "APPEAL_RECORD_INVALID", 422, "not a current record of the appellant"
    # -- province: citizens' sign-in (province/signin.py) -----------------------------------------
    SIGN_IN_RATE_LIMITED = "SIGN_IN_RATE_LIMITED", 429, "too many one-time codes asked lately"
    SIGN_IN_LOCKED = "SIGN_IN_LOCKED", 429, "too many failed sign-ins: locked for a while"
    SIGN_IN_CODE_INVALID = "SIGN_IN_CODE_INVALID", 401, "the one-time code is wrong or not valid"
    SESSION_INVALID = "SESSION_INVALID", 401, "the sign-in session is missing, wrong or ended"
    # -- province: family members holding codes (province/family.py) -----------------------------
    HOLD_CODE_INVALID = "HOLD_CODE_INVALID", 401, "the consent code is wrong, used or not valid"
    HOLD_RATE_LIMITED = "HOLD_RATE_LIMITED", 429, "too many consent codes asked lately"
    HOLD_LOCKED = "HOLD_LOCKED", 429, "too many wrong consent codes: holding locked for a while"
    HOLD_SELF = "HOLD_SELF", 422, "a person cannot hold their own code"
    HOLD_LIMIT = "HOLD_LIMIT", 409, "as many held people (or holders) as allowed already"
    HOLD_UNKNOWN = "HOLD_UNKNOWN", 404, "no live holding has this id for the caller"
    PHONE_INVALID = "PHONE_INVALID", 422, "a phone number is not 5 to 24 digits, +, spaces, -"
    SIGNER_UNAVAILABLE = "SIGNER_UNAVAILABLE", 503, "the province has no signer key to sign with"
    RULESET_UNAVAILABLE = "RULESET_UNAVAILABLE", 503, "the province's rule set cannot be loaded"
    PROVINCE_UNREACHABLE = "PROVINCE_UNREACHABLE", 503, "the province's service cannot be reached"
    OVERLAY_OTHER_PROVINCE = "OVERLAY_OTHER_PROVINCE", 400, "the overlay is another province's"
    # -- province: the operators' dashboard and the public rules pages (province/ops/) ----------
    RULESET_VERSION_UNKNOWN = "RULESET_VERSION_UNKNOWN", 404, "the province used no such rule set"
    # -- audit log: Merkle proofs, signed notes, checkpoints, tiles, leaves ----------------------
    MERKLE_INDEX_OUT_OF_RANGE = "MERKLE_INDEX_OUT_OF_RANGE", 422, "a leaf index is past the tree"
    MERKLE_TREE_SIZE = "MERKLE_TREE_SIZE", 422, "a tree size is negative or above the later one"
    MERKLE_PROOF_LENGTH = "MERKLE_PROOF_LENGTH", 422, "a proof has a wrong number of hashes"
    MERKLE_HASH_SIZE = "MERKLE_HASH_SIZE", 422, "a leaf or proof hash is not 32 bytes"
    MERKLE_ROOT_MISMATCH = "MERKLE_ROOT_MISMATCH", 422, "a proof does not lead to the root given"
    NOTE_MALFORMED = "NOTE_MALFORMED", 422, "a signed note's text or signature lines are malformed"
    NOTE_KEY_INVALID = "NOTE_KEY_INVALID", 422, "a note signer or verifier key is malformed"
    NOTE_SIGNATURE_INVALID = "NOTE_SIGNATURE_INVALID", 422, "a known key's signature fails"
    NOTE_UNSIGNED = "NOTE_UNSIGNED", 422, "no signature on the note is by a known key"
    CHECKPOINT_MALFORMED = "CHECKPOINT_MALFORMED", 422, "a checkpoint is not origin, size, root"
    CHECKPOINT_ORIGIN = "CHECKPOINT_ORIGIN", 422, "a checkpoint is of another log than expected"
    WITNESS_ROLLBACK = "WITNESS_ROLLBACK", 409, "a checkpoint is older than the last cosigned"
    WITNESS_MALFORMED = "WITNESS_MALFORMED", 400, "an add-checkpoint body is malformed"
    WITNESS_UNKNOWN_LOG = "WITNESS_UNKNOWN_LOG", 404, "the witness has no key for this log"
    WITNESS_FORBIDDEN = "WITNESS_FORBIDDEN", 403, "the checkpoint is not signed by its log's key"
    WITNESS_OLD_SIZE = "WITNESS_OLD_SIZE", 409, "the old size is not the size last cosigned"
    WITNESS_INCONSISTENT = "WITNESS_INCONSISTENT", 422, "the tree does not extend the cosigned"
    WITNESS_UNAVAILABLE = "WITNESS_UNAVAILABLE", 503, "no witness key, or the witness is away"
    TILE_PATH_INVALID = "TILE_PATH_INVALID", 422, "a path is not a tlog-tiles tile or entry path"
    TILE_INVALID = "TILE_INVALID", 422, "a tile or entry bundle is not what its path says"
    TILE_MISSING = "TILE_MISSING", 404, "a tile or entry bundle the tree needs is absent"
    LEAF_INVALID = "LEAF_INVALID", 422, "a colour log leaf is not canonical or not allowed"
    DECISION_LIST_INVALID = "DECISION_LIST_INVALID", 422, "a published decision list is malformed"
    # -- HTTP ------------------------------------------------------------------------------------
    HTTP_ERROR = "HTTP_ERROR", 500, "an HTTP error with no own code; the status says which"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED", 405, "the route does not take this HTTP method"
    NOT_FOUND = "NOT_FOUND", 404, "no route at this path"
    REQUEST_INVALID = "REQUEST_INVALID", 422, "request parameters or fields fail validation"


def catalogue_markdown() -> str:
    """``docs/errors.md``: every code with its status, stage and meaning (``error_doc.py``)."""
    from healthcode.core.error_doc import markdown

    return markdown(ErrorCode)


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
