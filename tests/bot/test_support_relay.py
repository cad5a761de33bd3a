"""The anonymous relay: both ways without names, `reveal` shares the name, `end` closes it."""

from __future__ import annotations

import asyncio

from storage.support import RelaySession
from tests.bot.support_kit import CHANNEL, World, ask_for_support, organisation, world
from tests.conftest import person

__all__ = ["world"]

SECRET = "my manager keeps changing the rota and I can't sleep"


async def _connected(world: World) -> None:
    await organisation(world)
    await ask_for_support(world, label="Talk anonymously")
    alert = world.alerts("vic")[0].message.text
    assert "anonymously" in alert and "Ana" not in alert and "Jones" not in alert
    assert "stay anonymous" in world.adapter.last("ana").message.text
    await world.press("vic", world.alerts("vic")[0], "I'll reach out")


async def test_messages_pass_both_ways_without_names(world: World) -> None:
    await _connected(world)
    to_ana = world.adapter.last("ana").message
    assert "A Wellbeing Warrior is here" in to_ana.text and "Vic" not in to_ana.text
    assert [b.label for b in to_ana.all_buttons] == ["Share my name", "End chat"]
    assert "connected anonymously" in world.adapter.last("vic").message.text

    await world.say("ana", SECRET)
    await world.say("vic", "I'm glad you said. Do you want to talk it through?")

    assert world.adapter.last("vic").message.text == f"Colleague: {SECRET}"
    assert world.adapter.last("ana").message.text == (
        "Wellbeing Warrior: I'm glad you said. Do you want to talk it through?"
    )
    for user in ("ana", "vic"):
        texts = " ".join(s.message.text for s in world.adapter.to(user))
        other = "Vic Hale" if user == "ana" else "Ana Jones"
        assert other not in texts


async def test_reveal_shares_the_name_and_end_closes_the_chat(world: World) -> None:
    await _connected(world)

    await world.say("ana", "reveal")
    assert "Ana Jones (Fake)" in world.adapter.last("vic").message.text
    assert "shared your name" in world.adapter.last("ana").message.text
    await world.say("ana", "reveal")
    assert "already know your name" in world.adapter.last("ana").message.text

    await world.say("vic", "end")
    assert "has ended the conversation" in world.adapter.last("ana").message.text
    assert "conversation has ended" in world.adapter.last("vic").message.text
    request = await world.request()
    assert request.status == "closed"

    await world.say("ana", "hello?")  # no longer relayed
    assert world.adapter.last("vic").message.text.startswith("The conversation has ended")
    assert "Send /checkin" in world.adapter.last("ana").message.text


async def test_the_person_can_end_with_the_button_and_the_volunteer_is_checked_on(
    world: World,
) -> None:
    await _connected(world)
    await world.press("ana", None, "End chat")
    assert "ended the conversation, and I've closed the case" in (
        world.adapter.last("vic").message.text
    )
    await world.tick(hours=2)
    assert "How are you doing?" in world.adapter.last("vic").message.text


async def test_crisis_words_in_the_relay_still_bring_the_lines_first(world: World) -> None:
    await _connected(world)
    before = len(world.adapter.sent)
    await world.say("ana", "honestly I don't see the point of going on")
    first = world.adapter.sent[before]
    assert first.recipient == "ana" and "116 123" in first.message.text
    assert world.adapter.last("vic").message.text.startswith("Colleague: honestly")


async def test_relay_text_is_never_stored(world: World) -> None:
    await _connected(world)
    await world.say("ana", SECRET)
    await world.rt.db.dispose()
    files = await asyncio.to_thread(
        lambda: [p.read_bytes() for p in world.rt.settings.pepper_file.parent.glob("kiln.db*")]
    )
    assert files and all(SECRET.encode() not in content for content in files)


async def test_quiet_chats_end_by_themselves(world: World) -> None:
    await _connected(world)
    await world.tick(hours=25)
    assert "long quiet spell" in world.adapter.last("ana").message.text
    assert await world.count(RelaySession) == 1
    assert (await world.request()).status == "closed"


async def test_closing_an_anonymous_case_ends_the_chat(world: World) -> None:
    await _connected(world)
    await world.say("vic", "/cases")
    await world.press("vic", None, "Close case")
    assert "Case closed" in world.adapter.last("vic").message.text
    assert "has ended the conversation" in world.adapter.last("ana").message.text


async def test_a_volunteer_holds_one_anonymous_chat_at_a_time(world: World) -> None:
    await _connected(world)  # Vic is chatting with Ana
    await world.enrol(person("ben", display_name="Ben Ode"))
    await ask_for_support(world, "ben", label="Talk anonymously")
    assert len(world.alerts("vic")) == 1  # routing skips Vic: Wyn is asked
    assert len(world.alerts("wyn")) == 1
    await world.tick(minutes=15)  # Wyn lets it pass, then Xan: it reaches the channel
    await world.tick(minutes=15)
    [posted] = world.alerts(CHANNEL)

    await world.press("vic", posted, "I'll reach out")  # Vic tries from the channel

    assert "already in an anonymous chat" in world.adapter.last("vic").message.text
    await world.say("vic", "still here for you")
    assert world.adapter.last("ana").message.text == "Wellbeing Warrior: still here for you"


async def test_every_identity_reveal_is_audited_without_the_data(world: World) -> None:
    await _connected(world)
    assert [e.action for e in await world.rt.services.audit.since()] == []

    await world.say("ana", "reveal")

    (entry,) = await world.rt.services.audit.since()
    ana = await world.rt.services.people.find("fake", "ana")
    assert (entry.action, entry.subject) == ("reveal", "name shown in anonymous chat")
    assert ana is not None and entry.actor_person_id == entry.subject_person_id == ana.id


async def test_a_named_request_is_audited_as_a_reveal(world: World) -> None:
    await organisation(world)
    await ask_for_support(world, label="Yes, please")

    entries = await world.rt.services.audit.since()
    assert [(e.action, e.subject) for e in entries] == [("reveal", "named support request")]
