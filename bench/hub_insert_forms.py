"""PostgreSQL's own CPU for the hub's records insert, by statement form.

    .venv/bin/python -m bench.hub_insert_forms [--records 20000] [--batch 5000] [--reps 2]

The same valid NAT records (parsed by the hub's ``RecordParser``) are inserted in batches of
``--batch`` into the ``records`` table of a fresh schema (made by the migrations, dropped at the
end), once per statement form; the figure is the user + system CPU of the connection's backend
(``/proc/<pid>/stat``) per record, which the Python side cannot blur. Forms:

- ``plain``: ``INSERT ... SELECT ... FROM unnest(...)``;
- ``plain+returning``: the same with ``RETURNING natural_key, id``;
- ``plain+ret+route``: and the province from ``registrations`` (the hub's path for a batch of
  new records);
- ``onconflict+returning``: ``plain+returning`` with ``ON CONFLICT (org_id, kind, natural_key)
  DO NOTHING``;
- ``onconflict+ret+route``: and the province from ``registrations`` (the hub's general path).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import psycopg

from bench.hub_common import DEFAULT_URL, ENV, nat_records
from bench.hub_load import cpu_seconds
from bench.scratch import pg_schema, schema_url
from healthcode.config import Settings
from healthcode.core.clock import SystemClock
from healthcode.hub.records import ParsedRecord, RecordParser
from healthcode.store.bulk import array_literal
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade

_SELECT = (
    "SELECT 'nat', 1, u.nk, u.dg, u.ps, {province}, u.oc, CAST(%(now)s AS timestamptz), u.pl"
    " FROM unnest(CAST(%(nk)s AS varchar[]), CAST(%(dg)s AS varchar[]),"
    " CAST(%(ps)s AS varchar[]), CAST(%(pr)s AS varchar[]), CAST(%(oc)s AS timestamptz[]),"
    " CAST(%(pl)s AS jsonb[])) AS u(nk, dg, ps, pr, oc, pl)"
)
_INSERT = (
    "INSERT INTO records (kind, org_id, natural_key, digest, pseudonym, province, occurred_at,"
    " received_at, payload) "
)
_ROUTE = "coalesce((SELECT r.province FROM registrations r WHERE r.pseudonym = u.ps), u.pr)"
_CONFLICT = " ON CONFLICT (org_id, kind, natural_key) DO NOTHING"
FORMS = {
    "plain": _INSERT + _SELECT.format(province="u.pr"),
    "plain+returning": _INSERT + _SELECT.format(province="u.pr") + " RETURNING natural_key, id",
    "plain+ret+route": _INSERT
    + _SELECT.format(province=_ROUTE)
    + " RETURNING natural_key, id, province",
    "onconflict+returning": _INSERT
    + _SELECT.format(province="u.pr")
    + _CONFLICT
    + " RETURNING natural_key, id",
    "onconflict+ret+route": _INSERT
    + _SELECT.format(province=_ROUTE)
    + _CONFLICT
    + " RETURNING natural_key, id, province",
}


def _params(batch: list[ParsedRecord], now: str) -> dict[str, Any]:
    return {
        "nk": array_literal([p.record_id for p in batch]),
        "dg": array_literal([p.digest for p in batch]),
        "ps": array_literal([p.pseudonym for p in batch]),
        "pr": array_literal([(p.home_region or "11")[:2] + "0000" for p in batch]),
        "oc": array_literal([p.occurred_at for p in batch]),
        "pl": array_literal([json.dumps(p.fact, ensure_ascii=False) for p in batch]),
        "now": now,
    }


def run(url: str, sql: str, parsed: list[ParsedRecord], batch: int) -> float:
    """Backend CPU µs a record of inserting ``parsed`` with ``sql``, in a fresh schema."""
    now = datetime.now(UTC).isoformat()
    with pg_schema(url) as schema:
        target = schema_url(url, schema)
        db = Database.from_url(target)
        upgrade(db)
        db.dispose()
        with psycopg.connect(target) as conn:
            conn.execute(
                "INSERT INTO organisations (id, kind, name, region_code, created_at)"
                " VALUES (1, 'lab', 'bench lab', '440106', now())"
            )
            conn.commit()
            pid = conn.info.backend_pid
            before = cpu_seconds(pid)
            for lo in range(0, len(parsed), batch):
                with conn.transaction():
                    cur = conn.execute(sql, _params(parsed[lo : lo + batch], now))
                    if cur.description is not None:
                        cur.fetchall()
            return (cpu_seconds(pid) - before) / len(parsed) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=5_000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--url", default=DEFAULT_URL)
    args = ap.parse_args()
    parser = RecordParser(pseudonym_key=Settings.from_env(ENV).pseudonym_key, clock=SystemClock())
    parsed = [
        parser.parse("nat", r, defaults={"lab": "bench lab"}) for r in nat_records(args.records)
    ]
    start = time.perf_counter()
    figures: dict[str, list[float]] = {name: [] for name in FORMS}
    for rep in range(args.reps):
        order = list(FORMS) if rep % 2 == 0 else list(reversed(FORMS))
        for name in order:
            figures[name].append(run(args.url, FORMS[name], parsed, args.batch))
    for name, values in figures.items():
        print(
            f"{name:<22}: backend CPU median {statistics.median(values):5.1f} µs a record"
            f" ({', '.join(f'{v:.1f}' for v in values)})"
        )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
