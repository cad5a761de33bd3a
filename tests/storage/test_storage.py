"""Storage on both SQLite and PostgreSQL: migrations, the one-a-day rule, moods, events.

The PostgreSQL variant starts a real throwaway server (tests/postgres_server.py); it
skips, saying why, where PostgreSQL is not installed, and fails instead when
KILN_REQUIRE_POSTGRES=1 (as in CI).
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot.pseudonym import PepperError, Pseudonymizer, load_pepper
from storage.checkins import CheckinRepository, DueCheckin
from storage.database import Database, DatabaseUrlError, driver_urls
from storage.events import EventLog
from storage.models import Mood, Person
from storage.moods import MoodAnswer, MoodRepository
from storage.people import PeopleRepository

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same tests on a SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kiln.db'}"
    else:
        yield request.getfixturevalue("pg_database_url")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.upgrade()
    yield database
    await database.dispose()


async def add_people(db: Database, *users: str) -> list[int]:
    repo = PeopleRepository(db)
    await repo.add_all(
        [Person(platform="slack", platform_user_id=u, display_name=u, team="ward") for u in users]
    )
    ids = []
    for user in users:
        found = await repo.find("slack", user)
        assert found is not None and found.id is not None
        ids.append(found.id)
    return ids


async def test_migrations_create_every_table_and_are_idempotent(db: Database) -> None:
    await db.upgrade()  # a second run on start-up changes nothing
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert {"person", "checkin", "mood", "processed_event", "alembic_version"} <= tables


async def test_a_day_is_claimed_once_even_by_racing_workers(
    db: Database, database_url: str
) -> None:
    (ana,) = await add_people(db, "ana")
    other = Database(database_url)
    try:
        due = [DueCheckin(ana, TODAY)]
        results = await asyncio.gather(
            *(
                repo.claim(due, NOW)
                for repo in [CheckinRepository(db), CheckinRepository(other)] * 3
            )
        )
    finally:
        await other.dispose()
    assert sum(len(claimed) for claimed in results) == 1
    assert await CheckinRepository(db).count_for_day(TODAY) == 1


async def test_closing_twice_reports_the_second_close(db: Database) -> None:
    (ana,) = await add_people(db, "ana")
    repo = CheckinRepository(db)
    (row,) = await repo.claim([DueCheckin(ana, TODAY)], NOW)
    assert row.id is not None
    assert await repo.close(row.id, NOW) is True
    assert await repo.close(row.id, NOW) is False


async def test_an_answer_closes_the_checkin_and_stores_the_mood_together(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, ben = await add_people(db, "ana", "ben")
    repo, moods = CheckinRepository(db), MoodRepository(db)
    first, second = await repo.claim([DueCheckin(ana, TODAY), DueCheckin(ben, TODAY)], NOW)
    assert first.id is not None and second.id is not None
    ana_mood = MoodAnswer("a" * 64, "ward", TODAY, 4)

    assert await repo.answer(first.id, NOW, None, ana_mood) is True
    assert await repo.answer(first.id, NOW, None, replace(ana_mood, score=1)) is False
    assert await moods.on_day("a" * 64, TODAY) == 4  # the second press stored nothing

    async def broken(*_args: object) -> bool:
        raise ConnectionError("the database went away mid-answer")

    monkeypatch.setattr("storage.checkins.insert_mood", broken)
    with pytest.raises(ConnectionError):
        await repo.answer(second.id, NOW, None, MoodAnswer("b" * 64, "ward", TODAY, 2))
    # Neither half happened, so Ben's next press is taken as his first.
    monkeypatch.undo()
    assert await repo.answer(second.id, NOW, None, MoodAnswer("b" * 64, "ward", TODAY, 2))
    assert await moods.on_day("b" * 64, TODAY) == 2


async def test_everyone_schedulable_is_read_page_by_page_without_gaps(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await add_people(db, "ana", "ben", "cai", "dee", "eli")
    people = PeopleRepository(db)
    await people.set_undeliverable(ids[2], True)  # cai: no longer reachable
    monkeypatch.setattr("storage.people.SCHEDULABLE_PAGE", 2)

    everyone = await people.schedulable()

    assert [p.platform_user_id for p in everyone] == ["ana", "ben", "dee", "eli"]
    assert [p.platform_user_id for p in await people.schedulable(team="ward")][-1] == "eli"


async def test_only_one_worker_takes_over_an_unsent_checkin(
    db: Database, database_url: str
) -> None:
    (ana,) = await add_people(db, "ana")
    await CheckinRepository(db).claim([DueCheckin(ana, TODAY)], NOW)
    other = Database(database_url)
    try:
        later = NOW + timedelta(minutes=5)
        taken = await asyncio.gather(
            CheckinRepository(db).claim_retries(
                [DueCheckin(ana, TODAY)], later, timedelta(minutes=2), 5
            ),
            CheckinRepository(other).claim_retries(
                [DueCheckin(ana, TODAY)], later, timedelta(minutes=2), 5
            ),
        )
    finally:
        await other.dispose()
    assert sorted(len(t) for t in taken) == [0, 1]


async def test_one_mood_per_pseudonym_per_day(db: Database) -> None:
    moods = MoodRepository(db)
    assert await moods.record("p" * 64, "ward", TODAY, 3) is True
    assert await moods.record("p" * 64, "ward", TODAY, 5) is False
    assert await moods.on_day("p" * 64, TODAY) == 3
    assert [m.score for m in await moods.history("p" * 64, TODAY - timedelta(days=1))] == [3]


async def test_retention_purge_and_erasure(db: Database) -> None:
    moods = MoodRepository(db)
    await moods.add_many(
        [
            Mood(pseudonym="a" * 64, team="ward", local_date=TODAY - timedelta(days=d), score=3)
            for d in range(5)
        ]
        + [Mood(pseudonym="b" * 64, team="ward", local_date=TODAY, score=4)]
    )
    assert await moods.purge_before(TODAY - timedelta(days=2)) == 2
    assert await moods.forget("a" * 64) == 3
    assert await moods.team_rows("ward", TODAY - timedelta(days=10), TODAY) == [
        ("b" * 64, TODAY, 4)
    ]


async def test_event_ids_are_remembered_once(db: Database) -> None:
    log = EventLog(db)
    assert await log.first_time("slack", "Ev1") is True
    assert await log.first_time("slack", "Ev1") is False
    assert await log.first_time("telegram", "Ev1") is True
    assert await log.forget_before(datetime.now(UTC) + timedelta(minutes=1)) == 2


async def test_import_updates_people_in_place(db: Database) -> None:
    repo = PeopleRepository(db)
    await add_people(db, "ana")
    created = await repo.add_all(
        [
            Person(platform="slack", platform_user_id="ana", display_name="Ana B", team="night"),
            Person(platform="slack", platform_user_id="ben", display_name="Ben", team="ward"),
        ]
    )
    assert created == 1
    assert await repo.team_sizes() == {"night": 1, "ward": 1}


async def test_deleting_a_person_removes_their_checkins(db: Database) -> None:
    (ana,) = await add_people(db, "ana")
    await CheckinRepository(db).claim([DueCheckin(ana, TODAY)], NOW)
    await PeopleRepository(db).delete(ana)
    assert await CheckinRepository(db).count_for_day(TODAY) == 0


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        await database.upgrade()
        async with database.engine.connect() as connection:
            mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
        assert mode == "wal"
    finally:
        await database.dispose()


def test_urls_map_to_kilns_drivers() -> None:
    assert driver_urls("sqlite:///kiln.db") == ("sqlite+aiosqlite:///kiln.db", "sqlite:///kiln.db")
    assert driver_urls("postgresql://u:p@h/db")[0] == "postgresql+psycopg://u:p@h/db"
    with pytest.raises(DatabaseUrlError, match="mysql"):
        driver_urls("mysql://h/db")


def test_pseudonyms_are_stable_keyed_and_unlinkable_without_the_pepper() -> None:
    one, other = Pseudonymizer(b"pepper-one-0123456789"), Pseudonymizer(b"pepper-two-0123456789")
    assert one("slack", "U1") == one("slack", "U1")
    assert one("slack", "U1") != one("slack", "U2") != one("telegram", "U1")
    assert one("slack", "U1") != other("slack", "U1")
    assert len(one("slack", "U1")) == 64 and "pepper-one" not in repr(one)


def test_pepper_key_file_is_made_private_and_a_readable_one_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "kiln.key"
    first = load_pepper(None, key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert load_pepper(None, key) == first
    assert load_pepper("from-env-0123456789", key) == b"from-env-0123456789"
    os.chmod(key, 0o644)
    with pytest.raises(PepperError, match="chmod 600"):
        load_pepper(None, key)
