"""The weekly rollup against the mood rows it summarises, on SQLite and PostgreSQL.

Random organisations (people who move team mid-week included) are built answer by
answer and in bulk, then erased from and purged; after every step the rollup must
equal a recount of the mood rows, and a team's trend read from it must equal the
naive one (every mood row through ``aggregate``, the anonymising query layer).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, insert
from sqlmodel import SQLModel, col, select

from bot.periods import PeriodKind
from bot.reporting import Group, Viewer, WeekCell, aggregate, team_trend
from bot.settings import Settings
from kiln.runtime import Runtime, open_runtime
from storage.database import alembic_config, driver_urls
from storage.models import Mood, Person
from storage.rollup import MoodWeek, MoodWeekRespondent, RollupReader, week_marker, week_start
from tests.conftest import TEST_PEPPER
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday
TEAMS = ("ward-1", "ward-2", "ward-3", "night")
WEEKS = 26


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kiln.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url


@pytest.fixture
async def rt(database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(
        database_url=database_url, pepper_file=tmp_path / "kiln.key", min_group_size=3
    )
    runtime = await open_runtime(
        settings, [FakeAdapter()], clock=FakeClock(NOW), pepper=TEST_PEPPER
    )
    yield runtime
    await runtime.close()


def organisation(rng: random.Random, people: int, days: int) -> list[Mood]:
    """Random answers; about a fifth of the people move team once, on a random day."""
    first = NOW.date() - timedelta(days=days)
    moods = []
    for n in range(people):
        team = rng.choice(TEAMS)
        moves_on = first + timedelta(days=rng.randrange(days)) if rng.random() < 0.2 else None
        keen = rng.uniform(0.2, 0.9)
        for offset in range(days):
            day = first + timedelta(days=offset)
            if moves_on is not None and day == moves_on:
                team = rng.choice([t for t in TEAMS if t != team])
            if rng.random() < keen:
                moods.append(Mood(pseudonym=f"p{n:03d}", team=team, local_date=day, score=0))
                moods[-1].score = rng.randint(1, 5)
    rng.shuffle(moods)
    return moods


async def stored_moods(rt: Runtime) -> list[Mood]:
    async with rt.db.session() as session:
        return list((await session.exec(select(Mood))).all())


async def assert_rollup_matches_the_rows(rt: Runtime) -> None:
    moods = await stored_moods(rt)
    counts: dict[tuple[str, date], Counter[int]] = defaultdict(Counter)
    people: dict[tuple[str, date], set[str]] = defaultdict(set)
    for mood in moods:
        unit = (mood.team, week_start(mood.local_date))
        counts[unit][mood.score] += 1
        people[unit].add(mood.pseudonym)
    expected = {
        unit: ((*(counts[unit][s] for s in range(1, 6)),), len(people[unit])) for unit in counts
    }
    async with rt.db.session() as session:
        weeks = (await session.exec(select(MoodWeek))).all()
        markers = (await session.exec(select(MoodWeekRespondent))).all()
    actual = {
        (w.team, w.week_start): ((w.n1, w.n2, w.n3, w.n4, w.n5), w.respondents) for w in weeks
    }
    assert actual == expected
    assert {(m.team, m.week_start, m.marker) for m in markers} == {
        (team, monday, week_marker(pseudonym, monday))
        for (team, monday), who in people.items()
        for pseudonym in who
    }
    if moods:
        first = week_start(min(m.local_date for m in moods))
        organisation = await RollupReader(rt.db).organisation_weeks(first, NOW.date())
        everyone: dict[date, set[str]] = defaultdict(set)
        for mood in moods:
            everyone[week_start(mood.local_date)].add(mood.pseudonym)
        assert {monday: tally.respondents for monday, tally in organisation.items()} == {
            monday: len(who) for monday, who in everyone.items()
        }


async def naive_trend(rt: Runtime, team: str) -> tuple[WeekCell, ...]:
    group = Group.of_team(team)
    report = await aggregate(
        rt.services, Viewer.admin(), [group], kind=PeriodKind.WEEK, count=WEEKS, now=NOW
    )
    return tuple(WeekCell.of(c) for c in report.row(group))


async def assert_trends_match(rt: Runtime) -> None:
    await assert_rollup_matches_the_rows(rt)
    shown = 0
    for team in TEAMS:
        fast = await team_trend(rt.services, team, WEEKS, NOW, viewer=Viewer.admin())
        assert fast.weeks == await naive_trend(rt, team), team
        shown += sum(not cell.suppressed for cell in fast.weeks)
    assert shown, "the random data should leave some weeks shown"


@pytest.mark.parametrize("seed", [1, 2])
async def test_rollup_trends_equal_the_naive_ones_through_answers_erasure_and_purge(
    rt: Runtime, seed: int
) -> None:
    rng = random.Random(seed)
    await rt.services.people.add_all(
        [
            Person(
                platform="fake", platform_user_id=f"u{n}", display_name=f"U {n}", team=TEAMS[n % 4]
            )
            for n in range(24)
        ]
    )
    moods = organisation(rng, people=18, days=100)
    bulk, one_by_one = moods[: len(moods) // 2], moods[len(moods) // 2 :]
    await rt.services.moods.add_many(bulk)  # the demo's and seeding's path
    for mood in one_by_one:  # the answer path, in random order
        assert await rt.services.moods.record(
            mood.pseudonym, mood.team, mood.local_date, mood.score
        )
    # A second answer for the same day changes nothing.
    again = one_by_one[0]
    assert not await rt.services.moods.record(again.pseudonym, again.team, again.local_date, 5)
    await assert_trends_match(rt)

    for pseudonym in rng.sample(sorted({m.pseudonym for m in moods}), 3):
        assert await rt.services.moods.forget(pseudonym) > 0
    await assert_trends_match(rt)

    cutoff = NOW.date() - timedelta(days=rng.randrange(30, 70))
    if cutoff.weekday() == 0:
        cutoff += timedelta(days=1)  # a week cut in two: the hard case
    assert await rt.services.moods.purge_before(cutoff) > 0
    await assert_trends_match(rt)

    late = organisation(random.Random(seed + 100), people=6, days=20)
    for mood in late:
        await rt.services.moods.record(f"late-{mood.pseudonym}", mood.team, mood.local_date, 3)
    await rt.services.moods.purge_before(cutoff + timedelta(days=7))  # a Monday-or-not cut
    await assert_trends_match(rt)


async def test_erasing_everyone_leaves_an_empty_rollup(rt: Runtime) -> None:
    moods = organisation(random.Random(7), people=5, days=15)
    for mood in moods:
        await rt.services.moods.record(mood.pseudonym, mood.team, mood.local_date, mood.score)
    for pseudonym in {m.pseudonym for m in moods}:
        await rt.services.moods.forget(pseudonym)
    async with rt.db.session() as session:
        assert not (await session.exec(select(MoodWeek))).all()
        assert not (await session.exec(select(MoodWeekRespondent))).all()
        assert not (await session.exec(select(Mood).where(col(Mood.score) > 0))).all()


def test_the_migration_makes_exactly_the_rollup_tables(rt: Runtime) -> None:
    engine = create_engine(driver_urls(rt.db.url)[1])
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    mine = [d for d in diff if "mood_week" in repr(d)]
    assert mine == []


def store_moods_from_before_the_rollup(url: str, moods: list[Mood]) -> None:
    """Go back to before migration 0006, store moods, upgrade again."""
    engine = create_engine(driver_urls(url)[1])
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0006-1")
            rows = [
                {"pseudonym": m.pseudonym, "team": m.team, "local_date": m.local_date}
                | {"score": m.score}
                for m in moods
            ]
            connection.execute(insert(Mood.__table__), rows)  # type: ignore[attr-defined]
            command.upgrade(config, "heads")
    finally:
        engine.dispose()


async def test_the_migration_backfills_answers_stored_before_it(rt: Runtime) -> None:
    moods = organisation(random.Random(3), people=8, days=30)
    await asyncio.to_thread(store_moods_from_before_the_rollup, rt.db.url, moods)
    assert len(await stored_moods(rt)) == len(moods) > 100
    await assert_rollup_matches_the_rows(rt)
