"""The one-pass payload check looks the issuer up in a set instead of the province regex."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from healthcode.core.codes.native import _PROVINCE, _PROVINCES

_NEAR = st.text(alphabet="0123456789١٢٣٤٥٦٧٨٩０a \n", min_size=0, max_size=8)


def test_the_set_holds_exactly_what_the_regex_fully_matches() -> None:
    candidates = {f"{n:06d}" for n in range(1_000_000) if n % 10_000 == 0} | {
        f"{n:02d}0000" for n in range(100)
    }
    assert {c for c in candidates if _PROVINCE.fullmatch(c)} == _PROVINCES
    assert all(_PROVINCE.fullmatch(p) for p in _PROVINCES)


@given(
    st.one_of(
        _NEAR, st.text(max_size=8), st.sampled_from(sorted(_PROVINCES)).map(lambda p: p + "\n")
    )
)
def test_same_acceptance_on_random_strings(text: str) -> None:
    assert (text in _PROVINCES) == bool(_PROVINCE.fullmatch(text))
