"""Modules a newcomer can hold in their head: the size limits of the codebase, checked.

No module over 500 lines, no function over 60 lines, no function graded E or F by radon's
cyclomatic complexity, and every package says what it exports (``__all__``, public names only).
Alembic migrations are history and are left out. The error catalogue is a declaration table
(one line a code, the members of one ``Enum``, which cannot be spread over modules): it has a
limit of its own, and no logic may grow in it.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from radon.complexity import cc_rank, cc_visit

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "healthcode"
MODULE_MAX_LINES = 500
FUNCTION_MAX_LINES = 60
TABLE_MAX_LINES = {"core/error_codes.py": 800}
TABLE_MAX_FUNCTIONS = 2  # the catalogue's member constructor and its markdown entry point
WORST_RANK = "D"  # radon ranks A (simple) .. F (untestable); E and F are refused


def _modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts]


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_no_module_is_over_500_lines() -> None:
    long = {
        _name(p): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines()))
        > TABLE_MAX_LINES.get(_name(p), MODULE_MAX_LINES)
    }
    assert long == {}


def test_the_declaration_tables_hold_no_logic() -> None:
    for name in TABLE_MAX_LINES:
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        assert len(functions) <= TABLE_MAX_FUNCTIONS, name


def test_no_function_is_over_60_lines() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > FUNCTION_MAX_LINES:
                    long[f"{_name(path)}:{node.lineno} {node.name}"] = lines
    assert long == {}


def test_no_function_is_graded_e_or_f() -> None:
    worst = {}
    for path in _modules():
        for block in cc_visit(path.read_text(encoding="utf-8")):
            rank = cc_rank(block.complexity)
            if rank > WORST_RANK:
                worst[f"{_name(path)}:{block.lineno} {block.fullname}"] = rank
    assert worst == {}


def test_every_package_declares_its_public_names() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        if "migrations" in init.parts:
            continue
        dotted = ".".join(("healthcode", *init.parent.relative_to(PACKAGE).parts))
        module = importlib.import_module(dotted)
        exported = getattr(module, "__all__", None)
        if exported is None:
            assert not _public_names(init), f"{dotted} has public names but no __all__"
            continue
        for name in exported:
            assert not name.startswith("_"), f"{dotted} exports the private name {name}"
            assert hasattr(module, name), f"{dotted}.__all__ names {name}, which it lacks"


def _public_names(init: Path) -> list[str]:
    """Names an ``__init__`` binds by import or definition, other than private ones."""
    names = []
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            names += [a.asname or a.name for a in node.names if not a.name.startswith("_")]
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.append(node.name)
    return [n for n in names if n != "annotations" and not n.startswith("_")]
