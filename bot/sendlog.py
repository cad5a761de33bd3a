"""Recording a fan-out's sends by group commit: many outcomes, one transaction.

A transaction per check-in made the database kiln's bottleneck in a large fan-out.
Here, outcomes that finish while a write is under way are written together by the
next one. At most ``max_pending`` sends wait unrecorded at any moment (more waiting
slows sending down), so a crash leaves at most that many sent-but-unrecorded
check-ins: about as many as the sends in flight that a crash leaves in doubt anyway.
"""

from __future__ import annotations

import asyncio
import logging

from storage.checkins import CheckinRepository, SendAttempt

logger = logging.getLogger(__name__)

#: Tries to write one batch before its check-ins are left to the retry path.
WRITE_TRIES = 3


class SendLog:
    """Buffers send outcomes and writes them in batches, in the background."""

    def __init__(self, checkins: CheckinRepository, max_pending: int) -> None:
        self._checkins = checkins
        self._room = asyncio.Semaphore(max(1, max_pending))
        self._pending: list[SendAttempt] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, attempt: SendAttempt) -> None:
        """Queue an outcome; waits only while ``max_pending`` are already unrecorded."""
        await self._room.acquire()
        self._pending.append(attempt)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="kiln-sendlog")

    async def close(self) -> None:
        """Wait until every queued outcome is written (or given up on)."""
        while self._writer is not None and not self._writer.done():
            await self._writer

    async def _write_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._room.release()

    async def _write(self, batch: list[SendAttempt]) -> None:
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                await self._checkins.record_attempts(batch)
                return
            except Exception as failure:
                if attempt == WRITE_TRIES:
                    # Unrecorded sends look unsent: the retry path sends them again
                    # later, which may repeat a check-in but never loses one.
                    logger.error(
                        "could not record %d check-in sends (%s); they will be retried",
                        len(batch),
                        type(failure).__name__,
                    )
                    return
                await asyncio.sleep(0.2 * attempt)
