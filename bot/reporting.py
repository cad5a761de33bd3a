"""Aggregate reports. The minimum group rule is enforced here, in the query layer.

Every consumer (CLI, chat, dashboard) gets cells that are already suppressed when
fewer than ``min_group_size`` distinct people answered: a suppressed cell carries no
numbers at all, so no template can leak them by mistake.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from bot.services import Services


@dataclass(frozen=True)
class WeekCell:
    """One team-week. When ``suppressed``, every figure is None."""

    week_start: date
    suppressed: bool
    respondents: int | None = None
    answers: int | None = None
    mean: float | None = None
    distribution: tuple[int, int, int, int, int] | None = None
    participation: float | None = None


@dataclass(frozen=True)
class TeamTrend:
    """A team's weekly trend, oldest week first."""

    team: str
    team_size: int
    min_group_size: int
    weeks: tuple[WeekCell, ...]


def week_start(day: date) -> date:
    """The Monday of the ISO week holding ``day``."""
    return day - timedelta(days=day.weekday())


async def team_trend(services: Services, team: str, weeks: int, today: date) -> TeamTrend:
    """Weekly mean, distribution and participation for a team over ``weeks`` weeks."""
    first = week_start(today) - timedelta(weeks=weeks - 1)
    rows = await services.moods.team_rows(team, first, today)
    size = (await services.people.team_sizes()).get(team, 0)
    threshold = services.settings.min_group_size
    by_week: dict[date, list[tuple[str, int]]] = defaultdict(list)
    for pseudonym, day, score in rows:
        by_week[week_start(day)].append((pseudonym, score))
    cells = []
    for index in range(weeks):
        start = first + timedelta(weeks=index)
        answers = by_week.get(start, [])
        respondents = len({pseudonym for pseudonym, _ in answers})
        if respondents < threshold:
            cells.append(WeekCell(start, suppressed=True))
            continue
        counts = [0, 0, 0, 0, 0]
        for _, score in answers:
            counts[score - 1] += 1
        cells.append(
            WeekCell(
                start,
                suppressed=False,
                respondents=respondents,
                answers=len(answers),
                mean=round(sum(score for _, score in answers) / len(answers), 2),
                distribution=(counts[0], counts[1], counts[2], counts[3], counts[4]),
                participation=round(respondents / size, 3) if size else None,
            )
        )
    return TeamTrend(team, size, threshold, tuple(cells))
