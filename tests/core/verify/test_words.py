"""Plain words for every refusal a verifier can raise, in both languages; the worker's view."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import healthcode
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.verify.display import worker_view
from healthcode.core.verify.result import VerificationResult
from healthcode.core.verify.words import LANGS, REFUSALS, certificate_words, words

PACKAGE = Path(healthcode.__file__).parent
#: The modules a verification runs through: every code they name can end in a refusal.
VERIFIER_SOURCES = [
    *sorted((PACKAGE / "core" / "verify").rglob("*.py")),
    *(
        PACKAGE / "core" / "codes" / f"{name}.py"
        for name in ("base45", "base45_fast", "cose", "cwt", "native", "status_list")
    ),
    PACKAGE / "core" / "trust" / "status_lists.py",
    PACKAGE / "checkpoint" / "service.py",
]


def _codes_named(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("ErrorCode", "_E")
        and node.attr.isupper()
    }


def test_every_code_a_verifier_can_raise_has_plain_words_in_both_languages() -> None:
    named = set().union(*(_codes_named(p) for p in VERIFIER_SOURCES))
    staged = {c.name for c in ErrorCode if c.stage is not None}
    missing = sorted((named | staged) - {c.name for c in REFUSALS} - {"LANG_UNKNOWN"})
    assert missing == []
    for code, (zh, en) in REFUSALS.items():
        assert zh.strip() and en.strip(), code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), (code, zh)
        assert en.isascii(), (code, en)


def test_words_fall_back_to_the_catalogue_meaning() -> None:
    assert words("CWT_EXPIRED", "zh") == "健康码已过期，请对方刷新后重新出示"
    assert words("TOKEN_MISSING", "en") == ErrorCode.TOKEN_MISSING.meaning
    assert words(None, "en") is None
    with pytest.raises(InvalidInput) as caught:
        words("CWT_EXPIRED", "fr")
    assert caught.value.code == "LANG_UNKNOWN"


@pytest.mark.parametrize("lang", LANGS)
def test_the_view_of_each_format(lang: str) -> None:
    native = VerificationResult(
        valid=True,
        format="native",
        colour="yellow",
        profile="full",
        subject={"name": "张*丰", "id": "4401**********1234", "pseudonym": "ab" * 16},
    )
    view = worker_view(native, lang)
    assert view["holder"] == {"name": "张*丰", "date_of_birth": None, "id": "4401**********1234"}
    assert view["colour"] == {"zh": "黄码", "en": "yellow code"}[lang]
    dcc = VerificationResult(
        valid=False,
        format="dcc",
        error_code="DCC_REVOKED",
        subject={"family_name": "Mustermann", "given_name": "Erika", "dob": "1964-08-12"},
        payload={"v": [{}]},
    )
    view = worker_view(dcc, lang)
    assert view["holder"] == {"name": "M********* E****", "date_of_birth": "1964-08-12", "id": None}
    assert view["certificate"] == certificate_words("dcc", "v", lang)
    assert view["reason"] == REFUSALS[ErrorCode.DCC_REVOKED][LANGS.index(lang)]
    light = VerificationResult(valid=True, format="native", colour="green", profile="light")
    assert worker_view(light, lang)["holder"] == {"name": None, "date_of_birth": None, "id": None}
    assert "light" in worker_view(light, "en")["certificate"]
