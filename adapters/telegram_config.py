"""The Telegram adapter's settings, checked up front so start-up fails with one clear line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.settings import ConfigError, Settings

DEFAULT_API_URL = "https://api.telegram.org/bot"
TOKEN_PATTERN = re.compile(r"\d+:[A-Za-z0-9_-]+")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts


def api_urls(api_url: str) -> tuple[str, str]:
    """PTB's ``base_url`` and ``base_file_url`` for a Bot API server.

    Accepts ``https://host/bot`` (the form Telegram documents) or just ``https://host``.
    """
    root = api_url.strip().rstrip("/").removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


def deep_link(bot_username: str, code: str) -> str:
    """The link that opens the bot and sends ``/start <code>``."""
    return f"https://t.me/{bot_username}?start={code}"


@dataclass(frozen=True)
class WebhookConfig:
    """Where Telegram posts updates, the secret it sends back, and where kiln listens."""

    url: str
    secret: str
    port: int
    listen: str = "127.0.0.1"

    @property
    def path(self) -> str:
        """The URL path PTB's server answers on (what follows the host in ``url``)."""
        return urlsplit(self.url).path.strip("/")


@dataclass(frozen=True)
class TelegramConfig:
    """Everything the adapter needs to know; tests build one by hand.

    Attributes:
        token: The bot token from @BotFather.
        api_url: The Bot API server (Telegram's, a self-hosted one, or a test fake).
        webhook: Webhook mode when set, else long polling.
        default_locale: The language of the default command menu and of group replies.
        max_messages_per_second: The fan-out pace across all chats.
        poll_timeout: Seconds a getUpdates long poll may wait.
        network_attempts: Tries per API call on network errors.
        backoff: First wait between those tries, in seconds (it doubles, with jitter).
        read_timeout: Seconds to wait for the Bot API's answer to a call. A send whose
            answer is late is taken as probably delivered, never sent again.
    """

    token: str
    api_url: str = DEFAULT_API_URL
    webhook: WebhookConfig | None = None
    default_locale: str = "en"
    max_messages_per_second: float | None = 25.0
    poll_timeout: float = 10.0
    network_attempts: int = 4
    backoff: float = 0.5
    read_timeout: float = 10.0

    def __repr__(self) -> str:
        # Never show the token (or the webhook secret) in a traceback or log.
        return f"TelegramConfig(api_url={self.api_url!r}, webhook={self.webhook is not None})"

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramConfig:
        """The adapter's config from kiln's settings.

        Raises:
            ConfigError: naming the Telegram setting that is missing or wrong.
        """
        if settings.telegram_token is None:
            raise ConfigError("KILN_TELEGRAM_TOKEN is not set (ask @BotFather for a bot token)")
        token = settings.telegram_token.get_secret_value().strip()
        if not TOKEN_PATTERN.fullmatch(token):
            raise ConfigError(
                "KILN_TELEGRAM_TOKEN does not look like a bot token "
                "(digits, a colon, then letters, as @BotFather shows it)"
            )
        return cls(
            token=token,
            api_url=settings.telegram_api_url,
            webhook=_webhook(settings),
            default_locale=settings.default_locale,
            max_messages_per_second=settings.telegram_max_messages_per_second,
        )


def _webhook(settings: Settings) -> WebhookConfig | None:
    if not settings.telegram_webhook_url:
        return None
    url = settings.telegram_webhook_url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            "KILN_TELEGRAM_WEBHOOK_URL must be a full URL, like https://kiln.example.org/telegram"
        )
    secret = settings.telegram_webhook_secret
    value = secret.get_secret_value() if secret else ""
    if not value:
        raise ConfigError(
            "KILN_TELEGRAM_WEBHOOK_SECRET must be set when KILN_TELEGRAM_WEBHOOK_URL is"
        )
    if not SECRET_PATTERN.fullmatch(value):
        raise ConfigError(
            "KILN_TELEGRAM_WEBHOOK_SECRET may only use letters, digits, _ and - (1 to 256 of them)"
        )
    return WebhookConfig(url, value, settings.telegram_port, settings.telegram_listen)
