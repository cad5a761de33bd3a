"""The words of support messages, rendered from rows at the moment they are sent.

Outbox rows say only what kind of message to send about which request to whom, so
no message text is ever stored; if a row's moment has passed (an alert whose
request was taken meanwhile), rendering says so and the message is dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.choices import Action, Choice
from bot.messages import Button, Message
from bot.services import Services
from bot.support_kinds import DELAYED, PLAIN, Kind, Outgoing, platform_label
from storage.models import Person
from storage.outbox import as_utc
from storage.relay import RelayRepository
from storage.support import (
    UNCLAIMED,
    AlertStatus,
    OutboxItem,
    RequestStatus,
    SupportRequest,
    saved_id,
)
from storage.support_alerts import AlertRepository
from storage.support_requests import SupportRepository

logger = logging.getLogger(__name__)


class SupportMessages:
    """Renders outbox rows (and a few direct replies) into messages."""

    def __init__(
        self,
        services: Services,
        requests: SupportRepository,
        alerts: AlertRepository,
        relays: RelayRepository,
    ) -> None:
        self._services = services
        self._requests = requests
        self._alerts = alerts
        self._relays = relays

    def text(self, locale: str, key: str, **values: object) -> str:
        """A catalogue message."""
        return self._services.catalogue.text(locale, key, **values)

    def reason(self, locale: str, request: SupportRequest) -> str:
        """Why support was asked for, as a category (never the person's words)."""
        return self.text(locale, f"routing.reason_{request.reason}")

    def who(self, locale: str, person: Person, request: SupportRequest) -> str:
        """Who the request is from, or that they are anonymous."""
        if request.anonymous:
            return self.text(locale, "routing.who_anonymous")
        return self.text(
            locale,
            "routing.who_named",
            name=person.display_name,
            platform=platform_label(person.platform),
        )

    def minutes(self, request: SupportRequest) -> int:
        """The claim timeout that applies to this request."""
        support = self._services.settings.support
        return (
            support.crisis_claim_timeout_minutes
            if request.urgent
            else support.claim_timeout_minutes
        )

    def claim_buttons(self, locale: str, request: SupportRequest) -> tuple[tuple[Button, ...]]:
        """`I'll reach out` / `Can't right now`."""
        target = saved_id(request)
        return (
            (
                Button(
                    self.text(locale, "routing.button_claim"),
                    Choice(Action.CLAIM, target).encode(),
                ),
                Button(
                    self.text(locale, "routing.button_pass"),
                    Choice(Action.DECLINE, target).encode(),
                ),
            ),
        )

    def case_buttons(self, locale: str, request: SupportRequest) -> tuple[tuple[Button, ...]]:
        """`Close case`."""
        value = Choice(Action.CLOSE_CASE, saved_id(request)).encode()
        return ((Button(self.text(locale, "cases.button_close"), value),),)

    def relay_buttons(
        self, locale: str, session_id: int, *, reveal: bool
    ) -> tuple[tuple[Button, ...]]:
        """`Share my name` (for the person) and `End chat`."""
        end = Button(
            self.text(locale, "relay.button_end"), Choice(Action.END_RELAY, session_id).encode()
        )
        if not reveal:
            return ((end,),)
        share = Button(
            self.text(locale, "relay.button_reveal"), Choice(Action.REVEAL, session_id).encode()
        )
        return ((share, end),)

    async def render(self, item: OutboxItem, now: datetime) -> Outgoing | None:
        """The message an outbox row stands for, or None if it no longer applies."""
        request = await self._requests.get(item.request_id) if item.request_id else None
        if request is None:
            return None
        person = await self._services.people.get(request.person_id)
        if person is None:
            return None
        kind = Kind(item.kind)
        if item.destination is not None:
            return self._to_channel(kind, item.destination, person, request, now)
        recipient = await self._services.people.get(item.recipient_id or 0)
        if recipient is None:
            return None
        message = await self._for_person(kind, recipient, person, request)
        if message is None:
            return None
        return Outgoing(
            recipient.platform, recipient.platform_user_id, message, alert=kind is Kind.ALERT
        )

    def _to_channel(
        self,
        kind: Kind,
        destination: str,
        person: Person,
        request: SupportRequest,
        now: datetime,
    ) -> Outgoing | None:
        platform, _, channel = destination.partition(":")
        locale = self._services.settings.default_locale
        who = self.who(locale, person, request)
        if kind is Kind.ESCALATION_TAKEN:
            return Outgoing(
                platform,
                channel,
                Message(self.text(locale, "routing.escalation_taken", who=who)),
                alert=True,
            )
        if request.status not in UNCLAIMED:
            return None
        waited = max(int((now - as_utc(request.created_at)).total_seconds() // 60), 0)
        text = self.text(
            locale,
            "routing.escalation",
            who=who,
            reason=self.reason(locale, request),
            minutes=waited,
        )
        return Outgoing(
            platform, channel, Message(text, self.claim_buttons(locale, request)), alert=True
        )

    async def _for_person(
        self, kind: Kind, recipient: Person, person: Person, request: SupportRequest
    ) -> Message | None:
        locale = recipient.locale
        text = self.text
        if kind is Kind.ALERT:
            return await self._alert(recipient, person, request)
        if kind in DELAYED:
            if request.status not in UNCLAIMED:
                return None
            lines = self._services.crisis.render(self._services.catalogue, recipient.region, locale)
            return Message(f"{text(locale, DELAYED[kind])}\n\n{lines}")
        if kind is Kind.CLAIMED:
            return await self._claimed(recipient, request)
        if kind is Kind.CONFIRMED:
            return await self._confirmed(recipient, person, request)
        if kind in PLAIN:
            return Message(text(locale, PLAIN[kind]))
        if kind is Kind.VOLUNTEER_CHECKIN:
            talk = Button(text(locale, "buttons.talk"), Choice(Action.TALK).encode())
            return Message(text(locale, "cases.volunteer_checkin"), ((talk,),))
        if kind is Kind.REVEALED:
            return Message(
                text(
                    locale,
                    "relay.revealed_volunteer",
                    name=person.display_name,
                    platform=platform_label(person.platform),
                )
            )
        if kind is Kind.RELAY_ENDED:
            key = (
                "relay.ended_by_volunteer" if recipient.id == person.id else "relay.ended_by_person"
            )
            return Message(text(locale, key))
        logger.warning("outbox row of kind %s has no renderer", kind)
        return None

    async def _alert(
        self, volunteer: Person, person: Person, request: SupportRequest
    ) -> Message | None:
        alert = next(
            (
                a
                for a in await self._alerts.alerts(saved_id(request))
                if a.volunteer_id == volunteer.id
            ),
            None,
        )
        # An alert that timed out or was overtaken while it waited to be delivered
        # would only confuse: the chain has moved on without it.
        if alert is None or alert.status != AlertStatus.PENDING.value:
            return None
        if request.status not in UNCLAIMED:
            return None
        locale = volunteer.locale
        key = "routing.alert_anonymous" if request.anonymous else "routing.alert_named"
        text = self.text(
            locale,
            key,
            name=person.display_name,
            platform=platform_label(person.platform),
            reason=self.reason(locale, request),
            minutes=self.minutes(request),
        )
        return Message(text, self.claim_buttons(locale, request))

    async def _claimed(self, person: Person, request: SupportRequest) -> Message | None:
        locale = person.locale
        if request.anonymous:
            relay = await self._relays.for_request(saved_id(request))
            if relay is None or not relay.open:
                return None
            return Message(
                self.text(locale, "relay.connected_person"),
                self.relay_buttons(locale, saved_id(relay), reveal=True),
            )
        volunteer = await self._services.people.get(request.claimed_by or 0)
        if volunteer is None:
            return None
        return Message(self.text(locale, "routing.claimed", volunteer=volunteer.display_name))

    async def _confirmed(
        self, volunteer: Person, person: Person, request: SupportRequest
    ) -> Message | None:
        locale = volunteer.locale
        if request.anonymous:
            relay = await self._relays.for_request(saved_id(request))
            if relay is None or not relay.open:
                return None
            return Message(
                self.text(locale, "relay.connected_volunteer"),
                self.relay_buttons(locale, saved_id(relay), reveal=False),
            )
        if request.status != RequestStatus.CLAIMED.value:
            return None
        text = self.text(
            locale,
            "routing.confirmed",
            name=person.display_name,
            platform=platform_label(person.platform),
            reason=self.reason(locale, request),
        )
        return Message(text, self.case_buttons(locale, request))
