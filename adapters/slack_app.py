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
and ignored. How payloads arrive (Socket Mode or HTTP mode) is ``slack_connections``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

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
    """Bolt listeners bound to one adapter and one engine sink.

    Bolt runs them with ``process_before_response``, so Slack gets its ack the moment a
    listener returns. Each listener acknowledges, then hands the real work to a task of
    its own (``_after_ack``) and returns: a busy worker still acks within Slack's three
    seconds, without bolt's default of polling every 10 ms for an ack made elsewhere.
    """

    def __init__(self, side: SlackSide, sink: EventSink) -> None:
        self._side = side
        self._sink = sink
        self._working: set[asyncio.Task[None]] = set()

    def register(self, app: AsyncApp) -> None:
        """Attach every listener to a bolt app."""
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home_opened)
        app.action(CHOICE_ACTION)(self.on_choice)
        app.action(HOME_ACTION)(self.on_home_button)
        app.action(NOTE_ACTION)(self.on_note_button)
        app.view(NOTE_CALLBACK)(self.on_note)
        app.command(SLASH_COMMAND)(self.on_command)

    def _after_ack(self, work: Awaitable[None], what: str) -> None:
        task = asyncio.create_task(self._guard(work, what), name=f"kiln-slack-{what}")
        self._working.add(task)  # a strong reference, or the task could be collected
        task.add_done_callback(self._working.discard)

    async def drain(self, grace_s: float) -> int:
        """Let acknowledged work finish (kiln is stopping); returns how many were cut short.

        Slack will not send an acknowledged payload again, so it is given ``grace_s``
        seconds rather than cancelled at once.
        """
        if not self._working:
            return 0
        _, unfinished = await asyncio.wait(set(self._working), timeout=grace_s)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        return len(unfinished)

    async def _deliver(self, user: str, event: Callable[[str | None], InboundEvent]) -> None:
        # The profile timezone is looked up after the ack: it may be a Web API call.
        await self._sink(event(await self._side.timezone_of(user)))

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
        event_id = str(body["event_id"])
        self._after_ack(
            self._deliver(
                user,
                lambda zone: MessageReceived(event_id, PLATFORM, user, text=text, timezone=zone),
            ),
            "message",
        )

    async def on_home_opened(self, body: Payload, event: Payload) -> None:
        """The person opened kiln's Home tab: show their own recent moods there."""
        if event.get("tab") != "home":
            return
        user, event_id = str(event["user"]), str(body["event_id"])

        async def show() -> None:
            zone = await self._side.timezone_of(user)
            request = CommandReceived(event_id, PLATFORM, user, name="mytrend", timezone=zone)
            await self._side.show_home(user, [request], self._sink)

        self._after_ack(show(), "Home tab")

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
        event_id = _interaction_id(body, "action")
        value = str(action.get("value") or "")

        async def press() -> None:
            # Set inside the task: a context variable set here would not reach it.
            with button_press(user):
                await self._deliver(
                    user,
                    lambda zone: ChoiceSelected(
                        event_id, PLATFORM, user, value=value, message_ref=ref, timezone=zone
                    ),
                )

        self._after_ack(press(), "button press")

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
        self._after_ack(self._side.show_home(user, requests, self._sink), "Home tab button")

    async def on_note_button(self, ack: Ack, body: Payload) -> None:
        """`Add a note`: open the modal (the trigger is only valid for three seconds)."""
        await ack()
        user, trigger = str(body["user"]["id"]), str(body["trigger_id"])
        self._after_ack(self._side.open_note(user, trigger), "note button")

    async def on_note(self, ack: Ack, body: Payload, view: Payload) -> None:
        """The note modal was sent: its text reaches the engine like a typed DM."""
        await ack()
        text = note_text(view)
        if not text:
            return
        user = str(body["user"]["id"])
        event_id = f"view:{view.get('id') or _interaction_id(body, 'view')}"
        self._after_ack(
            self._deliver(
                user,
                lambda zone: MessageReceived(event_id, PLATFORM, user, text=text, timezone=zone),
            ),
            "note",
        )

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
        event_id = _interaction_id(command, "command")
        self._after_ack(
            self._deliver(
                user,
                lambda zone: CommandReceived(
                    event_id, PLATFORM, user, name=name, args=tuple(words[1:]), timezone=zone
                ),
            ),
            "command",
        )


def build_app(
    side: SlackSide, sink: EventSink, client: AsyncWebClient, signing_secret: str | None
) -> tuple[AsyncApp, SlackListeners]:
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
        process_before_response=True,  # see SlackListeners: the work runs after the ack
    )
    listeners = SlackListeners(side, sink)
    listeners.register(app)
    return app, listeners
