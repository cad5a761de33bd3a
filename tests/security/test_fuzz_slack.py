"""Hypothesis-made Slack requests, properly signed, through bolt's real verification.

Slack signs every HTTP request; these are signed with the app's secret, so they pass
the check and reach kiln's listeners, though their bodies are junk: fields missing or
of the wrong type, odd text, wrong content types. kiln must log no error and keep
answering. Unsigned and badly signed ones are refused before anything is read.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack import SlackAdapter
from bot.ratelimit import RateLimitSettings
from bot.settings import ConfigError, Settings
from tests.adapters.slack_helpers import SlackRig, payload, signed_headers, slack_person, slack_rig
from tests.conftest import MONDAY_10AM
from tests.fakes.clock import FakeClock
from tests.security.loop_thread import ErrorWatch, LoopThread
from tests.security.payloads import hostile_text, json_values, mangled

PEOPLE = ("U0ANA", "U0VIC", "U0MEG")
SENTINEL = "U0SENTINEL"


@dataclass
class Harness:
    thread: LoopThread
    rig: SlackRig
    stack: AsyncExitStack
    errors: ErrorWatch
    http: aiohttp.ClientSession

    def post(self, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> int:
        async def go() -> int:
            sent = {"Content-Type": content_type}
            sent |= (
                signed_headers(body.decode("utf-8", "surrogateescape"))
                if headers is None
                else headers
            )
            async with self.http.post(self.rig.url, data=body, headers=sent) as response:
                await response.read()
                return response.status

        return self.thread.run(go())

    def settle(self) -> None:
        """Wait until a `help` from the sentinel is answered, and a moment more.

        bolt runs listeners as background tasks after acking; a short pause after
        the sentinel's answer lets any fuzzed listener still running finish too.
        """
        slack = self.rig.slack

        def answered() -> int:
            return sum(
                1
                for c in slack.calls("chat.postMessage")
                if c.args.get("channel") == f"D{SENTINEL}"
            )

        before = answered()
        body = json.dumps(slack.message_event(SENTINEL, "help")).encode()
        assert self.post(body, "application/json") == 200

        async def wait() -> None:
            while answered() <= before:
                await slack.wait_for("chat.postMessage", len(slack.calls("chat.postMessage")) + 1)
            await asyncio.sleep(0.05)

        self.thread.run(wait())


async def _start(tmp_path: Path, stack: AsyncExitStack) -> SlackRig:
    kiln_settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'kiln.db'}",
        pepper_file=tmp_path / "kiln.key",
        rate_limit=RateLimitSettings(burst=1000, per_minute=6000),
    )
    people = [
        slack_person("U0ANA"),
        slack_person("U0VIC", team="pharmacy", roles="staff;volunteer"),
        slack_person("U0MEG", roles="staff;manager", manages="ward"),
        slack_person(SENTINEL),
    ]
    rig = await stack.enter_async_context(
        slack_rig(kiln_settings, FakeClock(MONDAY_10AM), "http", *people)
    )
    await rig.runtime.engine.checkin_now()
    return rig


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    thread = LoopThread()
    stack = AsyncExitStack()
    rig = thread.run(_start(tmp_path, stack))
    http = thread.run(_session())
    with ErrorWatch() as errors:
        made = Harness(thread, rig, stack, errors, http)
        yield made

        async def stop() -> None:
            await http.close()
            await stack.aclose()

        thread.run(stop())
    thread.close()


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


@st.composite
def requests(draw: st.DrawFn, harness: Harness) -> tuple[bytes, str]:
    slack = harness.rig.slack
    user = draw(st.sampled_from([*PEOPLE, "U0STRANGER"]) | st.text(max_size=20))
    kind = draw(st.sampled_from(["message", "action", "command", "home", "view", "junk"]))
    if kind == "junk":
        # Slack signs UTF-8 text; arbitrary bytes are for the unsigned test below.
        body = draw(st.text(max_size=300) | st.sampled_from(["[]", "null", "{}", '{"type": 1}']))
        body = body.encode()
        return body, draw(
            st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"])
        )
    if kind == "message":
        event: dict[str, Any] = slack.message_event(user, draw(hostile_text))
    elif kind == "home":
        event = payload("app_home_opened")
        event["event"]["user"] = user
        event["event_id"] = f"Ev{draw(st.integers(0, 10**9))}"
    elif kind == "view":
        event = payload("view_submission")
        event["user"]["id"] = user
    elif kind == "action":
        action_id = draw(
            st.sampled_from(
                ["kiln.choice", "kiln.home.help", "kiln.home.pause", "kiln.note", "other"]
            )
        )
        value = draw(st.sampled_from(["mood:1:3", "talk:2", "claim:1", ""]) | hostile_text)
        event = slack.block_action(user, action_id, value)
    else:
        fields = payload("slash_command", user_id=user, text=draw(hostile_text))
        fields["trigger_id"] = "1.T0KILN.fake"
        if draw(st.booleans()):
            fields = draw(mangled(fields))
        return urlencode(
            {k: str(v) for k, v in fields.items()}
        ).encode(), "application/x-www-form-urlencoded"
    if draw(st.booleans()):
        event = draw(mangled(event))
    if draw(st.integers(0, 4)) == 0:
        event[draw(st.text(max_size=8))] = draw(json_values)
    if kind in ("action", "view"):
        return urlencode(
            {"payload": json.dumps(event)}
        ).encode(), "application/x-www-form-urlencoded"
    return json.dumps(event).encode(), "application/json"


FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_signed_junk_never_crashes_kiln_and_it_keeps_serving(
    harness: Harness, data: st.DataObject
) -> None:
    body, content_type = data.draw(requests(harness))
    status = harness.post(body, content_type)
    assert status < 500, (status, body[:200])
    harness.settle()
    assert harness.errors.records == [], harness.errors.describe()


@pytest.mark.parametrize("kind", ["event", "action", "command"])
@pytest.mark.parametrize("signature", ["unsigned", "wrong secret", "stale", "tampered body"])
def test_every_kind_of_request_needs_a_fresh_valid_signature(
    harness: Harness, kind: str, signature: str
) -> None:
    slack = harness.rig.slack
    if kind == "event":
        body = json.dumps(slack.message_event("U0ANA", "/optout")).encode()
        content_type = "application/json"
    elif kind == "action":
        click = slack.block_action("U0ANA", "kiln.home.optout", "")
        body = urlencode({"payload": json.dumps(click)}).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        fields = payload("slash_command", user_id="U0ANA", text="optout")
        body = urlencode(fields).encode()
        content_type = "application/x-www-form-urlencoded"
    text = body.decode()
    headers = {
        "unsigned": {},
        "wrong secret": signed_headers(text, secret="not-the-signing-secret"),
        "stale": signed_headers(text, timestamp=int(time.time()) - 600),
        "tampered body": signed_headers(text.replace("U0ANA", "U0VIC")),
    }[signature]
    before = len(harness.rig.handled)

    assert harness.post(body, content_type, headers) == 401
    harness.settle()

    assert [e.user for e in harness.rig.handled[before:]] == [SENTINEL]
    ana = harness.thread.run(harness.rig.runtime.services.people.find("slack", "U0ANA"))
    assert ana is not None and not ana.opted_out


def test_socket_mode_needs_the_app_level_token_and_http_mode_a_secret() -> None:
    # Socket Mode has no request signatures: Slack only pushes events down a
    # WebSocket that kiln opened with the app-level token (xapp-), so a bot token
    # or none at all is refused before anything starts.
    base = {"slack_bot_token": "xoxb-1"}
    with pytest.raises(ConfigError, match="xapp-"):
        SlackAdapter.from_settings(Settings(**base, slack_app_token="xoxb-not-an-app-token"))
    with pytest.raises(ConfigError, match="KILN_SLACK_SIGNING_SECRET"):
        SlackAdapter.from_settings(Settings(**base))
    with pytest.raises(ConfigError, match="KILN_SLACK_SIGNING_SECRET"):
        SlackAdapter("xoxb-1", signing_secret="")


def test_bytes_that_are_not_text_are_refused_quietly(harness: Harness) -> None:
    for body in (b"\x80\x81", b"\xff" * 100, b"payload=%FF%FE", "é".encode("latin-1")):
        for content_type in ("application/json", "application/x-www-form-urlencoded"):
            assert harness.post(body, content_type, {}) in (400, 401)
    harness.settle()
    assert harness.errors.records == [], harness.errors.describe()
