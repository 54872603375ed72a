"""``healthcode verify`` on ``HC1:`` codes with the shipped EU schema, and ``--dcc-schema``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from test_verify_cli import dcc_args, dcc_vector
from typer.testing import CliRunner

from healthcode.cli.main import app
from healthcode.core.verify.dcc import shipped_schema, shipped_value_sets

runner = CliRunner()
DATA = Path(__file__).resolve().parents[2] / "src" / "healthcode" / "core" / "data"
TESTDATA = Path(__file__).resolve().parents[1] / "data"
VECTORS = sorted(
    str(p.relative_to(TESTDATA / "dcc"))
    for p in (TESTDATA / "dcc").glob("*/*.json")
    if "PREFIX" in json.loads(p.read_text(encoding="utf-8"))
)


def _run(args: list[str]) -> tuple[int, list[dict[str, object]]]:
    result = runner.invoke(app, args, env={"HEALTHCODE_DCC_SCHEMA": ""})
    lines = result.stdout.strip().splitlines() if result.exit_code != 2 else []
    return result.exit_code, [json.loads(line) for line in lines]


def _without_schema(args: list[str]) -> list[str]:
    i = args.index("--dcc-schema")
    return args[:i] + args[i + 2 :]


@pytest.mark.parametrize("name", VECTORS)
def test_shipped_schema_judges_like_the_given_one(
    testdata: Path, tmp_path: Path, name: str
) -> None:
    """Every EU vector: the same result without ``--dcc-schema`` as with release 1.3.3 given."""
    args = dcc_args(testdata, tmp_path, name)
    code = json.loads((testdata / "dcc" / name).read_text(encoding="utf-8"))["PREFIX"]
    given = _run([*args, code])
    shipped = _run([*_without_schema(args), code])
    assert shipped == given
    assert all(r["error_code"] != "SCHEMA_UNAVAILABLE" for r in shipped[1])


def test_valid_without_schema_names_the_release(testdata: Path, tmp_path: Path) -> None:
    args = _without_schema(dcc_args(testdata, tmp_path, "AT/1.json"))
    code = json.loads((testdata / "dcc" / "AT/1.json").read_text(encoding="utf-8"))["PREFIX"]
    status, [out] = _run([*args, code])
    assert status == 0, out
    assert (out["valid"], out["schema_release"]) == (True, "1.3.3")


def test_schema_invalid_names_the_release(testdata: Path, tmp_path: Path) -> None:
    """A payload the schema refuses (common/DGC1: expected to fail the schema): the refusal
    says which release refused it."""
    name = "common/DGC1.json"
    v = dcc_vector(testdata, name)
    args = _without_schema(dcc_args(testdata, tmp_path, name))
    status, [out] = _run([*args, str(v["PREFIX"])])
    assert (status, out["stage"], out["error_code"], out["schema_release"]) == (
        1,
        "schema",
        "SCHEMA_INVALID",
        "1.3.3",
    )


def test_override_wins(testdata: Path, tmp_path: Path) -> None:
    """``--dcc-schema`` replaces the shipped schema: an older release, and one refusing all."""
    args = _without_schema(dcc_args(testdata, tmp_path, "AT/1.json"))
    code = json.loads((testdata / "dcc" / "AT/1.json").read_text(encoding="utf-8"))["PREFIX"]
    older = testdata / "dcc-schema" / "1.3.0" / "DCC.combined-schema.json"
    _, [out] = _run([*args, "--dcc-schema", str(older), code])
    assert (out["valid"], out["schema_release"]) == (True, "1.3.0")
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"$comment": "Schema version 9.9.9", "required": ["zzz"]}))
    status, [out] = _run([*args, "--dcc-schema", str(strict), code])
    assert (status, out["error_code"], out["schema_release"]) == (1, "SCHEMA_INVALID", "9.9.9")


@pytest.mark.parametrize("content", [None, b"not json", b"[1]", b'{"type": 12}'])
def test_override_that_cannot_be_read(
    testdata: Path, tmp_path: Path, content: bytes | None
) -> None:
    """An override file that is missing, not JSON, not an object or not a schema: exit 2."""
    args = _without_schema(dcc_args(testdata, tmp_path, "AT/1.json"))
    path = tmp_path / "schema.json"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, [*args, "--dcc-schema", str(path), "HC1:X"])
    assert result.exit_code == 2
    assert "SCHEMA_UNAVAILABLE" in result.output and "--dcc-schema" in result.output


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["DCC.combined-schema.json", "LICENSE"])
def test_shipped_schema_is_the_release_unchanged(name: str) -> None:
    """The shipped files are those of tests/data (release 1.3.3), byte for byte."""
    release = TESTDATA / "dcc-schema" / ("1.3.3/" + name if name.endswith(".json") else name)
    assert _sha256(DATA / "dcc-schema" / name) == _sha256(release)
    assert shipped_schema().release == "1.3.3"


def test_shipped_value_sets() -> None:
    """The EU value sets, as the business rules read them (id: codes)."""
    sets = shipped_value_sets()
    assert "EU/1/20/1528" in sets["vaccines-covid-19-names"]
    assert {"260373001", "260415000"} == set(sets["covid-19-lab-result"])
    assert {"DE", "FR", "SE"} <= set(sets["country-2-codes"])
    assert len(sets) == 9  # one a file under core/data/dcc-valuesets
