"""Weekly mood rollups, kept in step with the mood table so reports need not scan it.

Two tables, written in the same transaction as every mood change:

- ``mood_week``: per team and ISO week, how many answers of each score and how many
  distinct people answered (``respondents``);
- ``mood_week_respondent``: one marker per (team, week, person) that answered.
  Distinct people cannot be added up from daily counts; the marker makes
  ``respondents`` exact: it goes up only when a marker is new, and down only when a
  person's last answer in that team-week goes (erasure, or the retention purge).

A marker is a one-way hash of the pseudonym and the week, never the pseudonym: no
table but ``mood`` holds a pseudonym (DESIGN §4), and markers of different weeks
cannot be linked to one another. Within a week it is the same in every team, so
someone who moved team mid-week still counts once for the whole organisation.

Invariant: a marker exists exactly when its person has a mood row in that team and
week, and each ``mood_week`` row equals what grouping the mood rows would give. Both
hold less than the mood table itself (no days, no scores per person).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, case, delete, distinct, func, insert, literal, update
from sqlalchemy import select as sa_select
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import Database
from storage.models import Mood
from storage.upsert import insert_or_add, insert_unless_present

SCORES = (1, 2, 3, 4, 5)


def week_start(day: date) -> date:
    """The Monday of the ISO week holding ``day`` (as reports count weeks)."""
    return day - timedelta(days=day.weekday())


class MoodWeek(SQLModel, table=True):
    """Answers of each score, and distinct people, for one team in one ISO week."""

    __tablename__ = "mood_week"

    team: str = Field(max_length=100, primary_key=True)
    week_start: date = Field(primary_key=True, index=True)
    n1: int = 0
    n2: int = 0
    n3: int = 0
    n4: int = 0
    n5: int = 0
    respondents: int = 0


class MoodWeekRespondent(SQLModel, table=True):
    """Someone answered at least once in this team and week (see :func:`week_marker`)."""

    __tablename__ = "mood_week_respondent"

    team: str = Field(max_length=100, primary_key=True)
    week_start: date = Field(primary_key=True, index=True)
    marker: str = Field(max_length=32, primary_key=True)


@dataclass(frozen=True)
class WeekTally:
    """One team-week (or the whole organisation's week) from the rollup."""

    week_start: date
    counts: tuple[int, int, int, int, int]
    respondents: int

    @property
    def answers(self) -> int:
        """How many answers in all."""
        return sum(self.counts)


def week_marker(pseudonym: str, monday: date) -> str:
    """A person's marker for one week: the same in every team, unlinkable across weeks."""
    return hashlib.sha256(f"{monday.isoformat()}:{pseudonym}".encode()).hexdigest()[:32]


def _score_column(score: int) -> Any:
    return getattr(MoodWeek, f"n{score}")


async def add_answer(
    session: AsyncSession, pseudonym: str, team: str, day: date, score: int
) -> None:
    """Count one new mood row (call in the transaction that inserted it)."""
    monday = week_start(day)
    first_this_week = await insert_unless_present(
        session,
        MoodWeekRespondent.__table__,  # type: ignore[attr-defined]
        {"team": team, "week_start": monday, "marker": week_marker(pseudonym, monday)},
        conflict=("team", "week_start", "marker"),
        returning="marker",
    )
    counts = {f"n{s}": int(s == score) for s in SCORES}
    # Atomic increments: concurrent answers from other workers add up, never overwrite.
    await insert_or_add(
        session,
        MoodWeek.__table__,  # type: ignore[attr-defined]
        {"team": team, "week_start": monday, **counts, "respondents": int(first_this_week)},
        conflict=("team", "week_start"),
        add=(*counts, "respondents"),
    )


async def remove_pseudonym(session: AsyncSession, pseudonym: str) -> None:
    """Take one person's answers out (call before deleting their mood rows)."""
    rows = await session.exec(
        select(col(Mood.team), col(Mood.local_date), col(Mood.score)).where(
            col(Mood.pseudonym) == pseudonym
        )
    )
    gone: dict[tuple[str, date], Counter[int]] = {}
    for team, day, score in rows.all():
        gone.setdefault((team, week_start(day)), Counter())[score] += 1
    for (team, monday), scores in gone.items():
        changes = {f"n{s}": _score_column(s) - n for s, n in scores.items()}
        # Every (team, week) with a row of theirs has their marker: one respondent fewer.
        changes["respondents"] = col(MoodWeek.respondents) - 1
        await session.exec(
            update(MoodWeek)
            .where(col(MoodWeek.team) == team, col(MoodWeek.week_start) == monday)
            .values(**changes)
        )
        await session.exec(
            delete(MoodWeekRespondent).where(
                col(MoodWeekRespondent.team) == team,
                col(MoodWeekRespondent.week_start) == monday,
                col(MoodWeekRespondent.marker) == week_marker(pseudonym, monday),
            )
        )
    await session.exec(delete(MoodWeek).where(col(MoodWeek.respondents) <= 0))


async def rebuild_week(session: AsyncSession, monday: date) -> None:
    """Recount one week, every team, from the mood rows."""
    sunday = monday + timedelta(days=6)
    in_week = (col(Mood.local_date) >= monday, col(Mood.local_date) <= sunday)
    await session.exec(delete(MoodWeek).where(col(MoodWeek.week_start) == monday))
    await session.exec(
        delete(MoodWeekRespondent).where(col(MoodWeekRespondent.week_start) == monday)
    )
    who = await session.exec(select(col(Mood.team), col(Mood.pseudonym)).distinct().where(*in_week))
    markers = [
        {"team": team, "week_start": monday, "marker": week_marker(pseudonym, monday)}
        for team, pseudonym in who.all()
    ]
    if markers:
        # Hashed here, not in SQL: SQLite has no SHA-256 of its own.
        connection = await session.connection()
        await connection.execute(insert(MoodWeekRespondent), markers)
    week = literal(monday, Date)
    counts = [func.sum(case((col(Mood.score) == s, 1), else_=0)) for s in SCORES]
    await session.exec(
        insert(MoodWeek).from_select(
            ["team", "week_start", "n1", "n2", "n3", "n4", "n5", "respondents"],
            sa_select(col(Mood.team), week, *counts, func.count(distinct(col(Mood.pseudonym))))
            .where(*in_week)
            .group_by(col(Mood.team)),
        )
    )


async def rebuild_weeks(session: AsyncSession, mondays: Iterable[date]) -> None:
    """Recount the given weeks (after a bulk insert)."""
    for monday in sorted(set(mondays)):
        await rebuild_week(session, monday)


async def rebuild_all(session: AsyncSession) -> int:
    """Recount every week that has answers (a backfill); returns how many weeks."""
    first, last = (
        await session.exec(select(func.min(col(Mood.local_date)), func.max(col(Mood.local_date))))
    ).one()
    await session.exec(delete(MoodWeek))
    await session.exec(delete(MoodWeekRespondent))
    if first is None or last is None:
        return 0
    mondays = []
    monday = week_start(first)
    while monday <= last:
        mondays.append(monday)
        monday += timedelta(days=7)
    await rebuild_weeks(session, mondays)
    return len(mondays)


async def purge_before(session: AsyncSession, cutoff: date) -> None:
    """Follow the retention purge of moods before ``cutoff`` (call after deleting them)."""
    straddling = week_start(cutoff)
    await session.exec(delete(MoodWeek).where(col(MoodWeek.week_start) < straddling))
    await session.exec(
        delete(MoodWeekRespondent).where(col(MoodWeekRespondent.week_start) < straddling)
    )
    if straddling < cutoff:
        # Some of this week's days went, and with them perhaps someone's only answer.
        await rebuild_week(session, straddling)


class RollupReader:
    """Reading the rollups: one indexed lookup instead of a scan of the mood rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def team_weeks(self, team: str, first: date, last: date) -> dict[date, WeekTally]:
        """A team's weeks whose Monday is between ``first`` and ``last`` (with answers)."""
        async with self._db.session() as session:
            rows = await session.exec(
                select(MoodWeek).where(
                    col(MoodWeek.team) == team,
                    col(MoodWeek.week_start) >= first,
                    col(MoodWeek.week_start) <= last,
                )
            )
            return {
                row.week_start: WeekTally(
                    row.week_start, (row.n1, row.n2, row.n3, row.n4, row.n5), row.respondents
                )
                for row in rows.all()
            }

    async def organisation_weeks(self, first: date, last: date) -> dict[date, WeekTally]:
        """Every team together, per week: someone who moved team counts once."""
        sums = [func.sum(_score_column(s)) for s in SCORES]
        async with self._db.session() as session:
            # Core rows (several aggregates), so through the session's connection.
            connection = await session.connection()
            totals = await connection.execute(
                sa_select(col(MoodWeek.week_start), *sums)
                .where(col(MoodWeek.week_start) >= first, col(MoodWeek.week_start) <= last)
                .group_by(col(MoodWeek.week_start))
            )
            people = await session.exec(
                select(
                    col(MoodWeekRespondent.week_start),
                    func.count(distinct(col(MoodWeekRespondent.marker))),
                )
                .where(
                    col(MoodWeekRespondent.week_start) >= first,
                    col(MoodWeekRespondent.week_start) <= last,
                )
                .group_by(col(MoodWeekRespondent.week_start))
            )
            respondents = dict(people.all())
            return {
                monday: WeekTally(
                    monday,
                    (int(a), int(b), int(c), int(d), int(e)),
                    int(respondents.get(monday, 0)),
                )
                for monday, a, b, c, d, e in totals.all()
            }
