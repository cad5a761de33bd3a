"""Made-up people, moods and support history for `kiln demo` (nothing here is real)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kiln.runtime import Runtime
from storage.models import Mood, Person, row_id
from storage.support import RequestStatus, SupportAlert, SupportRequest

DEMO_USER = "sam"
#: The made-up manager of Ward 7, whose dashboard the demo opens.
DEMO_MANAGER = "ward-7-00"
#: Colleagues live on their own pretend platform; the demo prints what they are sent.
COLLEAGUES_PLATFORM = "demo"
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
                    platform=COLLEAGUES_PLATFORM,
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


def synthetic_support(
    people: list[Person], now: datetime, rng: random.Random
) -> list[SupportRequest]:
    """Requests over the last eight weeks, each taken by a volunteer after a while."""
    staff = [p for p in people if p.id is not None and "volunteer" not in p.roles]
    volunteers = [p for p in people if p.id is not None and "volunteer" in p.roles]
    rows: list[SupportRequest] = []
    for _ in range(24):
        asked = now - timedelta(days=rng.uniform(1, 56), minutes=rng.randrange(600))
        person, volunteer = rng.choice(staff), rng.choice(volunteers)
        wait = int(rng.lognormvariate(6.2, 0.6))  # mostly 5 to 20 minutes
        request = SupportRequest(
            person_id=row_id(person),
            reason=rng.choice(["asked", "asked", "low_mood", "distress"]),
            status=RequestStatus.CLOSED.value,
            created_at=asked,
            claimed_by=row_id(volunteer),
            claimed_at=asked + timedelta(seconds=wait),
            first_contact_seconds=wait,
            closed_at=asked + timedelta(days=2),
        )
        rows.append(request)
    return rows


async def seed_support(runtime: Runtime, now: datetime, seed_value: int) -> None:
    """Made-up support requests and alerts, so the managers' view has figures to show."""
    rng = random.Random(seed_value + 1)  # noqa: S311  (made-up data, not security)
    people = list(await runtime.services.people.list())
    requests = synthetic_support(people, now, rng)
    async with runtime.db.session() as session:
        session.add_all(requests)
        await session.flush()
        for request in requests:
            assert request.id is not None and request.claimed_by is not None  # noqa: S101
            session.add(
                SupportAlert(
                    request_id=request.id,
                    volunteer_id=request.claimed_by,
                    status="claimed",
                    created_at=request.created_at,
                    expires_at=request.created_at + timedelta(minutes=15),
                    answered_at=request.claimed_at,
                )
            )


async def seed(runtime: Runtime, today: date, seed_value: int = 7) -> Person:
    """Fill an empty demo database; returns Sam, the person you chat as."""
    rng = random.Random(seed_value)  # noqa: S311  (made-up data, not security)
    services = runtime.services
    await services.people.add_all(synthetic_people(rng))
    people = list(await services.people.list())
    pseudonym_of = {p.id: services.pseudonym(p) for p in people if p.id is not None}
    await services.moods.add_many(synthetic_moods(people, pseudonym_of, today, rng))
    await seed_support(runtime, services.clock(), seed_value)
    sam = await services.people.find("console", DEMO_USER)
    if sam is None:
        raise RuntimeError("the demo person was not seeded")
    return sam
