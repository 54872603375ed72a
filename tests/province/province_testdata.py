"""Shared data of the province tests: people who apply, records about them."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from hub_testdata import resident_id
from sqlalchemy import create_engine, text

from healthcode.config import ProvinceSettings
from healthcode.store.db import normalise_url

PROVINCE_KEY = base64.b64encode(bytes(range(100, 132))).decode()


def applicant(seq: str = "123", region: str = "440106", **extra: Any) -> dict[str, Any]:
    return {
        "id_type": "resident_id",
        "id_number": resident_id(region=region, seq=seq),
        "name": "张三丰",
        "phone": "13812345678",
        "residence_region": region,
        **extra,
    }


def nat_record(
    record_id: str, id_number: str, result: str = "positive", **extra: Any
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "id_number": id_number,
        "sampled_at": "2022-11-19T08:00:00+08:00",
        "result": result,
        **extra,
    }


@contextmanager
def pg_schema() -> Iterator[str]:
    """A new schema on the test server (HEALTHCODE_TEST_DATABASE_URL), dropped afterwards; its
    URL."""
    admin = normalise_url(os.environ["HEALTHCODE_TEST_DATABASE_URL"])
    schema = f"hcp_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in admin else "?"
    try:
        yield f"{admin}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def province_settings(token: str, region: str = "440000", **extra: object) -> ProvinceSettings:
    env = {
        "HEALTHCODE_PROVINCE_REGION": region,
        "HEALTHCODE_PROVINCE_FIELD_KEY": PROVINCE_KEY,
        "HEALTHCODE_PROVINCE_HUB_URL": "http://hub.test",
        "HEALTHCODE_PROVINCE_HUB_TOKEN": token,
        **{k: str(v) for k, v in extra.items()},
    }
    return ProvinceSettings.from_env(env)
