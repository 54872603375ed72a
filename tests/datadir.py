"""Where the tests find the public conformance data: ``tests/data``, copied into the project.

One constant for every test (the ``testdata`` fixture of ``tests/conftest.py`` returns it, and
modules that list their cases at import time read it directly), so a clone with nothing beside
it tests itself. Test modules import this by its own name: pytest puts ``tests/`` on ``sys.path``
when it loads ``tests/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

TESTDATA = Path(__file__).resolve().parent / "data"
