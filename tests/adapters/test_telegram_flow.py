"""The whole Telegram flow through kiln's real runtime and the real PTB client.

`kiln people invite` runs as a real process against the fake Bot API; everything after
it runs in this process: polling, the engine, the database, the scheduler's fan-out.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import func, select
from typer.testing import CliRunner

from adapters.telegram_config import WebhookConfig
from bot.settings import Settings
from kiln.cli import app
from storage.invites import Invite
from storage.models import Person, ProcessedEvent
from tests.adapters.telegram_helpers import (
    assert_not_on_disk,
    button,
    make_adapter,
    telegram_person,
    telegram_runtime,
    to_chat,
    wait_to_chat,
)
from tests.conftest import TEST_PEPPER, enrol
from tests.fakes.clock import FakeClock
from tests.fakes.fake_telegram import FakeTelegram

ALEX = 1001
NOTE = "the rota changed again this week"
LINK = re.compile(r"^https://t\.me/kiln_test_bot\?start=([A-Za-z0-9_-]{16,64})$")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def kiln_cli(cwd: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `kiln` as a process without blocking the loop that serves the fake."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kiln",
        *args,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_invite_start_checkin_low_mood_note_and_the_edited_checkin(
    settings: Settings, tg: FakeTelegram, clock: FakeClock, tmp_path: Path
) -> None:
    (tmp_path / "kiln.toml").write_text("[teams.ward]\n")
    env = {
        "KILN_DATABASE_URL": settings.database_url,
        "KILN_PEPPER": TEST_PEPPER.decode(),
        "KILN_TELEGRAM_TOKEN": tg.token,
        "KILN_TELEGRAM_API_URL": tg.base_url,
    }
    code, out, err = await kiln_cli(
        tmp_path, env, "people", "invite", "--team", "ward", "--count", "2"
    )
    assert code == 0, err
    codes = [LINK.fullmatch(line).group(1) for line in out.splitlines()]  # type: ignore[union-attr]
    assert len(set(codes)) == 2
    assert "2 one-time links for team ward" in err and "note:" not in err
    assert [c.method for c in tg.calls()] == ["getMe"]

    async with telegram_runtime(settings, tg, clock) as (runtime, _):
        await runtime.start_adapters()

        # /start <code>: enrolled into the invite's team, welcomed, asked their timezone.
        tg.push_update(tg.message_update(ALEX, f"/start {codes[0]}", first_name="Alex"))
        welcome, question = await wait_to_chat(tg, ALEX, 2)
        assert welcome.args["text"].startswith("Welcome, Alex!")
        tg.push_update(tg.callback_update(ALEX, button(question, "London")))
        [tz_edit] = await wait_to_chat(tg, ALEX, 1, "editMessageText")
        assert tz_edit.args["text"] == "Thanks. Your check-ins will follow Europe/London time."

        # `kiln checkin now`: the inline keyboard of five moods, talk and skip.
        assert await runtime.engine.checkin_now() == 1
        checkin = (await wait_to_chat(tg, ALEX, 3))[-1]
        labels = [k["text"] for row in checkin.args["reply_markup"]["inline_keyboard"] for k in row]
        assert labels == [
            "1 Struggling",
            "2 Low",
            "3 Okay",
            "4 Good",
            "5 Great",
            "Talk to someone",
            "Skip today",
        ]

        # Mood 1: the check-in is edited to show it, and a gentle offer follows.
        tg.push_update(tg.callback_update(ALEX, button(checkin, "1 Struggling")))
        gentle = (await wait_to_chat(tg, ALEX, 4))[-1]
        assert "Wellbeing Warrior" in gentle.args["text"]
        assert button(gentle, "Yes, please") and button(gentle, "No thanks")

        # The note is the next plain message; it is answered, then let go.
        tg.push_update(tg.message_update(ALEX, NOTE, first_name="Alex"))
        thanks = (await wait_to_chat(tg, ALEX, 5))[-1]
        assert "I haven't kept your words" in thanks.args["text"]

        # Someone else trying the used code is told kindly; the second code still works.
        tg.push_update(tg.message_update(2002, f"/start {codes[0]}", first_name="Bea"))
        [used] = await wait_to_chat(tg, 2002, 1)
        assert "already been used" in used.args["text"]
        tg.push_update(tg.message_update(3003, f"/start {codes[1]}", first_name="Cai"))
        await wait_to_chat(tg, 3003, 2)

        alex = await runtime.services.people.find("telegram", str(ALEX))
        bea = await runtime.services.people.find("telegram", "2002")

    checkin_ref = checkin.response["result"]["message_id"]
    assert tg.messages[(ALEX, checkin_ref)]["text"] == "Today's check-in: 1 Struggling"
    assert "reply_markup" not in tg.messages[(ALEX, checkin_ref)]
    assert len(tg.calls("answerCallbackQuery")) == 2  # every press answered
    assert alex is not None and bea is None
    assert (alex.display_name, alex.team, alex.locale, alex.timezone) == (
        "Alex",
        "ward",
        "en",
        "Europe/London",
    )
    assert_not_on_disk(tmp_path, NOTE, codes[0], codes[1])


async def test_webhook_mode_processes_only_requests_with_the_secret_once_each(
    settings: Settings, tg: FakeTelegram, clock: FakeClock, unused_tcp_port: int
) -> None:
    hook = WebhookConfig(
        f"http://127.0.0.1:{unused_tcp_port}/telegram", "s3cret_Token-1", unused_tcp_port
    )
    async with telegram_runtime(settings, tg, clock, make_adapter(tg, hook)) as (runtime, _):
        await enrol(runtime, telegram_person(ALEX, "Alex Jones"))
        await runtime.start_adapters()
        assert (tg.webhook_url, tg.webhook_secret) == (hook.url, hook.secret)

        help_update = tg.message_update(ALEX, "/help")
        async with aiohttp.ClientSession() as http:

            async def post(update: dict[str, object], secret: str | None) -> int:
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                async with http.post(hook.url, json=update, headers=headers) as response:
                    return response.status

            assert await post(tg.message_update(ALEX, "/optout"), "wrong-secret") == 403
            assert await post(tg.message_update(ALEX, "/optout"), None) == 403
            assert await post(help_update, hook.secret) == 200
            assert await post(help_update, hook.secret) == 200  # Telegram retrying
            assert await post(tg.message_update(ALEX, "/resume"), hook.secret) == 200
            replies = await wait_to_chat(tg, ALEX, 2)
        await asyncio.sleep(0.1)  # time for anything else to (wrongly) arrive

        alex = await runtime.services.people.find("telegram", str(ALEX))
        async with runtime.db.session() as session:
            seen = (await session.exec(select(ProcessedEvent.key))).all()

    texts = [reply.args["text"] for reply in to_chat(tg, ALEX)]
    assert len(texts) == 2 and replies[0].args["text"] == texts[0]
    assert texts[0].startswith("Here's what I can do:")
    assert texts[1] == "Check-ins aren't paused, so there's nothing to resume."
    assert alex is not None and not alex.opted_out  # the 403'd /optout never ran
    assert sorted(seen) == sorted(
        f"telegram:{u}" for u in (help_update["update_id"], help_update["update_id"] + 3)
    )
    assert tg.calls("getUpdates") == []


async def test_the_same_update_twice_by_polling_is_handled_once(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    async with telegram_runtime(settings, tg, clock) as (runtime, _):
        await enrol(runtime, telegram_person(ALEX, "Alex Jones"))
        update = tg.message_update(ALEX, "/pause 3")
        tg.push_update(update)
        tg.push_update(update)  # redelivered, e.g. after a crash before the offset was saved
        tg.push_update(tg.message_update(ALEX, "/help"))
        await runtime.start_adapters()
        replies = await wait_to_chat(tg, ALEX, 2)
        await asyncio.sleep(0.1)

    texts = [reply.args["text"] for reply in to_chat(tg, ALEX)]
    assert len(texts) == 2 and texts == [r.args["text"] for r in replies]
    assert texts[0].startswith("Check-ins paused.")
    assert texts[1].startswith("Here's what I can do:")


async def test_a_group_hears_once_that_kiln_is_private_and_nothing_is_stored(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    group = -100777
    async with telegram_runtime(settings, tg, clock) as (runtime, _):
        await runtime.start_adapters()
        for user, words in ((4004, "/checkin@kiln_test_bot"), (4005, "/start abc"), (4004, "hi")):
            tg.push_update(tg.message_update(user, words, "supergroup", chat_id=group))
        tg.push_update(tg.message_update(4006, "/help", "group", "Gwen", "cy", chat_id=-100888))
        tg.push_update(tg.message_update(5005, "/start", first_name="Dee"))  # unknown, private
        [not_enrolled] = await wait_to_chat(tg, 5005, 1)
        [welsh] = await wait_to_chat(tg, -100888, 1)

        async with runtime.db.session() as session:
            counts = [
                (await session.exec(select(func.count()).select_from(table))).one()
                for table in (Person, ProcessedEvent, Invite)
            ]

    [told] = to_chat(tg, group)
    assert told.args["text"].startswith("Hello! I only work in a private chat")
    assert "@kiln_test_bot" in told.args["text"]
    assert welsh.args["text"].startswith("Helo! Dim ond mewn sgwrs breifat")
    assert not_enrolled.args["text"].startswith("Hello! kiln isn't set up for you yet.")
    assert counts == [0, 0, 0]


async def test_commands_are_registered_in_english_and_welsh(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    async with telegram_runtime(settings, tg, clock) as (runtime, _):
        await runtime.start_adapters()

    default = tg.commands['{"type": "default"}|']
    welsh = tg.commands['{"type": "default"}|cy']
    names = [c["command"] for c in default]
    assert names == [
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
    ]
    assert [c["command"] for c in welsh] == names
    assert default[0]["description"] == "Check in now"
    assert welsh[0]["description"] == "Ateb neges holi nawr"
    assert all(1 <= len(c["description"]) <= 256 for c in (*default, *welsh))


def test_invite_without_a_telegram_token_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("KILN_")]:
        monkeypatch.delenv(name)

    result = CliRunner().invoke(app, ["people", "invite", "--team", "ward"])

    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "kiln: KILN_TELEGRAM_TOKEN is not set (ask @BotFather for a bot token)"
    ]
    assert list(tmp_path.iterdir()) == []  # refused before touching any database
