"""Sending through the real python-telegram-bot client: pacing, limits, failures, edits.

None of these start polling: `kiln checkin now` sends without it, so the adapter must too.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from adapters.telegram import TelegramAdapter
from adapters.telegram_config import TelegramConfig
from bot.messages import Attachment, Button, Message
from bot.ports import ChatAdapter, DeliveryError, RateLimited, Undeliverable
from bot.settings import ConfigError, Settings
from kiln.platforms import configured_adapters
from tests.adapters.telegram_helpers import (
    CATALOGUE,
    make_adapter,
    telegram_person,
    telegram_runtime,
    to_chat,
)
from tests.conftest import enrol
from tests.fakes.clock import FakeClock
from tests.fakes.fake_telegram import FakeTelegram

BLOCKED = "Forbidden: bot was blocked by the user"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def test_retry_after_once_is_waited_out_and_delivered_once(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    tg.respond_error("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    async with telegram_runtime(settings, tg, clock) as (runtime, _):
        await enrol(runtime, telegram_person(11))
        started = time.monotonic()

        sent = await runtime.engine.checkin_now()

    assert sent == 1
    assert time.monotonic() - started >= 0.9  # the Deliverer waited as Telegram asked
    assert [c.status for c in tg.calls("sendMessage")] == [429, 200]
    assert len(to_chat(tg, 11)) == 1


async def test_forbidden_for_one_of_three_marks_them_and_the_others_get_theirs(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    tg.respond_error("sendMessage", 403, BLOCKED, times=None, when=lambda a: a["chat_id"] == 12)
    async with telegram_runtime(settings, tg, clock) as (runtime, _):
        await enrol(runtime, *(telegram_person(n, f"Person {n}") for n in (11, 12, 13)))

        sent = await runtime.engine.checkin_now()

        blocked = await runtime.services.people.find("telegram", "12")
        others = [await runtime.services.people.find("telegram", u) for u in ("11", "13")]

    assert sent == 2
    assert [len(to_chat(tg, chat)) for chat in (11, 12, 13)] == [1, 0, 1]
    assert len(tg.calls("sendMessage")) == 3  # a block is final: not retried
    assert blocked is not None and blocked.undeliverable
    assert all(p is not None and not p.undeliverable for p in others)


async def test_network_errors_are_retried_with_backoff_then_reported(tg: FakeTelegram) -> None:
    adapter = make_adapter(tg, network_attempts=3)
    try:
        tg.respond_error("sendMessage", 500, "Internal Server Error", times=2)
        ref = await adapter.send_message("42", Message("hello"))
        assert [c.status for c in tg.calls("sendMessage")] == [500, 500, 200]
        assert ref == f"42:{tg.calls('sendMessage')[-1].response['result']['message_id']}"

        tg.clear_calls()
        tg.respond_error("sendMessage", 502, "Bad Gateway", times=None)
        with pytest.raises(DeliveryError, match="after 3 tries") as failed:
            await adapter.send_message("42", Message("hello again"))
        assert not isinstance(failed.value, (RateLimited, Undeliverable))
        assert len(tg.calls("sendMessage")) == 3
    finally:
        await adapter.stop()


async def test_rate_limit_and_unreachable_chats_map_to_the_engines_errors(
    tg: FakeTelegram,
) -> None:
    adapter = make_adapter(tg)
    try:
        tg.respond_error("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        with pytest.raises(RateLimited) as limited:
            await adapter.send_message("42", Message("hi"))
        assert limited.value.retry_after == 7

        tg.respond_error("sendMessage", 400, "Bad Request: chat not found")
        with pytest.raises(Undeliverable, match=r"(?i)chat not found"):
            await adapter.send_message("43", Message("hi"))

        tg.respond_error("sendMessage", 400, "Bad Request: can't parse entities")
        with pytest.raises(DeliveryError, match=r"(?i)parse entities"):
            await adapter.send_message("44", Message("hi"))
        assert len(tg.calls("sendMessage")) == 3  # none of these is retried by the adapter
    finally:
        await adapter.stop()


async def test_an_edit_removes_the_keyboard_and_a_repeated_edit_is_harmless(
    tg: FakeTelegram,
) -> None:
    adapter = make_adapter(tg)
    try:
        ref = await adapter.send_checkin(
            "42", Message("How are you?", ((Button("1 Struggling", "mood:1:1"),),))
        )
        chat_id, message_id = (int(part) for part in ref.split(":"))
        assert "reply_markup" in tg.messages[(chat_id, message_id)]

        await adapter.update_checkin("42", ref, Message("Today's check-in: 1 Struggling"))
        await adapter.update_checkin("42", ref, Message("Today's check-in: 1 Struggling"))

        edits = tg.calls("editMessageText")
        assert [c.status for c in edits] == [200, 400]  # Telegram said "not modified"
        assert tg.messages[(chat_id, message_id)]["text"] == "Today's check-in: 1 Struggling"
        assert "reply_markup" not in tg.messages[(chat_id, message_id)]
        with pytest.raises(DeliveryError, match="not a Telegram message reference"):
            await adapter.update_checkin("42", "slack:1234.5678", Message("x"))
    finally:
        await adapter.stop()


async def test_files_go_as_photos_or_documents_with_the_text_as_caption(
    tg: FakeTelegram,
) -> None:
    adapter = make_adapter(tg)
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    try:
        await adapter.send_message(
            "42", Message("Your team's week", attachment=Attachment("week.png", png, "image/png"))
        )
        await adapter.send_alert(
            "@wellbeing_escalations",
            Message("x" * 1500, attachment=Attachment("data.json", b"{}", "application/json")),
        )
    finally:
        await adapter.stop()

    [photo] = tg.calls("sendPhoto")
    assert photo.args["caption"] == "Your team's week"
    assert photo.files[0].data == png
    [long_text] = tg.calls("sendMessage")
    [document] = tg.calls("sendDocument")
    assert long_text.args["text"] == "x" * 1500  # too long for a caption: sent first
    assert "caption" not in document.args
    assert document.files[0].filename == "data.json"


async def test_the_fan_out_is_paced_to_the_configured_rate(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    adapter = make_adapter(tg, max_messages_per_second=20)
    async with telegram_runtime(settings, tg, clock, adapter) as (runtime, _):
        await enrol(runtime, *(telegram_person(n, f"Person {n}") for n in range(21, 27)))
        started = time.monotonic()

        assert await runtime.engine.checkin_now() == 6

    assert time.monotonic() - started >= 5 / 20 - 0.01  # six sends, five gaps of 50 ms


async def test_settings_choose_the_adapter_and_refuse_bad_telegram_settings(
    settings: Settings,
) -> None:
    telegram = settings.model_copy(
        update={
            "telegram_token": SecretStr("123456:ABC-def_ghi"),
            "telegram_max_messages_per_second": 12,
        }
    )
    [adapter] = configured_adapters(telegram)
    assert isinstance(adapter, TelegramAdapter) and isinstance(adapter, ChatAdapter)
    assert (adapter.platform, adapter.max_messages_per_second) == ("telegram", 12)

    def problem(**values: object) -> str:
        with pytest.raises(ConfigError) as error:
            TelegramConfig.from_settings(telegram.model_copy(update=values))
        return str(error.value)

    assert "KILN_TELEGRAM_TOKEN is not set" in problem(telegram_token=None)
    assert "does not look like a bot token" in problem(telegram_token=SecretStr("not a token"))
    assert problem(telegram_webhook_url="https://kiln.example.org/tg") == (
        "KILN_TELEGRAM_WEBHOOK_SECRET must be set when KILN_TELEGRAM_WEBHOOK_URL is"
    )
    assert "letters, digits, _ and -" in problem(
        telegram_webhook_url="https://kiln.example.org/tg",
        telegram_webhook_secret=SecretStr("has space"),
    )
    assert "must be a full URL" in problem(
        telegram_webhook_url="kiln.example.org", telegram_webhook_secret=SecretStr("ok")
    )
    assert "123456:ABC" not in repr(TelegramConfig.from_settings(telegram))


async def test_a_refused_token_stops_start_up_with_a_line_that_hides_it(
    tg: FakeTelegram,
) -> None:
    config = TelegramConfig(token="123:wrong-token", api_url=tg.base_url, backoff=0.01)
    adapter = TelegramAdapter(config, CATALOGUE)

    async def sink(_event: object) -> None:
        raise AssertionError("no event should arrive")

    with pytest.raises(ConfigError) as refused:
        await adapter.start(sink)
    await adapter.stop()

    assert "KILN_TELEGRAM_TOKEN was refused by Telegram" in str(refused.value)
    assert "wrong-token" not in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    assert [c.method for c in tg.calls()] == ["getMe"]
