"""Notes over 4,000 characters get a kind reply, and are still screened for crisis."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.distress import Level, classify
from bot.guard import LONG_TEXT_CHARS
from kiln.runtime import Runtime
from tests.adapters.telegram_helpers import assert_not_on_disk
from tests.bot.helpers import press, say
from tests.conftest import enrol, person
from tests.fakes.fake_adapter import FakeAdapter

LOT_TO_CARRY = "That's a lot to carry"
FILLER = "The rota changed again and the car park was full, so I was late. "


def long_text(middle: str = "", size: int = LONG_TEXT_CHARS + 500) -> str:
    half = FILLER * (size // len(FILLER) // 2 + 1)
    return f"{half}{middle} {half}"[: size + len(middle)]


async def answer_mood(runtime: Runtime, adapter: FakeAdapter, user: str, label: str) -> None:
    await runtime.engine.run_due()
    await press(runtime, adapter, user, adapter.to(user, "checkin")[-1].message, label)


async def test_a_long_note_gets_a_kind_reply_and_is_not_kept(
    runtime: Runtime, adapter: FakeAdapter, tmp_path: Path
) -> None:
    await enrol(runtime, person("ana"))
    await answer_mood(runtime, adapter, "ana", "3 Okay")

    note = long_text()
    assert len(note) > LONG_TEXT_CHARS
    await say(runtime, adapter, "ana", note)

    reply = adapter.last("ana").message.text
    assert reply.startswith(LOT_TO_CARRY) and "/support" in reply
    # The note window is closed: the next message is not taken as a note.
    await say(runtime, adapter, "ana", "thanks")
    assert "I'm here for check-ins" in adapter.last("ana").message.text
    await runtime.db.dispose()
    await asyncio.to_thread(assert_not_on_disk, tmp_path, FILLER)


async def test_crisis_words_buried_in_a_long_note_are_still_answered_first(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"))
    await answer_mood(runtime, adapter, "ana", "2 Low")

    await say(runtime, adapter, "ana", long_text("honestly I want to kill myself"))

    reply = adapter.last("ana").message.text
    assert "116 123" in reply and "Wellbeing Warrior" in reply
    assert LOT_TO_CARRY not in reply


async def test_a_long_message_outside_a_check_in_is_screened_too(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"), person("gwen", locale="cy"))

    await say(runtime, adapter, "ana", long_text("I have taken an overdose"))
    assert "116 123" in adapter.last("ana").message.text

    await say(runtime, adapter, "gwen", long_text())
    assert adapter.last("gwen").message.text.startswith("Mae hynna'n llawer i'w gario")


def test_screening_a_huge_note_stays_fast() -> None:
    # Slack allows 40,000 characters; a hostile client may send more. Screening is in
    # memory and must neither blow up nor take long.
    huge = long_text("i want to die", size=200_000)
    started = time.perf_counter()
    assert classify(huge).level is Level.CRISIS
    assert classify("🙂" * 50_000).level is Level.NONE
    assert time.perf_counter() - started < 5
