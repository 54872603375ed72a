"""The layering promise: core/ imports no web framework, ORM or CLI library."""

from __future__ import annotations

import ast
from pathlib import Path

import healthcode

FORBIDDEN = {
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "typer",
    "click",
    "flask",
    "django",
    "httpx",
    "requests",
}
CORE = Path(healthcode.__file__).parent / "core"


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_imports_no_framework() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert files, "core/ has no modules"
    offenders = {
        str(f.relative_to(CORE)): sorted(imported_roots(f) & FORBIDDEN)
        for f in files
        if imported_roots(f) & FORBIDDEN
    }
    assert offenders == {}


def test_core_does_not_import_outer_layers() -> None:
    outer = (
        "healthcode.cli",
        "healthcode.store",
        "healthcode.hub",
        "healthcode.province",
        "healthcode.checkpoint",
        "healthcode.web",
        "healthcode.batch",
    )
    for f in CORE.rglob("*.py"):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(outer), f"{f} imports {node.module}"


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import fastapi\nfrom sqlalchemy.orm import Session\n", encoding="utf-8")
    assert imported_roots(bad) & FORBIDDEN == {"fastapi", "sqlalchemy"}
