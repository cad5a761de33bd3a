"""Reporting periods: ISO weeks, and months made of whole ISO weeks.

A month here is the set of ISO weeks whose Thursday falls in that calendar month (the
rule ISO 8601 uses to give each week to a year). Months are therefore whole weeks, so
a week always sits inside exactly one month and a monthly figure can never be cut
against a weekly one to isolate a few days.

A period is only reported once it is final: over in every timezone (answers for a
past day are refused, so its figures can no longer change) and still wholly inside
the retention window (so a purge never shaves days off a period already shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

#: The furthest-behind timezone (UTC-12): a day is over everywhere once it is over there.
LAST_TIMEZONE_OFFSET = timedelta(hours=12)


class PeriodKind(StrEnum):
    """How long a reporting period is."""

    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, order=True)
class Period:
    """A week (Monday to Sunday) or a month of whole weeks.

    Attributes:
        start: The first Monday.
        end: The last Sunday.
        kind: Week or month.
    """

    start: date
    end: date
    kind: PeriodKind

    @property
    def weeks(self) -> tuple[date, ...]:
        """The Mondays of the weeks in this period."""
        count = (self.end - self.start).days // 7 + 1
        return tuple(self.start + timedelta(weeks=index) for index in range(count))

    @property
    def label(self) -> str:
        """``2026-11-16`` for a week, ``2026-11`` for a month."""
        if self.kind is PeriodKind.WEEK:
            return self.start.isoformat()
        thursday = self.start + timedelta(days=3)
        return f"{thursday.year:04d}-{thursday.month:02d}"


def week_start(day: date) -> date:
    """The Monday of the ISO week holding ``day``."""
    return day - timedelta(days=day.weekday())


def week_of(day: date) -> Period:
    """The ISO week holding ``day``."""
    monday = week_start(day)
    return Period(monday, monday + timedelta(days=6), PeriodKind.WEEK)


def month(year: int, month_number: int) -> Period:
    """The weeks whose Thursday falls in the given calendar month."""
    first = date(year, month_number, 1)
    # The first Thursday of the month, then back to its Monday.
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    start = first_thursday - timedelta(days=3)
    following = date(year + month_number // 12, month_number % 12 + 1, 1)
    next_thursday = following + timedelta(days=(3 - following.weekday()) % 7)
    return Period(start, next_thursday - timedelta(days=4), PeriodKind.MONTH)


def month_of(day: date) -> Period:
    """The month (of whole weeks) holding ``day``."""
    thursday = week_start(day) + timedelta(days=3)
    return month(thursday.year, thursday.month)


def period_of(day: date, kind: PeriodKind) -> Period:
    """The week or month holding ``day``."""
    return week_of(day) if kind is PeriodKind.WEEK else month_of(day)


def last_final_day(now: datetime) -> date:
    """The latest local day that is over in every timezone at ``now`` (timezone-aware)."""
    return (now - LAST_TIMEZONE_OFFSET).date() - timedelta(days=1)


def final_periods(kind: PeriodKind, count: int, now: datetime, earliest: date) -> list[Period]:
    """The ``count`` most recent final periods starting on or after ``earliest``, oldest first.

    Args:
        kind: Weeks or months.
        count: How many periods at most.
        now: The current moment (timezone-aware).
        earliest: The first day still inside the retention window.
    """
    periods: list[Period] = []
    candidate = period_of(last_final_day(now), kind)
    if candidate.end > last_final_day(now):
        candidate = period_of(candidate.start - timedelta(days=1), kind)
    while len(periods) < count and candidate.start >= earliest:
        periods.append(candidate)
        candidate = period_of(candidate.start - timedelta(days=1), kind)
    return periods[::-1]
