"""A group of single submissions stored on PostgreSQL in one statement and one round trip.

``hub/ingest_one.py`` (``store_singles``) is the reference: the statements of a batch, each
once for the group (the routing lock, records, identities, holders, feed counters,
``pg_notify``, feed entries, Idempotency-Keys), about ten round trips with ``BEGIN`` and the
commit, and each through the ORM. Here the same writes are one statement (``_GROUP``, data-
modifying CTEs), sent with the routing lock (and ``BEGIN``) in one pipeline (psycopg's pipeline
mode), then the commit: two round trips a group whatever its size.

The rules are the reference's, in SQL: records inserted in the one lock order of every writer
(organisation, kind, natural key) with ``ON CONFLICT DO NOTHING``; the identities of the
inserted ones upserted (by pseudonym; of a person twice, the later record's); every inserted
record's feed entry sent to each province holding its person (else its own province),
numbered on from the province's counter (counters taken in province order) in the order the
reference appends them (``ord``); one ``pg_notify`` a province; the answer of each request
with an Idempotency-Key stored with it. A request whose natural key was stored before (or by a
concurrent writer meanwhile) is read in a second statement, as the reference does, by
organisation and kind: the same digest is answered with its id (and its key remembered),
another one is ``NATURAL_KEY_CONFLICT`` (nothing written for it), and a key gone again (purged
meanwhile) runs the whole transaction again (``Again``). That read is not a CTE of ``_GROUP``:
the statement is prepared, and a generic plan made while ``records`` was small joined it by a
sequential scan, or by the wrong index, which then grew with the table (a group's statement
went from 0.6 to 10 ms within 20 s of a fresh hub's load).

``tests/hub/test_ingest_one_pg.py`` keeps the two writing the same rows and answering the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from healthcode.core.errors import InvalidInput
from healthcode.hub.batches import check_digests
from healthcode.hub.group_commit import Outcome
from healthcode.hub.idempotency import remember
from healthcode.hub.ingest_one import Again, One, Service, store_group
from healthcode.store.feed_writer import CHANNEL, ROUTING_LOCK
from healthcode.store.record_writer import stored_records

__all__ = ["store_singles_pg"]

_JSON = json.JSONEncoder(ensure_ascii=False)
_LOCK = f"SELECT pg_advisory_xact_lock_shared({ROUTING_LOCK})"

#: The group's writes; one row per request of ``input`` (by ``ord``): the new record's id, or
#: the id and digest of the one stored before.
_GROUP = f"""
WITH input AS (
  SELECT * FROM unnest(
    %(ord)s::int[], %(kind)s::text[], %(org)s::bigint[], %(nk)s::text[], %(digest)s::text[],
    %(pn)s::text[], %(prov)s::text[], %(occ)s::timestamptz[], %(payload)s::text[],
    %(feed)s::text[], %(id_type)s::text[], %(id_number)s::bytea[], %(name)s::bytea[],
    %(phone)s::bytea[], %(home)s::text[], %(ikey)s::text[], %(rdigest)s::text[]
  ) AS i(ord, kind, org_id, natural_key, digest, pseudonym, province, occurred_at, payload,
         feed, id_type, id_number_enc, name_enc, phone_enc, home_region, ikey, rdigest)
), rec AS (
  INSERT INTO records (kind, org_id, natural_key, digest, pseudonym, province, occurred_at,
                       received_at, payload)
  SELECT kind, org_id, natural_key, digest, pseudonym, province, occurred_at, %(now)s,
         CAST(payload AS jsonb)
  FROM input ORDER BY org_id, kind, natural_key
  ON CONFLICT (org_id, kind, natural_key) DO NOTHING
  RETURNING id, org_id, kind, natural_key
), new AS (
  SELECT i.*, rec.id FROM input i JOIN rec USING (org_id, kind, natural_key)
), ident AS (
  INSERT INTO identities (pseudonym, id_type, id_number_enc, name_enc, phone_enc, home_region,
                          last_seen_at)
  SELECT DISTINCT ON (pseudonym) pseudonym, id_type, id_number_enc, name_enc, phone_enc,
         home_region, %(now)s
  FROM new ORDER BY pseudonym, ord DESC
  ON CONFLICT (pseudonym) DO UPDATE SET last_seen_at = excluded.last_seen_at,
    name_enc = coalesce(excluded.name_enc, identities.name_enc),
    phone_enc = coalesce(excluded.phone_enc, identities.phone_enc),
    home_region = coalesce(excluded.home_region, identities.home_region)
), held AS (
  SELECT pseudonym, province FROM registrations
  WHERE pseudonym IN (SELECT pseudonym FROM new) AND ended_at IS NULL
), dest AS (
  SELECT n.ord, n.id, n.feed, h.province FROM new n JOIN held h USING (pseudonym)
  UNION ALL
  SELECT n.ord, n.id, n.feed, n.province FROM new n
  WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.pseudonym = n.pseudonym)
), counts AS (
  SELECT province, count(*) AS n FROM dest GROUP BY province
), counters AS (
  INSERT INTO feed_counters (province, last_seq, purged_through)
  SELECT province, n, 0 FROM counts ORDER BY province
  ON CONFLICT (province) DO UPDATE SET last_seq = feed_counters.last_seq + excluded.last_seq
  RETURNING province, last_seq
), entries AS (
  INSERT INTO feed_entries (province, seq, kind, ref_id, payload, created_at)
  SELECT d.province,
         c.last_seq - k.n + row_number() OVER (PARTITION BY d.province ORDER BY d.ord),
         'record', d.id, jsonb_build_object('record', d.id) || CAST(d.feed AS jsonb), %(now)s
  FROM dest d JOIN counters c USING (province) JOIN counts k USING (province)
), notified AS (
  SELECT pg_notify('{CHANNEL}', province || ' ' || %(origin)s) FROM counters ORDER BY province
), keys AS (
  INSERT INTO idempotency_keys (org_id, key, request_digest, status_code, response, created_at)
  SELECT org_id, ikey, rdigest, 200, json_build_object('kind', kind, 'id', id), %(now)s
  FROM new WHERE ikey IS NOT NULL
)
SELECT i.ord, n.id, (SELECT array_agg(province) FROM counters), (SELECT count(*) FROM notified)
FROM input i LEFT JOIN new n USING (ord)
"""


def store_singles_pg(service: Service, group: Sequence[One]) -> list[Outcome]:
    """``store_singles`` on PostgreSQL: the same outcomes and rows (see the module docstring),
    the new requests stored by this module's statement. Raises DatabaseBusy when the attempts
    run out."""
    return store_group(service, group, _store_new)


def _store_new(
    service: Service,
    s: Session,
    todo: list[tuple[int, One]],
    outcomes: list[Outcome | None],
    now: datetime,
) -> None:
    """The group's statement for ``todo``; each one's outcome set."""
    # the reference's order of the new records: by organisation and kind, then request order
    ordered = sorted(todo, key=lambda t: (t[1].principal.org_id, t[1].kind))
    params = _params(service, [one for _, one in ordered], now)
    raw = s.connection().connection.driver_connection
    assert raw is not None
    with raw.pipeline():
        raw.execute(_LOCK)
        cursor = raw.execute(_GROUP, params, prepare=True)
    rows = cursor.fetchall()
    if rows[0][2]:  # the provinces appended to
        service.feeds.appended(s, rows[0][2])
    stored_before: dict[tuple[int, str], list[tuple[int, One]]] = {}
    for ord_, new_id, _, _ in rows:
        n, one = ordered[ord_]
        if new_id is None:  # its natural key was stored before (or meanwhile, by another)
            stored_before.setdefault((one.principal.org_id, one.kind), []).append((n, one))
        else:
            outcomes[n] = {"kind": one.kind, "id": new_id}
    for (org_id, kind), members in stored_before.items():
        found = stored_records(s, org_id, kind, [one.parsed.record_id for _, one in members])
        for n, one in members:
            if one.parsed.record_id not in found:  # purged since the insert saw it: again
                raise Again("a conflicting record disappeared during the insert")
            try:
                check_digests([one.parsed], [one.located], found)
            except InvalidInput as exc:
                outcomes[n] = exc
                continue
            outcomes[n] = answer = {"kind": one.kind, "id": found[one.parsed.record_id][0]}
            remember(s, one.principal, one.key, one.digest, answer, now)


def _params(service: Service, ones: list[One], now: datetime) -> dict[str, Any]:
    """The arrays of ``_GROUP``: one element a request, in ``ord`` order."""
    fields = [field for one in ones for field in one.parsed.identity_fields()]
    sealed = iter(service.cipher.encrypt_many(fields))
    out: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for i, one in enumerate(ones):
        p = one.parsed
        row = service.record_row(one.principal, one.kind, p, now)
        feed = p.feed_data(0)
        del feed["record"]  # the new record's id, added by the statement
        values = (
            i,
            row["kind"],
            row["org_id"],
            row["natural_key"],
            row["digest"],
            row["pseudonym"],
            row["province"],
            row["occurred_at"],
            _JSON.encode(row["payload"]),
            _JSON.encode(feed),
            p.id_type,
            next(sealed),
            next(sealed) if p.name else None,
            next(sealed) if p.phone else None,
            p.home_region,
            one.key,
            one.digest,
        )
        for name, value in zip(_COLUMNS, values, strict=True):
            out[name].append(value)
    return {**out, "now": now, "origin": service.feeds.signal.origin}


_COLUMNS = (
    "ord",
    "kind",
    "org",
    "nk",
    "digest",
    "pn",
    "prov",
    "occ",
    "payload",
    "feed",
    "id_type",
    "id_number",
    "name",
    "phone",
    "home",
    "ikey",
    "rdigest",
)
