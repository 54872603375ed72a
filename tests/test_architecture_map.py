"""docs/architecture.md stays a true map: every module has its line, every line a module."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "healthcode"


def mapped_paths() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    paths: set[str] = set()
    for line in text.splitlines():
        if not line.startswith("- "):
            continue
        head = line.split(" — ", 1)[0]
        paths.update(re.findall(r"`([\w/.-]+(?:\.py|/))`", head))
    return paths


def modules() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if "/migrations/" in f"/{rel}":
            continue  # the Alembic environment is mapped as one folder
        if path.name == "__init__.py" and path.stat().st_size < 400:
            continue  # a package marker with a docstring only
        found.add(rel)
    return found


def test_every_module_is_on_the_map() -> None:
    mapped = mapped_paths()
    missing = sorted(m for m in modules() if m not in mapped)
    assert missing == []


def test_every_line_names_a_real_module() -> None:
    stale = sorted(p for p in mapped_paths() if not (PACKAGE / p).exists())
    assert stale == []
