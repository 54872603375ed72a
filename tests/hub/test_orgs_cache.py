"""hub/orgs.py token cache: fewer database reads, and revocation and expiry still hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from healthcode.core.clock import FixedClock
from healthcode.core.errors import AccessDenied
from healthcode.hub.orgs import OrgService
from healthcode.store.db import Database
from healthcode.store.models import OrgToken


class Ticks:
    """A monotonic clock that says what it is told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _service(db: Database, clock: FixedClock, ticks: Ticks, seconds: float) -> OrgService:
    return OrgService(db=db, clock=clock, cache_seconds=seconds, monotonic=ticks)


def _revoke_elsewhere(db: Database, clock: FixedClock) -> None:
    """A revocation made by another process (the CLI): straight into the database."""
    with db.write() as s:
        s.execute(update(OrgToken).values(revoked_at=clock.now()))


def test_a_checked_token_is_served_from_the_cache_for_its_ttl(
    db: Database, clock: FixedClock
) -> None:
    ticks = Ticks()
    orgs = _service(db, clock, ticks, 30)
    _, token = orgs.add(kind="checkpoint", region_code="440106", name="station")
    assert orgs.cached(token) is None
    principal = orgs.authenticate(token)
    assert orgs.cached(token) == principal
    _revoke_elsewhere(db, clock)
    ticks.now += 29
    assert orgs.authenticate(token) == principal  # within the TTL: not read again
    ticks.now += 1
    assert orgs.cached(token) is None
    with pytest.raises(AccessDenied) as exc:
        orgs.authenticate(token)
    assert exc.value.code == "TOKEN_REVOKED"


def test_revocation_in_this_process_takes_effect_at_once(db: Database, clock: FixedClock) -> None:
    orgs = _service(db, clock, Ticks(), 30)
    _, token = orgs.add(kind="checkpoint", region_code="440106", name="station")
    orgs.authenticate(token)
    orgs.revoke(orgs.tokens()[-1].id)
    assert orgs.cached(token) is None
    with pytest.raises(AccessDenied) as exc:
        orgs.authenticate(token)
    assert exc.value.code == "TOKEN_REVOKED"


def test_expiry_is_exact_even_when_cached(db: Database, clock: FixedClock) -> None:
    orgs = _service(db, clock, Ticks(), 30)
    _, token = orgs.add(kind="checkpoint", region_code="440106", name="station")
    orgs.authenticate(token)
    clock.advance(timedelta(days=366))
    with pytest.raises(AccessDenied) as exc:
        orgs.authenticate(token)
    assert exc.value.code == "TOKEN_EXPIRED"


def test_expire_in_this_process_takes_effect_at_once(db: Database, clock: FixedClock) -> None:
    orgs = _service(db, clock, Ticks(), 30)
    _, token = orgs.add(kind="checkpoint", region_code="440106", name="station")
    orgs.authenticate(token)
    orgs.expire(orgs.tokens()[-1].id)
    with pytest.raises(AccessDenied) as exc:
        orgs.authenticate(token)
    assert exc.value.code == "TOKEN_EXPIRED"


def test_bad_tokens_are_never_cached_and_zero_turns_the_cache_off(
    db: Database, clock: FixedClock
) -> None:
    ticks = Ticks()
    orgs = _service(db, clock, ticks, 0)
    _, token = orgs.add(kind="checkpoint", region_code="440106", name="station")
    orgs.authenticate(token)
    assert orgs.cached(token) is None
    cached = _service(db, clock, ticks, 30)
    for bad in ("", None, "hc_unknown"):
        with pytest.raises(AccessDenied):
            cached.authenticate(bad)
        assert cached.cached(bad) is None


def test_the_setting_reaches_the_hub(settings, db: Database, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from healthcode.hub.services import Hub

    assert settings.token_cache_seconds == 30
    hub = Hub.build(settings=replace(settings, token_cache_seconds=5), db=db, clock=clock)
    assert hub.orgs.cache_seconds == 5
