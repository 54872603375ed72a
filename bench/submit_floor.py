"""The floor of a single submission: its statements and commit driven by pgbench.

``bench/hub_load.py --phases submit,floor`` runs this beside ``POST /v1/records/nat``: pgbench
(``-M prepared``, ``--clients`` connections, pinned to the generator's CPU) runs, one
transaction each, the statements the hub runs for one new record of a person nobody holds:

    BEGIN; the routing lock (shared); INSERT records ... ON CONFLICT DO NOTHING RETURNING;
    INSERT identities ... ON CONFLICT DO UPDATE; SELECT the person's registrations;
    INSERT feed_counters ... ON CONFLICT DO UPDATE RETURNING; pg_notify;
    INSERT feed_entries; COMMIT

into the same schema, with values of the same sizes: the JSON of a record, of its feed entry
and the encrypted identity fields are copied from one record that the hub itself stored first;
each transaction has a new natural key and pseudonym, and a province drawn among the 31 (as the
benchmark's people come from every province). No parsing, pseudonym HMAC or encryption: the
database's share of a submission, as cheap as a client can send it.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.hub_common import ENV, nat_records, percentile
from healthcode.config import Settings
from healthcode.core import regions
from healthcode.hub.batches import Located
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.feed_writer import CHANNEL, ROUTING_LOCK

__all__ = ["pgbench_phase", "script"]

_PROVINCES = sorted(r.code for r in regions.all_regions("province"))[:31]


def _text(value: str) -> str:
    """A SQL expression for ``value`` without quotes or colons (pgbench reads ``:name`` as a
    variable, even inside a literal)."""
    encoded = base64.b64encode(value.encode()).decode()
    return f"convert_from(decode('{encoded}', 'base64'), 'UTF8')"


def _bytes(value: bytes | None) -> str:
    return "NULL" if value is None else f"decode('{base64.b64encode(value).decode()}', 'base64')"


def script(url: str, lab_token: str) -> str:
    """The pgbench script of one submission, with the values of one record the hub stored."""
    db = Database.from_url(url)
    hub = Hub.build(settings=Settings.from_env({**ENV, "HEALTHCODE_DATABASE_URL": url}), db=db)
    lab = hub.orgs.authenticate(lab_token)
    record = nat_records(1, seed=99, prefix="F")[0]
    answer = hub.ingest.submit(lab, "nat", [Located({"index": 0}, record)], single=True)
    db.dispose()
    with psycopg.connect(url) as conn:
        org, digest, payload, pseudonym = conn.execute(
            "SELECT org_id, digest, payload::text, pseudonym FROM records WHERE id = %s",
            (answer["id"],),
        ).fetchone()  # type: ignore[misc]
        id_type, number, name, phone = conn.execute(
            "SELECT id_type, id_number_enc, name_enc, phone_enc FROM identities"
            " WHERE pseudonym = %s",
            (pseudonym,),
        ).fetchone()  # type: ignore[misc]
        (entry,) = conn.execute(
            "SELECT payload::text FROM feed_entries WHERE ref_id = %s LIMIT 1", (answer["id"],)
        ).fetchone()  # type: ignore[misc]
    provinces = ",".join(f"'{p}'" for p in _PROVINCES)
    return f"""BEGIN;
SELECT pg_advisory_xact_lock_shared({ROUTING_LOCK});
INSERT INTO records (kind, org_id, natural_key, digest, pseudonym, province, occurred_at,
  received_at, payload)
  VALUES ('nat', {org}, 'F-' || md5(random()::text || clock_timestamp()::text), '{digest}',
  md5(random()::text) || md5(random()::text),
  (ARRAY[{provinces}])[1 + floor(random() * {len(_PROVINCES)})::int],
  now() - interval '1 hour', now(), CAST({_text(payload)} AS jsonb))
  ON CONFLICT (org_id, kind, natural_key) DO NOTHING
  RETURNING id AS rid, pseudonym AS pn, province AS pr \\gset
INSERT INTO identities (pseudonym, id_type, id_number_enc, name_enc, phone_enc, home_region,
  last_seen_at)
  VALUES (:pn, '{id_type}', {_bytes(number)}, {_bytes(name)}, {_bytes(phone)}, :pr, now())
  ON CONFLICT (pseudonym) DO UPDATE SET last_seen_at = excluded.last_seen_at,
  name_enc = coalesce(excluded.name_enc, identities.name_enc),
  phone_enc = coalesce(excluded.phone_enc, identities.phone_enc),
  home_region = coalesce(excluded.home_region, identities.home_region);
SELECT pseudonym, province FROM registrations
  WHERE pseudonym = ANY(ARRAY[CAST(:pn AS varchar(64))]) AND ended_at IS NULL
  ORDER BY pseudonym, province;
INSERT INTO feed_counters (province, last_seq, purged_through) VALUES (:pr, 1, 0)
  ON CONFLICT (province) DO UPDATE SET last_seq = feed_counters.last_seq + excluded.last_seq
  RETURNING last_seq AS seq \\gset
SELECT pg_notify('{CHANNEL}', :pr || ' floor');
INSERT INTO feed_entries (province, seq, kind, ref_id, payload, created_at)
  VALUES (:pr, :seq, 'record', :rid, CAST({_text(entry)} AS jsonb), now());
END;
"""


def pgbench_phase(
    url: str, schema: str, text: str, *, clients: int, seconds: float, cpu: int
) -> dict[str, float]:
    """Run ``text`` with pgbench for ``seconds`` on ``clients`` connections (pinned to ``cpu``
    unless it is negative); rate and latency of the transactions, in hub_load's terms."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "submit.sql")
        path.write_text(text)
        conninfo = psycopg.conninfo.conninfo_to_dict(url.split("?")[0])
        cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "1"]
        cmd += ["-T", str(max(1, round(seconds))), "-f", str(path), "-l"]
        cmd += ["--log-prefix", str(Path(tmp, "log"))]
        cmd += ["-h", str(conninfo.get("host", "127.0.0.1")), "-U", str(conninfo["user"])]
        cmd += ["-p", str(conninfo.get("port", 5432)), str(conninfo["dbname"])]
        if cpu >= 0:
            cmd = ["taskset", "-c", str(cpu), *cmd]
        env = {**os.environ, "PGOPTIONS": f"-c search_path={schema}", "PGAPPNAME": "floor"}
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed: {done.stderr[-2000:]}")
        latencies = sorted(
            int(line.split()[2]) / 1e6
            for log in Path(tmp).glob("log*")
            for line in log.read_text().splitlines()
        )
    run = _run_seconds(done.stdout) or elapsed
    return _result(latencies, run)


def _run_seconds(stdout: str) -> float | None:
    for line in stdout.splitlines():  # "duration: 10 s"
        if line.startswith("duration:"):
            return float(line.split()[1])
    return None


def _result(latencies: list[float], seconds: float) -> dict[str, Any]:
    return {
        "rate": len(latencies) / seconds,
        "p50": percentile(latencies, 0.50) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "ok": len(latencies),
        "errors": 0,
        "server_us": 0.0,
        "pg_us": 0.0,
        "pg_other_us": 0.0,
        "client_us": 0.0,
    }
