"""A reference feed consumer for provinces: pull pages, apply each entry exactly once.

The consumer keeps its cursor in its own SQLite file and advances it **in the same transaction**
as the effect of each entry (here: the entry is recorded in ``applied``). After a crash at any
point it resumes from the stored cursor; entries at or below the cursor that the hub sends again
(at-least-once delivery) are skipped, so no entry is lost and none takes effect twice.

Run: ``python -m healthcode.hub.consumer URL TOKEN PROVINCE STATE.db``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from typing import Any

import httpx

__all__ = ["FeedConsumer"]


class FeedConsumer:
    def __init__(self, *, base_url: str, token: str, province: str, state_path: str) -> None:
        self.client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.province = province
        self.db = sqlite3.connect(state_path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY, seq INTEGER)")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS applied (seq INTEGER PRIMARY KEY, kind TEXT, data TEXT)"
        )
        self.db.execute("INSERT OR IGNORE INTO cursor VALUES (1, 0)")

    @property
    def cursor(self) -> int:
        return int(self.db.execute("SELECT seq FROM cursor WHERE id = 1").fetchone()[0])

    def apply(self, entry: dict[str, Any]) -> None:
        """Apply one entry and advance the cursor atomically (skip what is already applied)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if entry["seq"] <= self.cursor:
                self.db.execute("ROLLBACK")
                return
            self.db.execute(
                "INSERT INTO applied VALUES (?, ?, ?)",
                (entry["seq"], entry["kind"], json.dumps(entry["data"])),
            )
            self.db.execute("UPDATE cursor SET seq = ? WHERE id = 1", (entry["seq"],))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def run(self, *, limit: int = 500, delay: float = 0.0) -> int:
        """Pull until the feed is drained; returns how many entries were applied."""
        applied = 0
        while True:
            r = self.client.get(
                f"/v1/feeds/{self.province}", params={"after": self.cursor, "limit": limit}
            )
            r.raise_for_status()
            page = r.json()
            for entry in page["entries"]:
                self.apply(entry)
                applied += 1
                if delay:
                    time.sleep(delay)
            if not page["more"]:
                return applied


if __name__ == "__main__":  # pragma: no cover - run by the fault tests as a subprocess
    url, token, province, state = sys.argv[1:5]
    delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    FeedConsumer(base_url=url, token=token, province=province, state_path=state).run(
        limit=50, delay=delay
    )
