"""Who may do what: staff cannot see team figures, claim alerts or read cases; a
volunteer sees only their own cases; a manager sees only the teams they manage."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from bot.events import ChoiceSelected
from storage.signin import SigninLink
from tests.bot.helpers import button_value
from tests.bot.support_kit import World, ask_for_support, organisation, volunteer, world
from tests.conftest import person

__all__ = ["world"]


async def _links(world: World) -> int:
    async with world.rt.db.session() as session:
        return int((await session.exec(select(func.count()).select_from(SigninLink))).one())


def _everything_to(world: World, user: str) -> str:
    return "\n".join(sent.message.text for sent in world.adapter.to(user))


async def test_staff_cannot_trigger_teammood_or_get_a_dashboard_link(world: World) -> None:
    await world.enrol(
        person("sam", display_name="Sam Staff"),
        person("meg", roles="staff;manager", manages="ward", display_name="Meg Manager"),
        volunteer("vic", "pharmacy"),
    )
    for user in ("sam", "vic"):
        for name in ("teammood", "dashboard", "TEAMMOOD"):
            await world.say(user, f"/{name}")
            reply = world.adapter.last(user).message
            assert reply.text.startswith("Sorry, team mood and the dashboard are only for managers")
            assert reply.attachment is None and "/signin/" not in reply.text
    assert await _links(world) == 0

    await world.say("meg", "/dashboard")  # the same command works for the manager
    assert "/signin/" in world.adapter.last("meg").message.text
    assert await _links(world) == 1


async def test_staff_cannot_claim_an_alert_even_holding_its_button(world: World) -> None:
    await organisation(world)
    await world.enrol(person("sam", display_name="Sam Staff"))
    await ask_for_support(world)
    stolen = button_value(world.alerts("vic")[0].message, "I'll reach out")

    for attempt in range(3):
        await world.rt.engine.handle(ChoiceSelected(f"steal{attempt}", "fake", "sam", value=stolen))

    assert (await world.request()).status == "open"
    assert "no longer open" in world.adapter.last("sam").message.text
    assert "Ana" not in _everything_to(world, "sam")
    assert world.alerts("sam") == []


async def test_staff_cannot_read_or_close_cases(world: World) -> None:
    await organisation(world)
    await world.enrol(person("sam", display_name="Sam Staff"))
    await ask_for_support(world)
    await world.press("vic", world.alerts("vic")[0], "I'll reach out")
    await world.say("vic", "/cases")
    case = world.adapter.last("vic").message
    close = button_value(case, "Close case")

    await world.say("sam", "/cases")
    assert "for Wellbeing Warriors" in world.adapter.last("sam").message.text
    await world.rt.engine.handle(ChoiceSelected("forged-close", "fake", "sam", value=close))

    assert (await world.request()).status == "claimed"
    assert "Ana" not in _everything_to(world, "sam")


async def test_a_volunteer_sees_only_their_own_cases(world: World) -> None:
    await organisation(world)
    await world.enrol(person("bea", display_name="Bea Evans"))
    await ask_for_support(world, "ana")
    await world.press("vic", world.alerts("vic")[-1], "I'll reach out")
    await ask_for_support(world, "bea")
    # Vic now has a case, so the fewest-open-cases rule asks Wyn about Bea.
    assert "Bea Evans" in world.alerts("wyn")[-1].message.text
    await world.press("wyn", world.alerts("wyn")[-1], "I'll reach out")

    for user, own, other in (("vic", "Ana Jones", "Bea Evans"), ("wyn", "Bea Evans", "Ana Jones")):
        world.adapter.clear()
        await world.say(user, "/cases")
        listed = _everything_to(world, user)
        assert "Your open cases (1)" in listed
        assert own in listed and other not in listed
    await world.say("xan", "/cases")
    assert "no open cases" in world.adapter.last("xan").message.text

    # Wyn pressing Vic's `Close case` changes nothing.
    world.adapter.clear()
    await world.say("vic", "/cases")
    vic_close = button_value(world.adapter.last("vic").message, "Close case")
    await world.rt.engine.handle(ChoiceSelected("wyn-close", "fake", "wyn", value=vic_close))
    assert "isn't yours to close" in world.adapter.last("wyn").message.text
