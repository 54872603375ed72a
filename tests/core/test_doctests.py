"""Every example in the docstrings of ``core`` runs and says what it shows: each module of
the package is imported and its examples run (``doctest``), so an example that went stale
fails here."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import healthcode.core

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(healthcode.core.__path__, "healthcode.core.")
)


def test_core_has_examples_to_run() -> None:
    finder = doctest.DocTestFinder()
    found = sum(
        len(t.examples) for name in MODULES for t in finder.find(importlib.import_module(name))
    )
    assert len(MODULES) > 50 and found > 100


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_of_a_core_module_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, report=False, raise_on_error=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} fail"
