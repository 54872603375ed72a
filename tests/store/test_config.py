from __future__ import annotations

import base64

import pytest

from healthcode.config import ENVIRONMENT, ConfigError, Settings

KEY = base64.b64encode(bytes(range(32))).decode()
ENV = {"HEALTHCODE_FIELD_KEY": KEY, "HEALTHCODE_PSEUDONYM_KEY": KEY}


def test_defaults_and_values() -> None:
    s = Settings.from_env({**ENV, "HEALTHCODE_HUB_PORT": "9000"})
    assert s.hub_port == 9000
    assert s.field_key == bytes(range(32))
    assert "***" in repr(s) and KEY not in repr(s)


@pytest.mark.parametrize("variable", ["HEALTHCODE_FIELD_KEY", "HEALTHCODE_PSEUDONYM_KEY"])
def test_missing_required_variable_is_named(variable: str) -> None:
    env = {k: v for k, v in ENV.items() if k != variable}
    with pytest.raises(ConfigError, match=variable) as e:
        Settings.from_env(env)
    assert e.value.variable == variable


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HEALTHCODE_FIELD_KEY", "not base64!"),
        ("HEALTHCODE_FIELD_KEY", base64.b64encode(b"x" * 16).decode()),
        ("HEALTHCODE_HUB_PORT", "70000"),
        ("HEALTHCODE_FEED_PAGE_MAX", "0"),
        ("HEALTHCODE_BATCH_MAX", "many"),
    ],
)
def test_bad_value_is_named(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({**ENV, variable: value})


def test_table_covers_every_setting() -> None:
    from dataclasses import fields

    assert {f.name for f in fields(Settings)} == set(ENVIRONMENT)


def test_token_cache_seconds() -> None:
    assert Settings.from_env(ENV).token_cache_seconds == 30
    off = Settings.from_env({**ENV, "HEALTHCODE_TOKEN_CACHE_SECONDS": "0"})
    assert off.token_cache_seconds == 0
    for bad in ("-1", "soon", "inf"):
        with pytest.raises(ConfigError, match="HEALTHCODE_TOKEN_CACHE_SECONDS"):
            Settings.from_env({**ENV, "HEALTHCODE_TOKEN_CACHE_SECONDS": bad})
