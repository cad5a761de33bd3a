"""Which chat adapters to start, chosen from the settings."""

from __future__ import annotations

from bot.ports import ChatAdapter
from bot.settings import ConfigError, Settings


def configured_adapters(settings: Settings) -> list[ChatAdapter]:
    """Adapters for every platform whose token is set.

    Raises:
        ConfigError: if none is configured.
    """
    adapters: list[ChatAdapter] = []
    if not adapters:
        raise ConfigError(
            "no chat platform is configured: set KILN_SLACK_BOT_TOKEN or KILN_TELEGRAM_TOKEN "
            "(or try `kiln demo`, which needs no tokens)"
        )
    return adapters
