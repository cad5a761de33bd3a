"""Slack's inbound side: bolt listeners that turn payloads into engine events.

One listener per kind of payload, each a translation and nothing more:

* a DM ``message`` event → ``MessageReceived``;
* a ``block_actions`` press of an engine button → ``ChoiceSelected`` (``channel:ts``);
* ``/kiln pause 3`` → ``CommandReceived("pause", ("3",))``; a bare ``/kiln`` → ``help``;
* the `Add a note` modal's submission → ``MessageReceived``, exactly as if typed in the DM;
* ``app_home_opened`` and the App Home's buttons → commands whose answers the
  adapter shows on the Home tab.

Events API payloads carry ``event_id``; interactions and slash commands get a stable
id from their ``trigger_id``. The engine records every id, so a Slack retry is acked
and ignored. Connections: Socket Mode (``SocketConnection``) or HTTP mode
(``HttpConnection``, one aiohttp endpoint with bolt's signature check).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_blocks import (
    CHOICE_ACTION,
    HOME_ACTION,
    NOTE_ACTION,
    NOTE_CALLBACK,
    note_text,
    unescape,
)
from adapters.slack_replies import button_press
from adapters.slack_shape import looks_like_slack
from bot.events import (
    ChoiceSelected,
    CommandReceived,
    EventSink,
    InboundEvent,
    MessageReceived,
)

logger = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/kiln"
EVENTS_PATH = "/slack/events"

Ack = Callable[..., Awaitable[Any]]
Payload = dict[str, Any]


class SlackSide(Protocol):
    """What the listeners need from the adapter."""

    async def timezone_of(self, user: str) -> str | None:
        """The person's profile timezone, if Slack gives one."""

    def remember_dm(self, user: str, channel: str) -> None:
        """Note the person's DM channel id."""

    async def open_note(self, user: str, trigger_id: str) -> None:
        """Open the `Add a note` modal."""

    async def show_home(
        self, user: str, requests: Sequence[CommandReceived], sink: EventSink
    ) -> None:
        """Run commands for the person and show their answers on the Home tab."""

    async def receipt(self, user: str) -> str:
        """Where the answer went, for a slash command typed in a channel."""


def _interaction_id(body: Payload, kind: str) -> str:
    # trigger_id is unique per click, submission or slash command; Slack sends a
    # retried interaction with the same one.
    actions = body.get("actions") or [{}]
    unique = body.get("trigger_id") or actions[0].get("action_ts") or body.get("view", {}).get("id")
    return f"{kind}:{unique}"


class SlackListeners:
    """Bolt listeners bound to one adapter and one engine sink."""

    def __init__(self, side: SlackSide, sink: EventSink) -> None:
        self._side = side
        self._sink = sink

    def register(self, app: AsyncApp) -> None:
        """Attach every listener to a bolt app."""
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home_opened)
        app.action(CHOICE_ACTION)(self.on_choice)
        app.action(HOME_ACTION)(self.on_home_button)
        app.action(NOTE_ACTION)(self.on_note_button)
        app.view(NOTE_CALLBACK)(self.on_note)
        app.command(SLASH_COMMAND)(self.on_command)

    async def _deliver(self, event: InboundEvent) -> None:
        await self._guard(self._sink(event), type(event).__name__)

    @staticmethod
    async def _guard(work: Awaitable[None], what: str) -> None:
        try:
            await work
        except Exception:
            # Slack has its ack already; a failure is logged (never the payload) and
            # the next event is handled as usual.
            logger.exception("kiln could not handle a Slack %s", what)

    async def on_message(self, body: Payload, event: Payload) -> None:
        """A message in the DM with kiln (others, edits and bots' messages are ignored)."""
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return
        user = str(event.get("user") or "")
        text = unescape(str(event.get("text") or "")).strip()
        if not user or not text:
            return
        if event.get("channel"):
            self._side.remember_dm(user, str(event["channel"]))
        zone = await self._side.timezone_of(user)
        await self._deliver(
            MessageReceived(str(body["event_id"]), PLATFORM, user, text=text, timezone=zone)
        )

    async def on_home_opened(self, body: Payload, event: Payload) -> None:
        """The person opened kiln's Home tab: show their own recent moods there."""
        if event.get("tab") != "home":
            return
        user = str(event["user"])
        zone = await self._side.timezone_of(user)
        request = CommandReceived(
            str(body["event_id"]), PLATFORM, user, name="mytrend", timezone=zone
        )
        await self._guard(self._side.show_home(user, [request], self._sink), "Home tab")

    async def on_choice(self, ack: Ack, body: Payload, action: Payload) -> None:
        """A press of one of the engine's buttons; the value goes back unchanged."""
        await ack()
        user = str(body["user"]["id"])
        container = body.get("container") or {}
        ref = (
            f"{container['channel_id']}:{container['message_ts']}"
            if container.get("type") == "message"
            else None
        )
        channel = str(container.get("channel_id") or "")
        if channel.startswith("D"):  # a direct message: the reply goes there too
            self._side.remember_dm(user, channel)
        zone = await self._side.timezone_of(user)
        with button_press(user):
            await self._deliver(
                ChoiceSelected(
                    _interaction_id(body, "action"),
                    PLATFORM,
                    user,
                    value=str(action.get("value") or ""),
                    message_ref=ref,
                    timezone=zone,
                )
            )

    async def on_home_button(self, ack: Ack, body: Payload, action: Payload) -> None:
        """An App Home button: its command, then the person's moods, shown on the Home tab."""
        await ack()
        user = str(body["user"]["id"])
        name = str(action["action_id"]).removeprefix("kiln.home.")
        args = tuple(str(action.get("value") or "").split())
        event_id = _interaction_id(body, "home")
        requests = [CommandReceived(event_id, PLATFORM, user, name=name, args=args)]
        if name != "mytrend":
            requests.append(CommandReceived(f"{event_id}:mytrend", PLATFORM, user, name="mytrend"))
        await self._guard(self._side.show_home(user, requests, self._sink), "Home tab button")

    async def on_note_button(self, ack: Ack, body: Payload) -> None:
        """`Add a note`: open the modal (the trigger is only valid for three seconds)."""
        await ack()
        user, trigger = str(body["user"]["id"]), str(body["trigger_id"])
        await self._guard(self._side.open_note(user, trigger), "note button")

    async def on_note(self, ack: Ack, body: Payload, view: Payload) -> None:
        """The note modal was sent: its text reaches the engine like a typed DM."""
        await ack()
        text = note_text(view)
        if not text:
            return
        user = str(body["user"]["id"])
        zone = await self._side.timezone_of(user)
        event_id = f"view:{view.get('id') or _interaction_id(body, 'view')}"
        await self._deliver(MessageReceived(event_id, PLATFORM, user, text=text, timezone=zone))

    async def on_command(self, ack: Ack, command: Payload) -> None:
        """``/kiln <subcommand> [args]``; the engine answers in the person's DM."""
        user = str(command["user_id"])
        if command.get("channel_name") in (None, "directmessage"):
            await ack()
        else:
            # Typed in a channel: say where the answer went, visible only to them.
            await ack(text=await self._side.receipt(user))
        words = str(command.get("text") or "").split()
        name = words[0].lower().lstrip("/") if words else "help"
        zone = await self._side.timezone_of(user)
        await self._deliver(
            CommandReceived(
                _interaction_id(command, "command"),
                PLATFORM,
                user,
                name=name,
                args=tuple(words[1:]),
                timezone=zone,
            )
        )


def build_app(
    side: SlackSide, sink: EventSink, client: AsyncWebClient, signing_secret: str | None
) -> AsyncApp:
    """A bolt app with kiln's listeners, using the adapter's Web API client."""
    # Bolt logs whole request bodies (which can hold people's words) at INFO when a
    # signature is bad; kiln never logs message text, so bolt only gets to warn.
    quiet = logging.getLogger(f"{__name__}.bolt")
    quiet.setLevel(logging.WARNING)
    app = AsyncApp(
        name="kiln",
        client=client,
        signing_secret=signing_secret or "",
        logger=quiet,
    )
    SlackListeners(side, sink).register(app)
    return app


class SocketConnection:
    """Socket Mode: kiln dials out to Slack, so no public URL is needed."""

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self._handler = AsyncSocketModeHandler(app, app_token)

    async def start(self) -> None:
        """Open the WebSocket (``apps.connections.open`` with the app-level token)."""
        await self._handler.connect_async()  # type: ignore[no-untyped-call]
        logger.info("Slack connected in Socket Mode")

    async def stop(self) -> None:
        """Close the WebSocket."""
        await self._handler.close_async()  # type: ignore[no-untyped-call]


class HttpConnection:
    """HTTP mode: Events API, interactivity and the slash command on one endpoint."""

    def __init__(self, app: AsyncApp, listen: str, port: int) -> None:
        self._app = app
        self._listen = listen
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port actually listened on (useful when 0 asked for any free one)."""
        if self._runner is None or not self._runner.addresses:
            return self._port
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        """Listen on ``listen:port`` at ``/slack/events``."""
        application = web.Application()
        application.router.add_post(EVENTS_PATH, self._handle)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._listen, self._port).start()
        logger.info("Slack HTTP mode listening on port %d at %s", self.port, EVENTS_PATH)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Slack-Retry-Num"):
            logger.debug("Slack retry #%s", request.headers["X-Slack-Retry-Num"])
        try:
            body = await request.text()
        except UnicodeDecodeError:
            body = ""  # Slack sends UTF-8; anything else is not from Slack
        if not looks_like_slack(body, request.content_type):
            # Not a shape Slack sends: refused before bolt or kiln read a field of it.
            logger.warning("refused a request to /slack/events that is not shaped like Slack's")
            return web.Response(status=400, text="not a Slack request")
        response = await self._app.async_dispatch(await to_bolt_request(request))
        if response.status == 401:
            logger.warning("refused a request with a bad or stale Slack signature")
        return await to_aiohttp_response(response)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
