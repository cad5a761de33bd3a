"""A fan-out's writes by group commit: many check-ins, one transaction.

A transaction per check-in made the database kiln's bottleneck in a large fan-out.
Two writes are batched here, each gathering whatever arrives while the previous
write is under way:

- ``SendStarts``: the "in flight" mark each send needs before the platform is called
  (docs/SECURITY.md). Every send still waits for its own mark to be written.
- ``SendLog``: the outcomes. At most ``max_pending`` wait unrecorded at any moment
  (more waiting slows sending down); their rows stay marked in flight meanwhile, so a
  crash never sends them twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

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


class SendStarts:
    """Marks check-ins in flight in batches; each caller waits for its own mark."""

    def __init__(self, checkins: CheckinRepository, clock: Callable[[], datetime]) -> None:
        self._checkins = checkins
        self._clock = clock
        self._waiting: list[tuple[int, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def begin(self, checkin_id: int) -> bool:
        """Mark one check-in in flight; False if it was sent already or begun elsewhere."""
        marked: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((checkin_id, marked))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="kiln-sendstarts")
        return await marked

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                begun = await self._checkins.begin_sends([cid for cid, _ in batch], self._clock())
            except Exception as failure:
                for _, marked in batch:
                    if not marked.done():
                        marked.set_exception(failure)
                continue
            for checkin_id, marked in batch:
                if not marked.done():
                    marked.set_result(checkin_id in begun)
