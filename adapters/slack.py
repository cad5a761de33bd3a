"""Slack adapter: kiln's check-ins as Block Kit DMs from the kiln app.

It translates and nothing more (DESIGN §8): engine messages become ``chat.postMessage``
and ``chat.update`` calls, and Slack events become engine events (``slack_app``).
Socket Mode when an app-level token is set, else HTTP mode with the signing secret.

The Web API client is made on first use, so ``kiln checkin now`` can send without
``start()``. It keeps one HTTP session (connections reused: a new connection per call
cost more CPU than the rest of handling a button press) until ``stop()``; a send after
that opens a fresh one. slack_sdk's retry handlers wait out 429s and retry 500s; what still
fails comes out as ``RateLimited``, ``Undeliverable`` or ``DeliveryError``.

One Slack-only addition: the reply that follows an answered check-in also gets an
`Add a note` button (see ``slack_replies`` for how that reply is recognised without
reading the engine's words or button values). It opens a modal whose text reaches
the engine exactly like a typed DM.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app import SlackListeners, build_app
from adapters.slack_blocks import Words, fallback_text, home_view, message_blocks, note_modal
from adapters.slack_connections import HttpConnection, SocketConnection
from adapters.slack_errors import TokenHealth, slack_call
from adapters.slack_people import EMAIL_PREFIX, SlackDirectory
from adapters.slack_replies import (
    answers_for_home,
    checkin_answered,
    invites_note,
    keep_for_home,
)
from bot.catalogue import Catalogue
from bot.events import CommandReceived, EventSink
from bot.messages import Message
from bot.ports import DeliveryError
from bot.services import Services
from bot.settings import ConfigError, Settings
from storage.people import PeopleRepository

logger = logging.getLogger(__name__)

PLATFORM = "slack"
DEFAULT_API_URL = "https://slack.com/api/"
#: On stop, how long events Slack already has its ack for may take to finish.
DRAIN_TIMEOUT_S = 10.0


class SlackAdapter:
    """The ``ChatAdapter`` for one Slack workspace."""

    platform = PLATFORM

    def __init__(
        self,
        bot_token: str,
        *,
        app_token: str | None = None,
        signing_secret: str | None = None,
        api_url: str = DEFAULT_API_URL,
        listen: str = "0.0.0.0",  # noqa: S104 - HTTP mode must be reachable by Slack
        port: int = 3000,
        max_messages_per_second: float | None = 4.0,
        catalogue: Catalogue | None = None,
    ) -> None:
        if not (app_token or signing_secret):
            raise ConfigError(
                "Slack needs KILN_SLACK_APP_TOKEN (Socket Mode) or KILN_SLACK_SIGNING_SECRET "
                "(HTTP mode) as well as the bot token, or kiln could never hear answers"
            )
        self.max_messages_per_second = max_messages_per_second
        # slack_sdk logs each request and response body at DEBUG: replies and relayed
        # messages hold people's words, which kiln never writes to a log (DESIGN §4).
        sdk_logger = logging.getLogger("slack_sdk")
        sdk_logger.setLevel(max(logging.INFO, sdk_logger.level))
        self._bot_token = bot_token
        self._app_token = app_token
        self._signing_secret = signing_secret
        # slack_sdk joins method names onto base_url, which must end in a slash.
        self._api_url = api_url if api_url.endswith("/") else f"{api_url}/"
        self._listen = listen
        self._port = port
        self._catalogue = catalogue
        self._people: PeopleRepository | None = None
        self._default_locale = "en"
        self._min_group_size = 5
        self._client: AsyncWebClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._token_ok = TokenHealth(lambda: self.client)
        self.directory = SlackDirectory(lambda: self.client, self._token_ok)
        self.connection: SocketConnection | HttpConnection | None = None
        self._listeners: SlackListeners | None = None
        self._background: asyncio.Task[Any] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackAdapter:
        """The adapter ``kiln run`` starts when ``KILN_SLACK_BOT_TOKEN`` is set.

        Raises:
            ConfigError: a token is missing or of the wrong kind.
        """
        if settings.slack_bot_token is None:
            raise ConfigError("KILN_SLACK_BOT_TOKEN is not set")
        secret = settings.slack_signing_secret
        app_token = (
            settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
        )
        if app_token is not None and not app_token.startswith("xapp-"):
            raise ConfigError(
                "KILN_SLACK_APP_TOKEN must be the app-level token starting xapp- "
                "(your app's Basic Information page, App-Level Tokens)"
            )
        return cls(
            settings.slack_bot_token.get_secret_value(),
            app_token=app_token,
            signing_secret=secret.get_secret_value() if secret else None,
            api_url=settings.slack_api_url,
            listen=settings.slack_listen,
            port=settings.slack_port,
            max_messages_per_second=settings.slack_max_messages_per_second,
        )

    @property
    def client(self) -> AsyncWebClient:
        """The Web API client, made on first use in the running event loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._session_loop is not loop:
            # A session belongs to one event loop: a command run after another
            # ``asyncio.run`` gets its own (the old one's loop is gone with it).
            self._session = aiohttp.ClientSession()
            self._session_loop = loop
            self._client = AsyncWebClient(
                token=self._bot_token,
                base_url=self._api_url,
                session=self._session,
                retry_handlers=[
                    AsyncConnectionErrorRetryHandler(),
                    AsyncRateLimitErrorRetryHandler(max_retry_count=2),
                    AsyncServerErrorRetryHandler(max_retry_count=2),
                ],
            )
        return self._client

    # -- lifecycle ----------------------------------------------------------------

    async def prepare(self, services: Services) -> None:
        """Use kiln's roster and words, and look up people the roster lists by email.

        Called by the composition root when the runtime opens, before any send, so
        ``kiln checkin now`` reaches people listed by email too.
        """
        self._people = services.people
        self._catalogue = services.catalogue
        self._default_locale = services.settings.default_locale
        self._min_group_size = services.settings.min_group_size
        await self.directory.resolve_all(services.people)
        everyone = await services.people.on_platform(PLATFORM)
        self.directory.settle(person.platform_user_id for person in everyone if person.timezone)

    async def start(self, sink: EventSink) -> None:
        """Connect (Socket Mode or HTTP mode) and pass Slack events to ``sink``."""
        app, self._listeners = build_app(self, sink, self.client, self._signing_secret)
        if self._app_token:
            self.connection = SocketConnection(app, self._app_token)
        else:
            self.connection = HttpConnection(app, self._listen, self._port)
        await self.connection.start()
        if self._people is not None:
            self._background = asyncio.create_task(self._fill_timezones(self._people))

    async def stop(self) -> None:
        """Disconnect and close the HTTP session; a later send opens a new one."""
        if self._background is not None:
            self._background.cancel()
            await asyncio.gather(self._background, return_exceptions=True)
            self._background = None
        if self.connection is not None:
            await self.connection.stop()
            self.connection = None
        if self._listeners is not None:
            cut_short = await self._listeners.drain(DRAIN_TIMEOUT_S)
            if cut_short:
                logger.warning("stopped with %d Slack events still being handled", cut_short)
            self._listeners = None
        session, self._session, self._client = self._session, None, None
        if session is not None and self._session_loop is asyncio.get_running_loop():
            await session.close()
        self._session_loop = None

    async def _fill_timezones(self, people: PeopleRepository) -> None:
        try:
            await self.directory.fill_timezones(people)
        except Exception as failure:
            logger.warning("could not take timezones from Slack profiles: %s", failure)

    # -- sending ------------------------------------------------------------------

    async def send_checkin(self, user: str, message: Message) -> str:
        """Post a check-in (greeting, mood buttons, `Talk to someone`, `Skip today`)."""
        return await self._post(await self._dm_for(user), message)

    async def update_checkin(self, user: str, message_ref: str, message: Message) -> None:
        """Replace an answered check-in with its outcome; its buttons go with it."""
        checkin_answered(user)
        channel, _, ts = message_ref.partition(":")
        if not channel or not ts:
            raise DeliveryError(f"not a Slack message reference: {message_ref!r}")
        await slack_call(
            lambda: self.client.chat_update(
                channel=channel,
                ts=ts,
                text=fallback_text(message),
                blocks=message_blocks(message),
            ),
            self._token_ok,
        )

    async def send_message(self, user: str, message: Message) -> str:
        """Post a message in the person's DM (or keep it for their Home tab)."""
        if keep_for_home(user, message):
            return "home"
        note = None
        if invites_note(user, message):
            say = self._words_in(message.locale) if message.locale else await self.words(user)
            note = say("slack.note_button")
        return await self._post(await self._dm_for(user), message, note)

    async def send_alert(self, destination: str, message: Message) -> str:
        """Post an alert to a volunteer's DM (a user id) or to a channel (any other id)."""
        is_person = destination.startswith(("U", "W", EMAIL_PREFIX))
        channel = await self._dm_for(destination) if is_person else destination
        return await self._post(channel, message)

    async def _post(self, channel: str, message: Message, note_label: str | None = None) -> str:
        response = await slack_call(
            lambda: self.client.chat_postMessage(
                channel=channel,
                text=fallback_text(message),
                blocks=message_blocks(message, note_label),
            ),
            self._token_ok,
        )
        if message.attachment is not None:
            attachment = message.attachment
            await slack_call(
                lambda: self.client.files_upload_v2(
                    channel=channel,
                    content=attachment.content,
                    filename=attachment.filename,
                    title=attachment.filename,
                ),
                self._token_ok,
            )
        return f"{response['channel']}:{response['ts']}"

    async def _dm_for(self, user: str) -> str:
        if user.startswith(EMAIL_PREFIX):
            user = await self._resolve(user)
        return await self.directory.dm_channel(user)

    async def _resolve(self, placeholder: str) -> str:
        # Someone added to the roster by email while kiln runs: look them up now.
        if self._people is None:
            raise DeliveryError("Slack people listed by email are looked up when kiln starts")
        person = await self._people.find(PLATFORM, placeholder)
        if person is None:
            raise DeliveryError("this Slack person is no longer on the roster")
        return await self.directory.resolve(self._people, person)

    # -- what the listeners use (slack_app.SlackSide) -------------------------------

    async def words(self, user: str) -> Words:
        """Slack-only words (``[slack]`` in prompts/) in the person's language."""
        person = await self._people.find(PLATFORM, user) if self._people else None
        return self._words_in(person.locale if person is not None else self._default_locale)

    def _words_in(self, locale: str) -> Words:
        if self._catalogue is None:
            self._catalogue = Catalogue.load()
        catalogue = self._catalogue

        def say(key: str, **values: object) -> str:
            return catalogue.text(locale, key, **values)

        return say

    async def timezone_of(self, user: str) -> str | None:
        """The person's Slack profile timezone (cached), for the engine to store."""
        return await self.directory.timezone(user)

    def remember_dm(self, user: str, channel: str) -> None:
        """Cache a DM channel seen on an inbound message."""
        self.directory.remember_dm(user, channel)

    async def receipt(self, user: str) -> str:
        """Where the answer to a slash command typed in a channel went."""
        return (await self.words(user))("slack.replied_in_dm")

    async def open_note(self, user: str, trigger_id: str) -> None:
        """Open the `Add a note` modal."""
        view = note_modal(await self.words(user))
        try:
            await slack_call(
                lambda: self.client.views_open(trigger_id=trigger_id, view=view), self._token_ok
            )
        except DeliveryError as failure:
            logger.warning("could not open the note box: %s", failure)

    async def show_home(
        self, user: str, requests: Sequence[CommandReceived], sink: EventSink
    ) -> None:
        """Run the Home tab's commands and publish their answers there."""
        replies = await answers_for_home(user, requests, sink)
        if not replies:
            return  # a Slack retry the engine ignored: the first delivery showed the tab
        view = home_view(await self.words(user), replies, self._min_group_size)
        try:
            await slack_call(
                lambda: self.client.views_publish(user_id=user, view=view), self._token_ok
            )
        except DeliveryError as failure:
            logger.warning("could not show the Slack Home tab: %s", failure)
