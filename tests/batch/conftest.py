"""Batch database tests: the province's three tables (``bench/province_tables.py``) in an
empty database on each backend (``fresh_db_url``); a property test empties them per example."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from batch_db import Province  # noqa: E402
from bench.province_tables import make_tables  # noqa: E402

from healthcode.store.db import Database  # noqa: E402


@pytest.fixture
def province(fresh_db_url: str) -> Iterator[Province]:
    db = Database.from_url(fresh_db_url)
    tables = make_tables()
    assert db.engine is not None
    tables.summaries.metadata.create_all(db.engine)
    try:
        yield Province(db, tables)
    finally:
        db.dispose()
