"""`kiln demo`: a synthetic organisation and a console chat as one of its staff.

Everything here is made up and lives in its own database file, so the demo never
touches real data and needs no tokens.
"""

from __future__ import annotations

import asyncio
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import make_url

from adapters.console import ConsoleAdapter
from bot.settings import Settings, TeamSettings
from kiln.runtime import Runtime, open_runtime
from storage.models import Mood, Person, row_id

DEMO_DB = Path("kiln-demo.db")
#: A fixed, public pepper: fine for made-up data, never used outside the demo.
DEMO_PEPPER = b"kiln-demo-pepper-not-a-secret-0000"
DEMO_USER = "sam"
HISTORY_DAYS = 90

FIRST_NAMES = [
    "Aled",
    "Amira",
    "Bethan",
    "Carys",
    "Chidi",
    "Dafydd",
    "Eleri",
    "Fatima",
    "Gareth",
    "Hannah",
    "Ifan",
    "Jaspreet",
    "Kemi",
    "Lowri",
    "Marek",
    "Nia",
    "Owain",
    "Priya",
    "Rhys",
    "Siân",
    "Tomasz",
    "Uzma",
    "Wyn",
    "Yusuf",
    "Zara",
    "Elin",
    "Kwame",
    "Ffion",
    "Ravi",
    "Megan",
    "Osian",
    "Leila",
    "Harri",
    "Grace",
    "Tariq",
    "Mali",
    "Joe",
    "Anwen",
    "Dev",
]
SURNAMES = [
    "Jones",
    "Davies",
    "Evans",
    "Khan",
    "Williams",
    "Patel",
    "Hughes",
    "Nowak",
    "Okafor",
    "Price",
]


@dataclass(frozen=True)
class DemoTeam:
    """A made-up team: how many people, and how their weeks tend to go."""

    name: str
    size: int
    baseline: float
    region: str


TEAMS = (
    DemoTeam("ward-7", 18, 3.3, "UK-WLS"),
    DemoTeam("housing", 16, 3.6, "UK-WLS"),
    # Small on purpose: with leave and skipped days it often falls below the
    # minimum group, so the report shows what suppression looks like.
    DemoTeam("finance", 5, 3.8, "UK-WLS"),
)


def demo_settings(db_path: Path) -> Settings:
    """Settings for the demo: its own SQLite file and three team schedules."""
    return Settings(
        database_url=f"sqlite:///{db_path}",
        teams={
            "ward-7": TeamSettings(weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            "housing": TeamSettings(),
            "finance": TeamSettings(),
        },
    )


def nothing_but_the_demo(settings: Settings) -> bool:
    """True when the configured database is the default one, not yet made, and a demo ran here."""
    default = Settings.model_fields["database_url"].default
    return (
        settings.database_url == default
        and not Path(make_url(default).database or "").exists()
        and DEMO_DB.exists()
    )


def synthetic_people(rng: random.Random) -> list[Person]:
    """About forty made-up staff, volunteers and managers, plus Sam (you)."""
    names = iter(rng.sample(FIRST_NAMES, len(FIRST_NAMES)))
    people = [
        Person(
            platform="console",
            platform_user_id=DEMO_USER,
            display_name="Sam Jones",
            team="ward-7",
            region="UK-WLS",
            roles="staff",
        )
    ]
    for team in TEAMS:
        for index in range(team.size - (1 if team.name == "ward-7" else 0)):
            roles = "staff"
            if index == 0:
                roles = "staff;manager"
            elif index in (2, 5):
                roles = "staff;volunteer"
            people.append(
                Person(
                    platform="demo",
                    platform_user_id=f"{team.name}-{index:02d}",
                    display_name=f"{next(names, 'Alex')} {rng.choice(SURNAMES)}",
                    team=team.name,
                    region=team.region,
                    roles=roles,
                    manages=team.name if index == 0 else "",
                )
            )
    return people


def synthetic_moods(
    people: list[Person], pseudonym_of: dict[int, str], today: date, rng: random.Random
) -> list[Mood]:
    """Ninety days of plausible answers: weekly rhythm, leave, bad patches, skipped days."""
    baselines = {team.name: team.baseline for team in TEAMS}
    moods: list[Mood] = []
    for person in people:
        personal = baselines[person.team] + rng.uniform(-0.6, 0.6)
        leave_weeks = set(rng.sample(range(HISTORY_DAYS // 7 + 1), k=rng.randint(0, 3)))
        rough_patch = rng.randrange(HISTORY_DAYS) if rng.random() < 0.3 else -100
        for offset in range(HISTORY_DAYS, 0, -1):
            day = today - timedelta(days=offset)
            if day.weekday() >= 5 or offset // 7 in leave_weeks or rng.random() > 0.72:
                continue
            level = personal - (0.4 if day.weekday() == 0 else 0.0) + rng.gauss(0, 0.7)
            if 0 <= offset - rough_patch < 10:
                level -= 1.3
            score = min(5, max(1, round(level)))
            moods.append(
                Mood(
                    pseudonym=pseudonym_of[row_id(person)],
                    team=person.team,
                    local_date=day,
                    score=score,
                )
            )
    return moods


async def seed(runtime: Runtime, today: date, seed_value: int = 7) -> Person:
    """Fill an empty demo database; returns Sam, the person you chat as."""
    rng = random.Random(seed_value)  # noqa: S311  (made-up data, not security)
    services = runtime.services
    await services.people.add_all(synthetic_people(rng))
    people = list(await services.people.list())
    pseudonym_of = {p.id: services.pseudonym(p) for p in people if p.id is not None}
    await services.moods.add_many(synthetic_moods(people, pseudonym_of, today, rng))
    sam = await services.people.find("console", DEMO_USER)
    if sam is None:
        raise RuntimeError("the demo person was not seeded")
    return sam


def kiln_command() -> str:
    """How the person ran kiln, so hints can be copied as they are (``.venv/bin/kiln``)."""
    program = Path(sys.argv[0])
    if program.name != "kiln":
        return "kiln"
    try:
        return str(program.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(program)


def reset_database(path: Path) -> None:
    """Remove a previous demo database and its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


BANNER = """kiln demo: you are Sam, a nurse on Ward 7. Everyone else here is made up.
Answer with the numbers shown, or type as you would in chat (/help lists the commands).
{ending}
"""


async def run_demo(
    db_path: Path = DEMO_DB, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Seed the demo organisation, send Sam a check-in, chat until end of input."""
    out = stdout or sys.stdout
    source = stdin or sys.stdin
    reset_database(db_path)
    console = ConsoleAdapter(DEMO_USER, display_name="Sam Jones", stdin=source, stdout=out)
    runtime = await open_runtime(demo_settings(db_path), [console], pepper=DEMO_PEPPER)
    try:
        now = runtime.services.clock()
        sam = await seed(runtime, now.date())
        ending = "Press Ctrl-D to finish." if source.isatty() else ""
        out.write(BANNER.format(ending=ending).rstrip() + "\n\n")
        # The check-in goes out before input is read, so a piped "3" answers it.
        await runtime.engine.start_checkin(sam, now)
        await runtime.start_adapters()
        await console.finished.wait()
        out.write(
            f"\nThanks for trying kiln. The made-up team data is in {db_path}; see it with:\n"
            f"  {kiln_command()} report --demo --team ward-7\n"
        )
        out.flush()
    finally:
        await runtime.close()
    return 0


def main() -> int:
    """Entry point used by the CLI."""
    return asyncio.run(run_demo())


__all__ = ["DEMO_DB", "main", "run_demo", "seed"]
