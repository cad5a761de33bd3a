"""Outbound Bot API calls: keyboards and files, retries with backoff, kiln's error types.

The engine understands three outcomes of a send besides success: ``RateLimited``
(wait and retry), ``Undeliverable`` (the person has gone) and ``DeliveryError``
(try later). Everything python-telegram-bot can raise is mapped onto those here.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram import Message as TelegramMessage
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from bot.messages import Message
from bot.ports import DeliveryError, DeliveryUncertain, RateLimited, Undeliverable

logger = logging.getLogger(__name__)

T = TypeVar("T")

CAPTION_LIMIT = 1024
#: Bad Request descriptions that mean the person cannot be reached at all.
UNREACHABLE = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated")


def keyboard(message: Message) -> InlineKeyboardMarkup | None:
    """The message's buttons as an inline keyboard; values go out unchanged as callback data."""
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button.label, callback_data=button.value) for button in row]
            for row in message.buttons
        ]
    )


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds to wait, whether PTB gives an int or (with PTB_TIMEDELTA=1) a timedelta.

    PTB 22 warns that ``retry_after`` becomes a timedelta in v23 unless PTB_TIMEDELTA
    is set; both shapes are accepted so kiln works either way, without the warning.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def is_not_modified(error: BadRequest) -> bool:
    """True for the harmless refusal to edit a message into what it already says."""
    return "message is not modified" in error.message.lower()


def _transient(error: BaseException) -> bool:
    # BadRequest subclasses NetworkError but will fail the same way every time.
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def maybe_delivered(error: BaseException) -> bool:
    """True if the request may have reached Telegram although no answer came back.

    A pool or connect timeout means nothing was sent; any other timeout (the answer
    was late) or a garbled answer to a sent request means it may well have arrived.
    """
    if isinstance(error, TimedOut):
        return not isinstance(error.__cause__, (httpx.PoolTimeout, httpx.ConnectTimeout))
    return type(error) is TelegramError and "invalid server response" in error.message.lower()


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logger.info(
        "telegram call failed (%s), attempt %d; retrying",
        type(error).__name__,
        state.attempt_number,
    )


class BotCalls:
    """Runs Bot API calls with network retries, raising kiln's delivery errors."""

    def __init__(self, attempts: int = 4, backoff: float = 0.5) -> None:
        self._attempts = attempts
        self._backoff = backoff

    async def __call__(self, call: Callable[[], Awaitable[T]], *, repeatable: bool = True) -> T:
        """Run ``call``; retry network errors with exponential backoff and jitter.

        ``repeatable=False`` is for calls that must not happen twice (sending a message):
        one that may have reached Telegram is never retried, but raised as
        ``DeliveryUncertain`` for the caller to treat as probably delivered.

        Raises:
            RateLimited: Telegram asked us to wait (RetryAfter).
            Undeliverable: the person blocked the bot or no longer exists.
            DeliveryError: anything else, including network errors after the last try.
        """
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff, max=self._backoff * 16)
            + wait_random(0, self._backoff),
            retry=retry_if_exception(
                lambda error: _transient(error) and (repeatable or not maybe_delivered(error))
            ),
            before_sleep=_log_retry,
            reraise=True,
        )

        async def attempt() -> T:
            # tenacity awaits only coroutine functions; ``call`` may be a lambda.
            return await call()

        try:
            return await retrying(attempt)
        except RetryAfter as limited:
            raise RateLimited(retry_after_seconds(limited)) from limited
        except Forbidden as refused:
            raise Undeliverable(f"telegram: {refused.message}") from refused
        except BadRequest as bad:
            if any(reason in bad.message.lower() for reason in UNREACHABLE):
                raise Undeliverable(f"telegram: {bad.message}") from bad
            raise DeliveryError(f"telegram refused the request: {bad.message}") from bad
        except InvalidToken as invalid:
            # PTB's own message may quote the token; never pass it on.
            raise DeliveryError("telegram no longer accepts the bot token") from invalid
        except NetworkError as network:
            if not repeatable and maybe_delivered(network):
                raise DeliveryUncertain(
                    f"telegram did not answer in time ({type(network).__name__})"
                ) from network
            raise DeliveryError(
                f"telegram unreachable after {self._attempts} tries ({type(network).__name__})"
            ) from network
        except TelegramError as other:
            if not repeatable and maybe_delivered(other):
                raise DeliveryUncertain("telegram's answer could not be read") from other
            raise DeliveryError(f"telegram error: {type(other).__name__}") from other


async def send(calls: BotCalls, bot: Bot, chat_id: int | str, message: Message) -> TelegramMessage:
    """Send text with its keyboard, or a photo/document captioned with the text.

    A text too long for a caption goes first with the buttons, then the file; the
    message returned is the one carrying the buttons.
    """
    markup = keyboard(message)
    attachment = message.attachment
    if attachment is None:
        return await calls(
            lambda: bot.send_message(chat_id, message.text, reply_markup=markup), repeatable=False
        )
    first: TelegramMessage | None = None
    caption: str | None = message.text or None
    if len(message.text) > CAPTION_LIMIT:
        first = await calls(
            lambda: bot.send_message(chat_id, message.text, reply_markup=markup), repeatable=False
        )
        caption, markup = None, None
    if attachment.mime_type.startswith("image/"):
        sent = await calls(
            lambda: bot.send_photo(
                chat_id,
                attachment.content,
                caption=caption,
                reply_markup=markup,
                filename=attachment.filename,
            ),
            repeatable=False,
        )
    else:
        sent = await calls(
            lambda: bot.send_document(
                chat_id,
                attachment.content,
                caption=caption,
                reply_markup=markup,
                filename=attachment.filename,
            ),
            repeatable=False,
        )
    return first or sent
