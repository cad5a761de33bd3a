"""Enrolment by invite code, in the engine: single use, expiry, kind refusals, timezones."""

from __future__ import annotations

import asyncio
import hashlib

from sqlmodel import func, select

from bot.enrolment import CODE_PATTERN, TIMEZONE_OTHER, hash_code, well_formed
from bot.events import ChoiceSelected, CommandReceived
from bot.settings import Settings, TeamSettings
from kiln.runtime import Runtime
from storage.invites import Invite
from storage.models import Person, ProcessedEvent
from tests.bot.helpers import command
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter


def start(adapter: FakeAdapter, user: str, *args: str, **who: str) -> CommandReceived:
    who.setdefault("display_name", "Nia Hughes")
    return CommandReceived(adapter.next_event_id(), "fake", user, name="start", args=args, **who)


async def invite(runtime: Runtime, team: str = "ward", count: int = 1) -> list[str]:
    made = await runtime.engine.enrolment.create_invites(team, count, "fake")
    return list(made.codes)


async def stored(runtime: Runtime) -> tuple[int, int]:
    """(people, processed events) in the database."""
    async with runtime.db.session() as session:
        people = (await session.exec(select(func.count()).select_from(Person))).one()
        events = (await session.exec(select(func.count()).select_from(ProcessedEvent))).one()
    return people, events


async def test_codes_are_random_url_safe_short_and_stored_only_as_hashes(
    runtime: Runtime, clock: FakeClock
) -> None:
    codes = await invite(runtime, count=5)

    async with runtime.db.session() as session:
        rows = (await session.exec(select(Invite))).all()
    assert len(set(codes)) == 5
    assert all(CODE_PATTERN.fullmatch(code) and len(code) <= 64 for code in codes)
    assert sorted(row.code_hash for row in rows) == sorted(
        hashlib.sha256(code.encode()).hexdigest() for code in codes
    )
    assert all(row.team == "ward" and row.used_at is None for row in rows)
    assert {
        (row.expires_at.replace(tzinfo=None) - clock.now.replace(tzinfo=None)).days for row in rows
    } == {7}


async def test_start_with_a_good_code_enrols_welcomes_and_asks_the_timezone(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    [code] = await invite(runtime)

    await runtime.engine.handle(start(adapter, "u1", code, locale="cy-GB"))

    person = await runtime.services.people.find("fake", "u1")
    assert person is not None
    assert (person.display_name, person.team, person.locale, person.region, person.roles) == (
        "Nia Hughes",
        "ward",
        "cy",
        "UK",
        "staff",
    )
    welcome, question = adapter.to("u1")
    assert welcome.message.text.startswith("Croeso, Nia!")
    assert question.message.text.startswith("Un peth arall: ym mha gylchfa amser")
    assert [(b.label, b.value) for b in question.message.all_buttons] == [
        ("London", "tz:Europe/London"),
        ("Dublin", "tz:Europe/Dublin"),
        ("Paris", "tz:Europe/Paris"),
        ("Rhywle arall", TIMEZONE_OTHER),
    ]


async def test_a_team_with_a_timezone_is_not_asked_and_other_locales_fall_back(
    runtime: Runtime, adapter: FakeAdapter, settings: Settings
) -> None:
    settings.teams["dublin-ward"] = TeamSettings(timezone="Europe/Dublin")
    [code] = await invite(runtime, "dublin-ward")

    await runtime.engine.handle(start(adapter, "u1", code, locale="de"))

    person = await runtime.services.people.find("fake", "u1")
    assert person is not None and person.locale == "en" and person.timezone is None
    [welcome] = adapter.to("u1")
    assert welcome.message.text.startswith("Welcome, Nia! You're all set up")


async def test_expired_used_malformed_and_unknown_codes_are_refused_kindly(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    old, fresh = await invite(runtime, count=2)
    await runtime.engine.handle(start(adapter, "first", fresh))
    clock.advance(days=7, minutes=1)
    before = await stored(runtime)

    cases = {
        "late": (old, "Sorry, that invite link has expired."),
        "second": (fresh, "Sorry, that invite link has already been used."),
        "typo": ("abc", "Sorry, I don't recognise that invite link."),
        "long": ("a" * 65, "Sorry, I don't recognise that invite link."),
        "odd": ("bad$code!bad$code!", "Sorry, I don't recognise that invite link."),
        "made-up": ("Q" * 32, "Sorry, I don't recognise that invite link."),
    }
    for user, (code, reply) in cases.items():
        await runtime.engine.handle(start(adapter, user, code))
        [answer] = adapter.to(user)
        assert answer.message.text.startswith(reply), user
        assert "Nothing about you has been saved." in answer.message.text
        assert await runtime.services.people.find("fake", user) is None

    assert await stored(runtime) == before  # no person, no event id, nothing
    async with runtime.db.session() as session:
        unused = (await session.exec(select(Invite).where(Invite.used_at == None))).all()  # noqa: E711
    assert [row.code_hash for row in unused] == [hash_code(old)]  # expired, still unspent


async def test_start_without_a_code_from_a_stranger_gets_the_not_enrolled_reply(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await runtime.engine.handle(start(adapter, "stranger"))

    [reply] = adapter.to("stranger")
    assert reply.message.text.startswith("Hello! kiln isn't set up for you yet.")
    assert await stored(runtime) == (0, 0)


async def test_a_redelivered_start_is_handled_once_and_start_later_says_already_set_up(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    first, second = await invite(runtime, count=2)
    event = start(adapter, "u1", first)

    await runtime.engine.handle(event)
    await runtime.engine.handle(event)  # the platform retried
    assert len(adapter.to("u1")) == 2  # welcome and timezone question, once

    await runtime.engine.handle(start(adapter, "u1", second))
    reply = adapter.last("u1").message.text
    assert reply.startswith("You're already set up for check-ins")
    assert "Here's what I can do" in reply
    await runtime.engine.handle(start(adapter, "u2", second))  # so it was not spent
    assert await runtime.services.people.find("fake", "u2") is not None


async def test_two_people_racing_for_one_code_enrol_exactly_one(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    [code] = await invite(runtime)

    await asyncio.gather(*(runtime.engine.handle(start(adapter, f"r{n}", code)) for n in range(4)))

    enrolled = [
        u for u in ("r0", "r1", "r2", "r3") if await runtime.services.people.find("fake", u)
    ]
    assert len(enrolled) == 1
    refused = [u for u in ("r0", "r1", "r2", "r3") if u not in enrolled]
    for user in refused:
        [reply] = adapter.to(user)
        assert "already been used" in reply.message.text


async def test_the_timezone_buttons_and_the_timezone_command(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    [code] = await invite(runtime)
    await runtime.engine.handle(start(adapter, "u1", code))
    question = adapter.last("u1")

    async def press(value: str, ref: str | None) -> None:
        await runtime.engine.handle(
            ChoiceSelected(adapter.next_event_id(), "fake", "u1", value=value, message_ref=ref)
        )

    await press(TIMEZONE_OTHER, question.ref)
    assert "/timezone Europe/Paris" in adapter.last("u1").message.text
    await press("tz:Europe/Paris", question.ref)
    edit = adapter.last("u1")
    assert (edit.kind, edit.ref, edit.message.buttons) == ("update", question.ref, ())
    assert edit.message.text == "Thanks. Your check-ins will follow Europe/Paris time."
    await press("tz:Atlantis/Lost", None)
    assert adapter.last("u1").message.text.startswith("Sorry, that button has expired.")

    await command(runtime, adapter, "u1", "timezone", "america/new_york")
    assert adapter.last("u1").message.text.endswith("follow America/New_York time.")
    await command(runtime, adapter, "u1", "timezone", "Mars/Olympus")
    assert "don't know a timezone called Mars/Olympus" in adapter.last("u1").message.text
    await command(runtime, adapter, "u1", "timezone")
    assert adapter.last("u1").message.all_buttons[0].value == "tz:Europe/London"

    person = await runtime.services.people.find("fake", "u1")
    assert person is not None and person.timezone == "America/New_York"


async def test_the_timezone_choice_follows_the_default_region(
    runtime: Runtime, adapter: FakeAdapter, settings: Settings
) -> None:
    settings.default_region = "US-CA"
    settings.default_timezone = "America/Los_Angeles"
    [code] = await invite(runtime)

    await runtime.engine.handle(start(adapter, "u1", code))

    labels = [b.label for b in adapter.last("u1").message.all_buttons]
    assert labels == ["Los Angeles", "New York", "Chicago", "Denver", "Somewhere else"]


def test_well_formed_codes() -> None:
    assert well_formed("Zk3vQ9x_Lr2-Tb8nWc5dYh1JpA7sKe0u")
    assert not well_formed("short")
    assert not well_formed("x" * 65)
    assert not well_formed("has space in it!")
