"""`healthcode rules check|explain` on the bundled examples and on refused input."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from healthcode.cli.main import app
from healthcode.core.rules import baseline_path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
AT = "2022-11-20T09:00:00+08:00"
runner = CliRunner()


def test_readme_demo_command() -> None:
    result = runner.invoke(
        app, ["rules", "explain", "--facts", str(EXAMPLES / "facts-close-contact.json"), "--at", AT]
    )
    assert result.exit_code == 0, result.output
    assert "Colour: RED" in result.output
    assert "CLOSE_CONTACT" in result.output
    assert "2022-11-28 20:00:00 CST" in result.output  # 7 + 3 days after the exposure
    assert "negative NAT within 24h" in result.output


def test_explain_in_chinese_and_json() -> None:
    zh = runner.invoke(
        app,
        [
            "rules",
            "explain",
            "--facts",
            str(EXAMPLES / "facts-close-contact.json"),
            "--at",
            AT,
            "--lang",
            "zh",
        ],
    )
    assert zh.exit_code == 0 and "颜色: 红码" in zh.output and "密切接触者" in zh.output
    js = runner.invoke(
        app,
        [
            "rules",
            "explain",
            "--facts",
            str(EXAMPLES / "facts-test-overdue.json"),
            "--at",
            AT,
            "--json",
        ],
    )
    assert js.exit_code == 0, js.output
    data = json.loads(js.output)
    assert data["colour"] == "yellow"
    assert [r["code"] for r in data["reasons"]] == ["TEST_OVERDUE"]
    assert [c["code"] for c in data["checks"]] == ["COARSE_RISK_AREA_VISIT"]
    assert data["until"] == "2022-11-20T02:00:00.000Z"  # the 72 h NAT badge ends


def test_explain_with_overlay() -> None:
    result = runner.invoke(
        app,
        [
            "rules",
            "explain",
            "--facts",
            str(EXAMPLES / "facts-test-overdue.json"),
            "--at",
            AT,
            "--overlay",
            str(EXAMPLES / "overlay-guangdong.yaml"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ruleset"].endswith("+GD-OVERLAY@1.0.0")
    assert "GD_COARSE_VISIT_NO_NAT" in [r["code"] for r in data["reasons"]]


def test_explain_refuses_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "facts.json"
    bad.write_text(
        json.dumps(
            {
                "nat_results": [
                    {"sampled_at": "2030-01-01T00:00:00Z", "result": "negative", "lab": "L"}
                ]
            }
        )
    )
    # Facts refused: what was asked failed (1); an option or a file that is wrong: usage (2).
    result = runner.invoke(app, ["rules", "explain", "--facts", str(bad), "--at", AT])
    assert result.exit_code == 1 and "TIME_IN_FUTURE" in result.output
    result = runner.invoke(app, ["rules", "explain", "--facts", str(bad), "--at", "soon"])
    assert result.exit_code == 2 and "TIME_FORMAT" in result.output
    result = runner.invoke(app, ["rules", "explain", "--facts", str(tmp_path / "no.json")])
    assert result.exit_code == 2 and "FACTS_UNREADABLE" in result.output
    result = runner.invoke(app, ["rules", "explain", "--facts", str(bad), "--lang", "fr"])
    assert result.exit_code == 2 and "LANG_UNKNOWN" in result.output


def test_check_baseline_and_overlay() -> None:
    result = runner.invoke(app, ["rules", "check", str(baseline_path())])
    assert result.exit_code == 0, result.output
    assert "OK national CN-NHC-BASELINE 9.0.0" in result.output
    assert "RED_CLOSE_CONTACT" in result.output
    result = runner.invoke(app, ["rules", "check", str(EXAMPLES / "overlay-guangdong.yaml")])
    assert result.exit_code == 0, result.output
    assert "GD_YELLOW_COARSE_VISIT_NO_NAT" in result.output


def test_check_refuses_a_lowering_overlay(tmp_path: Path) -> None:
    doc = yaml.safe_load((EXAMPLES / "overlay-guangdong.yaml").read_text(encoding="utf-8"))
    doc["parameters"]["close_contact_central_days"] = {"value": 5}
    path = tmp_path / "lower.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error OVERLAY_PARAMETER_LOWERED: ")
