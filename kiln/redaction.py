"""Keeps secrets out of every log line, whatever library wrote it.

kiln's own code never logs a token, but libraries do at DEBUG: python-telegram-bot
prints its Bot API URL, which holds the bot token. ``install`` puts a filter on the
root logger's handlers that replaces each secret kiln knows with ``[redacted]``, in
the message and in any traceback, before anything is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.engine import make_url

from bot.settings import Settings

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
#: Shorter values would match ordinary words; no real token is this short.
MIN_SECRET_LENGTH = 6


def secrets_in(settings: Settings) -> list[str]:
    """Every secret value in the settings: tokens, signing and webhook secrets, pepper,
    and the database password."""
    found = [
        secret.get_secret_value()
        for secret in (
            settings.telegram_token,
            settings.telegram_webhook_secret,
            settings.slack_bot_token,
            settings.slack_app_token,
            settings.slack_signing_secret,
            settings.pepper,
        )
        if secret is not None
    ]
    try:
        password = make_url(settings.database_url).password
    except Exception:  # an unparsable URL is reported elsewhere, without its text
        password = None
    if password:
        found.append(str(password))
    return found


class SecretRedactor(logging.Filter):
    """A handler filter that rewrites records holding a secret."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted(
            {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
        )

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if not self._secrets:
            return True
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install(settings: Settings, root: logging.Logger | None = None) -> SecretRedactor:
    """Add the redactor to every handler of the root logger (call after basicConfig)."""
    redactor = SecretRedactor(secrets_in(settings))
    for handler in (root or logging.getLogger()).handlers:
        handler.addFilter(redactor)
    return redactor
