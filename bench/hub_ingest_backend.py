"""Where the hub's PostgreSQL backend CPU goes when it ingests, beside a raw ``COPY``'s.

    .venv/bin/python -m bench.hub_ingest_backend [--records 20000] [--batch 2000] [--url URL]

``IngestService.submit`` on valid NAT results (bench.hub_common) in batches, in a fresh
schema; every statement the hub's connection sends (psycopg ``Cursor.execute``) and every
commit is charged the CPU its backend spent meanwhile (``/proc/<pid>/schedstat``: nanoseconds,
not the 10 ms ticks of ``/proc/<pid>/stat``), summed by statement (``INSERT INTO records``,
``INSERT INTO feed_entries``, ...). Then the rows the hub stored are written again with a raw
``COPY`` per table (as ``bench.hub_ingest`` does), in the same batches, into a second fresh
schema, each table's ``COPY`` charged the same way. Both are in µs a record. The backend runs
on the same machine as this process, so the figures move with the machine's load; compare
the two sides of one run.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from bench.hub_common import DEFAULT_URL, nat_records
from bench.hub_ingest import TABLES, _copy, _hub, copy_schema, run_service
from bench.scratch import pg_schema, schema_url
from healthcode.hub.ingest import Located

#: Backend nanoseconds and calls, by statement.
NS: dict[str, int] = defaultdict(int)
CALLS: dict[str, int] = defaultdict(int)
_HEAD = re.compile(r'(INSERT INTO "?\w+"?|SELECT pg_\w+|SELECT \w+\.\w+, \w+\.\w+ FROM \w+|\w+)')


def runtime(pid: int) -> int:
    """CPU nanoseconds the process ``pid`` has run (its first schedstat field)."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def _label(sql: str) -> str:
    sql = " ".join(sql.split())
    m = _HEAD.match(sql)
    head = m.group(0) if m else sql[:40]
    return head + (" ON CONFLICT" if "ON CONFLICT" in sql else "")


@contextmanager
def _charged() -> Iterator[None]:
    """Charge each statement and commit of every psycopg connection to ``NS``."""
    execute, commit = psycopg.Cursor.execute, psycopg.Connection.commit

    def charged_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        pid = self.connection.info.backend_pid
        start = runtime(pid)
        try:
            return execute(self, query, params, **kw)
        finally:
            text = query if isinstance(query, str) else query.as_string(self.connection)
            NS[_label(text)] += runtime(pid) - start
            CALLS[_label(text)] += 1

    def charged_commit(self: Any) -> None:
        pid = self.info.backend_pid
        start = runtime(pid)
        try:
            commit(self)
        finally:
            NS["COMMIT"] += runtime(pid) - start
            CALLS["COMMIT"] += 1

    psycopg.Cursor.execute = charged_execute  # type: ignore[method-assign]
    psycopg.Connection.commit = charged_commit  # type: ignore[method-assign]
    try:
        yield
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        psycopg.Connection.commit = commit  # type: ignore[method-assign]


def hub_side(url: str, batches: list[list[Located]]) -> None:
    with pg_schema(url) as schema:
        hub, token = _hub(schema_url(url, schema))
        principal = hub.orgs.authenticate(token)
        with _charged():
            for batch in batches:
                hub.ingest.submit(principal, "nat", batch)
        hub.db.dispose()


def copy_side(url: str, rows: dict[str, list[tuple[Any, ...]]], batch: int) -> dict[str, int]:
    spent: dict[str, int] = defaultdict(int)
    with copy_schema(url, rows) as scratch, psycopg.connect(scratch) as conn:
        pid = conn.info.backend_pid
        for lo in range(0, len(rows["records"]), batch):
            for table in TABLES:
                start = runtime(pid)
                _copy(conn, table, rows[table.name][lo : lo + batch])
                spent[f"COPY {table.name}"] += runtime(pid) - start
            start = runtime(pid)
            conn.commit()
            spent["COMMIT"] += runtime(pid) - start
    return spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=2_000)
    ap.add_argument("--url", default=DEFAULT_URL)
    args = ap.parse_args()
    n = args.records
    records = nat_records(n)
    batches = [
        [Located({"index": i}, r) for i, r in enumerate(records[lo : lo + args.batch])]
        for lo in range(0, n, args.batch)
    ]
    hub_side(args.url, batches)
    hub = dict(NS)
    _, rows = run_service(args.url, batches, dump=True)
    assert rows is not None
    copy = copy_side(args.url, rows, args.batch)
    print(f"{n:,} records, batches of {args.batch:,}: backend CPU µs a record")
    for name, spent in (("hub", hub), ("raw COPY", copy)):
        for label, ns in sorted(spent.items(), key=lambda kv: -kv[1]):
            calls = f" ({CALLS[label]}x)" if name == "hub" else ""
            print(f"  {name:<8} {ns / n / 1000:7.2f}  {label}{calls}")
        print(f"  {name:<8} {sum(spent.values()) / n / 1000:7.2f}  in all")


if __name__ == "__main__":
    main()
