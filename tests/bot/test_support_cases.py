"""`/cases`, `Close case`, the later check-in with the volunteer, and sharing a note."""

from __future__ import annotations

import asyncio

from bot.mood_signals import trend_calls_for_offer
from storage.models import Mood
from storage.moods import DayMood
from tests.bot.support_kit import World, ask_for_support, organisation, world

__all__ = ["world"]

NOTE = "rota changes again this week, bit tired"  # calls for nothing on its own


async def test_cases_lists_open_cases_and_close_case_checks_in_later(world: World) -> None:
    await organisation(world)
    await world.say("vic", "/cases")
    assert "no open cases" in world.adapter.last("vic").message.text

    await ask_for_support(world)
    await world.press("vic", world.alerts("vic")[0], "I'll reach out")
    await world.say("vic", "/cases")
    case = world.adapter.last("vic").message
    assert "Ana Jones (Fake), taken Monday 23 November at 10:00" in case.text
    assert "asked to talk to someone" in case.text
    assert "Your open cases (1)" in world.adapter.to("vic")[-2].message.text

    await world.press("vic", None, "Close case")
    assert "Case closed" in world.adapter.last("vic").message.text
    await world.press("vic", world.adapter.to("vic")[-2], "Close case")  # again
    assert "already closed" in world.adapter.last("vic").message.text
    await world.say("wyn", "/cases")
    assert "no open cases" in world.adapter.last("wyn").message.text

    await world.tick(minutes=119)
    assert "How are you doing?" not in world.adapter.last("vic").message.text
    await world.restart()  # the check-in is a row, so a restart does not lose it
    await world.tick(minutes=1)
    checkin = world.adapter.last("vic").message
    assert "How are you doing?" in checkin.text
    assert [b.label for b in checkin.all_buttons] == ["Talk to someone"]
    await world.tick(hours=3)
    assert len([s for s in world.adapter.to("vic") if "How are you" in s.message.text]) == 1

    await world.press("vic", None, "Talk to someone")  # carers get the same support
    assert "116 123" in world.adapter.last("vic").message.text


async def test_someone_else_cannot_close_a_case(world: World) -> None:
    await organisation(world)
    await ask_for_support(world)
    await world.press("vic", world.alerts("vic")[0], "I'll reach out")
    await world.press("wyn", world.adapter.last("vic"), "Close case")
    assert "isn't yours to close" in world.adapter.last("wyn").message.text
    assert (await world.request()).status == "claimed"


async def _low_mood_with_note(world: World) -> None:
    await organisation(world)
    await world.rt.engine.run_due()
    await world.press("ana", None, "2 Low")
    await world.say("ana", NOTE)
    await world.press("ana", world.adapter.to("ana")[-2], "Yes, please")


async def test_a_shared_note_reaches_only_the_volunteer_who_claims(world: World) -> None:
    await _low_mood_with_note(world)
    assert NOTE not in world.alerts("vic")[0].message.text
    await world.press("ana", None, "Share what I wrote")
    assert "when they take your request" in world.adapter.last("ana").message.text
    assert (await world.request()).share_note is True

    await world.tick(minutes=15)  # Vic lets it pass; Wyn takes it
    await world.press("wyn", world.alerts("wyn")[0], "I'll reach out")

    assert NOTE in world.adapter.last("wyn").message.text
    assert not any(NOTE in s.message.text for s in world.adapter.sent if s.recipient != "wyn")
    await world.rt.db.dispose()
    files = await asyncio.to_thread(
        lambda: [p.read_bytes() for p in world.settings.pepper_file.parent.glob("kiln.db*")]
    )
    assert files and all(NOTE.encode() not in content for content in files)


async def test_a_private_note_stays_private(world: World) -> None:
    await _low_mood_with_note(world)
    await world.press("ana", None, "Keep it private")
    assert "stays private" in world.adapter.last("ana").message.text
    await world.press("vic", world.alerts("vic")[0], "I'll reach out")
    assert not any(NOTE in s.message.text for s in world.adapter.sent if s.recipient != "ana")


async def test_after_a_restart_the_note_is_gone_and_the_volunteer_is_told(world: World) -> None:
    await _low_mood_with_note(world)
    await world.press("ana", None, "Share what I wrote")
    await world.restart()
    await world.press("vic", world.alerts("vic")[0], "I'll reach out")
    assert "no longer have it" in world.adapter.last("vic").message.text


async def test_a_note_after_yes_gets_the_question_then(world: World) -> None:
    await organisation(world)
    await world.rt.engine.run_due()
    await world.press("ana", None, "1 Struggling")
    await world.press("ana", None, "Yes, please")
    assert "letting a Wellbeing Warrior know" in world.adapter.last("ana").message.text

    await world.say("ana", NOTE)

    asked = world.adapter.to("ana")[-2].message
    assert [b.label for b in asked.all_buttons] == ["Share what I wrote", "Keep it private"]
    await world.press("vic", world.alerts("vic")[0], "I'll reach out")
    await world.press("ana", world.adapter.to("ana")[-3], "Share what I wrote")
    assert NOTE in world.adapter.last("vic").message.text
    assert "I've shown them what you wrote" in world.adapter.last("ana").message.text


def _history(*scores: int, end: int = 22) -> list[DayMood]:
    from datetime import date

    return [DayMood(date(2026, 11, end - len(scores) + 1 + i), s) for i, s in enumerate(scores)]


def test_trend_rule() -> None:
    from datetime import date

    today = date(2026, 11, 23)
    assert trend_calls_for_offer(_history(2, 1), today, 2)  # three low in a row
    assert not trend_calls_for_offer(_history(2, 3), today, 2)
    assert not trend_calls_for_offer(_history(1), today, 2)  # only two answers
    assert trend_calls_for_offer(_history(5, 5, 5, 5), today, 3)  # 2 below her own mean
    assert not trend_calls_for_offer(_history(5, 4, 5, 4), today, 3)
    assert not trend_calls_for_offer(_history(5, 5), today, 3)  # too few to compare
    old = [DayMood(date(2026, 11, 1), 5)] * 5  # older than 14 days: ignored
    assert not trend_calls_for_offer(old, today, 3)


async def test_a_drop_against_the_persons_own_mean_brings_the_offer(world: World) -> None:
    await organisation(world)
    ana = await world.rt.services.people.find("fake", "ana")
    assert ana is not None
    pseudonym = world.rt.services.pseudonym(ana)
    await world.rt.services.moods.add_many(
        [
            Mood(pseudonym=pseudonym, team="ward", local_date=d.local_date, score=5)
            for d in _history(5, 5, 5, 5, 5)
        ]
    )
    await world.rt.engine.run_due()
    await world.press("ana", None, "3 Okay")

    reply = world.adapter.last("ana").message
    assert "lower than usual for you" in reply.text
    assert [b.label for b in reply.all_buttons][:3] == [
        "Yes, please",
        "Not now",
        "Talk anonymously",
    ]
    await world.press("ana", None, "Yes, please")
    assert (await world.request()).reason == "trend"
    assert "lower than usual" in world.alerts("vic")[0].message.text
