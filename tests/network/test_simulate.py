"""``healthcode simulate`` over a network served in this process (real HTTP): the codes change
as the outbreak's facts arrive, in both provinces, and the checkpoint sees an older green code
superseded."""

from __future__ import annotations

from pathlib import Path

import pytest

from healthcode.network.init import init_network
from healthcode.network.seed import seed_network
from healthcode.network.serve import start_network
from healthcode.network.simulate import run
from live_network import free_base_port

pytestmark = pytest.mark.slow


def test_the_outbreak_changes_the_codes_in_both_provinces(tmp_path: Path) -> None:
    folder = init_network(tmp_path / "net", base_port=free_base_port()).folder
    lines: list[str] = []
    network = start_network(folder, say=lines.append)
    try:
        seed_network(folder, size=300, seed=5, apply=network.apply, say=lines.append)
        sim = run(folder, say=lines.append, wait=30)
    finally:
        network.stop()
    seen = {(c.role, c.province): (c.before, c.after) for c in sim.changes if c.seconds}
    assert seen[("case", "440000")] == ("green", "red")
    assert seen[("close-1", "440000")] == ("green", "red")
    assert seen[("close-2", "440000")] == ("green", "red")
    assert seen[("secondary", "440000")] == ("green", "yellow")
    assert seen[("visitor", "440000")] == ("green", "yellow")
    assert seen[("traveller", "110000")] == ("green", "yellow")  # a Beijing resident in Guangdong
    # a venue code forwarded to someone at home in Beijing: flagged, not used
    assert sim.forwarded == ("green", ["VENUE_SCAN_CONTRADICTED"])
    assert ("forwarded", "110000") not in seen
    assert any("hub status of the case: red (seen after" in line for line in lines), lines
    # offline by the hub's status list (once the list the checkpoint holds shows the case's new
    # colour state: a list is rebuilt at most every 5 minutes), else online at the hub
    assert any("superseded: now red" in line or "stop CODE_SUPERSEDED" in line for line in lines)
    assert any(line.startswith("110000: 1 transcoding") for line in lines), lines
