"""`kiln run`'s scheduler: ticking only in the worker that holds the scheduler lock.

Every worker serves its adapters and dashboard. On PostgreSQL the workers elect one
scheduler by advisory lock (bot/leadership.py, storage/locks.py); on SQLite a second
`kiln run` against the same file is refused before it starts anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.leadership import CHECK_INTERVAL_S, LeaderLock, Leadership
from bot.scheduler import Ticker
from kiln.runtime import Runtime
from storage.locks import FileLeaderLock, claim_sqlite_scheduler, scheduler_lock

logger = logging.getLogger(__name__)


class Scheduling:
    """Starts this worker's Ticker when it is elected and stops it when deposed.

    Each election builds a fresh Ticker, with its own in-memory APScheduler job store:
    job stores are never shared, the database is the only shared state.
    """

    def __init__(
        self, runtime: Runtime, lock: LeaderLock, *, interval: float = CHECK_INTERVAL_S
    ) -> None:
        self._runtime = runtime
        self._lock = lock
        self._ticker: Ticker | None = None
        self._catch_up: asyncio.Task[int] | None = None
        self._loop: asyncio.Task[None] | None = None
        self.leadership = Leadership(
            lock, on_elected=self._elected, on_deposed=self._deposed, interval=interval
        )

    @classmethod
    async def claim(cls, runtime: Runtime, *, interval: float = CHECK_INTERVAL_S) -> Scheduling:
        """The scheduling for this runtime's database; on SQLite, take its file lock now.

        Raises:
            SchedulerLocked: SQLite, and another process already schedules on the file.
        """
        lock = scheduler_lock(runtime.db.url)
        if isinstance(lock, FileLeaderLock):
            await claim_sqlite_scheduler(lock)
        return cls(runtime, lock, interval=interval)

    @property
    def ticking(self) -> bool:
        """True while this worker's Ticker runs (it leads)."""
        return self._ticker is not None

    async def start(self) -> None:
        """Campaign once now (a lone worker leads at once), then keep checking in the background."""
        await self.leadership.step()
        self._loop = asyncio.create_task(self._keep_checking(), name="kiln-leadership")

    async def stop(self) -> None:
        """Stop checking, stop the Ticker if it runs here, give the lock up."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        await self.leadership.resign()
        if self._catch_up is not None and not self._catch_up.done():
            # Shutting down: unsent rows it claimed are retried by the next leader.
            self._catch_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catch_up

    async def _keep_checking(self) -> None:
        while True:
            await asyncio.sleep(self.leadership.interval)
            try:
                await self.leadership.step()
            except Exception:
                # Keep campaigning: a stuck loop would leave /healthz reporting no leader.
                logger.exception("scheduler: the leader check failed; trying again")

    async def _elected(self) -> None:
        self._ticker = self._runtime.ticker()
        self._ticker.start()
        # Catch up at once: check-ins due while nobody led should not wait for the minute.
        self._catch_up = asyncio.create_task(self._runtime.engine.run_due(), name="kiln-catch-up")
        self._catch_up.add_done_callback(_log_failure)

    async def _deposed(self) -> None:
        if self._ticker is not None:
            self._ticker.shutdown()
            self._ticker = None
        # A fan-out already under way finishes: its check-in rows are claimed by this
        # worker, so nobody else sends them, and stopping halfway would only delay them.


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("catch-up fan-out failed: %s", type(task.exception()).__name__)
