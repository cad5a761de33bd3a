"""The query layer on a real database gives exactly what the pure rules give, and is audited."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.delivery import Deliverer
from bot.periods import PeriodKind
from bot.reporting import EVERYONE, Group, OutOfScope, Viewer, aggregate, tabulate, team_trend
from bot.services import Services
from bot.settings import Settings
from storage.database import Database
from storage.models import Mood, Person
from tests.conftest import TEST_PEPPER
from tests.fakes.clock import FakeClock

#: Wednesday 2 December 2026: November (of whole weeks) ended on Sunday 29 November.
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TEAMS = {"ward": 12, "night": 6, "tiny": 3}
GROUPS = [*(Group.of_team(team) for team in TEAMS), EVERYONE]


@pytest.fixture(params=["sqlite", "postgresql"])
async def services(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Services]:
    """The engine's collaborators on a migrated SQLite or PostgreSQL database, seeded."""
    if request.param == "postgresql":
        settings = settings.model_copy(
            update={"database_url": request.getfixturevalue("pg_database_url")}
        )
    db = Database(settings.database_url)
    await db.upgrade()
    built = Services.build(
        settings=settings,
        db=db,
        pepper=TEST_PEPPER,
        delivery=Deliverer({}),
        clock=FakeClock(NOW),
    )
    people = [
        Person(platform="fake", platform_user_id=f"{team}{i}", display_name=f"P {i}", team=team)
        for team, size in TEAMS.items()
        for i in range(size)
    ]
    await built.people.add_all(people)
    rng = random.Random(7)
    moods = []
    for person in people:
        rate = rng.choice([0.2, 0.5, 0.9])
        for offset in range(1, 120):
            day = NOW.date() - timedelta(days=offset)
            if rng.random() < rate:
                pseudonym = built.pseudonymize(person.platform, person.platform_user_id)
                moods.append(
                    Mood(
                        pseudonym=pseudonym,
                        team=person.team,
                        local_date=day,
                        score=rng.randint(1, 5),
                    )
                )
    await built.moods.add_many(moods)
    yield built
    await db.dispose()


async def all_rows(services: Services) -> list[tuple[str, str, date, int]]:
    async with services.db.session() as session:
        moods = (await session.exec(select(Mood))).all()
    return [(m.pseudonym, m.team, m.local_date, m.score) for m in moods]


@pytest.mark.parametrize(("kind", "count"), [(PeriodKind.WEEK, 8), (PeriodKind.MONTH, 3)])
async def test_the_database_query_equals_the_pure_rules(
    services: Services, kind: PeriodKind, count: int
) -> None:
    report = await aggregate(services, Viewer.admin(), GROUPS, kind=kind, count=count)

    assert len(report.periods) == count and report.periods[-1].end == date(2026, 11, 29)
    expected = tabulate(
        await all_rows(services),
        groups=GROUPS,
        periods=report.periods,
        sizes=TEAMS,
        threshold=services.settings.min_group_size,
    )
    assert dict(report.cells) == expected
    assert all(cell.suppressed for cell in report.row(Group.of_team("tiny")))
    assert not any(cell.suppressed for cell in report.row(Group.of_team("ward")))
    assert report.group_sizes[EVERYONE] == sum(TEAMS.values())


async def test_every_view_is_audited_without_its_figures(services: Services) -> None:
    await aggregate(services, Viewer.admin(), GROUPS, count=4, purpose="report")
    (entry,) = await services.audit.since()
    assert (entry.actor, entry.action, entry.actor_person_id) == ("admin", "view", None)
    assert entry.subject == (
        "report: ward, night, tiny, everyone; 4 weeks (2026-11-02..2026-11-29)"
    )


async def test_a_manager_sees_only_their_teams_and_is_named_in_the_audit(
    services: Services,
) -> None:
    boss = await services.people.find("fake", "night0")
    assert boss is not None
    boss.roles, boss.manages = "staff;manager", "night"
    await services.people.add_all([boss])
    viewer = Viewer.manager(boss)

    with pytest.raises(OutOfScope):
        await aggregate(services, viewer, [Group.of_team("ward")])
    with pytest.raises(OutOfScope):
        await aggregate(services, viewer, [EVERYONE])
    report = await aggregate(services, viewer, [Group.of_team("night")], purpose="teammood")
    admin_view = await aggregate(services, Viewer.admin(), GROUPS)

    night = Group.of_team("night")
    assert report.row(night) == admin_view.row(night)  # the same for everyone who may look
    entries = await services.audit.since()
    assert [(e.actor, e.actor_person_id, e.subject[:14]) for e in entries] == [
        ("person", boss.id, "teammood: nigh"),
        ("admin", None, "report: ward, "),
    ]


async def test_team_trend_is_the_same_cells_in_the_weekly_shape(services: Services) -> None:
    trend = await team_trend(services, "ward", 6, NOW.date())
    report = await aggregate(services, Viewer.admin(), [Group.of_team("ward")], count=6)
    cells = report.row(Group.of_team("ward"))
    assert (trend.team, trend.team_size, trend.min_group_size) == ("ward", 12, 5)
    assert [w.week_start for w in trend.weeks] == [c.period.start for c in cells]
    assert [(w.mean, w.distribution, w.respondents) for w in trend.weeks] == [
        (c.mean, c.distribution, c.respondents) for c in cells
    ]
