"""The operators' side of a province (docs/pages.md): colour counts per region kept by a
change listener (``tallies.py``), the rule-set versions it has used and their differences
(``rulebook.py``), the dashboard's JSON routes and the pages (``routes.py``)."""

from __future__ import annotations

from healthcode.province.ops.rulebook import RuleBook
from healthcode.province.ops.tallies import Tallies

__all__ = ["RuleBook", "Tallies"]
