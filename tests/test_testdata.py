"""The conformance data in tests/data: inside the project, unedited, each suite with its source.

A clone with nothing beside it must test itself, so no test may read a folder outside the
project; and the copied suites stay byte for byte as published (``SHA256SUMS`` lists every
copied file; git must not convert their line ends either).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from datadir import TESTDATA

TESTS = Path(__file__).resolve().parent
#: A path into a ``testdata`` folder beside the project, in any spelling a test could use.
OUTSIDE = re.compile(r"""shared["']?\s*[/\\]\s*["']?testdata""")
#: Files of our own beside the copies (not in SHA256SUMS).
OURS = {"README.md", "SOURCE.md", "SHA256SUMS", ".gitattributes"}


def test_the_data_lives_in_the_project(testdata: Path) -> None:
    assert testdata == TESTDATA == TESTS / "data"
    assert testdata.is_dir()


def test_no_test_reads_data_beside_the_project() -> None:
    offenders = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_each_suite_names_its_source_and_keeps_its_licence() -> None:
    suites = sorted(p for p in TESTDATA.iterdir() if p.is_dir())
    assert [p.name for p in suites] == [
        "c2sp",
        "certlogic",
        "dcc",
        "dcc-revocation",
        "dcc-rules",
        "dcc-schema",
        "merkle",
        "shc",
    ]
    for suite in suites:
        source = (suite / "SOURCE.md").read_text(encoding="utf-8")
        assert re.search(r"https://github\.com/[\w.-]+/[\w.-]+", source), suite.name
        assert re.search(r"\d{4}-\d{2}-\d{2}", source), suite.name
        assert (suite / "LICENSE").is_file(), suite.name


def test_copied_files_are_unchanged() -> None:
    listed = {}
    for line in (TESTDATA / "SHA256SUMS").read_text(encoding="ascii").splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    on_disk = {
        p.relative_to(TESTDATA).as_posix()
        for p in TESTDATA.rglob("*")
        if p.is_file() and p.name not in OURS
    }
    assert on_disk == listed.keys()
    changed = [
        name
        for name, digest in listed.items()
        if hashlib.sha256((TESTDATA / name).read_bytes()).hexdigest() != digest
    ]
    assert changed == []
