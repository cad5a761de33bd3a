"""Settings: ``kiln.toml`` overridden by ``KILN_*`` environment variables.

Secrets (tokens, the pepper, the database URL, which may hold a password) are read
from the environment only, so a config file can be shared or committed safely.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.ratelimit import RateLimitSettings
from storage.database import safe_url

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_CONFIG_PATH = Path("kiln.toml")

#: Settings that may only come from the environment, never from kiln.toml.
SECRET_SETTINGS = frozenset(
    {
        "database_url",
        "pepper",
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "telegram_token",
        "telegram_webhook_secret",
    }
)


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it in one line."""


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r} (use a name like Europe/London)") from exc
    return name


TimezoneName = Annotated[str, AfterValidator(_check_timezone)]


def _check_public_url(url: str | None) -> str | None:
    if url is None:
        return None
    if not url.startswith(("http://", "https://")):
        raise ValueError("must start with https:// (or http:// on this machine only)")
    return url.rstrip("/")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamSettings(_Section):
    """A team's check-in schedule; anything unset falls back to ``[checkin]``."""

    time: dt.time | None = None
    weekdays: list[Weekday] | None = None
    timezone: TimezoneName | None = None
    quiet_dates: list[date] = Field(default_factory=list)


class CheckinSettings(_Section):
    """The default check-in schedule."""

    time: dt.time = dt.time(10, 0)
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    #: After a restart, missed check-ins are still sent until this local time.
    last_call: dt.time = dt.time(20, 0)
    #: How long after a mood answer a plain message is taken as the optional note.
    note_window_minutes: int = Field(default=120, ge=5, le=24 * 60)
    #: How many check-ins are sent at once during the daily fan-out.
    fanout_concurrency: int = Field(default=20, ge=1, le=500)
    #: An unsent check-in is tried again after this long (also the lease a sender holds).
    retry_after_seconds: int = Field(default=120, ge=5, le=3600)


def _check_destination(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    platform, _, destination = value.strip().partition(":")
    if not platform or not destination or not platform.isalpha():
        raise ValueError("use platform:destination, e.g. slack:C0123ABC or telegram:-1001234")
    return f"{platform.lower()}:{destination}"


class SupportSettings(_Section):
    """Routing people who ask for support to Wellbeing Warriors (DESIGN §3)."""

    #: How long one volunteer has to answer an alert before the next is asked.
    claim_timeout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    #: The same for crisis requests.
    crisis_claim_timeout_minutes: int = Field(default=5, ge=1, le=60)
    #: At most this many alerts per volunteer in any 24 hours.
    volunteer_daily_cap: int = Field(default=5, ge=1, le=100)
    #: Where requests go when no volunteer takes them: "platform:destination".
    escalation_channel: Annotated[str | None, AfterValidator(_check_destination)] = None
    #: When volunteers are available by default, in each volunteer's own timezone.
    #: A window whose end is before its start runs past midnight.
    volunteer_weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    volunteer_from: dt.time = dt.time(8, 0)
    volunteer_until: dt.time = dt.time(18, 0)
    #: After a volunteer closes a case, kiln checks in with them this much later.
    volunteer_checkin_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    #: How long a note someone may choose to share is held, in memory only.
    note_hold_minutes: int = Field(default=30, ge=1, le=240)
    #: An anonymous chat with no messages for this long is ended.
    relay_idle_hours: int = Field(default=24, ge=1, le=24 * 14)


class CrisisLineSettings(_Section):
    """A crisis line shown to people in a region."""

    name: str
    contact: str
    detail: str = ""


class Settings(BaseSettings):
    """Every kiln setting. Field names map to ``KILN_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="KILN_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    database_url: str = "sqlite:///kiln.db"
    pepper: SecretStr | None = None
    pepper_file: Path = Path("kiln.key")

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_port: int = Field(default=3000, ge=1, le=65535)
    #: Address the HTTP-mode server listens on (127.0.0.1 behind a reverse proxy on this host).
    slack_listen: str = "0.0.0.0"  # noqa: S104 - Slack must be able to reach HTTP mode
    #: Fan-out pace for the whole workspace. Each DM is its own channel, so Slack's
    #: "about 1 message a second per channel" holds; this stays well under its
    #: workspace-wide limit for chat.postMessage (a few hundred a minute).
    slack_max_messages_per_second: float = Field(default=4, gt=0, le=20)

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_port: int = Field(default=8443, ge=1, le=65535)
    #: Address the webhook server listens on (127.0.0.1 behind a reverse proxy on this host).
    telegram_listen: str = "0.0.0.0"  # noqa: S104 - a webhook server must be reachable
    #: Fan-out pace; Telegram allows about 30 messages a second to different chats.
    telegram_max_messages_per_second: float = Field(default=25, gt=0, le=30)
    #: How long a `kiln people invite` link stays valid.
    invite_expiry_days: int = Field(default=7, ge=1, le=90)
    #: The managers' dashboard, served by `kiln run` and `kiln dashboard`.
    dashboard_port: int = Field(default=8080, ge=1, le=65535)
    #: Keep 127.0.0.1 and put an HTTPS reverse proxy in front for managers elsewhere.
    dashboard_listen: str = "127.0.0.1"
    #: The address managers open, used in sign-in links; https:// makes the cookie Secure.
    dashboard_public_url: Annotated[str | None, AfterValidator(_check_public_url)] = None
    #: How long a dashboard sign-in lasts before a new link is needed.
    dashboard_session_hours: int = Field(default=8, ge=1, le=7 * 24)

    default_timezone: TimezoneName = "Europe/London"
    default_region: str = "UK"
    default_locale: str = "en"
    min_group_size: int = Field(default=5, ge=3)
    retention_days: int = Field(default=730, ge=30, le=36_500)
    quiet_dates: list[date] = Field(default_factory=list)
    checkin: CheckinSettings = Field(default_factory=CheckinSettings)
    teams: dict[str, TeamSettings] = Field(default_factory=dict)
    crisis_lines: dict[str, list[CrisisLineSettings]] = Field(default_factory=dict)
    support: SupportSettings = Field(default_factory=SupportSettings)
    #: How fast one person may send commands and messages before being asked to slow down.
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # kiln.toml arrives as init values; the environment must win over it.
        return (env_settings, init_settings)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Tracebacks and debug output show settings: never the database password.
        for name, value in super().__repr_args__():
            yield name, safe_url(value) if name == "database_url" else value

    def dashboard_url(self) -> str:
        """Where managers open the dashboard: the public URL, else this machine's address."""
        return self.dashboard_public_url or f"http://127.0.0.1:{self.dashboard_port}"

    def team(self, name: str) -> TeamSettings:
        """The schedule of a team, or an empty one that defers to ``[checkin]``."""
        return self.teams.get(name, TeamSettings())


def config_path_from(explicit: Path | None, environ: dict[str, str] | None = None) -> Path | None:
    """The config file to read: ``--config``, else ``KILN_CONFIG``, else ./kiln.toml if present.

    Raises:
        ConfigError: if a config file was named but does not exist.
    """
    env = os.environ if environ is None else environ
    named = explicit or (Path(env["KILN_CONFIG"]) if env.get("KILN_CONFIG") else None)
    if named is not None:
        if not named.is_file():
            raise ConfigError(f"config file {named} does not exist")
        return named
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except RecursionError:
        raise ConfigError(f"{path} nests tables or arrays too deeply to be a kiln config") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    known = set(Settings.model_fields)
    for key in data:
        if key in SECRET_SETTINGS:
            raise ConfigError(
                f"{path}: '{key}' is a secret; set KILN_{key.upper()} in the environment instead"
            )
        if key not in known:
            raise ConfigError(f"{path}: unknown setting '{key}'")
    return data


def _describe(
    error: ValidationError, path: Path | None, data: dict[str, Any], environ: dict[str, str]
) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "settings"
    names = [str(part) for part in first["loc"] if not isinstance(part, int)]
    env_name = "KILN_" + "__".join(names).upper()
    from_env = (
        any(key.upper().startswith(f"KILN_{names[0]}".upper()) for key in environ)
        if names
        else False
    )
    where = f"in {path}" if path and names and names[0] in data and not from_env else env_name
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"setting '{location}' ({where}): {message}"


def load_settings(config: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Load settings from the config file and the environment.

    Raises:
        ConfigError: naming the first wrong or missing setting, in one line.
    """
    path = config_path_from(config, environ)
    data = _read_toml(path) if path else {}
    env = dict(os.environ) if environ is None else environ
    try:
        if environ is None:
            return Settings(**data)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(environ)
        try:
            return Settings(**data)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, data, env)) from None
