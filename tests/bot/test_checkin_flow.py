"""The check-in conversation of DESIGN §2, end to end through the engine."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from bot.events import ChoiceSelected
from kiln.runtime import Runtime
from storage.models import Checkin, Mood
from tests.bot.helpers import button_value, command, press, say
from tests.conftest import enrol, person
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter

MOOD_LABELS = ["1 Struggling", "2 Low", "3 Okay", "4 Good", "5 Great"]


async def count(runtime: Runtime, model: type) -> int:
    async with runtime.db.session() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_scheduled_checkin_has_the_designed_buttons(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"))

    assert await runtime.engine.run_due() == 1

    (sent,) = adapter.to("ana", "checkin")
    rows = [[b.label for b in row] for row in sent.message.buttons]
    assert rows == [MOOD_LABELS, ["Talk to someone", "Skip today"]]
    assert "Ana" in sent.message.text


async def test_mood_then_note_is_thanked_and_the_note_is_never_stored(
    runtime: Runtime, adapter: FakeAdapter, settings: object, tmp_path: Path
) -> None:
    await enrol(runtime, person("ana"))
    await runtime.engine.run_due()
    checkin = adapter.last("ana").message

    await press(runtime, adapter, "ana", checkin, "3 Okay")

    update = adapter.to("ana", "update")[-1]
    assert update.message.text == "Today's check-in: 3 Okay" and not update.message.buttons
    prompt = adapter.last("ana").message
    assert "Your words are never stored" in prompt.text
    assert [b.label for b in prompt.all_buttons] == ["No thanks"]

    await say(runtime, adapter, "ana", "bit tired today, the rota is a puzzle")
    assert "Thank you for sharing" in adapter.last("ana").message.text
    assert await count(runtime, Mood) == 1

    await runtime.db.dispose()
    files = await asyncio.to_thread(lambda: [f.read_bytes() for f in tmp_path.glob("kiln.db*")])
    assert files and all(b"rota is a puzzle" not in content for content in files)


async def test_low_mood_gets_a_gentle_reply_with_the_offer(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ben"))
    await runtime.engine.run_due()

    await press(runtime, adapter, "ben", adapter.last("ben").message, "1 Struggling")

    reply = adapter.last("ben").message
    assert "I'm sorry today is hard" in reply.text
    assert "Your words are never stored" in reply.text
    assert [b.label for b in reply.all_buttons] == [
        "Yes, please",
        "Not now",
        "Talk anonymously",
        "No thanks",
    ]


async def test_no_thanks_closes_the_note(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("ana"))
    await runtime.engine.run_due()
    await press(runtime, adapter, "ana", adapter.last("ana").message, "4 Good")

    await press(runtime, adapter, "ana", adapter.last("ana").message, "No thanks")
    assert adapter.last("ana").message.text == "That's fine. Thanks for checking in."

    await say(runtime, adapter, "ana", "hello")
    assert "I'm here for check-ins" in adapter.last("ana").message.text


async def test_second_press_changes_nothing(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("ana"))
    await runtime.engine.run_due()
    checkin = adapter.last("ana").message

    await press(runtime, adapter, "ana", checkin, "4 Good")
    await press(runtime, adapter, "ana", checkin, "2 Low")

    assert await count(runtime, Mood) == 1
    assert adapter.last("ana").message.text == "You've already checked in today. Thank you."


async def test_skip_today_records_no_mood(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("ana"))
    await runtime.engine.run_due()

    await press(runtime, adapter, "ana", adapter.last("ana").message, "Skip today")

    assert await count(runtime, Mood) == 0
    assert adapter.to("ana", "update")[-1].message.text == "Today's check-in: skipped"
    assert "skip today" in adapter.last("ana").message.text


async def test_answer_after_the_day_has_passed_is_refused(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    await enrol(runtime, person("ana"))
    await runtime.engine.run_due()
    checkin = adapter.last("ana").message

    clock.advance(days=1)
    await press(runtime, adapter, "ana", checkin, "4 Good")

    assert await count(runtime, Mood) == 0
    assert "Monday 23 November, so it has closed" in adapter.last("ana").message.text


async def test_talk_to_someone_shows_crisis_lines_first(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"))
    await runtime.engine.run_due()

    await press(runtime, adapter, "ana", adapter.last("ana").message, "Talk to someone")

    reply = adapter.last("ana").message
    assert reply.text.index("116 123") < reply.text.index("Wellbeing Warrior")
    assert [b.label for b in reply.all_buttons] == ["Yes, please", "Not now", "Talk anonymously"]


async def test_a_button_from_someone_elses_checkin_is_refused(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"), person("ben"))
    await runtime.engine.run_due()
    anas = adapter.to("ana", "checkin")[0].message

    await runtime.engine.handle(
        ChoiceSelected("evt-x", "fake", "ben", value=button_value(anas, "5 Great"))
    )

    assert await count(runtime, Mood) == 0
    assert "expired" in adapter.last("ben").message.text


async def test_malformed_button_value_is_handled_kindly(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"))
    await runtime.engine.handle(
        ChoiceSelected("evt-y", "fake", "ana", value="mood:1;DROP TABLE mood")
    )
    assert "expired" in adapter.last("ana").message.text


async def test_crisis_note_gets_crisis_lines_at_once(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"))
    await runtime.engine.run_due()
    await press(runtime, adapter, "ana", adapter.last("ana").message, "2 Low")
    before = len(adapter.sent)

    await say(runtime, adapter, "ana", "honestly I don't see the point of going on")

    first_reply = adapter.sent[before].message
    assert (
        "116 123" in first_reply.text and "85258" in first_reply.text and "999" in first_reply.text
    )


async def test_greeting_is_never_the_same_two_days_running(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    await enrol(runtime, person("ana", team="night"))
    greetings = []
    for _ in range(14):
        runtime_now = clock.now.replace(hour=2, minute=0)
        await runtime.engine.run_due(runtime_now)
        greetings.append(adapter.to("ana", "checkin")[-1].message.text.splitlines()[0])
        clock.advance(days=1)
    assert len(greetings) == 14
    assert all(a != b for a, b in itertools.pairwise(greetings))


async def test_checkin_rows_never_say_who_answered(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("ana"), person("ben"))
    await runtime.engine.run_due()
    await press(runtime, adapter, "ana", adapter.to("ana", "checkin")[0].message, "4 Good")
    await press(runtime, adapter, "ben", adapter.to("ben", "checkin")[0].message, "Skip today")
    async with runtime.db.session() as session:
        rows = (await session.exec(select(Checkin))).all()
    # An answered and a skipped check-in look alike: both simply closed.
    assert {(r.closed_at is not None) for r in rows} == {True}
    assert timedelta(0) <= rows[0].closed_at - rows[1].closed_at <= timedelta(seconds=1)  # type: ignore[operator]


async def test_not_enrolled_people_get_a_polite_reply_and_nothing_is_stored(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await command(runtime, adapter, "stranger", "checkin")
    assert "isn't set up for you yet" in adapter.last("stranger").message.text
    from storage.models import Person, ProcessedEvent

    assert await count(runtime, Person) == 0
    assert await count(runtime, ProcessedEvent) == 0


async def test_a_repeated_event_is_processed_once(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("ana"))
    await runtime.engine.run_due()
    value = button_value(adapter.last("ana").message, "4 Good")
    event = ChoiceSelected("slack-retry-1", "fake", "ana", value=value)
    await runtime.engine.handle(event)
    sent = len(adapter.sent)

    await runtime.engine.handle(event)

    assert len(adapter.sent) == sent
