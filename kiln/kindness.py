"""The kindness report: a monthly, organisation-wide page on the difference kiln makes.

It is framed by the six commitments organisations make when they lead with kindness
(listening, understanding, permissive, systemic, reflective, learning). kiln can
measure something for four of them; for the other two the page says so plainly and
suggests what to look at instead, rather than dress up a number that isn't there.

Aggregates only: mood comes from ``bot.reporting.aggregate`` for the whole
organisation (suppressed and protected against differencing there), support and
volunteer figures from the thin functions in ``kiln.dashboard.figures``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot import charts
from bot.charts import MOOD_LABELS, ChartKind
from bot.periods import PeriodKind
from bot.reporting import EVERYONE, Cell, TeamTrend, Viewer, WeekCell, aggregate
from bot.services import Services
from kiln.dashboard import pages
from kiln.dashboard.charts import Chart, make_inline
from kiln.dashboard.figures import (
    SupportFigures,
    VolunteerLoad,
    month_label,
    support_figures,
    volunteer_load,
)

logger = logging.getLogger(__name__)

#: Months of mood trend on the page.
TREND_MONTHS = 6


@dataclass(frozen=True)
class KindnessReport:
    """Everything the page shows for one finished month."""

    month: str
    enrolled: int
    min_group_size: int
    mood: Cell | None
    months: list[tuple[str, Cell]]
    support: SupportFigures
    load: VolunteerLoad | None
    charts: list[Chart]
    generated: str


def _as_trend(months: list[tuple[str, Cell]], size: int, threshold: int) -> TeamTrend:
    cells = tuple(WeekCell.of(cell) for _, cell in months)
    return TeamTrend("everyone", size, threshold, cells)


def _describe(months: list[tuple[str, Cell]], threshold: int) -> tuple[str, str]:
    shown = [(label, cell) for label, cell in months if not cell.suppressed]
    if not shown:
        hidden = f"No month can be shown: fewer than {threshold} people answered."
        return hidden, hidden
    means = "; ".join(f"{label} {cell.mean:.1f}" for label, cell in shown)
    last_label, last = shown[-1]
    shares = ""
    if last.distribution and last.answers:
        shares = ", ".join(
            f"{name} {100 * count / last.answers:.0f}%"
            for name, count in zip(MOOD_LABELS, last.distribution, strict=True)
        )
    return (
        f"Average mood across the organisation, month by month, on a scale of 1 to 5: {means}.",
        f"Share of answers at each mood, month by month. In {last_label}: {shares}.",
    )


def _month_charts(months: list[tuple[str, Cell]], size: int, threshold: int) -> list[Chart]:
    if not months:
        return []
    trend = _as_trend(months, size, threshold)
    labels = [label.split()[0][:3] for label, _ in months]
    mean_text, spread_text = _describe(months, threshold)
    result = []
    for kind, title, text in (
        (ChartKind.MEAN, "Average mood, month by month", mean_text),
        (ChartKind.DISTRIBUTION, "How people felt, month by month", spread_text),
    ):
        element_id = f"kindness-{kind.value}"
        svg = make_inline(charts.svg(kind, trend, labels), element_id, title, text)
        result.append(Chart(kind, element_id, title, text, svg))
    return result


async def build(services: Services, now: datetime | None = None) -> KindnessReport:
    """The figures for the latest finished month (and the months before it, for the trend)."""
    moment = now or services.clock()
    threshold = services.settings.min_group_size
    report = await aggregate(
        services,
        Viewer.admin(),
        [EVERYONE],
        kind=PeriodKind.MONTH,
        count=TREND_MONTHS,
        now=moment,
        purpose="kindness report",
    )
    months = [(month_label(cell.period), cell) for cell in report.row(EVERYONE)]
    # Hidden months before the first one shown say nothing (often: before kiln started).
    while len(months) > 1 and months[0][1].suppressed:
        months.pop(0)
    enrolled = report.group_sizes.get(EVERYONE, 0)
    last = report.periods[-1] if report.periods else None
    return KindnessReport(
        month=month_label(last) if last else "no finished month yet",
        enrolled=enrolled,
        min_group_size=threshold,
        mood=months[-1][1] if months else None,
        months=months,
        support=await support_figures(services, last),
        load=await volunteer_load(services, last) if last else None,
        charts=_month_charts(months, enrolled, threshold),
        generated=pages.generated_label(moment),
    )


def render(report: KindnessReport) -> str:
    """The report as a single HTML file (CSS and charts inline)."""
    return pages.standalone(
        "kindness.html",
        r=report,
        min_group_size=report.min_group_size,
        median_label=pages.minutes_label(report.support.median_minutes),
    )


async def write(services: Services, path: Path) -> KindnessReport:
    """Build the report for the latest finished month and write it to ``path``."""
    report = await build(services)
    await asyncio.to_thread(path.write_text, render(report), "utf-8")
    logger.info("kindness report for %s written", report.month)
    return report
