"""Enrolment by invite link: one-time codes, redeeming them, and asking a timezone.

Some platforms (Telegram) do not reveal a person's id until they message the bot, so
an admin hands out one-time links instead of listing ids in the roster. Codes are
random, URL-safe and at most 64 characters (Telegram's deep-link limit); only their
SHA-256 is stored. A keyed hash is not needed: a 192-bit random code cannot be
guessed from its hash, and plain SHA-256 keeps invites valid if the pepper changes.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import available_timezones

from bot.commands import Commands
from bot.conversation import first_name
from bot.crisis import country_of
from bot.delivery import NoAdapter
from bot.events import ChoiceSelected, CommandReceived, InboundEvent
from bot.messages import Button, Message
from bot.ports import DeliveryError
from bot.services import Services
from storage.invites import InviteRepository, Outcome
from storage.models import Person, row_id

logger = logging.getLogger(__name__)

CODE_BYTES = 24  # 32 URL-safe characters
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: Expired invites are deleted this long after expiry, when new ones are made.
KEEP_EXPIRED = timedelta(days=30)
#: Button values for the timezone question; opaque to adapters like every other value.
TIMEZONE_PREFIX = "tz:"
TIMEZONE_OTHER = "tz:other"
MAX_TIMEZONE_BUTTONS = 4
#: A few common timezones per country of the organisation's default region.
COMMON_TIMEZONES: dict[str, tuple[str, ...]] = {
    "UK": ("Europe/London", "Europe/Dublin", "Europe/Paris"),
    "IE": ("Europe/Dublin", "Europe/London", "Europe/Paris"),
    "US": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
    "CA": ("America/Toronto", "America/Winnipeg", "America/Edmonton", "America/Vancouver"),
    "AU": ("Australia/Sydney", "Australia/Brisbane", "Australia/Adelaide", "Australia/Perth"),
    "NZ": ("Pacific/Auckland",),
}


def new_code() -> str:
    """A fresh random invite code (characters ``A-Za-z0-9_-`` only)."""
    return secrets.token_urlsafe(CODE_BYTES)


def hash_code(code: str) -> str:
    """What is stored for a code: its SHA-256, in hex."""
    return hashlib.sha256(code.encode()).hexdigest()


def well_formed(code: str) -> bool:
    """True if ``code`` could be one of ours (checked before touching the database)."""
    return CODE_PATTERN.fullmatch(code) is not None


@cache
def _timezones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def find_timezone(name: str) -> str | None:
    """The IANA timezone called ``name`` (any letter case), or None."""
    return _timezones().get(name.strip().lower())


def city(timezone: str) -> str:
    """``America/New_York`` → ``New York``: how a timezone is shown on a button."""
    return timezone.rsplit("/", 1)[-1].replace("_", " ")


@dataclass(frozen=True)
class NewInvites:
    """Codes just made (shown once, never stored) and when they stop working."""

    codes: tuple[str, ...]
    expires_at: datetime


class Enrolment:
    """Turns an invite code into a Person, and helps them set their timezone."""

    def __init__(self, services: Services, invites: InviteRepository | None = None) -> None:
        self._services = services
        self._invites = invites or InviteRepository(services.db)

    def install(self, commands: Commands) -> None:
        """Answer `/start` from enrolled people, and add `/timezone`."""
        commands.register("start", self._already_enrolled)
        commands.register("timezone", self._timezone_command)

    async def create_invites(self, team: str, count: int, platform: str) -> NewInvites:
        """Make ``count`` one-time codes enrolling into ``team`` on ``platform``."""
        now = self._services.clock()
        expires_at = now + timedelta(days=self._services.settings.invite_expiry_days)
        codes = tuple(new_code() for _ in range(count))
        await self._invites.forget_before(now - KEEP_EXPIRED)
        await self._invites.add(
            [hash_code(code) for code in codes],
            platform=platform,
            team=team,
            created_at=now,
            expires_at=expires_at,
        )
        return NewInvites(codes, expires_at)

    async def enrol(self, event: InboundEvent) -> bool:
        """Handle `/start <code>` from someone not yet enrolled.

        Returns:
            False if the event is not an invite (the caller sends the not-enrolled reply).
            A bad, expired or used code gets its own reply and stores nothing.
        """
        if not (isinstance(event, CommandReceived) and event.name.lower() == "start"):
            return False
        if not event.args:
            return False
        code = event.args[0]
        locale = self._locale(event.locale)
        if not well_formed(code):
            await self._tell_stranger(event, locale, "enrolment.invalid")
            return True
        redemption = await self._invites.redeem(
            hash_code(code),
            event.platform,
            self._services.clock(),
            lambda team: self._new_person(event, team, locale),
        )
        if redemption.outcome is Outcome.ENROLLED and redemption.person is not None:
            # Remember the update, so a redelivery now finds an enrolled person and stops.
            await self._services.events.first_time(event.platform, event.event_id)
            logger.info("person #%s enrolled by invite", redemption.person.id)
            await self._welcome(redemption.person)
        elif redemption.outcome in (Outcome.USED, Outcome.ALREADY_ENROLLED):
            # A double tap or a platform retry of a code that just worked: stay quiet.
            if await self._services.people.find(event.platform, event.user) is None:
                await self._tell_stranger(event, locale, "enrolment.used")
        elif redemption.outcome is Outcome.EXPIRED:
            await self._tell_stranger(event, locale, "enrolment.expired")
        else:
            await self._tell_stranger(event, locale, "enrolment.invalid")
        return True

    def _locale(self, platform_locale: str | None) -> str:
        tag = (platform_locale or "").split("-")[0].lower()
        if tag in self._services.catalogue.locales:
            return tag
        return self._services.settings.default_locale

    def _new_person(self, event: InboundEvent, team: str, locale: str) -> Person:
        settings = self._services.settings
        name = (event.display_name or "").strip()[:200]
        return Person(
            platform=event.platform,
            platform_user_id=event.user,
            display_name=name or self._services.catalogue.text(locale, "enrolment.no_name"),
            team=team,
            locale=locale,
            region=settings.default_region,
        )

    async def _tell_stranger(self, event: InboundEvent, locale: str, key: str) -> None:
        text = self._services.catalogue.text(locale, key)
        try:
            await self._services.delivery.send_message(event.platform, event.user, Message(text))
        except Exception as failure:
            logger.warning("could not answer an invite: %s", type(failure).__name__)

    async def _welcome(self, person: Person) -> None:
        text = self._services.text
        welcome = text(person, "enrolment.welcome", name=first_name(person), team=person.team)
        await self._services.reply(person, Message(welcome))
        if self._services.settings.team(person.team).timezone is None:
            await self._services.reply(person, self.timezone_question(person))

    def timezone_question(self, person: Person) -> Message:
        """Which timezone? A few common ones for the default region, plus `Somewhere else`."""
        services = self._services
        default = services.calendar.schedule(person.team).timezone
        region = country_of(services.settings.default_region)
        zones = list(dict.fromkeys((default, *COMMON_TIMEZONES.get(region, ()))))
        buttons = [Button(city(zone), TIMEZONE_PREFIX + zone) for zone in zones]
        buttons = buttons[:MAX_TIMEZONE_BUTTONS]
        buttons.append(Button(services.text(person, "enrolment.timezone_other"), TIMEZONE_OTHER))
        rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
        question = services.text(person, "enrolment.timezone_question", timezone=city(default))
        return Message(question, rows)

    async def on_choice(self, person: Person, event: ChoiceSelected) -> bool:
        """A press on the timezone question; False if the button is not one of these."""
        if not event.value.startswith(TIMEZONE_PREFIX):
            return False
        text = self._services.text
        if event.value == TIMEZONE_OTHER:
            default = self._services.calendar.schedule(person.team).timezone
            await self._services.reply(
                person, Message(text(person, "enrolment.timezone_how", timezone=default))
            )
            return True
        timezone = find_timezone(event.value.removeprefix(TIMEZONE_PREFIX))
        if timezone is None:
            await self._services.reply(person, Message(text(person, "checkin.expired")))
            return True
        await self._services.people.set_timezone(row_id(person), timezone)
        done = Message(text(person, "enrolment.timezone_set", timezone=timezone))
        if event.message_ref is None:
            await self._services.reply(person, done)
            return True
        try:
            await self._services.delivery.update_checkin(
                person.platform, person.platform_user_id, event.message_ref, done
            )
        except (DeliveryError, NoAdapter, OSError) as failure:
            logger.warning("could not update the timezone question: %s", type(failure).__name__)
            await self._services.reply(person, done)
        return True

    async def _already_enrolled(self, person: Person, _args: tuple[str, ...]) -> None:
        text = self._services.text
        reply = f"{text(person, 'enrolment.already')}\n\n{text(person, 'commands.help')}"
        await self._services.reply(person, Message(reply))

    async def _timezone_command(self, person: Person, args: tuple[str, ...]) -> None:
        """`/timezone Europe/Paris` sets it; `/timezone` alone asks with buttons."""
        if not args:
            await self._services.reply(person, self.timezone_question(person))
            return
        timezone = find_timezone(args[0])
        if timezone is None:
            key, values = "enrolment.timezone_unknown", {"name": args[0][:64]}
        else:
            await self._services.people.set_timezone(row_id(person), timezone)
            key, values = "enrolment.timezone_set", {"timezone": timezone}
        await self._services.reply(person, Message(self._services.text(person, key, **values)))
