"""The engine: takes normalised events and clock ticks, decides, answers through adapters."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.choices import decode
from bot.commands import Commands, parse_plain
from bot.conversation import CheckinConversation
from bot.data_rights import DataRights
from bot.enrolment import Enrolment
from bot.events import ChoiceSelected, CommandReceived, InboundEvent, MessageReceived
from bot.fanout import FanOut
from bot.guard import LONG_TEXT_CHARS, InboundGuard
from bot.messages import Message
from bot.ratelimit import RateLimiter
from bot.services import Services
from bot.support_service import SupportService
from bot.workdays import known_timezone
from storage.models import Person, row_id

logger = logging.getLogger(__name__)


class Engine:
    """kiln's core. Platform-free: adapters feed it events and carry out its replies."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.care = SupportService(services)  # requests, alerts, relay, outbox
        self.support = self.care.desk
        self.conversation = CheckinConversation(services, self.support)
        self.commands = Commands(services, self.conversation, self.support)
        self.fanout = FanOut(services, self.conversation)
        for name, handler in self.care.cases.commands().items():  # /available /away /cases
            self.commands.register(name, handler)
        self.enrolment = Enrolment(services)
        self.enrolment.install(self.commands)
        self.data_rights = DataRights(services)  # /mydata, /forgetme, /whosees
        self.data_rights.install(self.commands)
        # Floods slow down (one polite notice); crisis words and /support always get through.
        limiter = RateLimiter(services.settings.rate_limit)
        self.guard = InboundGuard(services, self.support, limiter)

    async def handle(self, event: InboundEvent) -> None:
        """Handle one inbound event; a platform retry of the same event is ignored."""
        services = self.services
        if not await self.guard.admit(event, self.commands.names):
            return
        person = await services.people.find(event.platform, event.user)
        if person is None:
            if not await self.enrolment.enrol(event):  # `/start <invite code>`
                await self._not_enrolled(event)
            return
        if not await services.events.first_time(event.platform, event.event_id):
            logger.debug("ignoring a repeat of event %s", event.event_id)
            return
        if event.timezone and not person.timezone and known_timezone(event.timezone):
            await services.people.set_timezone(row_id(person), event.timezone)
            person.timezone = event.timezone
        if isinstance(event, ChoiceSelected):
            await self._on_choice(person, event)
        elif isinstance(event, CommandReceived):
            if not await self.guard.words_not_command(person, event, self.commands.names):
                await self.commands.run(person, event.name, event.args)
        elif isinstance(event, MessageReceived):
            await self._on_message(person, event.text)

    async def _not_enrolled(self, event: InboundEvent) -> None:
        """A polite reply to someone not on the roster; nothing about them is stored."""
        locale = (event.locale or self.services.settings.default_locale).split("-")[0]
        text = self.services.catalogue.text(locale, "commands.not_enrolled")
        try:
            await self.services.delivery.send_message(event.platform, event.user, Message(text))
        except Exception as failure:
            logger.warning("could not answer an unenrolled sender: %s", type(failure).__name__)

    async def _on_choice(self, person: Person, event: ChoiceSelected) -> None:
        if await self.enrolment.on_choice(person, event):  # the timezone question
            return
        choice = decode(event.value)
        if choice is None:
            await self.services.reply(
                person, Message(self.services.text(person, "checkin.expired"))
            )
            return
        if await self.data_rights.on_choice(person, choice, event.message_ref):
            return
        await self.conversation.on_choice(person, choice, event.message_ref)

    async def _on_message(self, person: Person, text: str) -> None:
        command = parse_plain(text, self.commands.names)
        if command is not None:
            await self.commands.run(person, *command)
            return
        if await self.care.relay.on_message(person, text):  # an anonymous chat
            return
        if len(text) > LONG_TEXT_CHARS:  # screened, then a kind reply; never a note
            await self.guard.long_text(person, text)
            return
        open_note = await self.services.checkins.open_note(row_id(person), self.services.clock())
        if open_note is not None:
            await self.conversation.on_note(person, open_note, text)
            return
        if await self.support.screen(person, text):
            return
        await self.services.reply(person, Message(self.services.text(person, "commands.chat_hint")))

    async def run_due(self, now: datetime | None = None) -> int:
        """Send every scheduled check-in due at ``now`` (called each minute by the scheduler)."""
        return await self.fanout.run_due(now or self.services.clock())

    async def support_tick(self, now: datetime | None = None) -> int:
        """Support's timers (claim timeouts, hand-offs, check-ins) and the outbox."""
        return await self.care.tick(now or self.services.clock())

    async def checkin_now(self, team: str | None = None, now: datetime | None = None) -> int:
        """Send a check-in at once to everyone in scope not yet checked in today."""
        return await self.fanout.send_now(team, now or self.services.clock())

    async def start_checkin(self, person: Person, now: datetime | None = None) -> bool:
        """Start today's check-in for one person now (the demo uses this)."""
        moment = now or self.services.clock()
        day = self.services.calendar.local_date(person.team, person.timezone, moment)
        checkin = await self.services.checkins.claim_one(row_id(person), day, moment)
        if checkin is None:
            return False
        return await self.conversation.send(person, checkin)
