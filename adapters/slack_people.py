"""Who is who on Slack: DM channels, profile timezones and roster emails, cached.

``conversations.open`` is Tier 3, so each person's DM channel id is looked up once
per process. Timezones come from ``users.info`` (``tz``) and are kept for a while;
the engine stores one only when the roster gave none.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError

from adapters.slack_errors import TokenCheck, slack_call
from bot.ports import DeliveryError, Undeliverable
from storage.models import Person
from storage.people import PeopleRepository

logger = logging.getLogger(__name__)

#: How the roster marks a Slack person listed by email (see bot/roster.py).
EMAIL_PREFIX = "email:"
PROFILE_TTL_S = 12 * 3600.0
#: A failed profile look-up is tried again sooner than a good one is refreshed.
FAILED_PROFILE_TTL_S = 300.0


def valid_zone(name: object) -> str | None:
    """An IANA timezone name the engine can use, or None."""
    if not isinstance(name, str) or not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


class SlackDirectory:
    """Looks people up on Slack and remembers the answers for this process."""

    def __init__(self, client: Callable[[], AsyncWebClient], token_ok: TokenCheck) -> None:
        self._client = client
        self._token_ok = token_ok
        self._channels: dict[str, str] = {}
        self._zones: dict[str, tuple[float, str | None]] = {}
        self._resolved: dict[str, str] = {}
        self._lookups: dict[str, asyncio.Lock] = {}
        # People whose stored timezone is set: the engine would ignore a profile's, so
        # their events need no users.info call (one per person per worker, otherwise).
        self._settled: set[str] = set()

    def remember_dm(self, user: str, channel: str) -> None:
        """Note a person's DM channel seen on an inbound message (saves a Tier 3 call)."""
        self._channels[user] = channel

    def known_dm(self, user: str) -> str | None:
        """The person's DM channel if it is already known."""
        return self._channels.get(user)

    async def dm_channel(self, user: str) -> str:
        """The id of the DM between kiln and a person, opening it the first time.

        Raises:
            Undeliverable: the person is gone.
            DeliveryError: Slack could not be asked.
        """
        channel = self._channels.get(user)
        if channel is None:
            response = await slack_call(
                lambda: self._client().conversations_open(users=user), self._token_ok
            )
            channel = str(response["channel"]["id"])
            self._channels[user] = channel
        return channel

    def settle(self, users: Iterable[str]) -> None:
        """Note people whose stored timezone is set, so ``timezone`` need not ask."""
        self._settled.update(users)

    async def timezone(self, user: str) -> str | None:
        """The person's timezone from their Slack profile, or None if unknown.

        None without asking Slack for people ``settle`` was told about.
        """
        if user in self._settled:
            return None
        # One look-up per person at a time: a burst of events (or the start-up fill
        # racing a first message) then costs a single users.info call.
        async with self._lookups.setdefault(user, asyncio.Lock()):
            return await self._timezone(user)

    async def _timezone(self, user: str) -> str | None:
        now = time.monotonic()
        cached = self._zones.get(user)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            response = await self._client().users_info(user=user)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as failure:
            logger.debug("no Slack profile timezone: %s", type(failure).__name__)
            self._zones[user] = (now + FAILED_PROFILE_TTL_S, None)
            return None
        zone = valid_zone(response["user"].get("tz"))
        self._zones[user] = (now + PROFILE_TTL_S, zone)
        return zone

    async def resolve(self, people: PeopleRepository, person: Person) -> str:
        """The Slack id for a person the roster lists by email, stored in place of the email.

        Raises:
            Undeliverable: Slack has nobody with that address.
            DeliveryError: Slack could not be asked.
        """
        placeholder = person.platform_user_id
        if person.id is None:
            raise DeliveryError("this person has not been saved yet")
        user_id = self._resolved.get(placeholder)
        if user_id is None:
            email = placeholder.removeprefix(EMAIL_PREFIX)
            response = await slack_call(
                lambda: self._client().users_lookupByEmail(email=email), self._token_ok
            )
            profile = response["user"]
            user_id = str(profile["id"])
            self._zones[user_id] = (time.monotonic() + PROFILE_TTL_S, valid_zone(profile.get("tz")))
        zone = self._zones.get(user_id, (0.0, None))[1]
        try:
            await people.replace_platform_user_id(person.id, user_id, timezone=zone)
        except IntegrityError:
            # Another worker stored the same answer a moment earlier: nothing to do.
            logger.info("person #%s was resolved by another worker", person.id)
        self._resolved[placeholder] = user_id
        return user_id

    async def resolve_all(self, people: PeopleRepository) -> int:
        """Look up everyone the roster lists by email; returns how many were found."""
        found = 0
        for person in await people.on_platform("slack"):
            if not person.platform_user_id.startswith(EMAIL_PREFIX):
                continue
            try:
                await self.resolve(people, person)
            except Undeliverable:
                logger.warning(
                    "person #%s is listed by an email address Slack does not know", person.id
                )
                continue
            except DeliveryError as failure:
                # Slack is unreachable or the token is wrong: asking about everyone
                # else would fail the same way. The next start tries again.
                logger.warning("could not look up Slack people by email: %s", failure)
                break
            found += 1
        if found:
            logger.info("found %d Slack people listed by email", found)
        return found

    async def fill_timezones(self, people: PeopleRepository) -> int:
        """Store profile timezones for Slack people whose roster row has none."""
        filled = 0
        for person in await people.on_platform("slack"):
            if person.timezone or person.id is None:
                continue
            if person.platform_user_id.startswith(EMAIL_PREFIX):
                continue
            zone = await self.timezone(person.platform_user_id)
            if zone is not None:
                await people.set_timezone(person.id, zone)
                self.settle([person.platform_user_id])
                filled += 1
        if filled:
            logger.info("took %d timezones from Slack profiles", filled)
        return filled
