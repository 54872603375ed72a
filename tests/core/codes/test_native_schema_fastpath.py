"""The one-pass check of the usual native claim map agrees with the field-by-field schema."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from healthcode.core.codes import native
from healthcode.core.codes.cwt import CTI, EXP, IAT, ISS, SUB
from healthcode.core.codes.native import HC_CLAIM, parse_payload
from healthcode.core.errors import VerificationFailed

IAT0 = 1_668_931_200


def _valid() -> dict[Any, Any]:
    return {
        ISS: "440000",
        SUB: "ab" * 16,
        EXP: IAT0 + 300,
        IAT: IAT0,
        CTI: b"\x01" * 12,
        HC_CLAIM: {1: 1, 2: 0, 3: [2, 13], 4: "2022.11-9", 5: "张*丰", 6: "4401**********1234"},
    }


#: Values worth trying in any field: edge cases of every type the checks look at.
_ODD: list[Any] = [
    None, True, False, 0, 1, 2, 3, -1, 1.0, 0.5, float("nan"), 10**30, -(10**30),
    IAT0, IAT0 + 1, IAT0 + 86_400, IAT0 + 10**9, "", "*", "440000", "040000", "440001",
    "ab" * 8, "AB" * 16, "ab" * 33, "x" * 32, "x" * 33, "1*", b"", b"\x00" * 8, b"\x00" * 33,
    [], [1], [2, 2], [99], [1, 2, 3, 4, 11, 12, 13, 14, 20], [1] * 10, [True], (2,), {}, {1: 1},
]  # fmt: skip


def _mutate(rng: random.Random, claims: dict[Any, Any]) -> dict[Any, Any]:
    out = copy.deepcopy(claims)
    for _ in range(rng.randint(1, 3)):
        target = out[HC_CLAIM] if rng.random() < 0.5 and type(out.get(HC_CLAIM)) is dict else out
        action = rng.random()
        keys = list(target)
        if action < 0.7 and keys:
            target[rng.choice(keys)] = rng.choice(_ODD)
        elif action < 0.85 and keys:
            del target[rng.choice(keys)]
        else:
            target[rng.choice([0, 3, 5, 7, 8, -1, "x", HC_CLAIM])] = rng.choice(_ODD)
    return out


def _reference(claims: dict[Any, Any]) -> Any:
    try:
        return native._parse_checked(claims)
    except VerificationFailed as exc:
        return ("refused", exc.code, exc.details.get("field"))


def test_the_usual_claim_map_takes_the_fast_path() -> None:
    fast = native._parse_common(_valid())
    assert fast is not None
    assert fast == native._parse_checked(_valid())


@pytest.mark.parametrize("seed", range(5))
def test_fast_path_and_schema_agree_on_random_claim_maps(seed: int) -> None:
    rng = random.Random(seed)
    accepted_by_fast = 0
    for _ in range(2000):
        claims = _mutate(rng, _valid())
        expected = _reference(claims)
        fast = native._parse_common(claims)
        if fast is not None:
            accepted_by_fast += 1
            assert fast == expected, claims  # never accepts what the schema refuses
        if isinstance(expected, tuple):
            with pytest.raises(VerificationFailed) as caught:
                parse_payload(claims)
            assert (caught.value.code, caught.value.details.get("field")) == expected[1:]
        else:
            assert parse_payload(claims) == expected
    assert accepted_by_fast > 0
