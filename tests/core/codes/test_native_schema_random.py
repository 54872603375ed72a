"""The payload schema on random claim maps: a payload, or a refusal naming its field."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

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


_FIELDS = {"claims", "hc", "hc.v", "iss", "sub", "iat", "exp", "cti", "hc.colour", "hc.badges",
           "hc.id", "hc.rule_set", "hc.name"}  # fmt: skip


def test_the_usual_claim_map_is_a_payload() -> None:
    payload = parse_payload(_valid())
    assert (payload.issuer, payload.colour, payload.badges) == (
        "440000",
        "green",
        ("nat-48h", "vaccine-3"),
    )


@pytest.mark.parametrize("seed", range(5))
def test_random_claim_maps_give_a_payload_or_a_named_refusal(seed: int) -> None:
    rng = random.Random(seed)
    refused = 0
    for _ in range(2000):
        claims = _mutate(rng, _valid())
        try:
            payload = parse_payload(claims)
        except VerificationFailed as exc:
            refused += 1
            assert exc.code in ("PAYLOAD_INVALID", "PAYLOAD_VERSION_UNKNOWN"), claims
            assert exc.stage == "schema" and exc.details.get("field") in _FIELDS, claims
            continue
        # What passes holds exactly the valid values of the claims.
        assert payload.issuer == claims[ISS] and payload.serial == claims[CTI], claims
        assert payload.expires_at > payload.issued_at, claims
        assert "*" in payload.masked_id, claims
    assert refused > 0
