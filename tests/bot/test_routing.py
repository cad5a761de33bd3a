"""Routing: who is asked first, who never is, and when volunteers are available."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.availability import end_of_local_day, in_hours, is_available
from bot.routing import Candidate, choose
from bot.settings import SupportSettings
from storage.models import Person
from storage.support import VolunteerStatus
from storage.support_alerts import VolunteerLoad
from tests.bot.support_kit import CHANNEL, World, ask_for_support, volunteer, world
from tests.conftest import person

__all__ = ["world"]

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC
T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def _p(pid: int, team: str, **values: object) -> Person:
    return Person(id=pid, platform="fake", platform_user_id=f"u{pid}", display_name=f"P{pid}",
                  team=team, **values)  # fmt: skip


def _c(p: Person, cases: int = 0, alerted: dt.datetime | None = None, recent: int = 0,
       available: bool = True) -> Candidate:  # fmt: skip
    return Candidate(p, VolunteerLoad(cases, alerted, recent), available)


ANA = _p(1, "ward")


def _choose(*candidates: Candidate, tried: set[int] | None = None, cap: int = 5) -> int | None:
    chosen = choose(ANA, candidates, tried=tried or set(), busy=set(), daily_cap=cap)
    return chosen.id if chosen else None


def test_fewest_open_cases_first_then_least_recently_alerted() -> None:
    a, b, c = _p(2, "x"), _p(3, "y"), _p(4, "z")
    assert _choose(_c(a, cases=2), _c(b, cases=1), _c(c, cases=1, alerted=T0)) == 3
    assert _choose(_c(a, alerted=T0), _c(b, alerted=T0 - dt.timedelta(hours=1))) == 3
    assert _choose(_c(a, alerted=T0), _c(b)) == 3  # never alerted beats alerted


def test_never_the_persons_manager_even_when_nobody_else_is_free() -> None:
    boss = _p(2, "admin", roles="staff;volunteer;manager", manages="ward;theatres")
    other_boss = _p(3, "admin", roles="staff;volunteer;manager", manages="theatres")
    assert _choose(_c(boss)) is None
    assert _choose(_c(boss), _c(other_boss)) == 3


def test_same_team_only_when_nobody_else_is_free() -> None:
    teammate, outsider = _p(2, "ward"), _p(3, "pharmacy")
    assert _choose(_c(teammate), _c(outsider, cases=3)) == 3
    assert _choose(_c(teammate), _c(outsider, available=False)) == 2


def test_unavailable_tried_capped_unreachable_and_the_person_are_skipped() -> None:
    vols = [_p(i, "pharmacy") for i in range(2, 6)]
    gone = _p(6, "pharmacy", undeliverable=True)
    candidates = [
        _c(vols[0], available=False),
        _c(vols[1], recent=5),
        _c(vols[2]),
        Candidate(vols[3], VolunteerLoad(), True, reachable=False),
        _c(gone),
        _c(ANA),
    ]
    assert _choose(*candidates, tried={4}) is None
    assert _choose(*candidates) == 4


SUPPORT = SupportSettings()


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (dt.datetime(2026, 11, 23, 8, 0, tzinfo=LONDON), True),  # Monday 08:00
        (dt.datetime(2026, 11, 23, 17, 59, tzinfo=LONDON), True),
        (dt.datetime(2026, 11, 23, 18, 0, tzinfo=LONDON), False),
        (dt.datetime(2026, 11, 23, 7, 59, tzinfo=LONDON), False),
        (dt.datetime(2026, 11, 28, 12, 0, tzinfo=LONDON), False),  # Saturday
    ],
)
def test_usual_hours(local: dt.datetime, expected: bool) -> None:
    assert in_hours(SUPPORT, local) is expected


def test_overnight_hours_belong_to_the_day_they_start() -> None:
    nights = SupportSettings(
        volunteer_from=dt.time(20, 0), volunteer_until=dt.time(8, 0), volunteer_weekdays=["fri"]
    )
    assert in_hours(nights, dt.datetime(2026, 11, 27, 21, 0, tzinfo=LONDON))  # Friday night
    assert in_hours(nights, dt.datetime(2026, 11, 28, 7, 0, tzinfo=LONDON))  # early Saturday
    assert not in_hours(nights, dt.datetime(2026, 11, 28, 21, 0, tzinfo=LONDON))
    assert not in_hours(nights, dt.datetime(2026, 11, 27, 7, 0, tzinfo=LONDON))  # early Friday


def test_away_and_on_call() -> None:
    evening = dt.datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    on_call = VolunteerStatus(person_id=1, on_call_until=end_of_local_day(evening, LONDON))
    assert end_of_local_day(evening, LONDON) == dt.datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert is_available(SUPPORT, on_call, evening, LONDON)
    assert not is_available(SUPPORT, None, evening, LONDON)
    assert not is_available(SUPPORT, VolunteerStatus(person_id=1, away=True), T0, LONDON)
    assert is_available(SUPPORT, None, T0, LONDON)


async def test_exclusions_in_a_real_run(world: World) -> None:
    """Ana's manager and her teammate are skipped while someone else is free."""
    await world.enrol(
        person("ana", display_name="Ana Jones"),
        volunteer("boss", "admin", roles="staff;volunteer;manager", manages="ward"),
        volunteer("mate", "ward"),
        volunteer("vic", "pharmacy"),
    )
    await ask_for_support(world)
    assert [len(world.alerts(u)) for u in ("boss", "mate", "vic")] == [0, 0, 1]

    await world.tick(minutes=15)  # Vic does not answer: the teammate is next, never the boss
    assert [len(world.alerts(u)) for u in ("boss", "mate", "vic")] == [0, 1, 1]
    await world.tick(minutes=15)
    assert [len(world.alerts(u)) for u in ("boss", "mate", "vic", CHANNEL)] == [0, 1, 1, 1]


async def test_availability_commands_and_the_daily_cap(world: World) -> None:
    world.settings.support = SupportSettings(volunteer_daily_cap=1, escalation_channel=None)
    await world.restart()
    await world.enrol(
        person("ana"), person("ben"), volunteer("vic", "pharmacy"), volunteer("wyn", "estates")
    )
    await world.say("wyn", "/away")
    assert "won't send you any alerts" in world.adapter.last("wyn").message.text

    await ask_for_support(world, "ana")
    assert len(world.alerts("vic")) == 1
    await world.press("vic", world.alerts("vic")[0], "I'll reach out")

    await world.say("wyn", "/available")
    assert "usual hours (08:00 to 18:00" in world.adapter.last("wyn").message.text
    await ask_for_support(world, "ben")  # Vic has had her one alert today
    assert len(world.alerts("vic")) == 1 and len(world.alerts("wyn")) == 1


async def test_available_outside_hours_means_on_call_until_midnight(world: World) -> None:
    await world.enrol(person("ana"), volunteer("vic", "pharmacy"))
    world.clock.set(world.clock.now.replace(hour=21))
    await ask_for_support(world)
    assert not world.alerts("vic")  # outside her hours: straight to the channel
    assert len(world.alerts(CHANNEL)) == 1

    await world.say("vic", "/available")
    assert "on call now, until midnight" in world.adapter.last("vic").message.text
    await world.tick(minutes=2)
    assert len(world.alerts("vic")) == 1  # the waiting request reaches her

    await world.tick(hours=3)  # past midnight: on call has ended
    candidates = await world.rt.engine.care.picker.candidates(world.clock.now)
    assert [c.available for c in candidates] == [False]


async def test_volunteer_commands_are_for_volunteers(world: World) -> None:
    await world.enrol(person("ana"), volunteer("vic", "pharmacy"))
    for name in ("available", "away", "cases"):
        await world.say("ana", f"/{name}")
        assert "for Wellbeing Warriors" in world.adapter.last("ana").message.text
    await world.say("vic", "/help")
    assert "/cases" in world.adapter.last("vic").message.text
    await world.say("ana", "/help")
    assert "/cases" not in world.adapter.last("ana").message.text
