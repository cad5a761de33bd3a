"""Crisis lines first, then the offer of a Wellbeing Warrior.

Crisis lines never wait on anything: they go out in the first message of whatever
handling call noticed the need, before any storage or routing step.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Protocol

from bot.choices import Action, Choice
from bot.distress import Level, classify
from bot.messages import Button, Message
from bot.services import Services
from storage.models import Person

logger = logging.getLogger(__name__)


class SupportReason(StrEnum):
    """Why support is being offered, strongest first (DESIGN §3)."""

    ASKED = "asked"
    CRISIS = "crisis"
    DISTRESS = "distress"
    LOW_MOOD = "low_mood"
    TREND = "trend"


class VolunteerRouter(Protocol):
    """Finds a Wellbeing Warrior for someone who said yes."""

    async def request(self, person: Person, reason: SupportReason, *, share_note: bool) -> None:
        """Open a durable support request and start alerting volunteers."""


class SupportDesk:
    """Shows crisis lines, makes and answers the offer of a volunteer."""

    def __init__(self, services: Services, router: VolunteerRouter | None = None) -> None:
        self._services = services
        self._router = router

    def crisis_lines(self, person: Person) -> str:
        """The crisis lines for the person's region, in their language."""
        return self._services.crisis.render(self._services.catalogue, person.region, person.locale)

    def offer_buttons(self, person: Person) -> tuple[tuple[Button, ...], ...]:
        """`Yes, please` / `Not now`."""
        text = self._services.text
        return (
            (
                Button(text(person, "buttons.yes_please"), Choice(Action.OFFER_YES).encode()),
                Button(text(person, "buttons.not_now"), Choice(Action.OFFER_NO).encode()),
            ),
        )

    async def show_crisis_lines_and_offer(self, person: Person) -> None:
        """For `/support`, `Talk to someone` and crisis notes: lines first, in one message."""
        text = "\n\n".join(
            [self.crisis_lines(person), self._services.text(person, "support.offer")]
        )
        await self._services.reply(person, Message(text, self.offer_buttons(person)))

    async def screen(self, person: Person, text: str) -> bool:
        """Screen free text for crisis or distress language and act on it at once.

        Returns:
            True if the text called for support and a reply was sent.
        """
        assessment = classify(text)
        if assessment.level is Level.CRISIS:
            await self.show_crisis_lines_and_offer(person)
            return True
        if assessment.level is Level.DISTRESS:
            message = "\n\n".join(
                [
                    self._services.text(person, "support.distress"),
                    self._services.text(person, "support.offer"),
                ]
            )
            await self._services.reply(person, Message(message, self.offer_buttons(person)))
            return True
        return False

    async def answer_offer(self, person: Person, accepted: bool) -> None:
        """The person pressed `Yes, please` or `Not now`."""
        if not accepted:
            await self._services.reply(
                person, Message(self._services.text(person, "support.not_now"))
            )
            return
        if self._router is None:
            # Without routing configured nobody would be told: say so plainly and
            # point to help that is there now, rather than promise a call.
            text = "\n\n".join(
                [self._services.text(person, "support.no_router"), self.crisis_lines(person)]
            )
            await self._services.reply(person, Message(text))
            return
        await self._services.reply(
            person, Message(self._services.text(person, "support.requested"))
        )
        await self._router.request(person, SupportReason.ASKED, share_note=False)
