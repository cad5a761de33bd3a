"""Chat commands (`/pause 3`) and the same words typed plainly (`pause 3`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.conversation import CheckinConversation
from bot.messages import Message
from bot.services import Services
from bot.support import SupportDesk
from bot.teammood import dashboard_link, is_manager, team_mood
from bot.trend import my_trend
from storage.models import Person, row_id
from storage.volunteers import VOLUNTEER_ROLE, has_role

logger = logging.getLogger(__name__)

MAX_PAUSE_DAYS = 90

Handler = Callable[[Person, tuple[str, ...]], Awaitable[None]]


def parse_plain(text: str, known: frozenset[str]) -> tuple[str, tuple[str, ...]] | None:
    """``("pause", ("3",))`` if a plain message is exactly a command, else None.

    Only a message that *starts* with a command word and is short counts, so a note
    such as "I need support with my rota" is never mistaken for `/support`.
    """
    words = text.strip().split()
    if not words or len(words) > 3:
        return None
    name = words[0].lstrip("/").lower()
    if name not in known:
        return None
    if len(words) > 1 and not all(word.isdigit() for word in words[1:]):
        return None
    return name, tuple(words[1:])


class Commands:
    """Runs commands; unknown ones get the help text."""

    def __init__(
        self, services: Services, conversation: CheckinConversation, support: SupportDesk
    ) -> None:
        self._services = services
        self._conversation = conversation
        self._support = support
        self._handlers: dict[str, Handler] = {
            "checkin": self._checkin,
            "pause": self._pause,
            "resume": self._resume,
            "optout": self._optout,
            "optin": self._optin,
            "support": self._support_command,
            "mytrend": self._mytrend,
            "help": self._help,
            "start": self._help,
            "teammood": self._teammood,
            "dashboard": self._dashboard,
        }

    @property
    def names(self) -> frozenset[str]:
        """Every command name this engine knows."""
        return frozenset(self._handlers)

    def register(self, name: str, handler: Handler) -> None:
        """Add a command (later features plug in their own)."""
        self._handlers[name] = handler

    async def run(self, person: Person, name: str, args: tuple[str, ...]) -> None:
        """Run a command by name; unknown names get a short apology and the help text."""
        handler = self._handlers.get(name.lower().lstrip("/"))
        if handler is None:
            text = self._services.text
            await self._reply(
                person, f"{text(person, 'commands.unknown')}\n\n{text(person, 'commands.help')}"
            )
            return
        await handler(person, args)

    async def _reply(self, person: Person, text: str) -> None:
        await self._services.reply(person, Message(text))

    async def _checkin(self, person: Person, _args: tuple[str, ...]) -> None:
        services = self._services
        today = services.today(person).date()
        claimed = await services.checkins.claim_one(row_id(person), today, services.clock())
        if claimed is None:
            existing = await services.checkins.for_day(row_id(person), today)
            if existing is not None and existing.closed_at is not None:
                await self._reply(person, services.text(person, "checkin.already_answered"))
                return
            if existing is None:
                return
            await self._conversation.send(
                person, existing, services.text(person, "checkin.already_open")
            )
            return
        await self._conversation.send(
            person, claimed, services.text(person, "checkin.manual_intro")
        )

    async def _pause(self, person: Person, args: tuple[str, ...]) -> None:
        text = self._services.text
        days = int(args[0]) if len(args) == 1 and args[0].isdigit() else 0
        if not 1 <= days <= MAX_PAUSE_DAYS:
            await self._reply(person, text(person, "commands.pause_usage", max=MAX_PAUSE_DAYS))
            return
        until = self._services.today(person).date() + timedelta(days=days)
        await self._services.people.set_paused_until(row_id(person), until)
        day = self._services.catalogue.day(person.locale, until)
        await self._reply(person, text(person, "commands.paused", day=day))

    async def _resume(self, person: Person, _args: tuple[str, ...]) -> None:
        today = self._services.today(person).date()
        if person.paused_until is None or person.paused_until <= today:
            await self._reply(person, self._services.text(person, "commands.not_paused"))
            return
        await self._services.people.set_paused_until(row_id(person), None)
        await self._reply(person, self._services.text(person, "commands.resumed"))

    async def _optout(self, person: Person, _args: tuple[str, ...]) -> None:
        key = "commands.already_opted_out" if person.opted_out else "commands.opted_out"
        await self._services.people.set_opted_out(row_id(person), True)
        await self._reply(person, self._services.text(person, key))

    async def _optin(self, person: Person, _args: tuple[str, ...]) -> None:
        key = "commands.opted_in" if person.opted_out else "commands.already_opted_in"
        await self._services.people.set_opted_out(row_id(person), False)
        await self._reply(person, self._services.text(person, key))

    async def _support_command(self, person: Person, _args: tuple[str, ...]) -> None:
        await self._support.show_crisis_lines_and_offer(person)

    async def _mytrend(self, person: Person, _args: tuple[str, ...]) -> None:
        await self._services.reply(person, await my_trend(self._services, person))

    async def _help(self, person: Person, _args: tuple[str, ...]) -> None:
        text = self._services.text(person, "commands.help")
        if is_manager(person):
            text = f"{text}\n\n{self._services.text(person, 'manager.help')}"
        if has_role(person, VOLUNTEER_ROLE):
            text = f"{text}\n\n{self._services.text(person, 'cases.help')}"
        await self._reply(person, text)

    async def _teammood(self, person: Person, _args: tuple[str, ...]) -> None:
        await self._services.reply(person, await team_mood(self._services, person))

    async def _dashboard(self, person: Person, _args: tuple[str, ...]) -> None:
        await self._services.reply(person, await dashboard_link(self._services, person))
