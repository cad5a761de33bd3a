"""Delivering outbox rows: at once when queued, then retried by the tick until sent.

A failed send is retried with exponential backoff and jitter; a platform asking us
to slow down sets the next attempt itself. Each row is claimed by one sender at a
time (see :meth:`storage.outbox.OutboxRepository.claim`), so a message is sent once
even with several workers. Only a failure's class name is recorded, never text.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.ports import DeliveryUncertain, RateLimited, Undeliverable
from bot.services import Services
from bot.support_kinds import Outgoing
from storage.outbox import OutboxRepository, as_utc
from storage.support import OutboxItem, OutboxStatus, saved_id

logger = logging.getLogger(__name__)

#: First retry after about this long, doubling each time up to MAX_BACKOFF. The cap is
#: short because an alert waits on it: a claim timeout is only 5 minutes in a crisis.
BASE_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(minutes=1)
#: While one sender holds a row, others leave it alone for this long (longer than the
#: longest rate-limit wait in bot.delivery, so a slow send is never doubled).
LEASE = timedelta(minutes=5)
#: A message still undelivered after this long is given up (and logged).
MAX_AGE = timedelta(hours=24)


class Renderer(Protocol):
    """Turns an outbox row into a message, or None if it no longer applies."""

    async def render(self, item: OutboxItem, now: datetime) -> Outgoing | None:
        """Render one row."""


def backoff(attempts: int, jitter: float) -> timedelta:
    """The wait before retry number ``attempts`` (1 for the first), with ±20% jitter."""
    exponent = min(max(attempts - 1, 0), 16)
    delay: timedelta = min(BASE_BACKOFF * (2**exponent), MAX_BACKOFF)
    return delay * (0.8 + 0.4 * jitter)


class Outbox:
    """Sends outbox rows through the adapters."""

    def __init__(
        self,
        services: Services,
        repo: OutboxRepository,
        renderer: Renderer,
        *,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        self._services = services
        self._repo = repo
        self._renderer = renderer
        self._jitter = jitter or random.SystemRandom().random
        #: Called when an alert's volunteer turns out to be unreachable.
        self.on_unreachable: Callable[[OutboxItem], Awaitable[None]] | None = None

    async def send_now(self, ids: Sequence[int]) -> int:
        """Try rows just queued straight away; returns how many went out."""
        if not ids:
            return 0
        now = self._services.clock()
        items = await self._repo.claim(now, LEASE, ids=ids)
        return sum([await self._deliver(item, now) for item in items])

    async def drain(self, now: datetime, batches: int = 10) -> int:
        """Send every row that is due; returns how many went out."""
        sent = 0
        for _ in range(batches):
            items = await self._repo.claim(now, LEASE)
            if not items:
                break
            sent += sum([await self._deliver(item, now) for item in items])
        return sent

    async def _deliver(self, item: OutboxItem, now: datetime) -> bool:
        item_id = saved_id(item)
        try:
            outgoing = await self._renderer.render(item, now)
        except Exception as failure:
            logger.exception("could not render outbox row #%s", item_id)
            await self._retry(item, now, type(failure).__name__)
            return False
        if outgoing is None:
            await self._repo.finish(item_id, OutboxStatus.CANCELLED)
            return False
        delivery = self._services.delivery
        try:
            if outgoing.alert:
                await delivery.send_alert(outgoing.platform, outgoing.recipient, outgoing.message)
            else:
                await delivery.send_message(outgoing.platform, outgoing.recipient, outgoing.message)
        except Undeliverable as gone:
            await self._repo.finish(item_id, OutboxStatus.FAILED, "Undeliverable")
            await self._gone(item, gone.reason)
            return False
        except RateLimited as limited:
            wait = max(timedelta(seconds=limited.retry_after), backoff(item.attempts, 0.5))
            await self._retry(item, now, "RateLimited", now + wait)
            return False
        except DeliveryUncertain:
            # The platform may well have shown it: sending again could alert twice. If it
            # never arrived, nothing is lost: an unclaimed alert times out and the next
            # volunteer is asked (docs/SECURITY.md, "Exactly once").
            logger.warning(
                "outbox row #%s (%s) probably delivered; not resending", item_id, item.kind
            )
            await self._repo.sent(item_id, self._services.clock())
            return True
        except Exception as failure:
            # Any failure of the platform (down, timing out, refusing) is retried later.
            await self._retry(item, now, type(failure).__name__)
            return False
        await self._repo.sent(item_id, self._services.clock())
        return True

    async def _retry(
        self, item: OutboxItem, now: datetime, error: str, at: datetime | None = None
    ) -> None:
        item_id = saved_id(item)
        if now - as_utc(item.created_at) > MAX_AGE:
            logger.error("giving up on outbox row #%s (%s) after %s", item_id, item.kind, MAX_AGE)
            await self._repo.finish(item_id, OutboxStatus.FAILED, error)
            return
        next_at = at or now + backoff(item.attempts, self._jitter())
        logger.warning(
            "outbox row #%s (%s) not sent (%s, attempt %d); retrying at %s",
            item_id,
            item.kind,
            error,
            item.attempts,
            next_at.isoformat(timespec="seconds"),
        )
        await self._repo.retry(item_id, next_at, error)

    async def _gone(self, item: OutboxItem, reason: str) -> None:
        if item.recipient_id is not None:
            person = await self._services.people.get(item.recipient_id)
            if person is not None:
                await self._services.mark_undeliverable(person, reason)
        if self.on_unreachable is not None:
            await self.on_unreachable(item)
