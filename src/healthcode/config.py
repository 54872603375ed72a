"""Configuration: every environment variable the services read, in one table, read in one place.

Each setting names its variable, its type and its default; a missing required variable or a
value that does not parse fails loudly with the variable's name (``ConfigError``).

>>> key = "A" * 43 + "="
>>> s = Settings.from_env({"HEALTHCODE_FIELD_KEY": key, "HEALTHCODE_PSEUDONYM_KEY": key})
>>> s.database_url
'sqlite:///healthcode.db'
>>> s.hub_port
8400

This module imports only the error tree of the package.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from healthcode.core.errors import ConfigError

__all__ = [
    "CHECKPOINT_ENVIRONMENT",
    "ENVIRONMENT",
    "PROVINCE_ENVIRONMENT",
    "CheckpointSettings",
    "ConfigError",
    "ProvinceSettings",
    "Settings",
    "load",
]


def _base64(text: str) -> bytes:
    """Base64, standard or URL-safe, padding optional."""
    raw = text.strip()
    raw += "=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw.replace("-", "+").replace("_", "/"), validate=True)
    except binascii.Error as exc:
        raise ValueError("is not base64") from exc


def _key32(text: str) -> bytes:
    """A 256-bit key (AES-256), base64."""
    key = _base64(text)
    if len(key) != 32:
        raise ValueError(f"must decode to 32 bytes (AES-256), got {len(key)}")
    return key


def _key_at_least_32(text: str) -> bytes:
    """A secret of at least 256 bits, base64."""
    key = _base64(text)
    if len(key) < 32:
        raise ValueError(f"must decode to at least 32 bytes, got {len(key)}")
    return key


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise ValueError("must be a number of seconds >= 0")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise ValueError("must be a TCP port (1-65535)")
    return value


#: setting name -> (environment variable, parser, default; ``...`` means required).
ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any], Any]] = {
    "database_url": ("HEALTHCODE_DATABASE_URL", str, "sqlite:///healthcode.db"),
    "field_key": ("HEALTHCODE_FIELD_KEY", _key32, ...),
    "pseudonym_key": ("HEALTHCODE_PSEUDONYM_KEY", _key_at_least_32, ...),
    "hub_host": ("HEALTHCODE_HUB_HOST", str, "127.0.0.1"),
    "hub_port": ("HEALTHCODE_HUB_PORT", _port, 8400),
    "feed_page_max": ("HEALTHCODE_FEED_PAGE_MAX", _positive_int, 1000),
    "batch_max": ("HEALTHCODE_BATCH_MAX", _positive_int, 100_000),
    "items_max": ("HEALTHCODE_ITEMS_MAX", _positive_int, 10_000),
    "body_max_bytes": ("HEALTHCODE_BODY_MAX_BYTES", _positive_int, 64 * 1024 * 1024),
    "json_depth_max": ("HEALTHCODE_JSON_DEPTH_MAX", _positive_int, 32),
    "token_days": ("HEALTHCODE_TOKEN_DAYS", _positive_int, 365),
    "token_cache_seconds": ("HEALTHCODE_TOKEN_CACHE_SECONDS", _non_negative_float, 30.0),
    "network_home": ("HEALTHCODE_HOME", str, ""),
    "key_passphrase": ("HEALTHCODE_KEY_PASSPHRASE", str, ""),
    "publish_hours": ("HEALTHCODE_PUBLISH_HOURS", _positive_int, 24),
    "database_busy_seconds": ("HEALTHCODE_DATABASE_BUSY_SECONDS", _non_negative_float, 30.0),
    "worker_threads": ("HEALTHCODE_WORKER_THREADS", _positive_int, 8),
    "read_connections": ("HEALTHCODE_READ_CONNECTIONS", _positive_int, 4),
    "max_in_flight": ("HEALTHCODE_MAX_IN_FLIGHT", _positive_int, 64),
    "max_in_flight_per_client": ("HEALTHCODE_MAX_IN_FLIGHT_PER_CLIENT", _positive_int, 32),
    "operator_token": ("HEALTHCODE_OPERATOR_TOKEN", str, ""),
    "witness_key": ("HEALTHCODE_WITNESS_KEY", str, ""),
}


#: The checkpoint service's settings (``healthcode checkpoint serve``), the same way.
CHECKPOINT_ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any], Any]] = {
    "host": ("HEALTHCODE_CHECKPOINT_HOST", str, "127.0.0.1"),
    "port": ("HEALTHCODE_CHECKPOINT_PORT", _port, 8403),
    "trust_store": ("HEALTHCODE_CHECKPOINT_TRUST_STORE", str, "var/checkpoint/trust"),
    "national_root": ("HEALTHCODE_CHECKPOINT_NATIONAL_ROOT", str, ""),
    "hub_url": ("HEALTHCODE_CHECKPOINT_HUB_URL", str, ""),
    "hub_token": ("HEALTHCODE_CHECKPOINT_HUB_TOKEN", str, ""),
    "refresh_seconds": ("HEALTHCODE_CHECKPOINT_REFRESH_SECONDS", _non_negative_float, 300.0),
    "max_stale_hours": ("HEALTHCODE_CHECKPOINT_MAX_STALE_HOURS", _non_negative_float, 24.0),
    "online_timeout_seconds": ("HEALTHCODE_CHECKPOINT_ONLINE_TIMEOUT", _non_negative_float, 2.0),
    "status_max_age_hours": (
        "HEALTHCODE_CHECKPOINT_STATUS_MAX_AGE_HOURS",
        _non_negative_float,
        12.0,
    ),
    "dcc_trust": ("HEALTHCODE_CHECKPOINT_DCC_TRUST", str, ""),
    "shc_jwks": ("HEALTHCODE_CHECKPOINT_SHC_JWKS", str, ""),
    "shc_issuer": ("HEALTHCODE_CHECKPOINT_SHC_ISSUER", str, ""),
}


def _read(
    table: Mapping[str, tuple[str, Callable[[str], Any], Any]], env: Mapping[str, str]
) -> dict[str, Any]:
    """Every setting of ``table`` from ``env``. Raises ConfigError naming the variable."""
    values: dict[str, Any] = {}
    for name, (variable, parse, default) in table.items():
        text = env.get(variable)
        if text is None or text == "":
            if default is ...:
                raise ConfigError(variable, "is missing, and has no default")
            values[name] = default
            continue
        try:
            values[name] = parse(text)
        except ValueError as exc:
            raise ConfigError(variable, f"is invalid: {exc}") from exc
    return values


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What the services are configured with; build it with ``Settings.from_env``."""

    database_url: str
    field_key: bytes
    pseudonym_key: bytes
    hub_host: str
    hub_port: int
    feed_page_max: int
    batch_max: int  # records in one ingest request (a batch, a CSV file, a FHIR Bundle)
    items_max: int  # people in one registration, reports in one status report
    #: the largest request body, counted while it streams (Content-Length or chunks)
    body_max_bytes: int
    #: how deep a JSON body may nest arrays and objects (a record needs 3)
    json_depth_max: int
    token_days: int
    #: how long a process trusts a token it has checked before reading it again (0: never);
    #: a revocation or expiry made in another process takes effect within this time
    token_cache_seconds: float
    network_home: str  # the network directory (core.trust.network) whose root signs documents
    key_passphrase: str
    publish_hours: int  # validity of a published document
    #: how long a SQLite writer waits for the other writers (of its process, then of others),
    #: and a request for a free pooled PostgreSQL connection, before it answers 503 DATABASE_BUSY
    database_busy_seconds: float
    #: threads a server process runs its blocking work in (the routes' database calls); its
    #: PostgreSQL pool is sized from it (store/db.py ``pool_size_for``, docs/hub.md)
    worker_threads: int
    #: async PostgreSQL connections a server process answers status queries with on its event
    #: loop (store/async_reader.py), beside its pool; docs/hub.md says how to size both
    read_connections: int = 4
    #: requests a server process works on at once; one more is answered 503 OVERLOADED with
    #: ``Retry-After`` at once (web/admission.py), so a saturated hub sheds instead of queueing
    max_in_flight: int = 64
    #: of those, requests one caller (an organisation, else a token, else a peer address) may
    #: have in flight; one more is answered 429 CLIENT_OVER_SHARE with ``Retry-After`` after a
    #: pause (web/admission.py), so a client ignoring ``Retry-After`` cannot starve the others
    max_in_flight_per_client: int = 32
    #: a bearer token for the national staff's routes (``GET /v1/alerts``); empty: closed
    operator_token: str = ""
    #: the witness's cosigner key file (docs/audit.md); empty: ``witness/witness.skey`` in the
    #: key home when there is one, else the hub cosigns nothing
    witness_key: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``environ`` (default ``os.environ``).

        Raises ConfigError naming the variable that is missing or wrong.
        """
        return cls(**_read(ENVIRONMENT, os.environ if environ is None else environ))

    def __repr__(self) -> str:  # never print keys
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["field_key"] = shown["pseudonym_key"] = "***"
        for secret in ("key_passphrase", "operator_token"):
            if shown[secret]:
                shown[secret] = "***"
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


@dataclass(frozen=True, kw_only=True)
class CheckpointSettings:
    """What the checkpoint service is configured with (``CHECKPOINT_ENVIRONMENT``)."""

    host: str
    port: int
    trust_store: str  # the folder of its trust state (core/trust/trustlist.TrustStore)
    national_root: str  # the root certificate file; else the one the trust store recorded
    hub_url: str  # where it refreshes its trust list and asks online; "" for neither
    hub_token: str  # a checkpoint organisation's token at the hub
    refresh_seconds: float  # how often the trust list is fetched again (0: only at start)
    max_stale_hours: float  # how long past its expiry a trust list is still used (warned)
    online_timeout_seconds: float  # how long an online check waits for the hub
    status_max_age_hours: float  # how old (from iat) a held status list may be; older: refused
    dcc_trust: str  # EU DCC signer certificates (gateway JSON, PEM or DER), optional
    shc_jwks: str  # a SMART Health Cards issuer's JWKS, optional, with ``shc_issuer``
    shc_issuer: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CheckpointSettings:
        """Raises ConfigError naming the variable that is wrong."""
        return cls(**_read(CHECKPOINT_ENVIRONMENT, os.environ if environ is None else environ))

    def __repr__(self) -> str:  # never print the token
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["hub_token"] = "***" if self.hub_token else ""
        return "CheckpointSettings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


# -- a province's service (province/) -----------------------------------------------------------
def _feed_wait(text: str) -> float:
    value = _non_negative_float(text)
    if value > 30:
        raise ValueError("must be a number of seconds from 0 to 30 (the hub's longest wait)")
    return value


def _region(text: str) -> str:
    value = text.strip()
    if len(value) != 6 or not value.isdigit() or not value.endswith("0000"):
        raise ValueError("must be a province's six-digit code (440000)")
    return value


#: setting name -> (environment variable, parser, default; ``...`` means required): what one
#: province's own process reads (``healthcode province serve``).
PROVINCE_ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any], Any]] = {
    "region": ("HEALTHCODE_PROVINCE_REGION", _region, ...),
    "database_url": ("HEALTHCODE_PROVINCE_DATABASE_URL", str, ""),
    "field_key": ("HEALTHCODE_PROVINCE_FIELD_KEY", _key32, ...),
    "hub_url": ("HEALTHCODE_PROVINCE_HUB_URL", str, "http://127.0.0.1:8400"),
    "hub_token": ("HEALTHCODE_PROVINCE_HUB_TOKEN", str, ...),
    "host": ("HEALTHCODE_PROVINCE_HOST", str, "127.0.0.1"),
    "port": ("HEALTHCODE_PROVINCE_PORT", _port, 8410),
    "overlay": ("HEALTHCODE_PROVINCE_OVERLAY", str, ""),
    "network_home": ("HEALTHCODE_HOME", str, ""),
    "key_passphrase": ("HEALTHCODE_KEY_PASSPHRASE", str, ""),
    "trust_database_url": ("HEALTHCODE_PROVINCE_TRUST_DATABASE_URL", str, ""),
    "pull_seconds": ("HEALTHCODE_PROVINCE_PULL_SECONDS", _non_negative_float, 0.2),
    "feed_wait_seconds": ("HEALTHCODE_PROVINCE_FEED_WAIT_SECONDS", _feed_wait, 2.0),
    "sweep_seconds": ("HEALTHCODE_PROVINCE_SWEEP_SECONDS", _non_negative_float, 1.0),
    "report_seconds": ("HEALTHCODE_PROVINCE_REPORT_SECONDS", _non_negative_float, 0.2),
    "rules_seconds": ("HEALTHCODE_PROVINCE_RULES_SECONDS", _non_negative_float, 300.0),
    "feed_page": ("HEALTHCODE_PROVINCE_FEED_PAGE", _positive_int, 500),
    "hub_timeout_seconds": ("HEALTHCODE_PROVINCE_HUB_TIMEOUT_SECONDS", _non_negative_float, 10.0),
    "body_max_bytes": ("HEALTHCODE_PROVINCE_BODY_MAX_BYTES", _positive_int, 64 * 1024),
    "json_depth_max": ("HEALTHCODE_JSON_DEPTH_MAX", _positive_int, 32),
    "database_busy_seconds": ("HEALTHCODE_DATABASE_BUSY_SECONDS", _non_negative_float, 30.0),
    "worker_threads": ("HEALTHCODE_WORKER_THREADS", _positive_int, 8),
    "reevaluate_chunk": ("HEALTHCODE_PROVINCE_REEVALUATE_CHUNK", _positive_int, 20_000),
    "job_seconds": ("HEALTHCODE_PROVINCE_JOB_SECONDS", _non_negative_float, 1.0),
    "area_job_people": ("HEALTHCODE_PROVINCE_AREA_JOB_PEOPLE", _positive_int, 50_000),
    "states_kept": ("HEALTHCODE_PROVINCE_STATES_KEPT", _non_negative_int, 65_536),
    "operator_token": ("HEALTHCODE_PROVINCE_OPERATOR_TOKEN", str, ""),
    "log_key": ("HEALTHCODE_PROVINCE_LOG_KEY", str, ""),
    "witness_url": ("HEALTHCODE_PROVINCE_WITNESS_URL", str, ""),
    "witness_key": ("HEALTHCODE_PROVINCE_WITNESS_KEY", str, ""),
    "checkpoint_seconds": ("HEALTHCODE_PROVINCE_CHECKPOINT_SECONDS", _non_negative_float, 1.0),
    "appeal_hours": ("HEALTHCODE_PROVINCE_APPEAL_HOURS", _positive_int, 24),
    "appeals_open_max": ("HEALTHCODE_PROVINCE_APPEALS_OPEN_MAX", _positive_int, 3),
}


@dataclass(frozen=True, kw_only=True)
class ProvinceSettings:
    """What one province's service is configured with (``PROVINCE_ENVIRONMENT``); build it
    with ``ProvinceSettings.from_env``, or directly when one process hosts several provinces."""

    region: str  # the province's code (440000)
    #: its own database; empty: ``sqlite:///province-<region>.db``
    database_url: str
    field_key: bytes  # encrypts the identities it keeps (store/crypto.py), keys person tokens
    hub_url: str
    hub_token: str  # the province's organisation token at the hub
    host: str
    port: int
    overlay: str  # a file: the province's published overlay (stricter rules only); empty: none
    network_home: str  # the key home (core/trust/network.py) holding signers/<region>/
    key_passphrase: str
    #: the database holding the network's trust state (the hub's); empty: the key home's
    #: ``network.db`` when there is one, else the newest valid signer certificate in the home
    trust_database_url: str
    pull_seconds: float  # pause of the feed loop once the feed is drained
    sweep_seconds: float  # how often the until sweep runs
    report_seconds: float  # pause of the status outbox loop once it is empty
    rules_seconds: float  # how often the national rule set is fetched from the hub again
    feed_page: int  # entries asked for a page
    hub_timeout_seconds: float
    body_max_bytes: int
    json_depth_max: int
    database_busy_seconds: float
    worker_threads: int
    #: how long the hub may hold the feed loop's read when there is nothing new (a long poll,
    #: answered at once when entries come; 0: no waiting, the loop pauses ``pull_seconds``)
    feed_wait_seconds: float = 2.0
    #: people the columnar pipeline re-evaluates per chunk (a risk area, the population job)
    reevaluate_chunk: int = 20_000
    job_seconds: float = 1.0  # how often the re-evaluation job loop looks for work
    #: a risk-area change concerning more people than this becomes a background job
    area_job_people: int = 50_000
    #: people whose prepared codes are kept between requests (province/kept.py; 0: none, for
    #: several processes on one database)
    states_kept: int = 65_536
    #: a bearer token for operator routes (``GET /v1/jobs``); empty: those routes are closed
    operator_token: str = ""
    #: the colour log's signer key file; empty: ``signers/<region>/log.skey`` in the key home
    #: (without one, changes are still logged but no checkpoint is signed)
    log_key: str = ""
    #: the witness's add-checkpoint prefix; empty: the hub's ``/v1/witness``
    witness_url: str = ""
    #: the witness's verifier key (vkey text); empty: ``witness/witness.vkey`` in the key home
    #: when there is one, else checkpoints are not submitted to a witness
    witness_key: str = ""
    checkpoint_seconds: float = 1.0  # how often the log signs a checkpoint when it grew
    #: an appeal unanswered this many hours after it was made is escalated to supervisors
    appeal_hours: int = 24
    appeals_open_max: int = 3  # appeals one person may have open (unanswered) at once

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> ProvinceSettings:
        """Read every setting from ``environ`` (default ``os.environ``); ``overrides`` (a
        command line's ``--region``) win. Raises ConfigError naming the variable."""
        env = dict(os.environ if environ is None else environ)
        for name, value in overrides.items():
            if value is not None:
                env[PROVINCE_ENVIRONMENT[name][0]] = str(value)
        values = _read(PROVINCE_ENVIRONMENT, env)
        if not values["database_url"]:
            values["database_url"] = f"sqlite:///province-{values['region']}.db"
        return cls(**values)

    def __repr__(self) -> str:  # never print keys or tokens
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["field_key"] = shown["hub_token"] = shown["operator_token"] = "***"
        if shown["key_passphrase"]:
            shown["key_passphrase"] = "***"
        return "ProvinceSettings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


def load() -> Settings:
    """The settings of this process, from ``os.environ``. Raises ConfigError."""
    return Settings.from_env()
