"""Single submissions answered before FastAPI (``hub/routes/submit_one.py``) answer what the
FastAPI route answers, byte for byte: the same requests, with the fast path and without it
(each pass in a savepoint rolled back after it; record ids, from sequences that PostgreSQL
does not roll back, compared by their rank)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from hub_testdata import ASGISyncTransport, nat, resident_id

from healthcode.hub.app import create_app
from healthcode.hub.routes import submit_one
from healthcode.hub.services import Hub
from healthcode.store.db import Database

_ID = re.compile(rb'"(id|record)":(\d+)')


def _requests(lab: str, checkpoint: str) -> list[tuple[str, dict[str, str], bytes]]:
    auth = {"Authorization": f"Bearer {lab}", "Content-Type": "application/json"}
    one = json.dumps(nat("A1", resident_id(seq="001")), ensure_ascii=False).encode()
    other = json.dumps(nat("A1", resident_id(seq="001"), result="positive")).encode()
    two = json.dumps(nat("A2", resident_id(seq="002"))).encode()
    bad = json.dumps({"record_id": "A3", "result": "negative"}).encode()
    key = {**auth, "Idempotency-Key": "k-1"}
    post = "/v1/records/nat"
    return [
        (post, auth, one),
        (post, auth, one),  # stored before, same content
        (post, auth, other),  # NATURAL_KEY_CONFLICT
        (post, auth, bad),  # the record's own error
        (post, key, two),
        (post, key, two),  # the key's answer again
        (post, key, one),  # IDEMPOTENCY_KEY_REUSED
        (post, {**auth, "Idempotency-Key": "k" * 201}, two),
        (post, {**auth, "Idempotency-Key": ""}, two),
        (post, auth, b"[1, 2]"),
        (post, auth, b"not json"),
        (post, auth, b'{"record_id": "A4", "name": "a\\u0000b"}'),
        (post, {**auth, "Content-Type": "text/plain"}, two),
        (post + "?x=1", auth, two),
        ("/v1/records/nope", auth, two),
        ("/v1/records/antibody", auth, two),
        ("/v1/records/vaccination", auth, two),  # a lab may not submit these
        (post, {**auth, "Authorization": f"Bearer {checkpoint}"}, two),
        (post, {"Content-Type": "application/json"}, two),
        (post, {**auth, "Authorization": "Bearer not-a-token"}, two),
    ]


def _answers(hub: Hub, requests: list[tuple[str, dict[str, str], bytes]]) -> list[Any]:
    out = []
    with httpx.Client(transport=ASGISyncTransport(create_app(hub)), base_url="http://t") as c:
        for target, headers, body in requests:
            r = c.post(target, headers=headers, content=body)
            out.append((r.status_code, sorted(r.headers.items()), r.content))
    ids = sorted({int(m[1]) for _, _, content in out for m in _ID.findall(content)})
    rank = {str(rid).encode(): str(n).encode() for n, rid in enumerate(ids)}
    return [
        (status, headers, _ID.sub(lambda m: b'"%s":%s' % (m[1], rank[m[2]]), content))
        for status, headers, content in out
    ]


def test_the_fast_path_answers_what_the_route_answers(
    db: Database, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert db.connection is not None
    _, lab = hub.orgs.add(kind="lab", region_code="440106", name="lab")
    _, checkpoint = hub.orgs.add(kind="checkpoint", region_code="110105", name="cp")
    requests = _requests(lab, checkpoint)
    asked = submit_one._asked
    taken: list[int] = []

    def counted(*args: Any) -> Any:
        found = asked(*args)
        taken.append(found is not None)
        return found

    passes = []
    for fast in (True, False):
        monkeypatch.setattr(submit_one, "_asked", counted if fast else lambda *a: None)
        for token in (lab, checkpoint):
            hub.orgs.authenticate(token)  # cached: the fast path takes its requests
        savepoint = db.connection.begin_nested()
        try:
            passes.append(_answers(hub, requests))
        finally:
            savepoint.rollback()
    assert sum(taken) >= 10  # the fast path answered the plain ones
    assert passes[0] == passes[1]
    assert {200, 401, 403, 409, 422} <= {status for status, _, _ in passes[0]}
