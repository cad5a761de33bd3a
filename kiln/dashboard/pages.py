"""What each page shows, built from suppressed figures, and rendered with Jinja2.

Views (web) and ``kiln report --html`` (a file) both use these builders, so a page
on screen and a page on disk show the same figures the same way. Templates only lay
out what is here: they never compute a figure or see a hidden one.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.charts import MOOD_LABELS
from bot.reporting import TeamTrend, WeekCell
from kiln.dashboard.charts import Chart, team_charts, week_label
from kiln.dashboard.figures import SupportFigures, month_label

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
CSV_COLUMNS = [
    "team",
    "week_start",
    "status",
    "average_mood",
    *(f"answers_{label.lower().replace(' ', '_')}" for label in MOOD_LABELS),
    "people_answered",
    "team_size",
    "participation_percent",
]


@dataclass(frozen=True)
class WeekRow:
    """One week of a team, as a table row (None figures when hidden)."""

    label: str
    week_start: date
    hidden: bool
    mean: str
    shares: tuple[str, ...]
    people: str
    participation: str


@dataclass(frozen=True)
class TeamView:
    """A team's section: headline numbers, three charts, and the table behind them."""

    team: str
    slug: str
    team_size: int
    min_group_size: int
    last_week: WeekCell | None
    week_before: WeekCell | None
    charts: tuple[Chart, ...]
    rows: list[WeekRow]
    link: str | None = None
    csv_url: str | None = None


@dataclass(frozen=True)
class SupportView:
    """The organisation's support box: the figures and their words."""

    figures: SupportFigures
    period_label: str
    median_label: str


def slug(team: str) -> str:
    """A safe HTML id fragment for a team name."""
    return re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-") or "team"


def _row(week: WeekCell) -> WeekRow:
    if week.suppressed or week.distribution is None or not week.answers:
        return WeekRow(week_label(week.week_start), week.week_start, True, "", (), "", "")
    return WeekRow(
        week_label(week.week_start),
        week.week_start,
        False,
        f"{week.mean:.1f}" if week.mean is not None else "",
        tuple(f"{100 * count / week.answers:.0f}%" for count in week.distribution),
        str(week.respondents),
        f"{week.participation:.0%}" if week.participation is not None else "",
    )


def team_view(trend: TeamTrend, index: int = 0) -> TeamView:
    """Everything one team's section shows."""
    name = f"t{index}-{slug(trend.team)}"
    return TeamView(
        team=trend.team,
        slug=name,
        team_size=trend.team_size,
        min_group_size=trend.min_group_size,
        last_week=trend.weeks[-1] if trend.weeks else None,
        week_before=trend.weeks[-2] if len(trend.weeks) > 1 else None,
        charts=team_charts(trend, name) if trend.weeks else (),
        rows=[_row(week) for week in reversed(trend.weeks)],
    )


def day_label(day: date) -> str:
    """ "23 November 2026"."""
    return f"{day.day} {day:%B %Y}"


def minutes_label(minutes: float | None) -> str:
    """ "under a minute", "12 min", "1 h 5 min"."""
    if minutes is None:
        return ""
    if minutes < 1:
        return "under a minute"
    whole = round(minutes)
    return f"{whole} min" if whole < 60 else f"{whole // 60} h {whole % 60} min"


def support_view(figures: SupportFigures) -> SupportView:
    """The support box for a finished month."""
    label = month_label(figures.period) if figures.period else "no finished month yet"
    return SupportView(figures, label, minutes_label(figures.median_minutes))


def _safe_cell(value: object) -> object:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def trends_csv(trends: list[TeamTrend]) -> str:
    """The weekly figures of the teams on screen, hidden weeks without numbers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for trend in trends:
        for week in trend.weeks:
            hidden = week.suppressed or week.distribution is None
            figures: list[object] = (
                [""] * 9
                if hidden
                else [
                    week.mean,
                    *(week.distribution or ()),
                    week.respondents,
                    trend.team_size,
                    round(100 * week.participation, 1) if week.participation is not None else "",
                ]
            )
            writer.writerow(
                [
                    _safe_cell(trend.team),
                    week.week_start.isoformat(),
                    "hidden" if hidden else "shown",
                    *figures,
                ]
            )
    return buffer.getvalue()


def support_csv(figures: SupportFigures) -> str:
    """The organisation's support figures on screen, as one CSV row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["period_start", "period_end", "status", "requests", "handled", "median_minutes_to_contact"]
    )
    status = (
        "not available" if not figures.available else "hidden" if figures.suppressed else "shown"
    )
    period = figures.period
    writer.writerow(
        [
            period.start.isoformat() if period else "",
            period.end.isoformat() if period else "",
            status,
            figures.requests if figures.requests is not None else "",
            figures.handled if figures.handled is not None else "",
            figures.median_minutes if figures.median_minutes is not None else "",
        ]
    )
    return buffer.getvalue()


@cache
def environment() -> Environment:
    """The Jinja2 environment (autoescaping on for every template)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["mood_labels"] = MOOD_LABELS
    return env


@cache
def stylesheet() -> str:
    """The dashboard's CSS, for pages written to a file (no server to fetch it from)."""
    return (STATIC / "dashboard.css").read_text(encoding="utf-8")


def render(template: str, **context: Any) -> str:
    """Render a template to HTML text."""
    return environment().get_template(template).render(**context)


def standalone(template: str, **context: Any) -> str:
    """A page that works as a single file: the CSS inline, nothing to fetch."""
    return render(template, inline_css=stylesheet(), **context)


def generated_label(moment: datetime) -> str:
    """ "Monday 23 November 2026, 10:00 UTC"."""
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} UTC"
