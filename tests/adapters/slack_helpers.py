"""A Slack test rig: the real adapter and runtime against FakeSlack, in either mode.

HTTP mode requests are signed with slack_sdk's ``SignatureVerifier`` and go through
bolt's own verification; Socket Mode envelopes go over the fake's WebSocket and
their acks are checked.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from adapters.slack import SlackAdapter
from bot.events import InboundEvent
from bot.messages import Message
from bot.settings import Settings
from kiln.runtime import Runtime, open_runtime
from storage.models import Person
from tests.conftest import TEST_PEPPER
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.http_fake import Call

BOT_TOKEN = "xoxb-kiln-test"
APP_TOKEN = "xapp-1-kiln-test"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "slack"

Mode = Literal["http", "socket"]


def payload(name: str, **changes: Any) -> dict[str, Any]:
    """A recorded Slack payload from tests/payloads/slack, with top-level fields changed."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    data.update(changes)
    return data


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack adds: a timestamp and an HMAC signature of ``v0:ts:body``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def slack_person(user: str, **values: Any) -> Person:
    """A Person on Slack in the 'ward' team."""
    values.setdefault("display_name", f"{user.title()} Example")
    values.setdefault("team", "ward")
    values.setdefault("timezone", "Europe/London")
    return Person(platform="slack", platform_user_id=user, **values)


def buttons(call: Call) -> dict[str, dict[str, Any]]:
    """The buttons in a recorded chat.postMessage, chat.update or view, by label."""
    found = {}
    for block in call.args.get("blocks") or call.args.get("view", {}).get("blocks", []):
        for element in block.get("elements", []):
            if element.get("type") == "button":
                found[element["text"]["text"]] = element
    return found


def block_text(call: Call) -> str:
    """All section text in a recorded message or view, joined."""
    blocks = call.args.get("blocks") or call.args.get("view", {}).get("blocks", [])
    return "\n".join(block["text"]["text"] for block in blocks if block.get("type") == "section")


class SlackRig:
    """FakeSlack, the runtime and a started SlackAdapter, plus ways to talk to it."""

    def __init__(self, slack: FakeSlack, adapter: SlackAdapter, runtime: Runtime, mode: Mode):
        self.slack = slack
        self.adapter = adapter
        self.runtime = runtime
        self.mode = mode
        self.handled: list[InboundEvent] = []
        self._changed = asyncio.Condition()
        self._session: aiohttp.ClientSession | None = None

    # -- what the engine saw ---------------------------------------------------------

    async def sink(self, event: InboundEvent) -> None:
        """The engine's handler, counting events once each has been fully handled."""
        await self.runtime.engine.handle(event)
        async with self._changed:
            self.handled.append(event)
            self._changed.notify_all()

    async def wait_handled(self, count: int, timeout: float = 5.0) -> list[InboundEvent]:  # noqa: ASYNC109
        """Wait until the engine has finished ``count`` events."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.handled) >= count)
        return self.handled

    # -- talking to the adapter as Slack does ------------------------------------------

    @property
    def url(self) -> str:
        assert self.adapter.connection is not None
        return f"http://127.0.0.1:{self.adapter.connection.port}/slack/events"  # type: ignore[union-attr]

    async def post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """POST a body to /slack/events, signed unless ``headers`` says otherwise."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        signed = signed_headers(body) if headers is None else headers
        sent = {"Content-Type": content_type, **signed}
        async with self._session.post(self.url, data=body.encode(), headers=sent) as response:
            return response.status, await response.text()

    async def event(self, body: dict[str, Any], retry: int = 0) -> None:
        """Deliver an Events API payload (a retry carries X-Slack-Retry-Num)."""
        if self.mode == "socket":
            envelope = await self.slack.socket.send(
                "events_api",
                body,
                retry_attempt=retry,
                retry_reason="timeout" if retry else "",
            )
            await self.slack.wait_for_ack(envelope)
            return
        text = json.dumps(body)
        headers = signed_headers(text)
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        status, _ = await self.post(text, "application/json", headers)
        assert status == 200

    async def interactive(self, body: dict[str, Any]) -> None:
        """Deliver an interaction (button press, modal submission)."""
        if self.mode == "socket":
            await self.slack.wait_for_ack(await self.slack.socket.send("interactive", body))
            return
        status, _ = await self.post(
            urlencode({"payload": json.dumps(body)}), "application/x-www-form-urlencoded"
        )
        assert status == 200

    async def command(self, user: str, text: str, **fields: str) -> dict[str, Any]:
        """Type ``/kiln <text>``; returns the ack's body (empty for a plain ack)."""
        body = payload("slash_command", user_id=user, text=text, **fields)
        body["trigger_id"] = f"{time.monotonic_ns()}.T0KILN.fake"
        if self.mode == "socket":
            envelope = await self.slack.socket.send(
                "slash_commands", body, accepts_response_payload=True
            )
            ack = await self.slack.wait_for_ack(envelope)
            return dict(ack.get("payload") or {})
        status, answer = await self.post(urlencode(body), "application/x-www-form-urlencoded")
        assert status == 200
        if not answer:
            return {}
        # Bolt answers ack(text=...) with a bare text body, which Slack also accepts.
        return json.loads(answer) if answer.startswith("{") else {"text": answer}

    async def press(self, user: str, call: Call, label: str) -> None:
        """Press the button called ``label`` on a message kiln posted."""
        element = buttons(call)[label]
        response = call.response
        click = self.slack.block_action(
            user,
            element["action_id"],
            element.get("value", ""),
            message_ts=response["ts"],
            channel=response["channel"],
        )
        await self.interactive(click)

    async def say(self, user: str, text: str, retry: int = 0) -> dict[str, Any]:
        """Write in the DM with kiln; returns the event payload (for a retry)."""
        body = self.slack.message_event(user, text)
        await self.event(body, retry)
        return body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


@asynccontextmanager
async def slack_rig(
    settings: Settings,
    clock: FakeClock,
    mode: Mode = "http",
    *people: Person,
    start: bool = True,
    via_runtime: bool = False,
    **adapter_options: Any,
) -> AsyncIterator[SlackRig]:
    """FakeSlack, a runtime with the Slack adapter, ``people`` enrolled, adapter started.

    ``via_runtime`` starts the adapter the way ``kiln run`` does
    (``runtime.start_adapters()``); otherwise through ``SlackRig.sink``, which also
    counts handled events.
    """
    async with FakeSlack() as slack:
        for person in people:
            slack.users.setdefault(
                person.platform_user_id,
                {"tz": person.timezone or "Europe/London", "real_name": person.display_name},
            )
        options: dict[str, Any] = {"max_messages_per_second": None}
        options |= adapter_options
        if mode == "socket":
            options.setdefault("app_token", APP_TOKEN)
        else:
            options.setdefault("signing_secret", SIGNING_SECRET)
            options |= {"listen": "127.0.0.1", "port": 0}
        adapter = SlackAdapter(BOT_TOKEN, api_url=slack.api_url, **options)
        runtime = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
        rig = SlackRig(slack, adapter, runtime, mode)
        try:
            if people:
                await runtime.services.people.add_all(
                    [Person(**p.model_dump(exclude={"id"})) for p in people]
                )
            if start:
                if via_runtime:
                    await runtime.start_adapters()
                else:
                    await adapter.start(rig.sink)
                if mode == "socket":
                    await slack.wait_for_socket()
            yield rig
        finally:
            await rig.close()
            await runtime.close()  # stops the adapter before the fake goes away


def texts(calls: list[Call]) -> list[str]:
    """The ``text`` of each recorded call."""
    return [str(call.args.get("text", "")) for call in calls]


def message_of(call: Call) -> Message:
    """A recorded post as an engine-ish Message (text only), for readable asserts."""
    return Message(str(call.args.get("text", "")))
