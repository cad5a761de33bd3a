"""Choosing the next Wellbeing Warrior to alert for a request (DESIGN §3).

Only available volunteers who can be reached are asked, one at a time; never the
person themselves or their own manager; not someone from their team while anyone
else is free; fewest open cases first, then whoever was alerted least recently;
and nobody past their daily cap of alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.availability import is_available
from bot.services import Services
from storage.models import Person, row_id
from storage.relay import RelayRepository
from storage.support import SupportRequest, saved_id
from storage.support_alerts import AlertRepository, VolunteerLoad
from storage.volunteers import VolunteerRepository, has_role

logger = logging.getLogger(__name__)

CAP_PERIOD = timedelta(hours=24)
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """A volunteer as routing sees them."""

    person: Person
    load: VolunteerLoad
    available: bool
    reachable: bool = True


@dataclass(frozen=True)
class Pick:
    """The outcome of routing: who to alert, and whether any volunteer exists at all."""

    volunteer: Person | None
    volunteers_exist: bool


def manages_team(volunteer: Person, team: str) -> bool:
    """True if the volunteer is a manager of ``team``."""
    teams = {part.strip() for part in volunteer.manages.split(";") if part.strip()}
    return has_role(volunteer, "manager") and team in teams


def choose(
    person: Person,
    candidates: Sequence[Candidate],
    *,
    tried: set[int],
    busy: set[int],
    daily_cap: int,
) -> Person | None:
    """The best volunteer for ``person`` among ``candidates``, or None.

    Args:
        person: Who needs support.
        candidates: Every volunteer, with their load and availability.
        tried: Volunteers already alerted for this request (each is asked once).
        busy: Volunteers who must not be asked now (in an anonymous chat already).
        daily_cap: Most alerts one volunteer may get in 24 hours.
    """
    eligible = [
        c
        for c in candidates
        if c.person.id != person.id
        and row_id(c.person) not in tried
        and row_id(c.person) not in busy
        and c.available
        and c.reachable
        and not c.person.undeliverable
        and not manages_team(c.person, person.team)
        and c.load.recent_alerts < daily_cap
    ]
    # Someone from another team first: a teammate only when nobody else is free.
    others = [c for c in eligible if c.person.team != person.team]
    pool = others or eligible
    if not pool:
        return None
    best = min(
        pool,
        key=lambda c: (c.load.open_cases, c.load.last_alerted_at or _NEVER, row_id(c.person)),
    )
    return best.person


class VolunteerPicker:
    """Loads what routing needs from storage and applies :func:`choose`."""

    def __init__(
        self,
        services: Services,
        volunteers: VolunteerRepository,
        alerts: AlertRepository,
        relays: RelayRepository,
    ) -> None:
        self._services = services
        self._volunteers = volunteers
        self._alerts = alerts
        self._relays = relays

    async def candidates(self, now: datetime) -> list[Candidate]:
        """Every volunteer with their load, availability and reachability."""
        services = self._services
        volunteers = await self._volunteers.volunteers()
        ids = [row_id(v) for v in volunteers]
        statuses = await self._volunteers.statuses(ids)
        loads = await self._alerts.loads(ids, now - CAP_PERIOD)
        running = set(services.delivery.platforms)
        return [
            Candidate(
                person=v,
                load=loads.get(row_id(v), VolunteerLoad()),
                available=is_available(
                    services.settings.support,
                    statuses.get(row_id(v)),
                    now,
                    services.calendar.timezone(v.team, v.timezone),
                ),
                reachable=v.platform in running,
            )
            for v in volunteers
        ]

    async def pick(self, person: Person, request: SupportRequest, now: datetime) -> Pick:
        """The next volunteer to alert for ``request``."""
        candidates = await self.candidates(now)
        tried = {alert.volunteer_id for alert in await self._alerts.alerts(saved_id(request))}
        busy = await self._relays.busy_volunteers() if request.anonymous else set()
        chosen = choose(
            person,
            candidates,
            tried=tried,
            busy=busy,
            daily_cap=self._services.settings.support.volunteer_daily_cap,
        )
        exist = any(c.person.id != person.id for c in candidates)
        return Pick(chosen, exist)
