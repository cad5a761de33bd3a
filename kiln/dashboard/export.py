"""`kiln report --png FILE --html FILE`: the team report as an image or a single-file page."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot import charts
from bot.periods import PeriodKind
from bot.reporting import Report, TeamTrend, WeekCell
from bot.services import Services
from kiln.dashboard import pages
from kiln.dashboard.figures import last_month, support_figures

logger = logging.getLogger(__name__)


def trends_of(report: Report) -> list[TeamTrend]:
    """A report's groups in the shape charts and pages use (the organisation last)."""
    trends = []
    for group in report.groups:
        cells = tuple(WeekCell.of(cell) for cell in report.row(group))
        name = group.team if group.team is not None else "Everyone (all teams)"
        size = report.group_sizes.get(group, 0)
        trends.append(TeamTrend(name, size, report.min_group_size, cells))
    return trends


async def write_files(
    services: Services, report: Report, png: Path | None, html: Path | None
) -> None:
    """Write the report as a PNG chart and/or a single-file HTML page."""
    if report.kind is not PeriodKind.WEEK:
        raise ValueError("charts and pages are drawn for weekly reports")
    trends = trends_of(report)
    if png is not None:
        await write_png(trends, png)
    if html is not None:
        await write_html(services, trends, html)


async def write_png(trends: list[TeamTrend], path: Path) -> None:
    """Every team's charts in one PNG (hidden weeks drawn as hatched gaps)."""
    image = await asyncio.to_thread(charts.png, trends, "kiln: weekly team mood")
    await asyncio.to_thread(path.write_bytes, image)


async def report_html(services: Services, trends: list[TeamTrend]) -> str:
    """The report as one HTML file: CSS inline, charts inline, nothing fetched."""
    now = services.clock()
    support = pages.support_view(await support_figures(services, last_month(services, now)))
    return pages.standalone(
        "report.html",
        page_title="Team mood, week by week",
        teams=[pages.team_view(trend, index) for index, trend in enumerate(trends)],
        support=support,
        min_group_size=services.settings.min_group_size,
        generated=pages.generated_label(now),
    )


async def write_html(services: Services, trends: list[TeamTrend], path: Path) -> None:
    """Write :func:`report_html` to ``path``."""
    text = await report_html(services, trends)
    await asyncio.to_thread(path.write_text, text, "utf-8")
