"""Chat commands: /checkin /pause /resume /optout /optin /support /mytrend /help."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.commands import parse_plain
from bot.settings import CrisisLineSettings, Settings
from kiln.runtime import Runtime, open_runtime
from storage.models import Mood
from tests.bot.helpers import command, press, say
from tests.conftest import TEST_PEPPER, enrol, person
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter


async def test_checkin_command_sends_one_now_and_only_one_a_day(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    clock.set(clock.now.replace(hour=7))  # before the scheduled time
    await enrol(runtime, person("ana"))

    await command(runtime, adapter, "ana", "checkin")
    checkin = adapter.last("ana")
    assert checkin.kind == "checkin" and "Here's a check-in for you now." in checkin.message.text

    await press(runtime, adapter, "ana", checkin.message, "4 Good")
    await command(runtime, adapter, "ana", "checkin")
    assert adapter.last("ana").message.text == "You've already checked in today. Thank you."

    clock.set(clock.now.replace(hour=10))
    assert await runtime.engine.run_due() == 0


async def test_checkin_command_resends_an_unanswered_checkin(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"))
    await runtime.engine.run_due()

    await command(runtime, adapter, "ana", "checkin")

    assert len(adapter.to("ana", "checkin")) == 2
    assert "just above" in adapter.last("ana").message.text


@pytest.mark.parametrize("words", [("pause", "3"), ("plain", "pause 3"), ("plain", "/pause 3")])
async def test_pause_skips_n_days_then_resumes_by_itself(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock, words: tuple[str, str]
) -> None:
    await enrol(runtime, person("ana"))
    if words[0] == "plain":
        await say(runtime, adapter, "ana", words[1])
    else:
        await command(runtime, adapter, "ana", "pause", "3")
    assert "I'll check in again from Thursday 26 November" in adapter.last("ana").message.text

    sent_on = []
    for _ in range(4):
        if await runtime.engine.run_due():
            sent_on.append(clock.now.date())
        clock.advance(days=1)
    assert sent_on == [date(2026, 11, 26)]


async def test_pause_needs_a_sensible_number(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("ana"))
    for args in ((), ("0",), ("365",), ("soon",)):
        await command(runtime, adapter, "ana", "pause", *args)
        assert "how many days to pause, from 1 to 90" in adapter.last("ana").message.text
    assert await runtime.engine.run_due() == 1


async def test_resume_ends_a_pause(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("ana"))
    await command(runtime, adapter, "ana", "resume")
    assert "aren't paused" in adapter.last("ana").message.text
    await command(runtime, adapter, "ana", "pause", "5")
    await command(runtime, adapter, "ana", "resume")
    assert "Welcome back" in adapter.last("ana").message.text
    assert await runtime.engine.run_due() == 1


async def test_optout_stops_scheduled_checkins_and_optin_restarts_them(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    await enrol(runtime, person("ana"))
    await command(runtime, adapter, "ana", "optout")
    assert "opted out" in adapter.last("ana").message.text
    assert await runtime.engine.run_due() == 0

    await command(runtime, adapter, "ana", "optin")
    assert "You're back in" in adapter.last("ana").message.text
    assert await runtime.engine.run_due() == 1


async def test_support_shows_the_regions_crisis_lines_first(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"), person("ciara", region="IE"))

    await command(runtime, adapter, "ana", "support")
    await command(runtime, adapter, "ciara", "support")

    uk = adapter.last("ana").message.text
    assert uk.splitlines()[1:4] == [
        "• Samaritans: call 116 123 (free, day or night)",
        "• SHOUT: text SHOUT to 85258 (free, day or night)",
        "• Emergency: call 999 (if you or someone else is in danger now)",
    ]
    assert "50808" in adapter.last("ciara").message.text


async def test_mytrend_shows_only_the_persons_own_moods(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    ana, ben = await enrol(runtime, person("ana"), person("ben"))
    services = runtime.services
    today = clock.now.date()
    await services.moods.add_many(
        [
            Mood(
                pseudonym=services.pseudonym(ana),
                team="ward",
                local_date=today - timedelta(days=d),
                score=2 + d % 3,
            )
            for d in (1, 2, 3)
        ]
        + [
            Mood(
                pseudonym=services.pseudonym(ben),
                team="ward",
                local_date=today - timedelta(days=1),
                score=5,
            )
        ]
    )

    await command(runtime, adapter, "ana", "mytrend")

    text = adapter.last("ana").message.text
    assert "only you can see these" in text
    assert "Friday 20 November: 2 Low" in text and "Sunday 22 November: 3 Okay" in text
    assert "5 Great" not in text


async def test_mytrend_with_no_answers_is_kind(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("ana"))
    await command(runtime, adapter, "ana", "mytrend")
    assert "haven't answered any check-ins" in adapter.last("ana").message.text


async def test_unknown_commands_get_help(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("ana"))
    await command(runtime, adapter, "ana", "frobnicate")
    text = adapter.last("ana").message.text
    assert text.startswith("Sorry, I don't know that one.") and "/pause 3" in text


async def test_help_lists_every_command(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("ana"))
    await command(runtime, adapter, "ana", "help")
    text = adapter.last("ana").message.text
    for name in (
        "/checkin",
        "/pause",
        "/resume",
        "/optout",
        "/optin",
        "/support",
        "/mytrend",
        "/help",
    ):
        assert name in text


async def test_welsh_speakers_get_welsh(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("dafydd", locale="cy"))
    await command(runtime, adapter, "dafydd", "help")
    assert adapter.last("dafydd").message.text != runtime.services.catalogue.text(
        "en", "commands.help"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pause 3", ("pause", ("3",))),
        ("Help", ("help", ())),
        ("/resume", ("resume", ())),
        ("I need support with my rota", None),
        ("pause for thought", None),
        ("", None),
    ],
)
def test_plain_words_are_commands_only_when_they_are_exactly_a_command(
    text: str, expected: tuple[str, tuple[str, ...]] | None
) -> None:
    known = frozenset({"pause", "help", "resume", "support"})
    assert parse_plain(text, known) == expected


async def test_custom_crisis_lines_are_added_after_the_built_in_ones(
    settings: Settings, adapter: FakeAdapter, clock: FakeClock
) -> None:
    settings.crisis_lines = {
        "UK": [CrisisLineSettings(name="Our EAP", contact="call 0800 000 0000", detail="24/7")]
    }
    rt = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
    try:
        await enrol(rt, person("ana"))
        await command(rt, adapter, "ana", "support")
        text = adapter.last("ana").message.text
        assert text.index("116 123") < text.index("Our EAP: call 0800 000 0000 (24/7)")
    finally:
        await rt.close()
