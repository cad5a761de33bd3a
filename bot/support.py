"""Crisis lines first, then the offer of a Wellbeing Warrior, then the person's consent.

Crisis lines never wait on anything: they go out in the first message of whatever
handling call noticed the need, before any storage or routing step. Nothing about
the person reaches a volunteer until they press `Yes, please` (or
`Talk anonymously`, when the volunteer never learns who they are unless they choose
to say). Whether a volunteer may read what they wrote is a separate choice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Protocol

from bot.choices import Action, Choice
from bot.distress import Level, classify
from bot.messages import Button, Message
from bot.notehold import NoteHold
from bot.services import Services
from storage.models import Person, row_id
from storage.support import RequestStatus, SupportRequest, saved_id
from storage.support_requests import SupportRepository

logger = logging.getLogger(__name__)


class SupportReason(StrEnum):
    """Why support is being offered, strongest first (DESIGN §3)."""

    ASKED = "asked"
    CRISIS = "crisis"
    DISTRESS = "distress"
    LOW_MOOD = "low_mood"
    TREND = "trend"


class Outcome(Protocol):
    """What the router did with a yes."""

    @property
    def request(self) -> SupportRequest:
        """The request (new, or the one already open)."""

    @property
    def new(self) -> bool:
        """True if this yes opened a new request."""

    @property
    def alerted(self) -> bool:
        """True if a volunteer was alerted at once."""


class VolunteerRouter(Protocol):
    """Finds a Wellbeing Warrior for someone who said yes."""

    async def request(self, person: Person, reason: str, *, anonymous: bool) -> Outcome:
        """Open a durable support request and start alerting volunteers."""

    async def share_after_claim(self, request: SupportRequest) -> bool:
        """Show a held note to the volunteer who already claimed the request."""


ChoiceHandler = Callable[[Person, Choice], Awaitable[None]]


class SupportDesk:
    """Shows crisis lines, makes the offer, and takes the person's answers."""

    def __init__(
        self,
        services: Services,
        router: VolunteerRouter | None,
        notes: NoteHold,
        requests: SupportRepository,
    ) -> None:
        self._services = services
        self._router = router
        self._notes = notes
        self._requests = requests
        self._handlers: dict[Action, ChoiceHandler] = {
            Action.OFFER_YES: self.answer_offer,
            Action.OFFER_ANONYMOUS: self.answer_offer,
            Action.OFFER_NO: self.answer_offer,
            Action.SHARE_NOTE: self.answer_share,
            Action.KEEP_NOTE: self.answer_share,
        }

    def register(self, action: Action, handler: ChoiceHandler) -> None:
        """Handle another support button (claims, cases, the relay)."""
        self._handlers[action] = handler

    async def on_choice(self, person: Person, choice: Choice) -> bool:
        """Handle a support button; False if the button is not a support one."""
        handler = self._handlers.get(choice.action)
        if handler is None:
            return False
        await handler(person, choice)
        return True

    def crisis_lines(self, person: Person) -> str:
        """The crisis lines for the person's region, in their language."""
        return self._services.crisis.render(self._services.catalogue, person.region, person.locale)

    def offer_buttons(
        self, person: Person, reason: SupportReason = SupportReason.ASKED
    ) -> tuple[tuple[Button, ...], ...]:
        """`Yes, please` / `Not now`, and `Talk anonymously`."""
        text = self._services.text
        detail = reason.value
        return (
            (
                Button(
                    text(person, "buttons.yes_please"),
                    Choice(Action.OFFER_YES, detail=detail).encode(),
                ),
                Button(text(person, "buttons.not_now"), Choice(Action.OFFER_NO).encode()),
            ),
            (
                Button(
                    text(person, "routing.button_anonymous"),
                    Choice(Action.OFFER_ANONYMOUS, detail=detail).encode(),
                ),
            ),
        )

    async def show_crisis_lines_and_offer(
        self, person: Person, reason: SupportReason = SupportReason.ASKED
    ) -> None:
        """For `/support`, `Talk to someone` and crisis notes: lines first, in one message."""
        text = "\n\n".join(
            [self.crisis_lines(person), self._services.text(person, "support.offer")]
        )
        await self._services.reply(person, Message(text, self.offer_buttons(person, reason)))

    async def screen(self, person: Person, text: str) -> bool:
        """Screen free text for crisis or distress language and act on it at once.

        The text is only held (in memory, see :mod:`bot.notehold`) when it leads to
        the offer, so the person can later choose to share it.

        Returns:
            True if the text called for support and a reply was sent.
        """
        assessment = classify(text)
        if assessment.level is Level.CRISIS:
            await self.show_crisis_lines_and_offer(person, SupportReason.CRISIS)
            self._notes.keep(row_id(person), text)
            return True
        if assessment.level is Level.DISTRESS:
            message = "\n\n".join(
                [
                    self._services.text(person, "support.distress"),
                    self._services.text(person, "support.offer"),
                ]
            )
            await self._services.reply(
                person, Message(message, self.offer_buttons(person, SupportReason.DISTRESS))
            )
            self._notes.keep(row_id(person), text)
            return True
        return False

    async def after_note(self, person: Person, text: str, *, offered: bool) -> None:
        """A note that did not call for support on its own, after a check-in.

        If the offer is on the table (``offered``) the note is held so the person may
        share it; if they already have a request waiting, they are asked now.
        """
        active = await self._requests.active_for(row_id(person))
        if active is not None and not active.anonymous and active.share_note is None:
            self._notes.keep(row_id(person), text)
            await self._ask_share(person, active, lead=None)
        elif offered and active is None:
            self._notes.keep(row_id(person), text)

    async def answer_offer(self, person: Person, choice: Choice) -> None:
        """`Yes, please`, `Talk anonymously` or `Not now`."""
        services = self._services
        if choice.action is Action.OFFER_NO:
            self._notes.drop(row_id(person))
            await services.reply(person, Message(services.text(person, "support.not_now")))
            return
        if self._router is None:
            # Without routing nobody would be told: say so plainly and point to
            # help that is there now, rather than promise a call.
            text = "\n\n".join(
                [services.text(person, "support.no_router"), self.crisis_lines(person)]
            )
            await services.reply(person, Message(text))
            return
        anonymous = choice.action is Action.OFFER_ANONYMOUS
        reason = choice.detail if choice.detail in set(SupportReason) else SupportReason.ASKED
        outcome = await self._router.request(person, str(reason), anonymous=anonymous)
        request = outcome.request
        if not outcome.new:
            await self._already(person, request)
            if (
                not request.anonymous
                and request.share_note is None
                and self._notes.has(row_id(person))
            ):
                await self._ask_share(person, request, lead=None)
            return
        if anonymous:
            self._notes.drop(row_id(person))
            if outcome.alerted:
                await self._say(person, "routing.requested_anonymous")
            return
        lead = services.text(person, "support.requested") if outcome.alerted else None
        if self._notes.has(row_id(person)):
            await self._ask_share(person, request, lead)
        elif lead is not None:
            await services.reply(person, Message(lead))

    async def _already(self, person: Person, request: SupportRequest) -> None:
        if request.status != RequestStatus.CLAIMED.value:
            await self._say(person, "routing.already_open")
            return
        if request.anonymous:
            await self._say(person, "relay.already_connected")
            return
        volunteer = await self._services.people.get(request.claimed_by or 0)
        name = volunteer.display_name if volunteer else ""
        await self._say(person, "routing.already_claimed", volunteer=name)

    async def _ask_share(self, person: Person, request: SupportRequest, lead: str | None) -> None:
        text = self._services.text
        target = saved_id(request)
        buttons = (
            (
                Button(
                    text(person, "routing.button_share_note"),
                    Choice(Action.SHARE_NOTE, target).encode(),
                ),
                Button(
                    text(person, "routing.button_keep_note"),
                    Choice(Action.KEEP_NOTE, target).encode(),
                ),
            ),
        )
        body = [part for part in (lead, text(person, "routing.share_question")) if part]
        await self._services.reply(person, Message("\n\n".join(body), buttons))

    async def answer_share(self, person: Person, choice: Choice) -> None:
        """`Share what I wrote` / `Keep it private`, for the volunteer who takes the request."""
        share = choice.action is Action.SHARE_NOTE
        request = await self._requests.get(choice.target or 0)
        if (
            request is None
            or request.person_id != person.id
            or request.anonymous
            or request.status == RequestStatus.CLOSED.value
        ):
            await self._say(person, "checkin.expired")
            return
        await self._requests.set_share_note(saved_id(request), row_id(person), share)
        if not share:
            self._notes.drop(row_id(person))
            await self._say(person, "routing.share_keep")
            return
        if not self._notes.has(row_id(person)):
            await self._say(person, "routing.share_gone")
            return
        if request.status == RequestStatus.CLAIMED.value and self._router is not None:
            shared = await self._router.share_after_claim(request)
            await self._say(person, "routing.share_sent" if shared else "routing.share_gone")
            return
        await self._say(person, "routing.share_yes")

    async def _say(self, person: Person, key: str, **values: object) -> None:
        await self._services.reply(person, Message(self._services.text(person, key, **values)))
