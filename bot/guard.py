"""The engine's front door against floods and walls of text, with safety first.

- A person sending commands and messages faster than :mod:`bot.ratelimit` allows
  gets one polite "slow down" per window and the rest are dropped quietly: no crash,
  no reply per message.
- What must always get through still does: a message with crisis language (screened
  in memory, as every note is), `/support`, and button presses, which only answer
  what kiln itself sent (the offer of a Wellbeing Warrior, a volunteer's claim).
- A message over :data:`LONG_TEXT_CHARS` characters is still screened for crisis and
  distress; otherwise it gets a kind reply instead of being taken as a note.
"""

from __future__ import annotations

import logging

from bot.commands import parse_plain
from bot.distress import Level, classify
from bot.events import ChoiceSelected, CommandReceived, InboundEvent, MessageReceived
from bot.messages import Message
from bot.ratelimit import RateLimiter, Verdict
from bot.services import Services
from bot.support import SupportDesk
from storage.models import Person, row_id

logger = logging.getLogger(__name__)

#: Longer notes than this get the "that's a lot to carry" reply (DESIGN: kind, short).
LONG_TEXT_CHARS = 4000
#: Commands that ask for help are never slowed down.
ALWAYS_ANSWERED = frozenset({"support"})


def _words(event: InboundEvent) -> str | None:
    """Free text a person typed in this event, if any (never stored or logged)."""
    if isinstance(event, MessageReceived):
        return event.text
    if isinstance(event, CommandReceived):
        # On Slack anything can follow `/kiln`: "/kiln I can't go on" is words, not a command.
        return " ".join((event.name, *event.args))
    return None


class InboundGuard:
    """Decides whether an event reaches the engine, and answers long texts kindly."""

    def __init__(self, services: Services, support: SupportDesk, limiter: RateLimiter) -> None:
        self._services = services
        self._support = support
        self.limiter = limiter

    async def admit(self, event: InboundEvent, commands: frozenset[str]) -> bool:
        """True if the engine should handle ``event``; False if it was dealt with here."""
        if isinstance(event, ChoiceSelected):
            return True
        verdict = self.limiter.check(f"{event.platform}:{event.user}")
        if verdict is Verdict.ALLOW or self._must_answer(event, commands):
            return True
        if verdict is Verdict.REFUSE_AND_TELL:
            logger.info("a person is sending faster than the rate limit; asked them to slow down")
            await self._tell_to_slow_down(event)
        return False

    @staticmethod
    def _must_answer(event: InboundEvent, commands: frozenset[str]) -> bool:
        if isinstance(event, CommandReceived) and event.name.lower() in ALWAYS_ANSWERED:
            return True
        if isinstance(event, MessageReceived):
            plain = parse_plain(event.text, commands)
            if plain is not None and plain[0] in ALWAYS_ANSWERED:
                return True
        words = _words(event)
        return words is not None and classify(words).level is Level.CRISIS

    async def _tell_to_slow_down(self, event: InboundEvent) -> None:
        services = self._services
        person = await services.people.find(event.platform, event.user)
        if person is None:
            return  # a stranger was told once that kiln isn't for them; no more
        await services.reply(person, Message(services.text(person, "limits.slow_down")))

    async def long_text(self, person: Person, text: str) -> None:
        """A message too long to take as a note: screened, then a kind reply.

        An open note is closed, so a later short message is not taken as the note.
        """
        services = self._services
        open_note = await services.checkins.open_note(row_id(person), services.clock())
        if open_note is not None:
            await services.checkins.close_note(row_id(open_note))
        if await self._support.screen(person, text):
            return
        await services.reply(person, Message(services.text(person, "limits.long_note")))

    async def words_not_command(
        self, person: Person, event: CommandReceived, commands: frozenset[str]
    ) -> bool:
        """Screen `/kiln <words>` whose first word is no command; True if that answered it.

        On Slack everything after `/kiln` arrives as a command, so a cry for help typed
        there must be screened like any message rather than answered with the help text.
        """
        if event.name.lower().lstrip("/") in commands or not event.args:
            return False
        return await self._support.screen(person, " ".join((event.name, *event.args)))
