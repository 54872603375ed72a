"""Instructions the hub process spends ingesting records, for valgrind's callgrind.

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \\
        .venv/bin/python -m bench.hub_ingest_instructions --records 7500

Submits ``--records`` valid NAT results (bench.hub_common) in batches of ``--batch`` through
``IngestService.submit`` into a fresh PostgreSQL schema (created and dropped here). callgrind
counts instructions, not seconds: the same count for the same code, whatever else the machine
does. Run it twice with different ``--records`` and divide the difference by the difference in
records to leave out start-up: instructions a record. PostgreSQL's own work is not counted
(it runs in the server's processes).
"""

from __future__ import annotations

import argparse

from bench.hub_common import DEFAULT_URL, nat_records
from bench.hub_ingest import _hub
from bench.scratch import pg_schema, schema_url
from healthcode.hub.ingest import Located


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=7_500)
    ap.add_argument("--batch", type=int, default=2_500)
    ap.add_argument("--url", default=DEFAULT_URL)
    args = ap.parse_args()
    records = nat_records(args.records)
    with pg_schema(args.url) as schema:
        hub, token = _hub(schema_url(args.url, schema))
        principal = hub.orgs.authenticate(token)
        for lo in range(0, len(records), args.batch):
            batch = [Located({"index": i}, r) for i, r in enumerate(records[lo : lo + args.batch])]
            hub.ingest.submit(principal, "nat", batch)
        hub.db.dispose()


if __name__ == "__main__":
    main()
