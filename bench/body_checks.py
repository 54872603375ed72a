"""What the hub's input boundary costs a JSON batch: ``json.loads`` alone against
``formats.parse_json_array`` (the same parse, then ``fields.check_value`` on every record:
nesting depth, no lone surrogate or NUL, dates within the accepted years), in microseconds a
record, on the NAT records of ``bench.hub_ingest``.

Run: ``.venv/bin/python -m bench.body_checks [--records 2000] [--repeat 7]``
"""

from __future__ import annotations

import argparse
import json
import timeit

from bench.hub_common import nat_records
from healthcode.hub.formats import parse_json_array


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    raw = json.dumps(nat_records(args.records)).encode()

    def plain() -> object:
        return json.loads(raw.decode("utf-8-sig"))

    def checked() -> object:
        return parse_json_array(raw, max_depth=32)

    for name, call in (("json.loads", plain), ("parse_json_array", checked)):
        best = min(timeit.repeat(call, number=5, repeat=args.repeat)) / 5
        print(f"{name:18} {best / args.records * 1e6:6.2f} µs a record")


if __name__ == "__main__":
    main()
