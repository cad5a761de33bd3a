"""Which chat adapters to start, chosen from the settings."""

from __future__ import annotations

from adapters.slack import SlackAdapter
from adapters.telegram import TelegramAdapter
from bot.catalogue import Catalogue
from bot.ports import ChatAdapter
from bot.settings import ConfigError, Settings


def telegram_adapter(settings: Settings) -> TelegramAdapter:
    """The Telegram adapter (also used alone, e.g. for `kiln people invite`).

    Raises:
        ConfigError: if KILN_TELEGRAM_TOKEN or a webhook setting is missing or wrong.
    """
    return TelegramAdapter.from_settings(settings, Catalogue.load())


def configured_adapters(settings: Settings) -> list[ChatAdapter]:
    """Adapters for every platform whose token is set.

    Raises:
        ConfigError: if none is configured.
    """
    adapters: list[ChatAdapter] = []
    if settings.slack_bot_token is not None:
        adapters.append(SlackAdapter.from_settings(settings))
    if settings.telegram_token is not None:
        adapters.append(telegram_adapter(settings))
    if not adapters:
        raise ConfigError(
            "no chat platform is configured: set KILN_SLACK_BOT_TOKEN or KILN_TELEGRAM_TOKEN "
            "(or try `kiln demo`, which needs no tokens)"
        )
    return adapters
