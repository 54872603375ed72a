"""Scratch PostgreSQL schemas for the benchmarks: made fresh, used, and dropped with all they
hold, so a benchmark never touches another's tables (or the tests').

- :func:`pg_schema`: an empty schema (``<prefix>_<hex>``) of the database at ``base``;
- :func:`schema_url`: ``base`` with its ``search_path`` set to a schema (for SQLAlchemy,
  psycopg or ADBC alike);
- :func:`province_schema`: a scratch schema holding the province's tables
  (``bench/province_tables.py``), with a :class:`~healthcode.store.db.Database` on it, disposed
  before the schema is dropped.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg

from healthcode.store.db import Database

if TYPE_CHECKING:  # the province's tables import Polars: only the benches that use them pay
    from healthcode.batch.reevaluate import ProvinceTables

__all__ = ["Scratch", "pg_schema", "province_schema", "schema_url"]


def schema_url(base: str, schema: str) -> str:
    """``base`` with ``search_path`` set to ``schema`` (as the tests do)."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def pg_schema(base: str, prefix: str = "bench") -> Iterator[str]:
    """A fresh, empty schema (``<prefix>_<hex>``), dropped with everything in it at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@dataclass(frozen=True, slots=True)
class Scratch:
    """A scratch schema with the province's tables: a database on it, its tables, its URL."""

    db: Database
    tables: ProvinceTables
    url: str


@contextlib.contextmanager
def province_schema(base: str, prefix: str = "bench") -> Iterator[Scratch]:
    """A fresh schema of ``base`` with the province's whole schema made in it (``create_all``
    on the province's metadata); the database disposed and the schema dropped at the end."""
    from bench.province_tables import make_tables

    with pg_schema(base, prefix) as schema:
        url = schema_url(base, schema)
        db = Database.from_url(url)
        try:
            tables = make_tables()
            assert db.engine is not None
            tables.summaries.metadata.create_all(db.engine)
            yield Scratch(db, tables, url)
        finally:
            db.dispose()
