"""Mood rows: pseudonym, team, day, score. Nothing else, ever."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import rollup
from storage.database import Database
from storage.models import Mood
from storage.rollup import WeekTally
from storage.upsert import insert_unless_present


@dataclass(frozen=True)
class MoodAnswer:
    """A mood to store: the pseudonym, never who."""

    pseudonym: str
    team: str
    local_date: date
    score: int


async def insert_mood(session: AsyncSession, answer: MoodAnswer) -> bool:
    """Store a mood in the caller's transaction; False if the day already has one."""
    inserted = await insert_unless_present(
        session,
        Mood.__table__,  # type: ignore[attr-defined]
        {
            "pseudonym": answer.pseudonym,
            "team": answer.team,
            "local_date": answer.local_date,
            "score": answer.score,
        },
        conflict=("pseudonym", "local_date"),
        returning="id",
    )
    if not inserted:
        return False
    # The weekly rollup moves in the same transaction, so it can never drift.
    await rollup.add_answer(session, answer.pseudonym, answer.team, answer.local_date, answer.score)
    return True


@dataclass(frozen=True)
class DayMood:
    """One day's mood for one (pseudonymous) person."""

    local_date: date
    score: int


class MoodRepository:
    """Writing moods and reading them back by pseudonym or in aggregate."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, pseudonym: str, team: str, local_date: date, score: int) -> bool:
        """Store a mood; False if this pseudonym already has one for the day."""
        async with self._db.session() as session:
            return await insert_mood(session, MoodAnswer(pseudonym, team, local_date, score))

    async def add_many(self, moods: Sequence[Mood]) -> None:
        """Bulk insert (seeding the demo, tests, benchmarks)."""
        async with self._db.session() as session:
            session.add_all(moods)
            await session.flush()
            await rollup.rebuild_weeks(session, {rollup.week_start(m.local_date) for m in moods})

    async def history(self, pseudonym: str, since: date) -> list[DayMood]:
        """One person's moods from ``since`` on, oldest first."""
        async with self._db.session() as session:
            result = await session.exec(
                select(col(Mood.local_date), col(Mood.score))
                .where(Mood.pseudonym == pseudonym, col(Mood.local_date) >= since)
                .order_by(col(Mood.local_date))
            )
            return [DayMood(day, score) for day, score in result.all()]

    async def on_day(self, pseudonym: str, local_date: date) -> int | None:
        """The score a pseudonym gave on a day, if any."""
        async with self._db.session() as session:
            result = await session.exec(
                select(Mood.score).where(Mood.pseudonym == pseudonym, Mood.local_date == local_date)
            )
            return result.first()

    async def team_rows(self, team: str, since: date, until: date) -> list[tuple[str, date, int]]:
        """(pseudonym, day, score) for a team and period: input to the anonymising reports."""
        async with self._db.session() as session:
            result = await session.exec(
                select(col(Mood.pseudonym), col(Mood.local_date), col(Mood.score)).where(
                    Mood.team == team,
                    col(Mood.local_date) >= since,
                    col(Mood.local_date) <= until,
                )
            )
            return [(p, d, s) for p, d, s in result.all()]

    async def rows_between(self, since: date, until: date) -> list[tuple[str, str, date, int]]:
        """(pseudonym, team, day, score) of every team in a period, for anonymised reports."""
        async with self._db.session() as session:
            result = await session.exec(
                select(
                    col(Mood.pseudonym), col(Mood.team), col(Mood.local_date), col(Mood.score)
                ).where(col(Mood.local_date) >= since, col(Mood.local_date) <= until)
            )
            return [(p, t, d, s) for p, t, d, s in result.all()]

    async def team_weeks(self, team: str, first: date, last: date) -> dict[date, WeekTally]:
        """A team's weekly rollups, Mondays ``first`` to ``last`` (weeks with answers)."""
        return await rollup.RollupReader(self._db).team_weeks(team, first, last)

    async def purge_before(self, cutoff: date) -> int:
        """Delete moods older than ``cutoff`` (retention); returns how many went."""
        async with self._db.session() as session:
            result = await session.exec(delete(Mood).where(col(Mood.local_date) < cutoff))
            await rollup.purge_before(session, cutoff)
            return int(result.rowcount)

    async def forget(self, pseudonym: str) -> int:
        """Delete every mood of one pseudonym (erasure); returns how many went."""
        async with self._db.session() as session:
            await rollup.remove_pseudonym(session, pseudonym)
            result = await session.exec(delete(Mood).where(col(Mood.pseudonym) == pseudonym))
            return int(result.rowcount)
