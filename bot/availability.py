"""When a Wellbeing Warrior may be alerted: their hours, `/away` and `/available`.

By default a volunteer is available during the ``[support]`` hours on the listed
weekdays, in their own timezone. `/away` stops alerts until `/available`;
`/available` outside those hours puts them on call until the end of their local day.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.settings import WEEKDAYS, SupportSettings
from storage.outbox import as_utc
from storage.support import VolunteerStatus


def in_hours(support: SupportSettings, local: dt.datetime) -> bool:
    """True if ``local`` (the volunteer's wall-clock time) is within their usual hours.

    A window whose end is before its start runs past midnight and belongs to the
    weekday it started on (Friday 20:00-08:00 covers early Saturday).
    """
    start, end = support.volunteer_from, support.volunteer_until
    clock = local.time().replace(tzinfo=None)
    weekday = WEEKDAYS[local.weekday()]
    if start == end:
        return weekday in support.volunteer_weekdays
    if start < end:
        return weekday in support.volunteer_weekdays and start <= clock < end
    if clock >= start:
        return weekday in support.volunteer_weekdays
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    return clock < end and yesterday in support.volunteer_weekdays


def is_available(
    support: SupportSettings,
    status: VolunteerStatus | None,
    now: dt.datetime,
    timezone: ZoneInfo,
) -> bool:
    """Whether a volunteer may be alerted at ``now``."""
    if status is not None and status.away:
        return False
    if (
        status is not None
        and status.on_call_until is not None
        and now < as_utc(status.on_call_until)
    ):
        return True
    return in_hours(support, now.astimezone(timezone))


def end_of_local_day(now: dt.datetime, timezone: ZoneInfo) -> dt.datetime:
    """The next local midnight after ``now``, in UTC."""
    local = now.astimezone(timezone)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), timezone)
    return midnight.astimezone(dt.UTC)
