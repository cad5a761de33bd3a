"""The figures the managers' view shows, all from the anonymising query layer.

Mood figures come from ``bot.reporting`` (which suppresses small groups, blocks
differencing and writes the audit log). Support figures are not in that layer yet, so
the thin functions below build them with the same rules, ready to move there:

- a figure about people is shown only when at least ``min_group_size`` are in it;
- figures cover fixed, finished periods (a month of whole weeks), never a sliding
  window, so two looks a week apart cannot be subtracted to single out one request.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from bot.periods import Period, PeriodKind, final_periods
from bot.reporting import TeamTrend, Viewer, team_trend
from bot.services import Services
from storage.audit import AuditAction
from storage.models import Person
from storage.support import SupportAlert
from storage.support_requests import SupportRepository

logger = logging.getLogger(__name__)

#: How many finished weeks the dashboard shows.
DASHBOARD_WEEKS = 12


@dataclass(frozen=True)
class SupportFigures:
    """Support requests across the organisation in one finished period.

    ``available`` is False when the support tables cannot be read; ``suppressed`` is
    True when fewer than ``min_group_size`` requests were made. Either way, no numbers.
    """

    period: Period | None
    min_group_size: int
    available: bool
    suppressed: bool
    requests: int | None = None
    handled: int | None = None
    median_minutes: float | None = None


@dataclass(frozen=True)
class VolunteerLoad:
    """How hard Wellbeing Warriors were asked in a period, and whether the cap held."""

    period: Period
    cap: int
    available: bool
    alerts: int = 0
    cap_respected: bool = True
    busiest_day: int | None = None
    volunteers: int | None = None
    alerts_per_volunteer: float | None = None


async def team_trends(
    services: Services, viewer: Viewer, teams: list[str], now: datetime, purpose: str
) -> list[TeamTrend]:
    """The weekly trend of each team, through the query layer (scope-checked, audited)."""
    return [
        await team_trend(services, team, DASHBOARD_WEEKS, now, viewer=viewer, purpose=purpose)
        for team in teams
    ]


def last_month(services: Services, now: datetime) -> Period | None:
    """The latest finished month (of whole weeks), if one is inside the retention window."""
    earliest = now.date() - timedelta(days=services.settings.retention_days)
    periods = final_periods(PeriodKind.MONTH, 1, now, earliest)
    return periods[-1] if periods else None


def _bounds(period: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.start, time(0, 0), tzinfo=UTC)
    return start, datetime.combine(period.end + timedelta(days=1), time(0, 0), tzinfo=UTC)


async def support_figures(
    services: Services, period: Period | None, actor: Person | str = "admin"
) -> SupportFigures:
    """Requests made in ``period``, how many a Warrior took, and the median wait for one."""
    threshold = services.settings.min_group_size
    if period is None:
        return SupportFigures(None, threshold, available=True, suppressed=True)
    start, end = _bounds(period)
    try:
        rows = await SupportRepository(services.db).first_contact(start)
    except DBAPIError as problem:
        # Support has its own migration; say "not available" rather than a false 0.
        logger.warning("support figures unavailable: %s", type(problem).__name__)
        return SupportFigures(period, threshold, available=False, suppressed=True)
    await services.audit.record(
        actor,
        AuditAction.VIEW,
        f"support: everyone; month {period.label}",
    )
    in_period = [row for row in rows if row.created_at < end]
    if len(in_period) < threshold:
        return SupportFigures(period, threshold, available=True, suppressed=True)
    waits = [row.seconds for row in in_period if row.seconds is not None]
    median = round(statistics.median(waits) / 60, 1) if len(waits) >= threshold else None
    return SupportFigures(
        period,
        threshold,
        available=True,
        suppressed=False,
        requests=len(in_period),
        handled=len(waits),
        median_minutes=median,
    )


async def volunteer_load(services: Services, period: Period) -> VolunteerLoad:
    """Alerts to Warriors in ``period``: total, the busiest day of any one, the cap."""
    cap = services.settings.support.volunteer_daily_cap
    start, end = _bounds(period)
    try:
        async with services.db.session() as session:
            result = await session.exec(
                select(col(SupportAlert.volunteer_id), col(SupportAlert.created_at)).where(
                    col(SupportAlert.created_at) >= start, col(SupportAlert.created_at) < end
                )
            )
            rows = list(result.all())
    except DBAPIError as problem:
        logger.warning("volunteer load unavailable: %s", type(problem).__name__)
        return VolunteerLoad(period, cap, available=False)
    per_day = Counter((volunteer, moment.date()) for volunteer, moment in rows)
    busiest = max(per_day.values(), default=0)
    volunteers = len({volunteer for volunteer, _ in rows})
    shown = volunteers >= services.settings.min_group_size
    return VolunteerLoad(
        period,
        cap,
        available=True,
        alerts=len(rows),
        cap_respected=busiest <= cap,
        busiest_day=busiest if shown else None,
        volunteers=volunteers if shown else None,
        alerts_per_volunteer=round(len(rows) / volunteers, 1) if shown else None,
    )


def month_label(period: Period) -> str:
    """ "October 2026" for a month of whole weeks."""
    year, month_number = period.label.split("-")
    return f"{date(int(year), int(month_number), 1):%B} {year}"
