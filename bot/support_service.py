"""Support, wired: the desk, the alert chain, the relay, volunteers' cases and the outbox.

The engine builds one :class:`SupportService` and the scheduler calls its
:meth:`SupportService.tick` every few seconds; everything it does there is read
from the database, so any worker's tick may do it, once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.alerts import AlertChain
from bot.cases import Cases
from bot.choices import Action, Choice
from bot.notehold import NoteHold
from bot.outbox import Outbox
from bot.relay import Relay
from bot.routing import VolunteerPicker
from bot.services import Services
from bot.support import SupportDesk
from bot.support_messages import SupportMessages
from storage.models import Person
from storage.outbox import OutboxRepository
from storage.relay import RelayRepository
from storage.support_alerts import AlertRepository
from storage.support_requests import SupportRepository
from storage.volunteers import VolunteerRepository

logger = logging.getLogger(__name__)


class SupportService:
    """Every part of support, built once per engine."""

    def __init__(self, services: Services) -> None:
        db = services.db
        self.requests = SupportRepository(db)
        self.alerts = AlertRepository(db)
        self.relays = RelayRepository(db)
        self.volunteers = VolunteerRepository(db)
        self.outbox_rows = OutboxRepository(db)
        self.notes = NoteHold(
            services.clock, timedelta(minutes=services.settings.support.note_hold_minutes)
        )
        self.messages = SupportMessages(services, self.requests, self.alerts, self.relays)
        self.outbox = Outbox(services, self.outbox_rows, self.messages)
        self.picker = VolunteerPicker(services, self.volunteers, self.alerts, self.relays)
        self.chain = AlertChain(
            services, self.requests, self.alerts, self.picker, self.outbox, self.notes, self.relays
        )
        self.relay = Relay(services, self.relays, self.requests, self.outbox)
        self.cases = Cases(services, self.volunteers, self.requests, self.messages, self.relay)
        self.desk = SupportDesk(services, self.chain, self.notes, self.requests)
        self.desk.register(Action.CLAIM, self._claim)
        self.desk.register(Action.DECLINE, self._decline)
        self.desk.register(Action.CLOSE_CASE, self._close)
        self.desk.register(Action.REVEAL, self._reveal)
        self.desk.register(Action.END_RELAY, self._end)

    async def tick(self, now: datetime) -> int:
        """Run support's timers and deliver the outbox; returns messages sent."""
        await self.chain.tick(now)
        await self.relay.tick(now)
        return await self.outbox.drain(now)

    async def _claim(self, person: Person, choice: Choice) -> None:
        await self.chain.claim(person, choice.target or 0)

    async def _decline(self, person: Person, choice: Choice) -> None:
        await self.chain.decline(person, choice.target or 0)

    async def _close(self, person: Person, choice: Choice) -> None:
        await self.cases.close(person, choice.target or 0)

    async def _reveal(self, person: Person, choice: Choice) -> None:
        await self.relay.reveal(person, choice.target or 0)

    async def _end(self, person: Person, choice: Choice) -> None:
        await self.relay.end(person, choice.target or 0)
