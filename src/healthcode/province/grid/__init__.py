"""The grid: risk persons handed down to local grid management for "four early" (early
detection, reporting, isolation, treatment); docs/grid.md tells the whole story.

- ``models.py``: the tables (units, address assignments, tasks, task events, hand-overs);
- ``units.py``: grid units from CSV or the API, the grid of a residence;
- ``tasks.py``: tasks made from colour changes (a listener of ``ProvinceService.changes``)
  and received from another province (a feed handler);
- ``work.py``: the state machine, who may act, the views (contact details masked but for the
  task's own grid);
- ``handover.py``: tasks of people living in another province, sent through the hub;
- ``timeliness.py``: each risk person's "four early" times, figures, CSV;
- ``service.py``: ``GridService``, what routes and commands call.
"""

from healthcode.province.grid.service import GridService

__all__ = ["GridService"]
