"""Report queries on a big organisation: a team's 52-week trend, rollup against naive.

Run: ``.venv/bin/python benchmarks/reports.py [--people N] [--days D] [--db DB]``
(DB: ``both``, the default, ``sqlite`` or ``postgresql``)

Builds an organisation of N people (teams of 50) who each answered every day for D days
(10,000 x 365 = 3.65 million mood rows), in a throwaway PostgreSQL and in a SQLite file,
then counts the weekly rollup from those rows. For a few teams it times:

- **trend**: ``bot.reporting.team_trend`` for the last 52 finished weeks, as `/teammood`
  and the dashboard ask for it: read from the rollup;
- **naive**: the same trend the way it was computed before the rollup: every mood row
  of the 52 weeks through ``aggregate`` (the anonymising query layer).

Both must give identical weeks (checked). Trend times are the median of several calls.
The last line is machine-readable: ``result: trend_ms=... naive_ms=... rows=...``, each
time the slower database's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import machine, postgres, result
from sqlalchemy import create_engine, insert, text

from bot.periods import PeriodKind
from bot.reporting import Group, Viewer, WeekCell, aggregate, team_trend
from bot.settings import Settings
from kiln.runtime import Runtime, open_runtime
from storage import rollup
from storage.database import driver_urls, upgrade_sync
from storage.models import Mood, Person

PEPPER = b"benchmark-pepper-0123456789abcdef"
TEAM_SIZE = 50
WEEKS = 52
#: Wednesday 25 November 2026: 52 finished weeks lie inside the year of answers.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TREND_CALLS = 7
#: The name PostgreSQL gave the (pseudonym, local_date) constraint of migration 0001.
PG_UNIQUE = "mood_pseudonym_local_date_key"


#: Everyone answers every day; one person in fifty moves to the next team halfway
#: through. Rows are made by the database itself (the load is not what is measured).
POSTGRES_ROWS = """
INSERT INTO mood (pseudonym, team, local_date, score)
SELECT encode(sha256(('person-' || n)::bytea), 'hex'),
       'team-' || lpad((((n / {size}) + CASE WHEN n % 50 = 7 AND d >= {days} / 2
                         THEN 1 ELSE 0 END) % ({people} / {size}))::text, 3, '0'),
       DATE '{first}' + d,
       1 + floor(random() * 5)::int
FROM generate_series(0, {people} - 1) AS n, generate_series(0, {days} - 1) AS d
"""
SQLITE_ROWS = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {people} - 1),
               d(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM d WHERE j < {days} - 1)
INSERT INTO mood (pseudonym, team, local_date, score)
SELECT printf('%064d', i),
       printf('team-%03d', ((i / {size}) + CASE WHEN i % 50 = 7 AND j >= {days} / 2
                            THEN 1 ELSE 0 END) % ({people} / {size})),
       date('{first}', '+' || j || ' days'),
       abs(random()) % 5 + 1
FROM n, d
"""


def people_rows(people: int) -> list[dict[str, object]]:
    return [
        {
            "platform": "slack",
            "platform_user_id": f"U{n:07d}",
            "display_name": f"Person {n}",
            "team": f"team-{n // TEAM_SIZE:03d}",
            "locale": "en",
            "region": "UK",
            "roles": "staff",
            "manages": "",
            "opted_out": False,
            "undeliverable": False,
            "created_at": NOW - timedelta(days=400),
        }
        for n in range(people)
    ]


def load(url: str, sqlite: bool, people: int, days: int) -> int:
    """Enrol the people and have the database make their year of answers."""
    engine = create_engine(driver_urls(url)[1])
    sql = (SQLITE_ROWS if sqlite else POSTGRES_ROWS).format(
        people=people, days=days, size=TEAM_SIZE, first=NOW.date() - timedelta(days=days)
    )
    indexes = Mood.__table__.indexes  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(insert(Person.__table__), people_rows(people))  # type: ignore[attr-defined]
        # A bulk load builds indexes once at the end rather than row by row.
        for index in indexes:
            index.drop(connection)
        if not sqlite:  # (SQLite cannot drop a table's unique constraint)
            connection.execute(text(f"ALTER TABLE mood DROP CONSTRAINT {PG_UNIQUE}"))
        connection.execute(text(sql))
        if not sqlite:
            connection.execute(
                text(f"ALTER TABLE mood ADD CONSTRAINT {PG_UNIQUE} UNIQUE (pseudonym, local_date)")
            )
        for index in indexes:
            index.create(connection)
        count = connection.execute(text("SELECT COUNT(*) FROM mood")).scalar_one()
    engine.dispose()
    return int(count)


async def naive(runtime: Runtime, team: str) -> tuple[WeekCell, ...]:
    """The trend as it was computed before the rollup: every row through `aggregate`."""
    group = Group.of_team(team)
    report = await aggregate(
        runtime.services, Viewer.admin(), [group], kind=PeriodKind.WEEK, count=WEEKS, now=NOW
    )
    return tuple(WeekCell.of(cell) for cell in report.row(group))


async def measure(name: str, url: str, people: int, days: int) -> dict[str, float]:
    upgrade_sync(url)
    started = time.perf_counter()
    rows = load(url, name == "SQLite", people, days)
    loaded = time.perf_counter() - started
    settings = Settings(database_url=url, pepper_file=Path(tempfile.gettempdir()) / "unused.key")
    runtime = await open_runtime(settings, clock=lambda: NOW, pepper=PEPPER, migrate=False)
    try:
        started = time.perf_counter()
        async with runtime.db.session() as session:
            weeks = await rollup.rebuild_all(session)
        counted = time.perf_counter() - started
        print(
            f"{name}: {rows:,} mood rows loaded in {loaded:.0f} s; "
            f"rollup of {weeks} weeks counted in {counted:.0f} s",
            flush=True,
        )
        teams = [f"team-{n:03d}" for n in (0, people // TEAM_SIZE // 2, people // TEAM_SIZE - 1)]
        trend_times = []
        for team in teams:
            for _ in range(TREND_CALLS):
                start = time.perf_counter()
                trend = await team_trend(runtime.services, team, WEEKS, NOW, viewer=Viewer.admin())
                trend_times.append((time.perf_counter() - start) * 1000)
            assert len(trend.weeks) == WEEKS and not any(w.suppressed for w in trend.weeks)
        start = time.perf_counter()
        slow = await naive(runtime, teams[0])
        naive_ms = (time.perf_counter() - start) * 1000
        fast = await team_trend(runtime.services, teams[0], WEEKS, NOW, viewer=Viewer.admin())
        if fast.weeks != slow:
            raise AssertionError(f"{name}: the rollup trend differs from the naive one")
        trend_ms = statistics.median(trend_times)
        print(
            f"{name}: 52-week team trend {trend_ms:.1f} ms (median of {len(trend_times)}, "
            f"worst {max(trend_times):.1f} ms); naive {naive_ms:.0f} ms; identical weeks",
            flush=True,
        )
        return {"trend": trend_ms, "naive": naive_ms, "rows": rows}
    finally:
        await runtime.close()


async def run(args: argparse.Namespace) -> list[dict[str, float]]:
    figures = []
    if args.db in ("both", "postgresql"):
        with postgres(roomy=True) as url:
            figures.append(await measure("PostgreSQL", url, args.people, args.days))
    if args.db in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/kiln.db"
            figures.append(await measure("SQLite", url, args.people, args.days))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--db", choices=("both", "sqlite", "postgresql"), default="both")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(f"{args.people:,} people x {args.days} days; {machine()}", flush=True)
    figures = asyncio.run(run(args))
    result(
        trend_ms=f"{max(f['trend'] for f in figures):.1f}",
        naive_ms=f"{max(f['naive'] for f in figures):.0f}",
        rows=f"{int(min(f['rows'] for f in figures))}",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
