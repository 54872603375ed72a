"""Kept entries (province/kept.py): a read racing a forget is never kept; bounded; off at 0.
The property that kept codes say what a fresh read says: tests/province/test_province_codes.py."""

from __future__ import annotations

from healthcode.province.kept import Kept


def test_a_read_racing_a_forget_is_not_kept() -> None:
    kept: Kept[str] = Kept(2)
    mark = kept.mark()
    kept.forget(["someone else"])  # a commit between the read and the put
    kept.put("a", "read before the commit", mark)
    assert kept.get("a") is None
    kept.put("a", "fresh", kept.mark())
    kept.put("b", "fresh", kept.mark())
    kept.put("c", "fresh", kept.mark())  # the oldest goes
    assert (kept.get("a"), kept.get("c"), len(kept)) == (None, "fresh", 2)
    kept.forget(None)
    assert len(kept) == 0
    nothing: Kept[str] = Kept(0)
    nothing.put("a", "x", nothing.mark())
    assert nothing.get("a") is None
