"""Wellbeing Warriors' own commands: `/available`, `/away`, `/cases`, and `Close case`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.availability import end_of_local_day, in_hours
from bot.messages import Message
from bot.relay import Relay
from bot.services import Services
from bot.support_messages import SupportMessages
from storage.models import Person, row_id
from storage.outbox import as_utc
from storage.support_requests import SupportRepository
from storage.volunteers import VOLUNTEER_ROLE, VolunteerRepository, has_role

logger = logging.getLogger(__name__)

Handler = Callable[[Person, tuple[str, ...]], Awaitable[None]]


class Cases:
    """What volunteers can do about their availability and their cases."""

    def __init__(
        self,
        services: Services,
        volunteers: VolunteerRepository,
        requests: SupportRepository,
        messages: SupportMessages,
        relay: Relay,
    ) -> None:
        self._services = services
        self._volunteers = volunteers
        self._requests = requests
        self._messages = messages
        self._relay = relay

    def commands(self) -> dict[str, Handler]:
        """The chat commands this module adds."""
        return {"available": self.available, "away": self.away, "cases": self.cases}

    async def _volunteer_only(self, person: Person) -> bool:
        if has_role(person, VOLUNTEER_ROLE):
            return True
        await self._say(person, "cases.not_volunteer")
        return False

    def _hours(self, person: Person) -> str:
        support = self._services.settings.support
        return self._services.text(
            person,
            "cases.hours",
            start=support.volunteer_from.strftime("%H:%M"),
            end=support.volunteer_until.strftime("%H:%M"),
        )

    async def available(self, person: Person, _args: tuple[str, ...]) -> None:
        """`/available`: alerts on again; outside usual hours, on call until midnight."""
        if not await self._volunteer_only(person):
            return
        services = self._services
        now = services.clock()
        zone = services.calendar.timezone(person.team, person.timezone)
        if in_hours(services.settings.support, now.astimezone(zone)):
            await self._volunteers.set_status(
                row_id(person), away=False, on_call_until=None, now=now
            )
            await self._say(person, "cases.available", hours=self._hours(person))
            return
        until = end_of_local_day(now, zone)
        await self._volunteers.set_status(row_id(person), away=False, on_call_until=until, now=now)
        await self._say(person, "cases.on_call", hours=self._hours(person))

    async def away(self, person: Person, _args: tuple[str, ...]) -> None:
        """`/away`: no alerts until `/available`."""
        if not await self._volunteer_only(person):
            return
        now = self._services.clock()
        await self._volunteers.set_status(row_id(person), away=True, on_call_until=None, now=now)
        await self._say(person, "cases.away")

    async def cases(self, person: Person, _args: tuple[str, ...]) -> None:
        """`/cases`: the volunteer's open cases, each with `Close case`."""
        if not await self._volunteer_only(person):
            return
        services = self._services
        open_cases = await self._requests.open_cases(row_id(person))
        if not open_cases:
            await self._say(person, "cases.none")
            return
        await self._say(person, "cases.title", count=len(open_cases))
        zone = services.calendar.timezone(person.team, person.timezone)
        for request in open_cases:
            owner = await services.people.get(request.person_id)
            if owner is None:
                continue
            taken = as_utc(request.claimed_at or request.created_at).astimezone(zone)
            text = services.text(
                person,
                "cases.line",
                who=self._messages.who(person.locale, owner, request),
                reason=self._messages.reason(person.locale, request),
                day=services.catalogue.day(person.locale, taken.date()),
                time=taken.strftime("%H:%M"),
            )
            await services.reply(
                person, Message(text, self._messages.case_buttons(person.locale, request))
            )

    async def close(self, volunteer: Person, request_id: int) -> None:
        """`Close case`: end it, thank them, and check in with them a little later."""
        services = self._services
        now = services.clock()
        request = await self._requests.get(request_id)
        # Closing an anonymous case ends its chat, which closes the case too.
        if (
            request is not None
            and request.anonymous
            and request.claimed_by == volunteer.id
            and await self._relay.end_for_request(volunteer, request_id)
        ):
            await self._say(volunteer, "cases.closed")
            return
        later = now + timedelta(minutes=services.settings.support.volunteer_checkin_minutes)
        if await self._requests.close(request_id, row_id(volunteer), now, later):
            logger.info("support request #%s closed by its volunteer", request_id)
            await self._say(volunteer, "cases.closed")
        else:
            await self._say(volunteer, "cases.not_yours")

    async def _say(self, person: Person, key: str, **values: object) -> None:
        await self._services.reply(person, Message(self._services.text(person, key, **values)))
