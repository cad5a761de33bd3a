"""Signals into support, consent, the alert and the claim (issue 5, items 2-4)."""

from __future__ import annotations

import asyncio
from datetime import time
from pathlib import Path

import pytest

from bot.events import ChoiceSelected
from bot.settings import ConfigError, load_settings
from storage.support import OutboxItem, SupportAlert, SupportEvent, SupportRequest
from tests.bot.helpers import button_value, command
from tests.bot.support_kit import CHANNEL, World, ask_for_support, organisation, world
from tests.conftest import person

__all__ = ["world"]

CRISIS_NOTE = "honestly I don't see the point of going on"
DISTRESS_NOTE = "I'm exhausted and overwhelmed, can't cope with this rota"


async def _start(world: World, entry: str) -> int:
    """Reach the moment before the signal; returns how many sends happened so far."""
    if entry in ("note", "talk"):
        await world.rt.engine.run_due()
    if entry == "note":
        await world.press("ana", None, "2 Low")
    return len(world.adapter.sent)


async def _signal(world: World, entry: str) -> None:
    if entry == "note" or entry == "plain":
        await world.say("ana", CRISIS_NOTE)
    elif entry == "support":
        await command(world.rt, world.adapter, "ana", "support")
    else:
        checkin = world.adapter.to("ana", "checkin")[-1]
        await world.press("ana", checkin, "Talk to someone")


@pytest.mark.parametrize("entry", ["note", "plain", "support", "talk"])
async def test_crisis_lines_come_first_and_nobody_learns_anything_before_consent(
    world: World, entry: str
) -> None:
    await organisation(world)
    before = await _start(world, entry)

    await _signal(world, entry)

    first = world.adapter.sent[before]
    assert first.recipient == "ana" and first.kind == "message"
    assert first.message.text.index("116 123") < first.message.text.index("Wellbeing Warrior")
    assert [b.label for b in first.message.all_buttons] == [
        "Yes, please",
        "Not now",
        "Talk anonymously",
    ]
    # Before consent: no row of the support flow, nothing queued, nothing to any volunteer.
    for table in (SupportRequest, SupportAlert, OutboxItem, SupportEvent):
        assert await world.count(table) == 0
    assert all(s.recipient == "ana" for s in world.adapter.sent[before:])


async def test_crisis_lines_use_the_persons_region(world: World) -> None:
    await world.enrol(person("ciara", region="IE"), person("sam", region="AU"))
    await world.say("ciara", CRISIS_NOTE)
    await world.say("sam", CRISIS_NOTE)
    assert "50808" in world.adapter.last("ciara").message.text
    assert "13 11 14" in world.adapter.last("sam").message.text


async def test_yes_alerts_one_volunteer_with_name_and_reason_but_not_the_note(
    world: World,
) -> None:
    await organisation(world)
    await world.say("ana", CRISIS_NOTE)

    await world.press("ana", None, "Yes, please")

    alerts = [s for s in world.adapter.sent if s.kind == "alert"]
    assert [a.recipient for a in alerts] == ["vic"]
    text = alerts[0].message.text
    assert "Ana Jones (Fake)" in text and "crisis" in text and "5 minutes" in text
    assert CRISIS_NOTE not in text
    assert [b.label for b in alerts[0].message.all_buttons] == ["I'll reach out", "Can't right now"]
    request = await world.request()
    assert request.reason == "crisis" and request.urgent and request.status == "open"
    # The person hears that someone is being told, and is asked about their note.
    reply = world.adapter.last("ana").message
    assert "letting a Wellbeing Warrior know" in reply.text
    assert [b.label for b in reply.all_buttons] == ["Share what I wrote", "Keep it private"]


@pytest.mark.parametrize(
    ("action", "reason"),
    [("support", "asked"), ("distress", "distress"), ("low", "low_mood")],
)
async def test_each_signal_carries_its_reason(world: World, action: str, reason: str) -> None:
    await organisation(world)
    if action == "support":
        await command(world.rt, world.adapter, "ana", "support")
    elif action == "distress":
        await world.say("ana", DISTRESS_NOTE)
        assert "hard" in world.adapter.last("ana").message.text
    else:
        await world.rt.engine.run_due()
        await world.press("ana", None, "1 Struggling")
    await world.press("ana", None, "Yes, please")
    request = await world.request()
    assert request.reason == reason and not request.urgent
    assert "15 minutes" in world.alerts("vic")[0].message.text


async def test_not_now_stores_nothing_and_keeps_the_offer_open(world: World) -> None:
    await organisation(world)
    await ask_for_support(world, label="Not now")
    assert "send /support any time" in world.adapter.last("ana").message.text
    assert await world.count(SupportRequest) == 0
    assert not [s for s in world.adapter.sent if s.kind == "alert"]


async def test_a_second_yes_does_not_open_a_second_request(world: World) -> None:
    await organisation(world)
    await ask_for_support(world)
    await ask_for_support(world)
    assert await world.count(SupportRequest) == 1
    assert len(world.alerts("vic")) == 1
    assert "already with our Wellbeing Warriors" in world.adapter.last("ana").message.text


async def test_claim_tells_the_person_who_and_records_time_to_first_contact(
    world: World,
) -> None:
    await organisation(world)
    await ask_for_support(world)
    world.clock.advance(minutes=3)

    await world.press("vic", world.alerts("vic")[0], "I'll reach out")

    request = await world.request()
    assert request.status == "claimed" and request.first_contact_seconds == 180
    assert "Vic Hale" in world.adapter.last("ana").message.text
    confirmed = world.adapter.last("vic").message
    assert "Ana Jones (Fake)" in confirmed.text
    assert [b.label for b in confirmed.all_buttons] == ["Close case"]
    history = [kind for kind, _ in await world.rt.engine.care.requests.history(request.id or 0)]
    assert history == ["requested", "alerted", "claimed"]
    contacts = await world.rt.engine.care.requests.first_contact(world.clock.now.replace(hour=0))
    assert [(c.team, c.seconds) for c in contacts] == [("ward", 180)]


async def test_claim_race_one_wins_and_the_other_is_told(world: World) -> None:
    await organisation(world)
    await ask_for_support(world)
    await world.tick(minutes=15)  # Vic did not answer in time: Wyn is asked too
    assert len(world.alerts("wyn")) == 1
    vic_value = button_value(world.alerts("vic")[0].message, "I'll reach out")
    wyn_value = button_value(world.alerts("wyn")[0].message, "I'll reach out")

    # Both press at the same moment.
    await asyncio.gather(
        world.rt.engine.handle(ChoiceSelected("race-1", "fake", "vic", value=vic_value)),
        world.rt.engine.handle(ChoiceSelected("race-2", "fake", "wyn", value=wyn_value)),
    )

    request = await world.request()
    winner = "vic" if request.claimed_by == (await _id(world, "vic")) else "wyn"
    loser = "wyn" if winner == "vic" else "vic"
    assert "Ana Jones (Fake)" in world.adapter.last(winner).message.text
    told = [s.message.text for s in world.adapter.to(loser, "message")]
    assert told and all("taken" in text for text in told)
    claimed_notes = [s for s in world.adapter.to("ana") if "will get in touch" in s.message.text]
    assert len(claimed_notes) == 1


async def test_only_one_claim_wins_in_the_database_itself(world: World) -> None:
    await organisation(world)
    await ask_for_support(world)
    request = await world.request()
    care = world.rt.engine.care
    vic, wyn = await _id(world, "vic"), await _id(world, "wyn")
    results = await asyncio.gather(
        care.alerts.claim(request.id or 0, vic, world.clock.now, []),
        care.alerts.claim(request.id or 0, wyn, world.clock.now, []),
    )
    assert sorted(r is not None for r in results) == [False, True]


async def test_cant_right_now_passes_to_the_next_volunteer_at_once(world: World) -> None:
    await organisation(world)
    await ask_for_support(world)

    await world.press("vic", world.alerts("vic")[0], "Can't right now")

    assert "asking someone else" in world.adapter.last("vic").message.text
    assert len(world.alerts("wyn")) == 1
    # A late press of the passed alert cannot take it back.
    await world.press("vic", world.alerts("vic")[0], "Can't right now")
    assert "already moved on" in world.adapter.last("vic").message.text


async def test_someone_who_was_not_alerted_cannot_claim(world: World) -> None:
    await organisation(world)
    await ask_for_support(world)
    stolen = button_value(world.alerts("vic")[0].message, "I'll reach out")
    await world.rt.engine.handle(ChoiceSelected("steal", "fake", "xan", value=stolen))
    assert (await world.request()).status == "open"
    assert "no longer open" in world.adapter.last("xan").message.text


async def test_escalation_message_can_be_claimed_from_the_channel(world: World) -> None:
    await world.enrol(person("ana", display_name="Ana Jones"), person("lead", team="hr"))
    await ask_for_support(world)  # no volunteers at all: straight to the channel

    posted = world.alerts(CHANNEL)
    assert len(posted) == 1 and "Ana Jones (Fake)" in posted[0].message.text
    await world.press("lead", posted[0], "I'll reach out")

    assert (await world.request()).status == "claimed"
    assert "has been taken" in world.alerts(CHANNEL)[-1].message.text


async def _id(world: World, user: str) -> int:
    found = await world.rt.services.people.find("fake", user)
    assert found is not None and found.id is not None
    return found.id


def test_support_button_values_round_trip_and_fit_telegram() -> None:
    from bot.choices import Action, Choice, decode

    for action in (Action.CLAIM, Action.DECLINE, Action.CLOSE_CASE, Action.REVEAL):
        value = Choice(action, 2**40).encode()
        assert decode(value) == Choice(action, 2**40)
        assert len(value.encode("ascii")) <= 64
    offer = Choice(Action.OFFER_YES, detail="low_mood")
    assert decode(offer.encode()) == offer
    assert decode("yes:0") == Choice(Action.OFFER_YES)  # buttons sent before this release
    assert decode("yes:0:DROP TABLE") is None
    assert decode("claim:1:crisis") is None


def test_support_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "kiln.toml"
    config.write_text(
        '[support]\nescalation_channel = "slack:C0123ABC"\nvolunteer_from = "07:00"\n'
    )
    loaded = load_settings(config, environ={"KILN_SUPPORT__CLAIM_TIMEOUT_MINUTES": "10"})
    support = loaded.support
    assert support.escalation_channel == "slack:C0123ABC"
    assert (support.claim_timeout_minutes, support.crisis_claim_timeout_minutes) == (10, 5)
    assert support.volunteer_from == time(7, 0) and support.volunteer_checkin_minutes == 120

    config.write_text('[support]\nescalation_channel = "C0123ABC"\n')
    with pytest.raises(ConfigError, match=r"support\.escalation_channel.*platform:destination"):
        load_settings(config, environ={})
