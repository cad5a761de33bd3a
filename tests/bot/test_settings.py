"""Settings: kiln.toml, KILN_* overrides, secrets only from the environment, one-line errors."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiln.toml"
    path.write_text(text)
    return path


def test_defaults_need_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.database_url == "sqlite:///kiln.db"
    assert settings.min_group_size == 5 and settings.retention_days == 730
    assert settings.checkin.time == time(10, 0)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'min_group_size = 7\n[checkin]\ntime = "09:30"\n[teams.ward]\ntime = "08:00"\n'
    )
    settings = load_settings(
        path, environ={"KILN_MIN_GROUP_SIZE": "6", "KILN_TEAMS__WARD__TIME": "07:45"}
    )
    assert settings.min_group_size == 6
    assert settings.checkin.time == time(9, 30)
    assert settings.teams["ward"].time == time(7, 45)


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "retention_days = 365\n")
    assert load_settings(environ={"KILN_CONFIG": str(path)}).retention_days == 365


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("min_group_size = 2\n", {}, "setting 'min_group_size' (in "),
        ('default_timezone = "Mars/Olympus"\n', {}, "unknown timezone 'Mars/Olympus'"),
        ("", {"KILN_RETENTION_DAYS": "soon"}, "setting 'retention_days' (KILN_RETENTION_DAYS"),
        ('pepper = "abc"\n', {}, "'pepper' is a secret; set KILN_PEPPER in the environment"),
        ('telegram_token = "abc"\n', {}, "set KILN_TELEGRAM_TOKEN in the environment"),
        ("min_grup_size = 5\n", {}, "unknown setting 'min_grup_size'"),
        ("[checkin]\nweekdays = ['mon', 'funday']\n", {}, "setting 'checkin.weekdays.1'"),
        ("this is not toml", {}, "is not valid TOML"),
    ],
)
def test_a_wrong_setting_is_named_in_one_line(
    tmp_path: Path, toml: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, toml), environ=env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_the_example_config_is_valid_and_complete() -> None:
    example = Path(__file__).resolve().parents[2] / "kiln.example.toml"
    settings = load_settings(example, environ={})
    assert settings.teams["ward-7"].time == time(7, 30)
    written = example.read_text()
    for section in ("[checkin]", "[support]", "[teams."):
        assert section in written
