"""What a kept person request skips, kept equal to what it skips: a person token's HMAC checked
once a process (``PersonTokens``), the answer's instants written once a second
(``codes.Instants`` against ``format_instant``), a state's templates made again when the signer
changes (``Prepared.template``). The codes' bytes: tests/core/trust/test_template.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.errors import AccessDenied
from healthcode.core.facts import format_instant
from healthcode.core.trust.certs import make_root, make_signer
from healthcode.core.trust.issue import CodeContent, CodeIssuer
from healthcode.province.codes import Instants, Prepared
from healthcode.province.people import PersonTokens

T0 = datetime(2022, 11, 1, tzinfo=UTC)


def test_a_checked_token_is_remembered_and_nothing_else() -> None:
    tokens = PersonTokens(field_key=b"k" * 32, kept=2)
    other = PersonTokens(field_key=b"j" * 32)
    good = tokens.token("ab" * 16)
    assert tokens.pseudonym_of(good) == "ab" * 16
    assert tokens.pseudonym_of(good) == "ab" * 16  # remembered
    forged = [
        other.token("ab" * 16),  # another key
        good[:-1] + ("0" if good[-1] != "0" else "1"),  # one character of the HMAC
        good + "0",
        good.replace("ab", "AB", 1),
        "",
        None,
    ]
    for token in forged * 2:  # a refused token is not remembered either
        with pytest.raises(AccessDenied, match="PERSON_TOKEN_INVALID"):
            tokens.pseudonym_of(token)
    for pseudonym in ("cd" * 16, "ef" * 16, "ab" * 16):  # bounded: dropped when full
        assert tokens.pseudonym_of(tokens.token(pseudonym)) == pseudonym
    assert len(tokens._checked) <= 2


_INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(
    instants=st.lists(_INSTANTS, min_size=1, max_size=6),
    steps=st.lists(st.integers(min_value=0, max_value=2_500_000), max_size=6),
    lifetimes=st.lists(st.sampled_from([timedelta(minutes=5), timedelta(days=1)]), min_size=1),
)
def test_instants_are_format_instant(
    instants: list[datetime], steps: list[int], lifetimes: list[timedelta]
) -> None:
    texts = Instants()
    moments = instants + [instants[-1] + timedelta(microseconds=sum(steps[:i])) for i in range(6)]
    for i, now in enumerate(moments):  # jumps, then small steps within and across seconds
        lifetime = lifetimes[i % len(lifetimes)]
        expected = (format_instant(now), format_instant(now.replace(microsecond=0) + lifetime))
        assert texts.texts(now, lifetime) == expected


def test_a_states_templates_follow_the_signer() -> None:
    root = make_root(now=T0)
    first, second = (
        make_signer(root=root, province="440000", not_before=T0, not_after=T0 + timedelta(days=9))
        for _ in range(2)
    )
    content = CodeContent(
        subject="ab" * 16, colour="red", badges=(), rule_set="r", masked_name="x", masked_id="1*"
    )
    light = CodeContent(
        subject="cd" * 16,
        colour="red",
        badges=(),
        rule_set="",
        masked_name="",
        masked_id="",
        light=True,
    )
    prepared = Prepared({}, content, bytes(12), None, "d", light, None)
    one, two = CodeIssuer(first), CodeIssuer(second)
    screen = prepared.template(one, False)
    assert prepared.template(one, False) is screen
    assert prepared.template(one, True).claims[-65538] == light.claim
    assert prepared.template(two, False).kid == second.kid
    assert prepared.template(one, False).kid == first.kid
