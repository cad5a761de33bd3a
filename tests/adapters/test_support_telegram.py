"""Support end to end on Telegram: the real PTB client against the fake Bot API.

A crisis message gets the crisis lines in the very first reply; `Yes, please` alerts a
Wellbeing Warrior on Telegram; their `I'll reach out` tells the person who is coming.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.settings import Settings
from tests.adapters.telegram_helpers import button, telegram_person, telegram_runtime, wait_to_chat
from tests.conftest import enrol
from tests.fakes.clock import FakeClock
from tests.fakes.fake_telegram import FakeTelegram

ANA, VIC = 1001, 2002
CRISIS = "honestly I don't see the point of going on"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def test_crisis_message_lines_first_then_yes_alerts_a_volunteer(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> None:
    async with telegram_runtime(settings, tg, clock) as (runtime, _):
        await enrol(
            runtime,
            telegram_person(ANA, "Ana Jones"),
            telegram_person(VIC, "Vic Hale", team="pharmacy", roles="staff;volunteer"),
        )
        await runtime.start_adapters()

        tg.push_update(tg.message_update(ANA, CRISIS, first_name="Ana"))
        [first] = await wait_to_chat(tg, ANA, 1)
        assert "116 123" in first.args["text"]
        assert first.args["text"].index("116 123") < first.args["text"].index("Wellbeing Warrior")
        assert not [c for c in tg.calls("sendMessage") if c.args["chat_id"] == VIC]

        tg.push_update(tg.callback_update(ANA, button(first, "Yes, please")))
        [alert] = await wait_to_chat(tg, VIC, 1)
        assert "Ana Jones (Telegram)" in alert.args["text"]
        assert CRISIS not in alert.args["text"]

        tg.push_update(tg.callback_update(VIC, button(alert, "I'll reach out")))
        messages = await wait_to_chat(tg, ANA, 3)
        assert any("Vic Hale" in call.args["text"] for call in messages)
        ana = await runtime.services.people.find("telegram", str(ANA))
        assert ana is not None and ana.id is not None
        request = await runtime.engine.care.requests.active_for(ana.id)
        assert request is not None and request.status == "claimed"
