"""The error catalogue: every code declared once, raised through the catalogue, and documented.

A code raised anywhere in ``src/`` must be ``ErrorCode.X``: a string literal handed to an error
constructor fails here, and so does a declared code that nothing in ``src/`` uses.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from healthcode.core.error_codes import ErrorCode, Stage, catalogue_markdown
from healthcode.core.errors import (
    ConfigError,
    HealthcodeError,
    InvalidInput,
    VerificationFailed,
)

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "healthcode"
CATALOGUE = PACKAGE / "core" / "error_codes.py"
CODE_SHAPE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")


def _sources() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != CATALOGUE
    ]


def _error_constructors(tree: ast.Module) -> set[str]:
    """HealthcodeError and its subclasses, and this module's helpers whose first parameter is a
    code (``def _fail(code: ErrorCode, ...)``)."""
    names = {cls.__name__ for cls in _subclasses(HealthcodeError)}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.args.args:
            first = node.args.args[0]
            if first.arg == "self" and len(node.args.args) > 1:
                first = node.args.args[1]
            if isinstance(first.annotation, ast.Name) and first.annotation.id == "ErrorCode":
                names.add(node.name)
    return names


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out | {cls}


def test_each_code_is_its_own_name_with_a_status_and_a_meaning() -> None:
    for code in ErrorCode:
        assert code.value == code.name
        assert CODE_SHAPE.match(code.value), code
        assert 400 <= code.http_status <= 599, code
        assert code.meaning.strip() and "{" not in code.meaning, code
        assert code.stage is None or isinstance(code.stage, Stage)


def test_raising_an_undeclared_code_fails_at_once() -> None:
    with pytest.raises(ValueError, match="NOT_A_DECLARED_CODE"):
        InvalidInput("NOT_A_DECLARED_CODE", "x")  # type: ignore[arg-type]
    assert InvalidInput("ID_CHECK_DIGIT", "x").code is ErrorCode.ID_CHECK_DIGIT  # type: ignore[arg-type]


def test_a_verification_failure_takes_its_stage_from_the_catalogue() -> None:
    assert VerificationFailed(ErrorCode.BASE45_INVALID).stage == "base45"
    assert VerificationFailed(ErrorCode.BASE45_INVALID).message == ErrorCode.BASE45_INVALID.meaning


def test_config_error_is_in_the_tree() -> None:
    exc = ConfigError("HEALTHCODE_FIELD_KEY", "is missing, and has no default")
    assert isinstance(exc, HealthcodeError)
    assert exc.code is ErrorCode.CONFIG_MISSING
    assert ConfigError("HEALTHCODE_HUB_PORT", "is invalid: x").code is ErrorCode.CONFIG_INVALID


def test_no_code_is_raised_as_a_string() -> None:
    offenders = []
    for path, tree in _sources():
        constructors = _error_constructors(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0]
            if (
                name in constructors
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}({first.value!r})")
    assert offenders == []


def test_every_code_used_is_declared_and_every_declared_code_is_used() -> None:
    used: set[str] = set()
    for path, tree in _sources():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "ErrorCode"
            ):
                used.add(node.attr)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                # a code as a bare string anywhere but a docstring or __all__ is a code not
                # declared through the catalogue
                assert node.value not in ErrorCode.__members__ or _allowed_literal(
                    path, tree, node
                ), f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value!r} as a string"
    undeclared = sorted(used - set(ErrorCode.__members__))
    assert undeclared == []
    unused = sorted(set(ErrorCode.__members__) - used)
    assert unused == []


def _allowed_literal(path: Path, tree: ast.Module, node: ast.Constant) -> bool:
    for parent in ast.walk(tree):
        if (
            isinstance(parent, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in parent.targets)
            and any(child is node for child in ast.walk(parent))
        ):
            return True
    return False


def test_docs_errors_md_is_generated_from_the_catalogue() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert text == catalogue_markdown(), (
        "docs/errors.md is stale: python -m healthcode.core.error_codes > docs/errors.md"
    )
