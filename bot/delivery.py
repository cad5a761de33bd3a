"""Sending through adapters: waits out rate limits, notices people who have gone."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from bot.messages import Message
from bot.ports import ChatAdapter, RateLimited

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Give up waiting out rate limits after this long; the caller may retry later.
MAX_RATE_LIMIT_WAIT_S = 120.0


class NoAdapter(LookupError):
    """No adapter is configured for the person's platform."""


class Pacer:
    """Spaces sends so a platform sees at most ``rate`` messages per second."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Wait for the next free slot."""
        if not self._interval:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await asyncio.sleep(delay)


class Deliverer:
    """Routes a send to the right adapter and handles its typed failures."""

    def __init__(self, adapters: Mapping[str, ChatAdapter]) -> None:
        self._adapters = dict(adapters)
        self._pacers = {
            name: Pacer(adapter.max_messages_per_second) for name, adapter in adapters.items()
        }

    @property
    def platforms(self) -> tuple[str, ...]:
        """Platforms with an adapter."""
        return tuple(self._adapters)

    def adapter(self, platform: str) -> ChatAdapter:
        """The adapter for a platform.

        Raises:
            NoAdapter: if none is configured.
        """
        try:
            return self._adapters[platform]
        except KeyError:
            raise NoAdapter(f"no {platform} adapter is running") from None

    async def paced(self, platform: str) -> None:
        """Wait for the platform's fan-out pace."""
        pacer = self._pacers.get(platform)
        if pacer is not None:
            await pacer.wait()

    async def send_message(self, platform: str, user: str, message: Message) -> str:
        """Send a message, waiting out rate limits.

        Raises:
            Undeliverable: the person cannot be reached.
            NoAdapter: the platform is not running here.
        """
        adapter = self.adapter(platform)
        return await self._with_rate_limits(lambda: adapter.send_message(user, message))

    async def send_checkin(self, platform: str, user: str, message: Message) -> str:
        """Send a check-in, waiting out rate limits."""
        adapter = self.adapter(platform)
        return await self._with_rate_limits(lambda: adapter.send_checkin(user, message))

    async def update_checkin(self, platform: str, user: str, ref: str, message: Message) -> None:
        """Replace a sent check-in, waiting out rate limits."""
        adapter = self.adapter(platform)
        await self._with_rate_limits(lambda: adapter.update_checkin(user, ref, message))

    async def send_alert(self, platform: str, destination: str, message: Message) -> str:
        """Send an alert, waiting out rate limits."""
        adapter = self.adapter(platform)
        return await self._with_rate_limits(lambda: adapter.send_alert(destination, message))

    async def _with_rate_limits(self, send: Callable[[], Awaitable[T]]) -> T:
        waited = 0.0
        while True:
            try:
                return await send()
            except RateLimited as limited:
                if waited + limited.retry_after > MAX_RATE_LIMIT_WAIT_S:
                    raise
                logger.info("platform asked us to wait %.1fs before sending", limited.retry_after)
                await asyncio.sleep(limited.retry_after)
                waited += limited.retry_after
