"""The whole Slack check-in, in Socket Mode and HTTP mode, through the real runtime.

`kiln checkin now` → chat.postMessage with Block Kit → a press of `2 Low` → the
gentle follow-up → a note in the DM → chat.update shows the choice. Also: bolt's
signature check, and Slack retries acked but handled once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from bot.events import InboundEvent
from bot.settings import Settings
from tests.adapters.slack_helpers import (
    Mode,
    block_text,
    buttons,
    payload,
    signed_headers,
    slack_person,
    slack_rig,
    texts,
)
from tests.fakes.clock import FakeClock

ANA = slack_person("U0ANA", display_name="Ana Jones")
MOODS = ["1 Struggling", "2 Low", "3 Okay", "4 Good", "5 Great"]


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_whole_checkin_flow(settings: Settings, clock: FakeClock, mode: Mode) -> None:
    async with slack_rig(settings, clock, mode, ANA, via_runtime=True) as rig:
        slack = rig.slack

        assert await rig.runtime.engine.checkin_now() == 1  # `kiln checkin now`
        [checkin] = await slack.wait_for("chat.postMessage")
        [opened] = slack.calls("conversations.open")
        assert opened.args == {"users": "U0ANA"}
        assert checkin.args["channel"] == "DU0ANA"
        assert "Ana" in block_text(checkin)
        rows = [b for b in checkin.args["blocks"] if b["type"] == "actions"]
        assert [[e["text"]["text"] for e in row["elements"]] for row in rows] == [
            MOODS,
            ["Talk to someone", "Skip today"],
        ]

        await rig.press("U0ANA", checkin, "2 Low")
        [update] = await slack.wait_for("chat.update")
        _, follow_up = await slack.wait_for("chat.postMessage", 2)
        assert (update.args["channel"], update.args["ts"]) == (
            checkin.response["channel"],
            checkin.response["ts"],
        )
        assert "2 Low" in block_text(update)
        assert not [b for b in update.args["blocks"] if b["type"] == "actions"]  # no buttons
        assert "sorry today is hard" in block_text(follow_up)
        assert {"Yes, please", "Not now", "No thanks", "Add a note"} <= set(buttons(follow_up))

        await rig.say("U0ANA", "a rough week with the rota, honestly")
        *_, thanks = await slack.wait_for("chat.postMessage", 3)
        assert "haven't kept your words" in thanks.args["text"]
        assert "/kiln support" in thanks.args["text"]  # commands spelled the Slack way
        # Nothing was stored under Ana's id beyond the mood: the note never reached disk.
        assert len(slack.calls("chat.update")) == 1
        assert len(slack.calls("conversations.open")) == 1  # the DM channel is cached


async def test_second_press_changes_nothing(settings: Settings, clock: FakeClock) -> None:
    async with slack_rig(settings, clock, "http", ANA) as rig:
        await rig.runtime.engine.checkin_now()
        [checkin] = await rig.slack.wait_for("chat.postMessage")

        await rig.press("U0ANA", checkin, "4 Good")
        await rig.wait_handled(1)
        await rig.press("U0ANA", checkin, "1 Struggling")  # the old buttons, pressed again
        await rig.wait_handled(2)

        assert len(rig.slack.calls("chat.update")) == 1
        assert "4 Good" in block_text(rig.slack.calls("chat.update")[0])
        assert "already checked in today" in texts(rig.slack.calls("chat.postMessage"))[-1]


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_a_slack_retry_is_acked_but_handled_once(
    settings: Settings, clock: FakeClock, mode: Mode
) -> None:
    async with slack_rig(settings, clock, mode, ANA) as rig:
        first = await rig.say("U0ANA", "help")
        await rig.event(first, retry=1)  # same event_id, X-Slack-Retry-Num: 1
        await rig.wait_handled(2)

        [reply] = rig.slack.calls("chat.postMessage")
        assert "/kiln checkin" in reply.args["text"]
        assert [event.event_id for event in rig.handled] == [first["event_id"]] * 2


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signed_headers(body, secret="not-the-secret"), id="tampered"),
        pytest.param(
            lambda body: signed_headers(body, timestamp=int(time.time()) - 600), id="stale"
        ),
        pytest.param(lambda body: {}, id="unsigned"),
    ],
)
async def test_bad_signatures_are_refused_and_nothing_happens(
    settings: Settings, clock: FakeClock, headers: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with slack_rig(settings, clock, "http", ANA) as rig:
        body = json.dumps(rig.slack.message_event("U0ANA", "my private words"))

        status, _ = await rig.post(body, "application/json", headers(body))  # type: ignore[operator]
        # A good request afterwards proves the server was listening and idle.
        await rig.say("U0ANA", "help")
        await rig.wait_handled(1)

        assert status == 401
        assert len(rig.handled) == 1
        assert len(rig.slack.calls("chat.postMessage")) == 1
        assert "my private words" not in caplog.text  # bolt logs bodies at INFO; not here
        assert "bad or stale Slack signature" in caplog.text


async def test_http_mode_answers_slacks_url_check(settings: Settings, clock: FakeClock) -> None:
    async with slack_rig(settings, clock, "http") as rig:
        body = json.dumps(payload("url_verification"))

        status, answer = await rig.post(body, "application/json")

        assert status == 200
        assert json.loads(answer)["challenge"] == payload("url_verification")["challenge"]


async def test_edits_and_unknown_people_are_handled_politely(
    settings: Settings, clock: FakeClock
) -> None:
    async with slack_rig(settings, clock, "http", ANA) as rig:
        edited = payload("message_edited")
        edited["event"]["message"]["user"] = "U0ANA"
        await rig.event(edited)  # an edit is not a new message: ignored
        await rig.say("U0STRANGER", "hello?")
        await rig.wait_handled(1)

        [reply] = rig.slack.calls("chat.postMessage")
        assert reply.args["channel"] == "DU0STRANGER"
        assert "isn't set up for you yet" in reply.args["text"]
        assert [event.user for event in rig.handled] == ["U0STRANGER"]


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_slack_has_its_ack_before_the_work_and_stopping_lets_the_work_finish(
    settings: Settings, clock: FakeClock, mode: Mode
) -> None:
    async with slack_rig(settings, clock, mode, ANA, start=False) as rig:
        release, begun = asyncio.Event(), asyncio.Event()
        started: list[InboundEvent] = []

        async def slow(event: InboundEvent) -> None:
            started.append(event)
            begun.set()
            await release.wait()  # a busy database, say
            await rig.sink(event)

        await rig.adapter.start(slow)
        if mode == "socket":
            await rig.slack.wait_for_socket()
        await rig.say("U0ANA", "help")  # returns once Slack has its ack
        async with asyncio.timeout(5):
            await begun.wait()
        assert not rig.handled and not rig.slack.calls("chat.postMessage")

        stopping = asyncio.create_task(rig.adapter.stop())
        await asyncio.sleep(0.1)
        assert not stopping.done()  # an acknowledged event is not dropped
        release.set()
        await stopping
        assert [event.event_id for event in rig.handled] == [started[0].event_id]
        assert "/kiln checkin" in rig.slack.calls("chat.postMessage")[0].args["text"]
