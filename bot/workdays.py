"""When a person is due a check-in: team schedule, timezone, holidays, quiet dates, pauses."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from bot.crisis import country_of
from bot.settings import WEEKDAYS, Settings

logger = logging.getLogger(__name__)

#: kiln region country codes that differ from ISO 3166 (which ``holidays`` uses).
HOLIDAY_COUNTRY = {"UK": "GB"}


@dataclass(frozen=True)
class Schedule:
    """A team's resolved check-in schedule."""

    time: dt.time
    weekdays: frozenset[int]
    timezone: str
    quiet_dates: frozenset[dt.date]
    last_call: dt.time


def region_parts(region: str) -> tuple[str, str | None]:
    """(ISO country, subdivision) for a kiln region like ``UK-WLS`` or ``US-CA``."""
    country = country_of(region)
    parts = region.strip().upper().split("-", 1)
    subdivision = parts[1] if len(parts) == 2 and parts[1] else None
    return HOLIDAY_COUNTRY.get(country, country), subdivision


def is_known_region(region: str) -> bool:
    """True if ``holidays`` knows the region's country and subdivision."""
    country, subdivision = region_parts(region)
    supported = holidays.list_supported_countries()
    if country not in supported:
        return False
    return subdivision is None or subdivision in supported[country]


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[dt.date]:
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError:
        logger.warning("no public holiday calendar for region %s-%s", country, subdivision)
        return frozenset()
    return frozenset(calendar.keys())


@lru_cache(maxsize=1024)
def known_timezone(name: str) -> bool:
    """True if ``name`` is an IANA timezone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_public_holiday(region: str, day: dt.date) -> bool:
    """True if ``day`` is a public holiday in the region."""
    country, subdivision = region_parts(region)
    return day in _holidays(country, subdivision, day.year)


class CheckinCalendar:
    """Answers "is this person due a check-in now, and for which local day?"."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def schedule(self, team: str) -> Schedule:
        """The team's schedule with defaults filled in."""
        base = self._settings.checkin
        team_settings = self._settings.team(team)
        weekdays = team_settings.weekdays or base.weekdays
        return Schedule(
            time=team_settings.time or base.time,
            weekdays=frozenset(WEEKDAYS.index(day) for day in weekdays),
            timezone=team_settings.timezone or self._settings.default_timezone,
            quiet_dates=frozenset([*self._settings.quiet_dates, *team_settings.quiet_dates]),
            last_call=base.last_call,
        )

    def timezone(self, team: str, person_timezone: str | None) -> ZoneInfo:
        """The person's own timezone, else their team's, else the default.

        A stored name this machine's timezone data does not know (a platform profile
        may name a zone newer than it) falls back to the team's, rather than failing.
        """
        if person_timezone and known_timezone(person_timezone):
            return ZoneInfo(person_timezone)
        return ZoneInfo(self.schedule(team).timezone)

    def local_date(self, team: str, person_timezone: str | None, now: dt.datetime) -> dt.date:
        """The person's local calendar date at ``now``."""
        return now.astimezone(self.timezone(team, person_timezone)).date()

    def is_checkin_day(self, team: str, region: str, day: dt.date) -> bool:
        """A scheduled weekday that is neither a public holiday nor a quiet date."""
        schedule = self.schedule(team)
        return (
            day.weekday() in schedule.weekdays
            and day not in schedule.quiet_dates
            and not is_public_holiday(region, day)
        )

    def due_date(
        self,
        *,
        team: str,
        region: str,
        person_timezone: str | None,
        paused_until: dt.date | None,
        now: dt.datetime,
    ) -> dt.date | None:
        """The local date a check-in is due for at ``now``, or None if none is due.

        Comparing wall-clock times (not instants) means a check-in time that falls in
        a DST gap is sent just after the jump, and one in a repeated hour is due from
        its first occurrence; the unique (person, day) row stops a second send.
        """
        schedule = self.schedule(team)
        local = now.astimezone(self.timezone(team, person_timezone))
        day = local.date()
        if paused_until is not None and day < paused_until:
            return None
        if not schedule.time <= local.time().replace(tzinfo=None) <= schedule.last_call:
            return None
        return day if self.is_checkin_day(team, region, day) else None
