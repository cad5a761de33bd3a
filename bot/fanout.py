"""The daily fan-out: who is due, claim their check-in row, send, paced per platform."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.conversation import CheckinConversation
from bot.sendlog import SendLog, SendStarts
from bot.services import Services
from storage.checkins import DueCheckin
from storage.models import Checkin, Person, row_id

logger = logging.getLogger(__name__)

#: An unsent check-in is retried after this long (the default of checkin.retry_after_seconds),
#: up to MAX_SEND_ATTEMPTS times.
RETRY_AFTER = timedelta(minutes=2)
MAX_SEND_ATTEMPTS = 5
#: Check-in rows claimed at once: a few seconds of sending at platform pace.
CLAIM_CHUNK = 200
#: People whose due date is worked out between two turns of the event loop (a minute's
#: tick over ten thousand people would otherwise hold every ack back while it runs).
DUE_SLICE = 500


class FanOut:
    """Finds who is due and sends their check-ins; safe to run twice at once."""

    def __init__(self, services: Services, conversation: CheckinConversation) -> None:
        self._services = services
        self._conversation = conversation

    def due(self, people: Sequence[Person], now: datetime) -> list[DueCheckin]:
        """People whose local time, weekday, holidays and pause make them due at ``now``."""
        calendar = self._services.calendar
        due: list[DueCheckin] = []
        for person in people:
            day = calendar.due_date(
                team=person.team,
                region=person.region,
                person_timezone=person.timezone,
                paused_until=person.paused_until,
                now=now,
            )
            if day is not None and person.id is not None:
                due.append(DueCheckin(person.id, day))
        return due

    async def run_due(self, now: datetime) -> int:
        """Send every check-in due at ``now``; returns how many were delivered.

        The database decides: a (person, day) row is claimed before sending, so a
        second tick, a restart or another worker never sends the same day twice.
        """
        people = await self._services.people.schedulable()
        due: list[DueCheckin] = []
        for start in range(0, len(people), DUE_SLICE):
            due += self.due(people[start : start + DUE_SLICE], now)
            await asyncio.sleep(0)  # let acks and answers through between slices
        retry_after = timedelta(seconds=self._services.settings.checkin.retry_after_seconds)
        retries = await self._services.checkins.claim_retries(
            due, now, retry_after, MAX_SEND_ATTEMPTS
        )
        delivered = await self.send_all(people, retries)
        return delivered + await self.claim_and_send(people, due, now)

    async def claim_and_send(
        self, people: Sequence[Person], due: Sequence[DueCheckin], now: datetime
    ) -> int:
        """Claim check-in rows a chunk at a time, sending each chunk before the next.

        A worker that dies mid-fan-out leaves at most one chunk claimed but unsent (sent
        again after RETRY_AFTER); the next leader claims and sends the rest at once.
        Each chunk's claim is stamped with the time it was made, the start of its lease.
        """
        clock = self._services.clock
        started = clock()
        delivered = 0
        for start in range(0, len(due), CLAIM_CHUNK):
            claimed_at = now + (clock() - started)
            claimed = await self._services.checkins.claim(
                due[start : start + CLAIM_CHUNK], claimed_at
            )
            delivered += await self.send_all(people, claimed)
        return delivered

    async def send_now(self, team: str | None, now: datetime) -> int:
        """`kiln checkin now`: everyone in scope without a check-in today, whatever the hour."""
        services = self._services
        people = [p for p in await services.people.schedulable(team) if p.id is not None]
        due = []
        for person in people:
            day = services.calendar.local_date(person.team, person.timezone, now)
            if person.paused_until is None or day >= person.paused_until:
                due.append(DueCheckin(row_id(person), day))
        return await self.claim_and_send(people, due, now)

    async def send_all(self, people: Sequence[Person], checkins: Sequence[Checkin]) -> int:
        """Send claimed check-ins with bounded concurrency and per-platform pacing."""
        if not checkins:
            return 0
        by_id = {person.id: person for person in people}
        concurrency = self._services.settings.checkin.fanout_concurrency
        limit = asyncio.Semaphore(concurrency)
        log = SendLog(self._services.checkins, max_pending=concurrency)
        starts = SendStarts(self._services.checkins, self._services.clock)

        async def deliver(checkin: Checkin) -> bool:
            person = by_id.get(checkin.person_id)
            if person is None:
                return False
            async with limit:
                await self._services.delivery.paced(person.platform)
                checkins = self._services.checkins
                # Written before the platform is called: after a crash this send counts
                # as "maybe delivered" and is never repeated (docs/SECURITY.md).
                if not await starts.begin(row_id(checkin)):
                    return False  # another worker has begun it, or it has gone
                try:
                    attempt = await self._conversation.deliver(person, checkin)
                except asyncio.CancelledError:
                    raise  # stopped mid-send: it may have arrived, so it stays "maybe delivered"
                except BaseException:
                    await checkins.abandon_send(row_id(checkin))  # it failed; send again later
                    raise
                await log.add(attempt)
                return attempt.sent

        try:
            results = await asyncio.gather(*(deliver(checkin) for checkin in checkins))
        finally:
            await log.close()
        delivered = sum(results)
        logger.info("fan-out: %d of %d check-ins delivered", delivered, len(checkins))
        return delivered
