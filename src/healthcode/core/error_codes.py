"""Every stable error code of the project, declared once: its meaning, HTTP status and stage.

A code never changes meaning once published; tests and other systems match on it. Code anywhere
raises ``ErrorCode.X``, never a string: ``tests/test_error_catalogue.py`` fails on a code raised
but not declared here, and on one declared here but never used. ``docs/errors.md`` is generated
from this table (``python -m healthcode.core.error_codes > docs/errors.md``) and a test keeps it
current.

>>> ErrorCode.ID_CHECK_DIGIT.http_status, ErrorCode.BASE45_INVALID.stage
(422, <Stage.BASE45: 'base45'>)
>>> ErrorCode("ID_CHECK_DIGIT") == "ID_CHECK_DIGIT"
True

This module imports nothing of the package.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorCode", "Stage", "catalogue_markdown"]


class Stage(StrEnum):
    """Stable names of the verifier stages, in pipeline order."""

    QR = "qr"  # a picture given instead of text
    PREFIX = "prefix"
    NUMERIC = "numeric"  # SMART Health Cards: shc:/ digits to JWS text
    BASE45 = "base45"
    DECOMPRESS = "decompress"
    COSE = "cose"
    JWS = "jws"  # SMART Health Cards: the compact JWS
    SIGNATURE = "signature"
    CLAIMS = "claims"
    KEY_USAGE = "key_usage"  # EU DCC: the signer's EKU does not cover this kind of certificate
    SCHEMA = "schema"
    REVOCATION = "revocation"
    RULES = "rules"


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
    FACTS_UNREADABLE = "FACTS_UNREADABLE", 422, "{…} does not hold an object"
    LANG_UNKNOWN = "LANG_UNKNOWN", 422, "--lang is zh or en, not {…}"
    TIME_FORMAT = "TIME_FORMAT", 422, "--at is not ISO 8601: {…}"
    TRUSTLIST_UNSIGNED = (
        "TRUSTLIST_UNSIGNED",
        400,
        "a bare, unsigned trust list was given where the signed envelope is needed",
    )
    USAGE = "USAGE", 400, "the command line is not valid: {…}"
    FILE_ERROR = "FILE_ERROR", 400, "a file named on the command line cannot be used: {…}"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE", 503, "cannot open the database: {…}"
    # -- identity --------------------------------------------------------------------------------
    ID_BIRTH_DATE = "ID_BIRTH_DATE", 422, "birth date {…} is before 1900"
    ID_CHECK_DIGIT = "ID_CHECK_DIGIT", 422, "check digit is {…}, expected {…}"
    ID_FORMAT = "ID_FORMAT", 422, "a check digit is computed over 17 digits"
    ID_LENGTH = "ID_LENGTH", 422, "an ID number has 18 characters, got {…}{…}"
    ID_NATIONALITY = (
        "ID_NATIONALITY",
        422,
        "a foreign passport needs its issuing state as an ICAO 9303 code, got {…}",
    )
    ID_REGION_UNKNOWN = (
        "ID_REGION_UNKNOWN",
        422,
        "a residence permit's address code is 810000, 820000 or 830000, got {…}",
    )
    ID_TYPE_UNKNOWN = "ID_TYPE_UNKNOWN", 422, "unknown ID type {…}"
    NAME_EMPTY = "NAME_EMPTY", 422, "a name to mask is empty"
    PHONE_FORMAT = "PHONE_FORMAT", 422, "not a phone number"
    PSEUDONYM_KEY_TOO_SHORT = (
        "PSEUDONYM_KEY_TOO_SHORT",
        422,
        "a pseudonym key needs at least {…} bytes",
    )
    # -- regions ---------------------------------------------------------------------------------
    REGION_FORMAT = "REGION_FORMAT", 422, "a region code has 6 digits, got {…}"
    REGION_UNKNOWN = "REGION_UNKNOWN", 422, "no GB/T 2260 region has code {…}"
    # -- facts -----------------------------------------------------------------------------------
    FIELD_MISSING = "FIELD_MISSING", 422, "{…}{…} is required"
    FIELD_TYPE = "FIELD_TYPE", 422, "{…}{…} must be a non-empty string"
    IDENTIFIED_BEFORE_EXPOSURE = (
        "IDENTIFIED_BEFORE_EXPOSURE",
        422,
        "a contact was identified before the exposure it names",
    )
    LIFTED_BEFORE_EFFECTIVE = (
        "LIFTED_BEFORE_EFFECTIVE",
        422,
        "{…}lifted_at is not after effective_from",
    )
    MANDATE_ENDS_ORDER = "MANDATE_ENDS_ORDER", 422, "{…}ends_at is not after issued_at"
    MANUAL_SELF_APPROVED = "MANUAL_SELF_APPROVED", 422, "{…}approver must differ from the official"
    MANUAL_TOO_LONG = "MANUAL_TOO_LONG", 422, "{…}until is more than {…} days after assigned_at"
    MANUAL_UNTIL_ORDER = "MANUAL_UNTIL_ORDER", 422, "{…}until is not after assigned_at"
    MANUAL_VENUE_SCAN_ONLY = (
        "MANUAL_VENUE_SCAN_ONLY",
        422,
        "{…}a venue scan alone is no ground for a manual assignment",
    )
    ONSET_AFTER_REPORT = "ONSET_AFTER_REPORT", 422, "the onset of an infection is after its report"
    RELEASE_BEFORE_REPORT = (
        "RELEASE_BEFORE_REPORT",
        422,
        "the release of a case is before its report",
    )
    RESULT_BEFORE_SAMPLE = "RESULT_BEFORE_SAMPLE", 422, "a test result is dated before its sample"
    TIME_IN_FUTURE = "TIME_IN_FUTURE", 422, "{…}{…} {…} is later than now plus {…}"
    UNKNOWN_FIELD = "UNKNOWN_FIELD", 422, "unknown field {…}"
    VALUE_NOT_IN_SET = "VALUE_NOT_IN_SET", 422, "{…}{…} is {…}, expected one of {…}"
    VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE", 422, "{…}{…} is {…}, expected {…}..{…}"
    # -- CertLogic -------------------------------------------------------------------------------
    CERTLOGIC_ARITY = "CERTLOGIC_ARITY", 400, "{…} must have {…}, but it has {…}"
    CERTLOGIC_EVALUATION_FAILED = "CERTLOGIC_EVALUATION_FAILED", 400, "certlogic evaluation failed"
    CERTLOGIC_INVALID_ARGUMENT = "CERTLOGIC_INVALID_ARGUMENT", 400, "unknown time unit {…}"
    CERTLOGIC_INVALID_DATE = "CERTLOGIC_INVALID_DATE", 400, "{…}: {…}"
    CERTLOGIC_INVALID_EXPRESSION = (
        "CERTLOGIC_INVALID_EXPRESSION",
        400,
        "invalid CertLogic expression",
    )
    CERTLOGIC_NON_INTEGER = "CERTLOGIC_NON_INTEGER", 400, "{…} is a non-integer number"
    CERTLOGIC_NOT_AN_ARRAY = (
        "CERTLOGIC_NOT_AN_ARRAY",
        400,
        "right-hand side of an 'in' operation must be an array, got {…}",
    )
    CERTLOGIC_NOT_DATETIME = (
        "CERTLOGIC_NOT_DATETIME",
        400,
        "all operands of '{…}' must be date-times, got {…}",
    )
    CERTLOGIC_NOT_INTEGER = "CERTLOGIC_NOT_INTEGER", 400, "{…} must be integers, got {…}"
    CERTLOGIC_NOT_STRING = (
        "CERTLOGIC_NOT_STRING",
        400,
        "'UVCI' argument (#1) of 'extractFromUVCI' must be either a string or null, got {…}",
    )
    CERTLOGIC_NOT_TRUTHY_OR_FALSY = (
        "CERTLOGIC_NOT_TRUTHY_OR_FALSY",
        400,
        "{…} evaluates to something neither truthy, nor falsy: {…}",
    )
    CERTLOGIC_OBJECT_KEYS = (
        "CERTLOGIC_OBJECT_KEYS",
        400,
        "expression object must have exactly one key, but it has {…}",
    )
    CERTLOGIC_OPERATION_FORM = (
        "CERTLOGIC_OPERATION_FORM",
        400,
        "operation not of the form { '<operator>': [ <values...> ] }",
    )
    CERTLOGIC_PLUSTIME_AMOUNT = (
        "CERTLOGIC_PLUSTIME_AMOUNT",
        400,
        "'amount' argument (#2) of 'plusTime' must be an integer, but it is: {…}",
    )
    CERTLOGIC_PLUSTIME_UNIT = (
        "CERTLOGIC_PLUSTIME_UNIT",
        400,
        "'unit' argument (#3) of 'plusTime' must be a string equal to one of {…}, but it is: {…}",
    )
    CERTLOGIC_TOO_DEEP = "CERTLOGIC_TOO_DEEP", 400, "nested deeper than {…} levels"
    CERTLOGIC_UNKNOWN_OPERATOR = "CERTLOGIC_UNKNOWN_OPERATOR", 400, "unrecognised operator: '{…}'"
    CERTLOGIC_UVCI_INDEX = (
        "CERTLOGIC_UVCI_INDEX",
        400,
        "'index' argument (#2) of 'extractFromUVCI' must be an integer, but it is: {…}",
    )
    CERTLOGIC_VAR_FORM = "CERTLOGIC_VAR_FORM", 400, "not of the form { 'var': '<path>' }"
    CERTLOGIC_VAR_PATH = (
        "CERTLOGIC_VAR_PATH",
        400,
        "data access path doesn't have a valid format: {…}",
    )
    # -- colour rules ----------------------------------------------------------------------------
    OVERLAY_BASE_MISMATCH = "OVERLAY_BASE_MISMATCH", 400, "overlay {…} applies to {…} {…}, not {…}"
    OVERLAY_COLOUR_LOWERED = (
        "OVERLAY_COLOUR_LOWERED",
        400,
        "rule {…} is {…} nationally; the overlay makes it {…}",
    )
    OVERLAY_GREEN_RULE = "OVERLAY_GREEN_RULE", 400, "rule {…}: an overlay may not add a green rule"
    OVERLAY_PARAMETER_LOWERED = (
        "OVERLAY_PARAMETER_LOWERED",
        400,
        "parameter {…}: {…} is less strict than the national {…}",
    )
    OVERLAY_PARAMETER_REDEFINED = (
        "OVERLAY_PARAMETER_REDEFINED",
        400,
        "parameter {…}: an overlay may not change its {…}",
    )
    OVERLAY_PROVINCE_UNKNOWN = (
        "OVERLAY_PROVINCE_UNKNOWN",
        400,
        "{…} is not a provincial-level region",
    )
    OVERLAY_REASON_CODE_TAKEN = (
        "OVERLAY_REASON_CODE_TAKEN",
        400,
        "rule {…}: reason code {…} is a national one",
    )
    OVERLAY_RULE_REDEFINED = "OVERLAY_RULE_REDEFINED", 400, "an overlay may not {…} national rules"
    OVERLAY_RULE_REMOVED = (
        "OVERLAY_RULE_REMOVED",
        400,
        "an overlay may not {…} national rules ({…}: {…})",
    )
    OVERLAY_VALIDITY = "OVERLAY_VALIDITY", 400, "the overlay's validity does not overlap the base's"
    PARAMETER_UNKNOWN = "PARAMETER_UNKNOWN", 400, "{…}: unknown parameter {…}"
    REASON_DUPLICATE = "REASON_DUPLICATE", 400, "reason code {…} appears twice"
    RULESET_DIGEST_MISMATCH = (
        "RULESET_DIGEST_MISMATCH",
        400,
        "the overlay says {…} but hashes to {…}",
    )
    RULESET_KIND = "RULESET_KIND", 400, "{…} is not an overlay"
    RULESET_NOT_VALID = "RULESET_NOT_VALID", 400, "{…} {…} is not valid at {…}"
    RULESET_SCHEMA = "RULESET_SCHEMA", 400, "{…}: {…}"
    RULESET_UNREADABLE = "RULESET_UNREADABLE", 400, "{…} does not hold a mapping"
    RULESET_VALIDITY = "RULESET_VALIDITY", 400, "valid_until is not after valid_from"
    RULE_CERTLOGIC = "RULE_CERTLOGIC", 400, "rule {…}: {…}"
    RULE_DUPLICATE = "RULE_DUPLICATE", 400, "rule id {…} appears twice"
    RULE_EVALUATION_FAILED = "RULE_EVALUATION_FAILED", 400, "the {…} of rule {…} failed: {…}"
    RULE_TIME_EXPRESSION = (
        "RULE_TIME_EXPRESSION",
        400,
        "the {…} of rule {…} gave {…}, not a date-time",
    )
    RULE_UNKNOWN = "RULE_UNKNOWN", 400, "no rule {…} in {…}"
    # -- batch evaluation ------------------------------------------------------------------------
    BATCH_INPUT = "BATCH_INPUT", 400, "column {…} must be {…}"
    BATCH_UNSUPPORTED = "BATCH_UNSUPPORTED", 400, "{…}: the batch evaluator does not support {…}"
    # -- codecs ----------------------------------------------------------------------------------
    ALG_UNSUPPORTED = "ALG_UNSUPPORTED", 400, "alg {…} is not supported", Stage.COSE
    BASE45_INVALID = "BASE45_INVALID", 400, "base45 invalid", Stage.BASE45
    CERT_EXPIRED = "CERT_EXPIRED", 400, "the code would outlive its signer certificate"
    CERT_NOT_YET_VALID = "CERT_NOT_YET_VALID", 400, "the signer is not valid yet"
    COSE_MALFORMED = "COSE_MALFORMED", 400, "cose malformed", Stage.COSE
    CWT_EXPIRED = "CWT_EXPIRED", 400, "expired at {…}", Stage.CLAIMS
    CWT_MALFORMED = "CWT_MALFORMED", 400, "trailing bytes after the claims map", Stage.CLAIMS
    CWT_NOT_YET_VALID = "CWT_NOT_YET_VALID", 400, "issued at {…}, in the future", Stage.CLAIMS
    DECOMPRESS_FAILED = (
        "DECOMPRESS_FAILED",
        400,
        "DEFLATE stream truncated, too long or followed by bytes",
        Stage.DECOMPRESS,
    )
    PAYLOAD_INVALID = "PAYLOAD_INVALID", 422, "payload invalid"
    PAYLOAD_VERSION_UNKNOWN = (
        "PAYLOAD_VERSION_UNKNOWN",
        400,
        "the native code payload has a version this verifier does not know",
        Stage.SCHEMA,
    )
    PREFIX_INVALID = "PREFIX_INVALID", 400, "not a {…} code", Stage.PREFIX
    QR_MEDIUM = "QR_MEDIUM", 422, "medium must be screen or paper, not {…}"
    QR_TEXT = "QR_TEXT", 422, "not QR alphanumeric: {…}"
    SIGNATURE_INVALID = (
        "SIGNATURE_INVALID",
        400,
        "the signature does not verify with the issuer's key",
        Stage.SIGNATURE,
    )
    # -- EU DCC ----------------------------------------------------------------------------------
    CWT_OUTSIDE_SIGNER_VALIDITY = (
        "CWT_OUTSIDE_SIGNER_VALIDITY",
        400,
        "issued at {…}, before the signer's validity",
        Stage.CLAIMS,
    )
    DSC_INVALID = "DSC_INVALID", 400, "not a readable X.509 certificate: {…}"
    KEY_USAGE_MISMATCH = (
        "KEY_USAGE_MISMATCH",
        400,
        "the signer may sign {…} certificates, not {…}",
        Stage.KEY_USAGE,
    )
    RULES_FAILED = "RULES_FAILED", 400, "rules failed", Stage.RULES
    SCHEMA_INVALID = "SCHEMA_INVALID", 400, "exactly one of v, t, r must be present", Stage.SCHEMA
    SCHEMA_UNAVAILABLE = (
        "SCHEMA_UNAVAILABLE",
        400,
        "no EU DCC schema was given to the verifier: {…}",
        Stage.SCHEMA,
    )
    TRUST_LIST_INVALID = "TRUST_LIST_INVALID", 400, "the gateway trust list is a JSON array"
    # -- SMART Health Cards ----------------------------------------------------------------------
    CRL_INVALID = "CRL_INVALID", 400, "a SHC revocation list has method 'rid'"
    JWKS_INVALID = "JWKS_INVALID", 400, "a JWKS is an object with a keys array"
    JWS_MALFORMED = "JWS_MALFORMED", 400, "{…} is not base64url"
    KEY_NOT_IN_TRUST_LIST = (
        "KEY_NOT_IN_TRUST_LIST",
        400,
        "no trusted issuer key has kid {…}",
        Stage.SIGNATURE,
    )
    KID_MISSING = "KID_MISSING", 400, "the header has no kid", Stage.COSE
    REVOKED = "REVOKED", 400, "revoked"
    SHC_CHUNK_MISSING = "SHC_CHUNK_MISSING", 400, "chunks {…} of {…} are missing"
    SHC_ISSUER_MISMATCH = "SHC_ISSUER_MISMATCH", 400, "iss {…} is not the key's issuer {…}"
    SHC_NUMERIC_INVALID = "SHC_NUMERIC_INVALID", 400, "not an even run of digits"
    # -- verifier --------------------------------------------------------------------------------
    CODE_REVOKED = "CODE_REVOKED", 400, "code {…} is revoked", Stage.REVOCATION
    ISSUER_MISMATCH = (
        "ISSUER_MISMATCH",
        400,
        "the code claims issuer {…}, its signer belongs to {…}",
        Stage.CLAIMS,
    )
    KEY_EXPIRED = "KEY_EXPIRED", 400, "the signer expired at {…}", Stage.SIGNATURE
    KEY_NOT_YET_VALID = "KEY_NOT_YET_VALID", 400, "the signer is valid from {…}", Stage.SIGNATURE
    KEY_REVOKED = "KEY_REVOKED", 400, "the key with kid {…} is revoked", Stage.SIGNATURE
    PREFIX_UNKNOWN = "PREFIX_UNKNOWN", 400, "not text", Stage.PREFIX
    QR_UNREADABLE = "QR_UNREADABLE", 400, "no readable QR code in the picture", Stage.QR
    REVOCATION_UNAVAILABLE = (
        "REVOCATION_UNAVAILABLE",
        400,
        "the key store carries no revocation information",
        Stage.REVOCATION,
    )
    RULE_ERROR = "RULE_ERROR", 400, "rule {…}: {…}", Stage.RULES
    RULE_FAILED = "RULE_FAILED", 400, "rule failed", Stage.RULES
    SIGNER_RETIRED = (
        "SIGNER_RETIRED",
        400,
        "the signer retired at {…}, before this code was issued",
        Stage.CLAIMS,
    )
    TEXT_TOO_LONG = "TEXT_TOO_LONG", 400, "more than {…} characters", Stage.PREFIX
    # -- trust -----------------------------------------------------------------------------------
    CERT_ALGORITHM = "CERT_ALGORITHM", 400, "issuer key is not an EC key"
    CERT_EKU = "CERT_EKU", 400, "certificate may not sign native health codes"
    CERT_KEY_USAGE = "CERT_KEY_USAGE", 400, "signer must be a non-CA with digitalSignature"
    CERT_MALFORMED = "CERT_MALFORMED", 400, "cannot parse certificate: {…}"
    CERT_NOT_SIGNED_BY_ROOT = (
        "CERT_NOT_SIGNED_BY_ROOT",
        400,
        "certificate was not issued by this root",
    )
    CERT_PROVINCE = "CERT_PROVINCE", 400, "signer certificate has no single province (ST)"
    CERT_VALIDITY = "CERT_VALIDITY", 400, "not_after must be after not_before"
    DOCUMENT_KIND = "DOCUMENT_KIND", 400, "kind must be rule-set or value-set, not {…}"
    ENVELOPE_DIGEST_MISMATCH = "ENVELOPE_DIGEST_MISMATCH", 400, "content does not match its digest"
    ENVELOPE_EXPIRED = "ENVELOPE_EXPIRED", 400, "{…} #{…} expired {…} ago (tolerance {…})"
    ENVELOPE_KIND = "ENVELOPE_KIND", 400, "expected a {…}, got a {…}"
    ENVELOPE_MALFORMED = "ENVELOPE_MALFORMED", 400, "envelope malformed"
    ENVELOPE_NOT_YET_VALID = "ENVELOPE_NOT_YET_VALID", 400, "valid from {…}"
    ENVELOPE_ROLLBACK = (
        "ENVELOPE_ROLLBACK",
        400,
        "{…} #{…} is older than or conflicts with the held #{…}",
    )
    ENVELOPE_SIGNATURE_INVALID = "ENVELOPE_SIGNATURE_INVALID", 400, "envelope signature invalid"
    ENVELOPE_VERSION_UNKNOWN = "ENVELOPE_VERSION_UNKNOWN", 400, "envelope version {…}"
    KEY_MALFORMED = "KEY_MALFORMED", 400, "private key is not an EC key"
    KEY_PASSPHRASE = "KEY_PASSPHRASE", 400, "key passphrase"
    NETWORK_EXISTS = "NETWORK_EXISTS", 400, "{…} already holds a network"
    NETWORK_MISSING = "NETWORK_MISSING", 400, "no network in {…} (run keys init)"
    PROVINCE_EXISTS = "PROVINCE_EXISTS", 400, "province {…} is already in the network"
    PROVINCE_INVALID = "PROVINCE_INVALID", 400, "not a province code: {…}"
    PROVINCE_UNKNOWN = "PROVINCE_UNKNOWN", 400, "province {…} is not in the network"
    ROOT_INVALID = "ROOT_INVALID", 400, "root must be a CA with keyCertSign"
    SERIAL_INVALID = "SERIAL_INVALID", 400, "serial must not be empty"
    SIGNER_UNKNOWN = "SIGNER_UNKNOWN", 400, "no signer with kid {…}"
    TRUSTLIST_MALFORMED = "TRUSTLIST_MALFORMED", 400, "trustlist malformed"
    TRUST_LIST_MISSING = "TRUST_LIST_MISSING", 400, "no trust list cached in {…}"
    # -- store -----------------------------------------------------------------------------------
    FIELD_DECRYPT_FAILED = "FIELD_DECRYPT_FAILED", 400, "not an encrypted field of a known version"
    # -- configuration ---------------------------------------------------------------------------
    CONFIG_INVALID = "CONFIG_INVALID", 500, "a configuration variable does not parse"
    CONFIG_MISSING = "CONFIG_MISSING", 500, "a required configuration variable is not set"
    # -- hub -------------------------------------------------------------------------------------
    BATCH_EMPTY = "BATCH_EMPTY", 422, "the request holds no records"
    BATCH_INVALID = "BATCH_INVALID", 422, "{…} entries are invalid; nothing was stored"
    BATCH_NOT_ARRAY = "BATCH_NOT_ARRAY", 400, "a batch is a JSON array of records"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE", 413, "the body is larger than {…} bytes"
    CODE_NOT_OWN = "CODE_NOT_OWN", 403, "the person is not registered with this province"
    CONTENT_TYPE = "CONTENT_TYPE", 400, "send application/fhir+json"
    CORRECTION_IDENTITY_CHANGED = (
        "CORRECTION_IDENTITY_CHANGED",
        422,
        "a correction may not change the person; withdraw and submit anew",
    )
    CORRECTION_NO_CHANGE = "CORRECTION_NO_CHANGE", 422, "the record is unchanged"
    CSV_HEADER = "CSV_HEADER", 400, "unknown or repeated columns: {…}; allowed: {…}"
    CSV_ROW_WIDTH = "CSV_ROW_WIDTH", 422, "a CSV row has more or fewer cells than the header"
    CURSOR_EXPIRED = (
        "CURSOR_EXPIRED",
        409,
        "entries up to {…} were purged; the cursor {…} cannot resume without a gap",
    )
    CURSOR_INVALID = "CURSOR_INVALID", 422, "the cursor is a sequence number >= 0"
    DOCUMENT_KIND_UNKNOWN = "DOCUMENT_KIND_UNKNOWN", 422, "no document kind {…}"
    DUPLICATE_IN_BATCH = (
        "DUPLICATE_IN_BATCH",
        422,
        "record_id {…} appears twice with different content",
    )
    ENCODING_UNSUPPORTED = "ENCODING_UNSUPPORTED", 400, "the file is neither UTF-8 nor GBK"
    FEED_NOT_OWN = "FEED_NOT_OWN", 403, "province {…} may not read the feed of {…}"
    FHIR_BUNDLE_EMPTY = "FHIR_BUNDLE_EMPTY", 422, "the Bundle has no entries"
    FHIR_BUNDLE_TYPE = "FHIR_BUNDLE_TYPE", 422, "Bundle.type must be one of {…}"
    FHIR_CODE_SYSTEM = "FHIR_CODE_SYSTEM", 422, "{…} needs a coding from {…}"
    FHIR_CODE_UNKNOWN = "FHIR_CODE_UNKNOWN", 422, "{…}: {…}|{…} is not in the hub's value set"
    FHIR_IDENTIFIER_MISSING = (
        "FHIR_IDENTIFIER_MISSING",
        422,
        "a {…} needs an identifier (the submitter's own id) or an id: its natural key",
    )
    FHIR_IDENTIFIER_SYSTEM = (
        "FHIR_IDENTIFIER_SYSTEM",
        422,
        "no identifier with system {…} or {…}<id type>",
    )
    FHIR_NOT_BUNDLE = "FHIR_NOT_BUNDLE", 400, "the body must be a FHIR Bundle"
    FHIR_REFERENCE_UNRESOLVED = (
        "FHIR_REFERENCE_UNRESOLVED",
        422,
        "{…} {…} names no valid Patient of this Bundle (fullUrl or Patient/id)",
    )
    FHIR_RESOURCE_UNSUPPORTED = (
        "FHIR_RESOURCE_UNSUPPORTED",
        422,
        "{…}: a Bundle holds Patient, Observation and Immunization only",
    )
    FHIR_STATUS = "FHIR_STATUS", 422, "Observation.status must be one of {…}"
    FHIR_VALUE_UNKNOWN = (
        "FHIR_VALUE_UNKNOWN",
        422,
        "the result must be SNOMED CT 260373001/260415000 or an interpretation POS/NEG",
    )
    FIELD_TOO_LONG = "FIELD_TOO_LONG", 422, "reason is longer than {…}"
    IDEMPOTENCY_KEY_REUSED = (
        "IDEMPOTENCY_KEY_REUSED",
        409,
        "this Idempotency-Key was used for a different request",
    )
    JSON_INVALID = "JSON_INVALID", 400, "not JSON: {…}"
    KIND_NOT_ALLOWED = "KIND_NOT_ALLOWED", 403, "a {…} may not {…}"
    NATURAL_KEY_CONFLICT = (
        "NATURAL_KEY_CONFLICT",
        409,
        "record_id {…} was stored before with different content",
    )
    NOT_PUBLISHED = (
        "NOT_PUBLISHED",
        404,
        "this hub publishes no documents (HEALTHCODE_HOME is unset)",
    )
    ORG_KIND_UNKNOWN = "ORG_KIND_UNKNOWN", 422, "kind must be one of {…}"
    ORG_NAME_MISSING = "ORG_NAME_MISSING", 422, "an organisation needs a name"
    ORG_REGION_NOT_PROVINCE = (
        "ORG_REGION_NOT_PROVINCE",
        422,
        "a province is onboarded with its province code",
    )
    ORG_UNKNOWN = "ORG_UNKNOWN", 422, "no organisation {…}"
    PUBLISH_CONFLICT = "PUBLISH_CONFLICT", 409, "could not publish {…}: too many writers"
    QUERY_INVALID = "QUERY_INVALID", 422, "ask by serial or by pseudonym"
    RECORD_KIND_UNKNOWN = "RECORD_KIND_UNKNOWN", 422, "unknown record kind {…}"
    RECORD_NOT_OBJECT = "RECORD_NOT_OBJECT", 422, "a record is a JSON object"
    RECORD_NOT_OWN = "RECORD_NOT_OWN", 403, "record_id {…} was submitted by another organisation"
    RECORD_UNKNOWN = "RECORD_UNKNOWN", 404, "no {…} record {…} of yours"
    RECORD_WITHDRAWN = "RECORD_WITHDRAWN", 409, "record_id {…} was withdrawn"
    REGION_NOT_OWN = "REGION_NOT_OWN", 403, "region {…} is outside the authority's region {…}"
    RISK_AREA_CANCELLED = (
        "RISK_AREA_CANCELLED",
        409,
        "the designation was cancelled; designate it anew",
    )
    RISK_AREA_LIFTED = "RISK_AREA_LIFTED", 409, "the area was lifted; designate it anew"
    RISK_AREA_UNKNOWN = "RISK_AREA_UNKNOWN", 404, "no risk area {…}"
    STATUS_UNKNOWN = "STATUS_UNKNOWN", 404, "no status was reported for this code"
    TOKEN_EXPIRED = "TOKEN_EXPIRED", 401, "the token has expired"
    TOKEN_INVALID = "TOKEN_INVALID", 401, "the token is not known"
    TOKEN_MISSING = "TOKEN_MISSING", 401, "send 'Authorization: Bearer <token>'"
    TOKEN_REVOKED = "TOKEN_REVOKED", 401, "the token was revoked"
    TOKEN_UNKNOWN = "TOKEN_UNKNOWN", 422, "no token {…}"
    UNTIL_BEFORE_FROM = "UNTIL_BEFORE_FROM", 422, "until is not after effective_from"
    UNTIL_BEFORE_SINCE = "UNTIL_BEFORE_SINCE", 422, "until is not after since"
    # -- HTTP ------------------------------------------------------------------------------------
    HTTP_ERROR = (
        "HTTP_ERROR",
        500,
        "an HTTP error with no more specific code; the status says which",
    )
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED", 405, "the route does not take this HTTP method"
    NOT_FOUND = "NOT_FOUND", 404, "no route at this path"
    REQUEST_INVALID = (
        "REQUEST_INVALID",
        422,
        "a request parameter or body field failed validation (each listed in errors)",
    )


def catalogue_markdown() -> str:
    """``docs/errors.md``: every code with its status, stage and meaning, in declaration order."""
    lines = [
        "# Error codes",
        "",
        "Generated from `src/healthcode/core/error_codes.py` by",
        "`python -m healthcode.core.error_codes > docs/errors.md`; a test keeps it current.",
        "Every error the project reports carries one of these codes; a code never changes meaning.",
        "",
        "| code | HTTP | stage | meaning |",
        "|---|---|---|---|",
    ]
    for code in ErrorCode:
        stage = code.stage.value if code.stage else ""
        lines.append(f"| `{code.value}` | {code.http_status} | {stage} | {code.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
