from __future__ import annotations

from healthcode.store.base import Base
from healthcode.store.models import RECORD_KINDS
from healthcode.store.retention import RETENTION


def test_every_table_has_a_purpose_and_a_period() -> None:
    assert set(RETENTION) == set(Base.metadata.tables)
    for name, rule in RETENTION.items():
        assert rule.purpose and rule.period.total_seconds() > 0, name
        if rule.clock:
            assert rule.clock in Base.metadata.tables[name].c, name


def test_every_record_kind_has_a_period() -> None:
    assert set(RETENTION["records"].per_kind) == set(RECORD_KINDS)
