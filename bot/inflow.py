"""Inbound events under load: at most a few handled at once, the rest wait their turn.

Slack's HTTP mode acknowledges each request and hands the event over on a task of its
own, so a burst of thousands of button presses would otherwise start thousands of
handlers at once. They would queue for the database's connection pool instead, and
past its timeout an answer already acknowledged would be lost. Waiting here costs
nothing: a waiting event holds no connection, and acknowledgements are unaffected.
"""

from __future__ import annotations

import asyncio
import logging

from bot.events import EventSink, InboundEvent

logger = logging.getLogger(__name__)

#: Events handled at once per worker: below the database pool's 15 connections.
INBOUND_CONCURRENCY = 10


def bounded(sink: EventSink, limit: int = INBOUND_CONCURRENCY) -> EventSink:
    """The same sink, letting at most ``limit`` events through at a time."""
    gate = asyncio.Semaphore(limit)

    async def handle(event: InboundEvent) -> None:
        async with gate:
            await sink(event)

    return handle
