"""The anonymous relay: kiln passes messages between a person and a volunteer.

Neither side sees who the other is until the person sends `reveal` (or presses
`Share my name`); either side ends it with `end`. Messages are passed straight on
and never stored; only the session (who, open or ended, revealed or not) is a row.
Ending the chat closes the case, and kiln later checks in with the volunteer.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.delivery import NoAdapter
from bot.distress import Level, classify
from bot.messages import Message
from bot.outbox import Outbox
from bot.ports import DeliveryError
from bot.services import Services
from bot.support_kinds import Kind
from storage.audit import AuditAction
from storage.models import Person, row_id
from storage.relay import RelayRepository
from storage.support import Notice, RelaySession, saved_id
from storage.support_requests import SupportRepository

logger = logging.getLogger(__name__)

END_WORDS = frozenset({"end", "/end"})
REVEAL_WORDS = frozenset({"reveal", "/reveal"})


class Relay:
    """Passes messages, shares the person's name on request, ends chats."""

    def __init__(
        self,
        services: Services,
        relays: RelayRepository,
        requests: SupportRepository,
        outbox: Outbox,
    ) -> None:
        self._services = services
        self._relays = relays
        self._requests = requests
        self._outbox = outbox

    async def on_message(self, sender: Person, text: str) -> bool:
        """Pass a message on if the sender is in an open relay; True if it was theirs."""
        relay = await self._relays.active_for(row_id(sender))
        if relay is None:
            return False
        word = text.strip().lower()
        from_person = relay.person_id == sender.id
        if word in END_WORDS:
            await self.end(sender, saved_id(relay))
            return True
        if word in REVEAL_WORDS and from_person:
            await self.reveal(sender, saved_id(relay))
            return True
        services = self._services
        if from_person and classify(text).level is Level.CRISIS:
            # Crisis lines first, as everywhere; the volunteer still gets the message.
            lines = services.crisis.render(services.catalogue, sender.region, sender.locale)
            await services.reply(sender, Message(lines))
        other = await services.people.get(relay.volunteer_id if from_person else relay.person_id)
        if other is None:
            await self.end(sender, saved_id(relay))
            return True
        key = "relay.from_person" if from_person else "relay.from_volunteer"
        try:
            await services.delivery.send_message(
                other.platform,
                other.platform_user_id,
                Message(services.text(other, key, text=text)),
            )
        except (DeliveryError, NoAdapter, OSError) as failure:
            logger.warning(
                "relay #%s: message not passed on (%s)", relay.id, type(failure).__name__
            )
            await services.reply(sender, Message(services.text(sender, "relay.not_delivered")))
            return True
        await self._relays.touch(saved_id(relay), services.clock())
        return True

    async def reveal(self, person: Person, session_id: int) -> None:
        """The person chooses to tell the volunteer who they are."""
        relay = await self._relays.get(session_id)
        if relay is None or relay.person_id != person.id:
            await self._say(person, "relay.no_chat")
            return
        ids = await self._relays.reveal(
            session_id,
            row_id(person),
            self._services.clock(),
            [Notice(Kind.REVEALED, recipient_id=relay.volunteer_id)],
        )
        if ids is None:
            await self._say(person, "relay.already_revealed" if relay.revealed else "relay.no_chat")
            return
        await self._services.audit.record(
            person, AuditAction.REVEAL, "name shown in anonymous chat", about=person
        )
        await self._say(person, "relay.revealed_person")
        await self._outbox.send_now(ids)

    async def end(self, sender: Person, session_id: int) -> None:
        """Either side ends the chat; the other is told and the case closes."""
        relay = await self._relays.get(session_id)
        if relay is None or sender.id not in (relay.person_id, relay.volunteer_id):
            await self._say(sender, "relay.no_chat")
            return
        other = relay.volunteer_id if sender.id == relay.person_id else relay.person_id
        ended = await self._finish(relay, [Notice(Kind.RELAY_ENDED, recipient_id=other)])
        await self._say(sender, "relay.ended_self" if ended else "relay.no_chat")

    async def end_for_request(self, volunteer: Person, request_id: int) -> bool:
        """End the chat of an anonymous case being closed; False if there was none."""
        relay = await self._relays.for_request(request_id)
        if relay is None or not relay.open:
            return False
        return await self._finish(relay, [Notice(Kind.RELAY_ENDED, recipient_id=relay.person_id)])

    async def tick(self, now: datetime) -> None:
        """End chats that have been quiet for too long, telling both sides."""
        idle = timedelta(hours=self._services.settings.support.relay_idle_hours)
        for relay in await self._relays.idle(now - idle):
            await self._finish(
                relay,
                [
                    Notice(Kind.RELAY_IDLE, recipient_id=relay.person_id),
                    Notice(Kind.RELAY_IDLE, recipient_id=relay.volunteer_id),
                ],
            )

    async def _finish(self, relay: RelaySession, notices: list[Notice]) -> bool:
        now = self._services.clock()
        ids = await self._relays.end(saved_id(relay), now, notices)
        if ids is None:
            return False
        checkin = timedelta(minutes=self._services.settings.support.volunteer_checkin_minutes)
        await self._requests.close(relay.request_id, relay.volunteer_id, now, now + checkin)
        await self._outbox.send_now(ids)
        return True

    async def _say(self, person: Person, key: str) -> None:
        await self._services.reply(person, Message(self._services.text(person, key)))
