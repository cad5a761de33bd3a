"""The anonymising query layer: every aggregate kiln shows anyone comes from here.

CLI reports, chat summaries and the dashboard all call :func:`aggregate`, so the
rules live in one place, not in templates: a cell is shown only if at least
``min_group_size`` distinct people answered in it, and only if no sum or difference
of anything kiln shows could expose a smaller group (:mod:`bot.anonymity`). A
suppressed cell carries no numbers at all, so nothing downstream can leak them.
Every call is written to the audit log (who looked at what, never the figures).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from bot.anonymity import Unit, publishable
from bot.periods import Period, PeriodKind, final_periods, week_start
from bot.services import Services
from storage.audit import AuditAction
from storage.models import Person
from storage.rollup import WeekTally

#: A mood row as reports see it: (pseudonym, team, day, score).
Row = tuple[str, str, date, int]


class OutOfScope(PermissionError):
    """A viewer asked for a group they may not see."""


@dataclass(frozen=True)
class Group:
    """A team, or (``team`` None) the whole organisation."""

    team: str | None = None

    @classmethod
    def of_team(cls, name: str) -> Group:
        """The group of one team."""
        return cls(name)

    @property
    def label(self) -> str:
        """The team's name, or ``everyone``."""
        return self.team if self.team is not None else "everyone"


#: The whole organisation.
EVERYONE = Group()


@dataclass(frozen=True)
class Viewer:
    """Who is asking, and which groups they may see.

    Attributes:
        role: ``admin`` (the command line) or ``manager``.
        person: The person asking, if they are one (None for the command line).
        teams: The teams they may see; None for every team and the organisation.
    """

    role: str
    person: Person | None = None
    teams: frozenset[str] | None = None

    @classmethod
    def admin(cls) -> Viewer:
        """The administrator at the command line: every team and the organisation."""
        return cls("admin")

    @classmethod
    def manager(cls, person: Person) -> Viewer:
        """A manager: only the teams the roster says they manage."""
        manages = person.manages if "manager" in person.roles.split(";") else ""
        teams = frozenset(team.strip() for team in manages.split(";") if team.strip())
        return cls("manager", person, teams)

    def may_see(self, group: Group) -> bool:
        """Whether this viewer may see a group at all (before any suppression)."""
        if self.teams is None:
            return True
        return group.team is not None and group.team in self.teams


@dataclass(frozen=True)
class Cell:
    """One group in one period. When ``suppressed``, every figure is None.

    Attributes:
        respondents: Distinct people who answered.
        answers: Mood answers given (one per person per day at most).
        mean: Mean score, 1 to 5, to two places.
        distribution: How many answers of each score, 1 to 5.
        participation: Respondents over the group's current size (at most 1).
    """

    group: Group
    period: Period
    suppressed: bool
    respondents: int | None = None
    answers: int | None = None
    mean: float | None = None
    distribution: tuple[int, int, int, int, int] | None = None
    participation: float | None = None


@dataclass(frozen=True)
class Report:
    """Cells for some groups over consecutive periods, oldest first."""

    kind: PeriodKind
    periods: tuple[Period, ...]
    groups: tuple[Group, ...]
    group_sizes: Mapping[Group, int]
    min_group_size: int
    cells: Mapping[tuple[Group, Period], Cell] = field(default_factory=dict)

    def row(self, group: Group) -> tuple[Cell, ...]:
        """One group's cells, oldest period first."""
        return tuple(self.cells[(group, period)] for period in self.periods)


@dataclass
class _Tally:
    people: set[str] = field(default_factory=set)
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])


def tabulate(
    rows: Iterable[Row],
    *,
    groups: Sequence[Group],
    periods: Sequence[Period],
    sizes: Mapping[str, int],
    threshold: int,
) -> dict[tuple[Group, Period], Cell]:
    """The cells for these groups and periods, with every anonymity rule applied.

    Pure: the same rows give the same cells, whoever asks and whenever.

    Args:
        rows: Mood rows covering at least every day of ``periods``.
        groups: Teams and/or the organisation.
        periods: Final periods (see :func:`bot.periods.final_periods`).
        sizes: Current people per team, for participation.
        threshold: The minimum group size.
    """
    tallies: dict[Unit, _Tally] = defaultdict(_Tally)
    for pseudonym, team, day, score in rows:
        tally = tallies[(team, week_start(day))]
        tally.people.add(pseudonym)
        tally.counts[score - 1] += 1
    contributors = {unit: frozenset(tally.people) for unit, tally in tallies.items()}
    shown = publishable(contributors, periods, threshold)
    cells: dict[tuple[Group, Period], Cell] = {}
    for group in groups:
        size = sum(sizes.values()) if group.team is None else sizes.get(group.team, 0)
        for period in periods:
            if (group.team, period) not in shown:
                cells[(group, period)] = Cell(group, period, suppressed=True)
                continue
            weeks = set(period.weeks)
            inside = [
                tally
                for (team, monday), tally in tallies.items()
                if monday in weeks and (group.team is None or team == group.team)
            ]
            cells[(group, period)] = _figures(group, period, inside, size)
    return cells


def _figures(group: Group, period: Period, tallies: Sequence[_Tally], size: int) -> Cell:
    respondents = len(set().union(*(tally.people for tally in tallies)))
    counts = [sum(tally.counts[index] for tally in tallies) for index in range(5)]
    answers = sum(counts)
    total = sum((index + 1) * count for index, count in enumerate(counts))
    return Cell(
        group,
        period,
        suppressed=False,
        respondents=respondents,
        answers=answers,
        mean=round(total / answers, 2),
        distribution=(counts[0], counts[1], counts[2], counts[3], counts[4]),
        participation=round(min(respondents / size, 1.0), 3) if size else None,
    )


async def aggregate(
    services: Services,
    viewer: Viewer,
    groups: Sequence[Group],
    *,
    kind: PeriodKind = PeriodKind.WEEK,
    count: int = 8,
    now: datetime | None = None,
    purpose: str = "report",
) -> Report:
    """Anonymised mood for some groups over the last ``count`` finished weeks or months.

    The view is written to the audit log as ``purpose`` (``report``, ``teammood``,
    ``dashboard``, ...).

    Raises:
        OutOfScope: if the viewer may not see one of the groups.
    """
    for group in groups:
        if not viewer.may_see(group):
            raise OutOfScope(f"not allowed to see {group.label}")
    moment = now or services.clock()
    earliest = moment.date() - timedelta(days=services.settings.retention_days)
    periods = final_periods(kind, count, moment, earliest)
    rows = await services.moods.rows_between(periods[0].start, periods[-1].end) if periods else []
    sizes = await services.people.team_sizes()
    threshold = services.settings.min_group_size
    cells = tabulate(rows, groups=groups, periods=periods, sizes=sizes, threshold=threshold)
    group_sizes = {
        group: sum(sizes.values()) if group.team is None else sizes.get(group.team, 0)
        for group in groups
    }
    await _record_view(services, viewer, groups, kind, periods, purpose)
    return Report(kind, tuple(periods), tuple(groups), group_sizes, threshold, cells)


async def _record_view(
    services: Services,
    viewer: Viewer,
    groups: Sequence[Group],
    kind: PeriodKind,
    periods: Sequence[Period],
    purpose: str,
) -> None:
    """Write who looked at which groups and periods to the audit log (never the figures)."""
    span = f"{periods[0].start}..{periods[-1].end}" if periods else "no finished period"
    names = ", ".join(group.label for group in groups) or "no group"
    await services.audit.record(
        viewer.person or viewer.role,
        AuditAction.VIEW,
        f"{purpose}: {names}; {len(periods)} {kind.value}s ({span})",
    )


@dataclass(frozen=True)
class WeekCell:
    """One team-week (the shape `/teammood`, charts and the dashboard use).

    When ``suppressed``, every figure is None.
    """

    week_start: date
    suppressed: bool
    respondents: int | None = None
    answers: int | None = None
    mean: float | None = None
    distribution: tuple[int, int, int, int, int] | None = None
    participation: float | None = None

    @classmethod
    def of(cls, cell: Cell) -> WeekCell:
        """The same figures, for a report's cell (the period's first day as its week)."""
        return cls(
            cell.period.start,
            cell.suppressed,
            cell.respondents,
            cell.answers,
            cell.mean,
            cell.distribution,
            cell.participation,
        )


@dataclass(frozen=True)
class TeamTrend:
    """A team's weekly trend over finished weeks, oldest week first."""

    team: str
    team_size: int
    min_group_size: int
    weeks: tuple[WeekCell, ...]


async def team_trend(
    services: Services,
    team: str,
    weeks: int,
    today: date | datetime,
    *,
    viewer: Viewer | None = None,
    purpose: str = "report",
) -> TeamTrend:
    """A team's last ``weeks`` finished weeks, through :func:`aggregate`.

    Only finished weeks are shown: a week still under way would change from one
    look to the next, and the change is one day's answers, perhaps one person's.

    Args:
        services: The engine's collaborators.
        team: The team.
        weeks: How many finished weeks.
        today: Now, or today's date (then the service clock's time of day is used).
        viewer: Who is looking, for the scope check and the audit log.
        purpose: What the view is for, in the audit log (``teammood``, ``dashboard``).
    """
    now = today if isinstance(today, datetime) else _moment_of(services, today)
    who = viewer or Viewer("unspecified")
    group = Group.of_team(team)
    if not who.may_see(group):
        raise OutOfScope(f"not allowed to see {group.label}")
    earliest = now.date() - timedelta(days=services.settings.retention_days)
    periods = final_periods(PeriodKind.WEEK, weeks, now, earliest)
    # Read from the weekly rollup, not the mood rows: one indexed look-up however big
    # the organisation. For team-weeks the rules of `aggregate` come down to the
    # team-week's own distinct respondents: team-weeks share no answers, and the
    # organisation's totals, decided after them, never take one back. A test holds
    # the two to identical results on random data, erasures and purges included.
    tallies = (
        await services.moods.team_weeks(team, periods[0].start, periods[-1].start)
        if periods
        else {}
    )
    size = (await services.people.team_sizes()).get(team, 0)
    threshold = services.settings.min_group_size
    cells = tuple(
        _week_cell(period.start, tallies.get(period.start), size, threshold) for period in periods
    )
    await _record_view(services, who, [group], PeriodKind.WEEK, periods, purpose)
    return TeamTrend(team, size, threshold, cells)


def _week_cell(monday: date, tally: WeekTally | None, size: int, threshold: int) -> WeekCell:
    """One team-week from its rollup, suppressed below the minimum group size."""
    if tally is None or tally.respondents < threshold or not tally.answers:
        return WeekCell(monday, suppressed=True)
    total = sum(score * count for score, count in zip(range(1, 6), tally.counts, strict=True))
    return WeekCell(
        monday,
        suppressed=False,
        respondents=tally.respondents,
        answers=tally.answers,
        mean=round(total / tally.answers, 2),
        distribution=tally.counts,
        participation=round(min(tally.respondents / size, 1.0), 3) if size else None,
    )


def _moment_of(services: Services, day: date) -> datetime:
    now = services.clock()
    if now.date() == day:
        return now
    return datetime.combine(day, time(12, 0), tzinfo=UTC)
