"""Telegram adapter: python-telegram-bot 22 carries kiln's conversations to Telegram.

Long polling by default; webhook mode (PTB's tornado server) when a webhook URL is set,
and then every request must carry the secret token or PTB answers 403 and drops it.
The adapter only translates (see ``telegram_events`` and ``telegram_calls``); what an
event means is the engine's business. PTB's JobQueue is switched off: kiln schedules
check-ins itself (``bot/scheduler.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import traceback
from collections import OrderedDict
from datetime import timedelta
from functools import partial
from typing import Any

from telegram import BotCommand, Update
from telegram.error import BadRequest, InvalidToken
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from adapters.telegram_calls import BotCalls, is_not_modified, keyboard, send
from adapters.telegram_config import TelegramConfig, api_urls
from adapters.telegram_events import PLATFORM, chat_id_for, message_ref, parse_ref, to_event
from adapters.telegram_shape import ShapedQueue
from bot.catalogue import Catalogue
from bot.events import EventSink
from bot.messages import Message
from bot.ports import DeliveryError
from bot.settings import ConfigError, Settings

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY)
#: The staff commands of DESIGN §1, shown in Telegram's command menu.
STAFF_COMMANDS = (
    "checkin",
    "pause",
    "resume",
    "optout",
    "optin",
    "support",
    "mytrend",
    "mydata",
    "forgetme",
    "whosees",
    "help",
)
MAX_GROUPS_REMEMBERED = 10_000


class TelegramAdapter:
    """kiln's ChatAdapter for Telegram.

    Sends work without :meth:`start` (``kiln checkin now`` sends without polling): the
    Bot is initialised on first use. Group chats get one reply saying kiln only works
    in private; the chats told are remembered in memory only, so kiln stores nothing
    at all about a group (after a restart a group may hear it once more).
    """

    platform = PLATFORM

    def __init__(self, config: TelegramConfig, catalogue: Catalogue) -> None:
        # Opt in to PTB 23's timedelta durations now: PTB 22 otherwise warns on every
        # RetryAfter it builds. ``retry_after_seconds`` reads either shape.
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        # httpx logs each request URL at INFO, and Bot API URLs contain the token.
        httpx_logger = logging.getLogger("httpx")
        httpx_logger.setLevel(max(logging.WARNING, httpx_logger.level))
        # PTB logs every update and every call's parameters and results at DEBUG: people's
        # words and names, which kiln never writes to a log (DESIGN §4).
        ptb_logger = logging.getLogger("telegram")
        ptb_logger.setLevel(max(logging.INFO, ptb_logger.level))
        base_url, base_file_url = api_urls(config.api_url)
        self.api_url = base_url
        self.max_messages_per_second = config.max_messages_per_second
        self._config = config
        self._catalogue = catalogue
        self._calls = BotCalls(config.network_attempts, config.backoff)
        self._app: Application[Any, Any, Any, Any, Any, Any] = (
            Application.builder()
            .token(config.token)
            .base_url(base_url)
            .base_file_url(base_file_url)
            .read_timeout(config.read_timeout)
            .update_queue(ShapedQueue())  # malformed updates never reach PTB's loop
            .job_queue(None)
            .build()
        )
        private_text = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT
        groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
        self._app.add_handler(CallbackQueryHandler(self._on_button))
        self._app.add_handler(MessageHandler(private_text, self._on_private_text))
        self._app.add_handler(MessageHandler(groups, self._on_group_message))
        self._app.add_error_handler(self._on_error)
        self._sink: EventSink | None = None
        self._bot_lock = asyncio.Lock()
        self._bot_ready = False
        self._app_ready = False
        self._groups_told: OrderedDict[int, None] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings, catalogue: Catalogue) -> TelegramAdapter:
        """Build the adapter from kiln's settings.

        Raises:
            ConfigError: naming the Telegram setting that is missing or wrong.
        """
        return cls(TelegramConfig.from_settings(settings), catalogue)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        """Check the token, register the command menu, then poll or serve the webhook.

        Raises:
            ConfigError: the token was refused or the Bot API cannot be reached.
        """
        self._sink = sink
        await self._bot()
        app = self._app
        await app.initialize()
        self._app_ready = True
        await self._register_commands()
        await app.start()
        updater = app.updater
        if updater is None:  # only if someone builds the Application without one
            raise RuntimeError("the Telegram Application has no updater")
        if self._config.webhook is not None:
            hook = self._config.webhook
            await updater.start_webhook(
                listen=hook.listen,
                port=hook.port,
                url_path=hook.path,
                webhook_url=hook.url,
                secret_token=hook.secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            logger.info("telegram: webhook server on %s:%d", hook.listen, hook.port)
        else:
            await updater.start_polling(
                timeout=timedelta(seconds=self._config.poll_timeout),
                allowed_updates=ALLOWED_UPDATES,
            )
            logger.info("telegram: polling for updates as @%s", app.bot.username)

    async def stop(self) -> None:
        """Stop polling or the webhook server and close connections; safe to call twice."""
        app = self._app
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        if self._app_ready:
            await app.shutdown()  # shuts the bot down too
        elif self._bot_ready:
            await app.bot.shutdown()
        self._app_ready = self._bot_ready = False
        self._sink = None

    async def bot_username(self) -> str:
        """The bot's @username, from getMe (for invite links)."""
        bot = await self._bot()
        return str(bot.username)

    async def _bot(self) -> ExtBot[Any]:
        """The Bot, initialised (getMe) on first use."""
        bot: ExtBot[Any] = self._app.bot
        if self._bot_ready:
            return bot
        async with self._bot_lock:
            if not self._bot_ready:
                try:
                    await self._calls(bot.initialize)
                except DeliveryError as failure:
                    # `from None`: PTB's InvalidToken message quotes the token itself.
                    if isinstance(failure.__cause__, InvalidToken):
                        raise ConfigError(
                            "KILN_TELEGRAM_TOKEN was refused by Telegram; copy it again "
                            "from @BotFather (/mybots, then API Token)"
                        ) from None
                    raise ConfigError(
                        f"cannot reach the Telegram Bot API at {self.api_url} ({failure}); "
                        "check the network or KILN_TELEGRAM_API_URL"
                    ) from None
                self._bot_ready = True
        return bot

    async def _register_commands(self) -> None:
        """The command menu: the default list in the default locale, then one per locale."""
        bot = self._app.bot
        languages: list[tuple[str, str | None]] = [(self._config.default_locale, None)]
        languages += [(locale, locale) for locale in self._catalogue.locales]
        for locale, code in languages:
            commands = [
                BotCommand(name, self._catalogue.text(locale, f"telegram.commands.{name}"))
                for name in STAFF_COMMANDS
            ]
            try:
                await self._calls(partial(bot.set_my_commands, commands, language_code=code))
            except DeliveryError as failure:
                logger.warning("telegram: could not set the %s command menu: %s", locale, failure)

    # -- outbound --------------------------------------------------------------------

    async def send_checkin(self, user: str, message: Message) -> str:
        """Send a check-in with its inline keyboard."""
        return await self._send(chat_id_for(user), message)

    async def send_message(self, user: str, message: Message) -> str:
        """Send any other message (with buttons or a file if it has them)."""
        return await self._send(chat_id_for(user), message)

    async def send_alert(self, destination: str, message: Message) -> str:
        """Send an alert to a volunteer (user id) or a chat (id or ``@channel``)."""
        return await self._send(chat_id_for(destination), message)

    async def update_checkin(self, user: str, message_ref: str, message: Message) -> None:
        """Edit a sent message; with no buttons in ``message`` the keyboard goes."""
        try:
            chat_id, message_id = parse_ref(message_ref)
        except ValueError:
            raise DeliveryError("not a Telegram message reference") from None
        bot = await self._bot()

        async def edit() -> None:
            try:
                await bot.edit_message_text(
                    message.text,
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=keyboard(message),
                )
            except BadRequest as refused:
                # A repeated edit (a retried press) already shows this: nothing to do.
                if not is_not_modified(refused):
                    raise

        await self._calls(edit)

    async def _send(self, chat_id: int | str, message: Message) -> str:
        sent = await send(self._calls, await self._bot(), chat_id, message)
        return message_ref(sent.chat_id, sent.message_id)

    # -- inbound ---------------------------------------------------------------------

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        try:
            # Always answered, first, so the button stops spinning whatever happens next.
            await self._calls(query.answer)
        except DeliveryError as failure:
            logger.info("telegram: could not answer a button press: %s", failure)
        await self._dispatch(update, context)

    async def _on_private_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._dispatch(update, context)

    async def _dispatch(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        event = to_event(update, context.bot.username)
        if event is not None and self._sink is not None:
            await self._sink(event)

    async def _on_group_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.id in self._groups_told:
            return
        self._groups_told[chat.id] = None
        if len(self._groups_told) > MAX_GROUPS_REMEMBERED:
            self._groups_told.popitem(last=False)
        user = update.effective_user
        locale = (user.language_code if user else None) or self._config.default_locale
        text = self._catalogue.text(locale, "telegram.private_only", bot=context.bot.username)
        try:
            await self._calls(lambda: context.bot.send_message(chat.id, text))
        except DeliveryError as failure:
            logger.info("telegram: could not explain private use in a group: %s", failure)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if error is None:
            return
        # Only the type and where it happened at ERROR: messages of, say, database
        # errors can quote the values involved, which may identify a person.
        frames = traceback.extract_tb(error.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        logger.error("telegram: an update failed: %s at %s", type(error).__name__, where)
        logger.debug("telegram: update failure in full", exc_info=error)
