"""Hypothesis-made Telegram updates through the real webhook server: nothing crashes.

Updates are posted as Telegram would (JSON, with the webhook secret) to PTB's own
webhook server in front of kiln's real runtime. Some are well formed with hostile
text; others have fields missing or of the wrong type, or are not JSON at all. PTB
refuses what it cannot parse (400); everything else reaches kiln. kiln must log no
error and keep answering.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.telegram_config import WebhookConfig
from bot.ratelimit import RateLimitSettings
from bot.settings import Settings
from kiln.runtime import Runtime, open_runtime
from tests.adapters.telegram_helpers import make_adapter, telegram_person, to_chat, wait_to_chat
from tests.conftest import MONDAY_10AM, TEST_PEPPER, enrol
from tests.fakes.clock import FakeClock
from tests.fakes.fake_telegram import FakeTelegram
from tests.security.loop_thread import ErrorWatch, LoopThread
from tests.security.payloads import hostile_text, json_values, mangled

SECRET = "fuzz_Secret-1"
PEOPLE = {1001: "staff", 1002: "staff;volunteer", 1003: "staff;manager", 1009: "staff"}
#: Someone the fuzz never writes as, whose /help shows that kiln has caught up.
SENTINEL = 1009


@dataclass
class Harness:
    """kiln in webhook mode on a background loop, and a way to post to it."""

    thread: LoopThread
    tg: FakeTelegram
    runtime: Runtime
    hook: WebhookConfig
    http: aiohttp.ClientSession
    buttons: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    sentinels: int = 0

    def post(self, body: bytes, secret: str | None = SECRET) -> int:
        async def go() -> int:
            headers = {"Content-Type": "application/json"}
            if secret is not None:
                headers["X-Telegram-Bot-Api-Secret-Token"] = secret
            async with self.http.post(self.hook.url, data=body, headers=headers) as response:
                return response.status

        status = self.thread.run(go())
        self.statuses.append(status)
        return status

    def settle(self) -> None:
        """Wait until kiln has handled everything posted so far.

        PTB handles updates one at a time in arrival order, so once a /help posted
        now is answered, every update before it has been handled too.
        """
        before = len(to_chat(self.tg, SENTINEL))
        update = self.tg.message_update(SENTINEL, "/help")
        # Its own id range: a fuzzed update may carry any id, and kiln rightly ignores
        # a repeated one.
        self.sentinels += 1
        update["update_id"] = 777_000_000_000 + self.sentinels
        assert self.post(json.dumps(update).encode()) == 200

        async def answered() -> None:
            # Generous: the machine may be busy, and a slow answer is not a crash.
            while len(to_chat(self.tg, SENTINEL)) <= before:
                count = len(self.tg.calls("sendMessage", delivered=True))
                await self.tg.wait_for("sendMessage", count + 1, timeout=30, delivered=True)

        self.thread.run(answered(), timeout=60)


async def _start(tmp_path: Path, port: int) -> Harness:
    tg = await FakeTelegram().start()
    hook = WebhookConfig(f"http://127.0.0.1:{port}/telegram", SECRET, port)
    kiln_settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'kiln.db'}",
        pepper_file=tmp_path / "kiln.key",
        # Fuzzing wants every event to reach the engine, not the flood guard.
        rate_limit=RateLimitSettings(burst=1000, per_minute=6000),
    )
    runtime = await open_runtime(
        kiln_settings, [make_adapter(tg, hook)], clock=FakeClock(MONDAY_10AM), pepper=TEST_PEPPER
    )
    await enrol(runtime, *(telegram_person(uid, roles=roles) for uid, roles in PEOPLE.items()))
    await runtime.start_adapters()
    await runtime.engine.checkin_now()
    sent = await tg.wait_for("sendMessage", len(PEOPLE), delivered=True)
    buttons = [
        key["callback_data"]
        for call in sent
        for row in call.args["reply_markup"]["inline_keyboard"]
        for key in row
    ]
    return Harness(
        LoopThread.__new__(LoopThread), tg, runtime, hook, aiohttp.ClientSession(), buttons
    )


@pytest.fixture
def harness(tmp_path: Path, unused_tcp_port: int) -> Iterator[Harness]:
    thread = LoopThread()
    made = thread.run(_start(tmp_path, unused_tcp_port))
    made.thread = thread
    yield made

    async def stop() -> None:
        await made.http.close()
        await made.runtime.close()
        await made.tg.close()

    thread.run(stop())
    thread.close()


@st.composite
def updates(draw: st.DrawFn, harness: Harness) -> dict[str, Any]:
    tg = harness.tg
    user = draw(st.sampled_from([1001, 1002, 1003, 4242]) | st.integers(-(2**64), 2**64))
    kind = draw(st.sampled_from(["text", "text", "command", "button", "group"]))
    safe_id = user if 0 < user < 2**52 and user != SENTINEL else 1001
    if kind == "button":
        data = draw(st.sampled_from(harness.buttons) | hostile_text | st.text(max_size=80))
        update = tg.callback_update(safe_id, data)
    else:
        text = draw(hostile_text)
        if kind == "command":
            text = "/" + draw(st.sampled_from(["pause", "support", "cases", "start", "x"])) + text
        chat = "group" if kind == "group" else "private"
        update = tg.message_update(safe_id, text or "hi", chat)
        if draw(st.booleans()):
            # Entities Telegram would never send: past the end, negative, another type.
            update["message"]["entities"] = [
                {
                    "type": draw(st.sampled_from(["bot_command", "bold", "url", "??"])),
                    "offset": draw(st.integers(-5, 50)),
                    "length": draw(st.integers(-5, 10_000)),
                }
            ]
    if draw(st.booleans()):
        update = draw(mangled(update))
    if draw(st.integers(0, 5)) == 0:
        update[draw(st.text(max_size=10))] = draw(json_values)
    return update


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_hostile_updates_never_crash_kiln_and_it_keeps_serving(
    harness: Harness, data: st.DataObject
) -> None:
    with ErrorWatch() as errors:
        update = data.draw(updates(harness))
        body = json.dumps(update).encode()
        status = harness.post(body)
        assert status in (200, 400), status
        harness.settle()
        assert errors.records == [], errors.describe()


def test_junk_bodies_and_wrong_secrets_are_refused(harness: Harness) -> None:
    with ErrorWatch() as errors:
        rng = random.Random(9)
        # PTB's webhook answers what is not JSON with 400 or 500 (tornado's own handling).
        for body in (b"", b"not json", b"[]", b"null", b"1", b'{"update_id": "x"}', b"\xff" * 50):
            assert harness.post(body) in (200, 400, 500), body
        for _ in range(20):
            assert harness.post(rng.randbytes(rng.randint(1, 300))) in (200, 400, 500)
        # Found by the fuzz: PTB's own update loop reads the chat id of each update, and
        # one that is an object ended the loop for good. Such updates never get queued.
        poison = harness.tg.message_update(1001, "hello")
        poison["update_id"] = {"5": [1]}
        poison["message"]["chat"]["id"] = {"5": True}
        assert harness.post(json.dumps(poison).encode()) == 200
        harness.settle()

        help_update = json.dumps(harness.tg.message_update(1001, "/optout")).encode()
        assert harness.post(help_update, secret="wrong") == 403
        assert harness.post(help_update, secret=None) == 403

        # Still serving, and the refused /optout never ran.
        harness.post(json.dumps(harness.tg.message_update(1001, "/help")).encode())
        replies = harness.thread.run(wait_to_chat(harness.tg, 1001, 2))
        assert replies[-1].args["text"].startswith("Here's what I can do")
        person = harness.thread.run(harness.runtime.services.people.find("telegram", "1001"))
        assert person is not None and not person.opted_out
        assert errors.records == [], errors.describe()


def test_after_the_fuzz_a_real_person_is_still_answered(harness: Harness) -> None:
    # Run a burst of hostile updates, then a plain /help: answered, and no kiln error.
    rng = random.Random(3)
    with ErrorWatch() as errors:
        for number in range(60):
            text = rng.choice(["🙂" * 500, "\u202e" * 10, "x" * 4096, f"/pause {number}", "\u200b"])
            harness.post(json.dumps(harness.tg.message_update(1002, text)).encode())
        before = len([c for c in harness.tg.calls("sendMessage") if c.args["chat_id"] == 1003])
        harness.post(json.dumps(harness.tg.message_update(1003, "/help")).encode())

        async def answered() -> None:
            async with asyncio.timeout(20):
                await wait_to_chat(harness.tg, 1003, before + 1)

        harness.thread.run(answered())
        assert errors.records == [], errors.describe()
