"""Shared pieces of the Telegram adapter tests: the real adapter on a real runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from adapters.telegram import TelegramAdapter
from adapters.telegram_config import TelegramConfig, WebhookConfig
from bot.catalogue import Catalogue
from bot.settings import Settings
from kiln.runtime import Runtime, open_runtime
from storage.models import Person
from tests.conftest import TEST_PEPPER
from tests.fakes.clock import FakeClock
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.http_fake import Call

CATALOGUE = Catalogue.load()


def make_adapter(
    tg: FakeTelegram, webhook: WebhookConfig | None = None, **options: Any
) -> TelegramAdapter:
    """The real adapter pointed at the fake, with quick polls and quick retries."""
    options.setdefault("poll_timeout", 1.0)
    options.setdefault("backoff", 0.01)
    config = TelegramConfig(token=tg.token, api_url=tg.base_url, webhook=webhook, **options)
    return TelegramAdapter(config, CATALOGUE)


@asynccontextmanager
async def telegram_runtime(
    settings: Settings, tg: FakeTelegram, clock: FakeClock, adapter: TelegramAdapter | None = None
) -> AsyncIterator[tuple[Runtime, TelegramAdapter]]:
    """kiln's real runtime with the Telegram adapter (not started: call start_adapters)."""
    adapter = adapter or make_adapter(tg)
    runtime = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
    try:
        yield runtime, adapter
    finally:
        await runtime.close()


def telegram_person(user_id: int, name: str = "Sam Example", **values: Any) -> Person:
    """A Person enrolled on Telegram (as the roster would add them)."""
    values.setdefault("team", "ward")
    values.setdefault("timezone", "Europe/London")
    return Person(platform="telegram", platform_user_id=str(user_id), display_name=name, **values)


def to_chat(tg: FakeTelegram, chat_id: int, method: str = "sendMessage") -> list[Call]:
    """Calls of ``method`` for one chat that took effect."""
    return [call for call in tg.calls(method, delivered=True) if call.args["chat_id"] == chat_id]


async def wait_to_chat(
    tg: FakeTelegram, chat_id: int, count: int, method: str = "sendMessage"
) -> list[Call]:
    """Wait until ``count`` calls of ``method`` reached a chat (PTB handles updates in tasks).

    Each round waits for one more such call to anyone, so a missing reply fails within
    the fake's own deadline with the methods it saw.
    """
    while len(to_chat(tg, chat_id, method)) < count:
        await tg.wait_for(method, len(tg.calls(method, delivered=True)) + 1, delivered=True)
    return to_chat(tg, chat_id, method)


def assert_not_on_disk(folder: Path, *secrets: str) -> None:
    """None of ``secrets`` appears in any file under ``folder`` (the database, its WAL...)."""
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, path


def button(call: Call, label: str) -> str:
    """The callback data of the inline button with this label in a sendMessage call."""
    for row in call.args["reply_markup"]["inline_keyboard"]:
        for key in row:
            if key["text"] == label:
                return str(key["callback_data"])
    raise AssertionError(f"no button {label!r} in {call.args.get('reply_markup')}")
