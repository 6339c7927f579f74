"""The settings read without pydantic (settings_values.read_settings) are the ones the model
reads, for every environment that reading takes; any other goes to the model, its rules
and its messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from postroom.settings import Settings, SettingsError, load_settings
from postroom.settings_values import SettingsValues, read_settings


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("POSTROOM_"):
            monkeypatch.delenv(name)


def _values(settings: SettingsValues) -> dict[str, object]:
    return {name: getattr(settings, name) for name in SettingsValues.__annotations__}


def test_the_model_declares_each_value_with_its_default() -> None:
    assert set(Settings.model_fields) == set(SettingsValues.__annotations__)
    for name, info in Settings.model_fields.items():
        if name != "home":
            assert info.get_default() == getattr(SettingsValues, name), name


QUICK = [
    {},
    {"POSTROOM_HOME": "/srv/postroom"},
    {"postroom_home": "/srv/lower"},
    {"POSTROOM_DATABASE_URL": "postgres://mail@db.test/postroom"},
    {"POSTROOM_DATABASE_URL": "sqlite:////var/lib/p.db", "POSTROOM_SECRET_KEY": "k"},
    {"POSTROOM_DATABASE_URL": ""},
    {"POSTROOM_HOME": "/srv/p", "POSTROOM_TEST_SOMETHING": "not a setting"},
    {"POSTROOM_LISTEN": "127.0.0.1:9", "POSTROOM_DEFAULT_SENDER": "help@example.com"},
]


@pytest.mark.parametrize("env", QUICK)
def test_an_environment_without_values_to_judge_is_read_without_the_model(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    quick = read_settings()
    assert type(quick) is SettingsValues
    assert _values(quick) == _values(Settings())
    assert quick.effective_database_url == Settings().effective_database_url
    assert quick.handler_settings() == Settings().handler_settings()


@pytest.mark.parametrize(
    "env",
    [
        {"POSTROOM_POLL_BATCH": "7"},
        {"POSTROOM_MATCH_BODY": "no", "POSTROOM_HOME": "/srv/p"},
        {"POSTROOM_HOME": ""},
        {"POSTROOM_HOME": "/a", "postroom_home": "/b"},
    ],
)
def test_any_other_is_read_by_the_model(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    read = read_settings()
    assert isinstance(read, Settings)
    assert _values(read) == _values(Settings())


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("POSTROOM_DATABASE_URL", "mysql://me:s3cret@db.test/x"),
        ("POSTROOM_DATABASE_URL", "not a url"),
        ("POSTROOM_POLL_BATCH", "abc"),
        ("POSTROOM_MESSAGE_SECONDS", "-1"),
    ],
)
def test_a_refused_value_is_the_models_message(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv("POSTROOM_HOME", str(Path("/srv/p")))
    monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as model:
        load_settings()
    with pytest.raises(SettingsError) as read:
        read_settings()
    assert str(read.value) == str(model.value)
    assert key in str(read.value) and "s3cret" not in str(read.value)
