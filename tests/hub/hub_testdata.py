"""Shared data of the hub tests (valid ID numbers, records, keys, the fixed instant)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx

from healthcode.core.clock import FixedClock
from healthcode.core.identity import check_digit
from healthcode.core.trust.network import Network
from healthcode.store.db import Database
from healthcode.store.trust_state import SqlStateStore

NOW = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)
KEY = base64.b64encode(bytes(range(32))).decode()
ENV = {"HEALTHCODE_FIELD_KEY": KEY, "HEALTHCODE_PSEUDONYM_KEY": KEY}
#: FHIR R4 IssueType (http://hl7.org/fhir/ValueSet/issue-type: 31 codes) and IssueSeverity.
FHIR_ISSUE_TYPES = frozenset({
    "invalid", "structure", "required", "value", "invariant",
    "security", "login", "unknown", "expired", "forbidden", "suppressed",
    "processing", "not-supported", "duplicate", "multiple-matches", "not-found", "deleted",
    "too-long", "code-invalid", "extension", "too-costly", "business-rule", "conflict",
    "transient", "lock-error", "no-store", "exception", "timeout", "incomplete", "throttled",
    "informational",
})  # fmt: skip
FHIR_ISSUE_SEVERITIES = frozenset({"fatal", "error", "warning", "information"})


def resident_id(region: str = "440106", birth: str = "19900307", seq: str = "123") -> str:
    body = region + birth + seq
    return body + check_digit(body)


def nat(record_id: str, id_number: str, **extra: object) -> dict[str, object]:
    return {
        "record_id": record_id,
        "id_number": id_number,
        "name": "张三",
        "phone": "13812345678",
        "sampled_at": "2022-11-19T08:00:00+08:00",
        "result": "negative",
        **extra,
    }


class ASGISyncTransport(httpx.BaseTransport):
    """Calls an ASGI app in-process from a synchronous httpx.Client (one event loop a request)."""

    def __init__(self, app: Any) -> None:
        self._transport = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            response = await self._transport.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=body, request=request
            )

        return anyio.run(call)


def network_in(db: Database, home: Path, now: datetime) -> Network:
    """A trust network whose state is in the hub's database (publisher valid from ``now``)."""
    clock = FixedClock(now)
    store = SqlStateStore(db, clock=clock)
    return Network.init(home, store=store, provinces=["110000", "440000"], clock=clock)
